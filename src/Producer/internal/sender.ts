/**
 * The producer's engine: the drain loop that turns ready batches into Produce requests per leader,
 * and the handling of their responses (success, retry with metadata refresh, split, failure).
 * Plain TypeScript decides; Effect runs one fiber for the loop and one per request.
 *
 * @internal
 */
import { Deferred, Duration, Effect, Exit, Schedule } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import * as RetryPolicy from "../../Cluster/RetryPolicy.ts"
import type { BrokerService } from "../../Connection/Broker.ts"
import { errorForCode, ErrorCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { CompressionError } from "../../Protocol/Compression.ts"
import { Produce } from "../../Protocol/generated/Produce.ts"
import type { ProduceResponsePartitionProduceResponse } from "../../Protocol/generated/Produce.ts"
import { DeliveryTimeout, RecordTooLarge } from "../Errors.ts"
import type { ProducerError } from "../Errors.ts"
import { Accumulator, Batch } from "./accumulator.ts"
import type { AckPart, PartitionQueue } from "./accumulator.ts"
import type { ProducerIdentity } from "./types.ts"
import { BufferPool } from "./bufferPool.ts"
import { encodeBatch, startSection } from "./encode.ts"
import { ZERO_UUID } from "../../Protocol/internal/Primitives.ts"

export interface SenderSettings {
  readonly acks: -1 | 0 | 1
  readonly compression: number
  readonly compressionLevel: number | undefined
  readonly lingerMs: number
  /** Send a batch at once, lingering not, when its leader has no request in flight (the default linger). */
  readonly lingerWhenIdle: boolean
  readonly batchSize: number
  readonly maxInFlight: number
  readonly requestTimeoutMs: number
  readonly deliveryTimeoutMs: number
  readonly maxRequestSize: number
  readonly idempotent: boolean
  readonly transactionalId: string | null
}

const MAX_SEQUENCE = 0x7fffffff
/** Sends of one batch that sequence-number trouble may cost before it fails for good. */
const MAX_SEQUENCE_RETRIES = 20

/** Errors after which the broker's sequence state for us is gone or we are out of step. */
const SEQUENCE_ERRORS = new Set<number>([ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.UNKNOWN_PRODUCER_ID])

export class Sender {
  readonly acc: Accumulator
  readonly settings: SenderSettings
  readonly cluster: ClusterService
  readonly identity: ProducerIdentity
  readonly now: () => number
  readonly policy: RetryPolicy.RetryPolicy
  /** Runs an effect in the background, in the producer's scope and with its services. */
  readonly fork: (effect: Effect.Effect<unknown, unknown>) => void
  readonly nodeInFlight = new Map<number, number>()
  /** Memory for encoded batches, reused once their requests are answered (acks 0: not used). */
  private readonly pool: BufferPool | undefined
  wakeup: Deferred.Deferred<void> = Deferred.makeUnsafe<void>()
  flushing = 0
  closing = false
  /** A new producer id is being fetched: nothing is sent until it arrives. */
  resetting = false
  /** Resolves the producer id/epoch again after the broker forgot us (KIP-360), set by the producer. */
  resetIdentity: Effect.Effect<void, ProducerError> = Effect.void
  /** Adds partitions to the open transaction before their first batch is sent, set by the producer. */
  beforeSend: (batches: ReadonlyArray<Batch>) => Effect.Effect<void, ProducerError> = () => Effect.void
  /** Whether batches of a partition may be in flight together (set by a transactional producer: once it is in the transaction). */
  pipelined: (topic: string, partition: number) => boolean = () => true
  /** A transactional batch with sequence numbers failed (set by the producer: bump the epoch after the abort). */
  onSequenceGap: () => void = () => {}
  /** Called when a batch completes and its bytes are free again (wakes the sends waiting for space, set by the producer). */
  onSpaceFreed: () => void = () => {}
  /** Resumes the sends in a settled batch's waiter list (set by the producer). */
  onSettled: (batch: Batch, parts: ReadonlyArray<AckPart>) => void = () => {}
  /** Telemetry of a settled batch (messaging metrics, set by the producer). */
  onBatchDone: (batch: Batch, parts: ReadonlyArray<AckPart>) => void = () => {}
  /** Wraps each Produce request (its duration; a span when traced; set by the producer). */
  traceRequest: (request: Effect.Effect<void>, node: number, batches: ReadonlyArray<Batch>) => Effect.Effect<void> = (r) => r

  constructor(options: {
    readonly acc: Accumulator
    readonly settings: SenderSettings
    readonly cluster: ClusterService
    readonly identity: ProducerIdentity
    readonly now: () => number
    readonly policy: RetryPolicy.RetryPolicy
    readonly fork: (effect: Effect.Effect<unknown, unknown>) => void
  }) {
    this.fork = options.fork
    this.acc = options.acc
    this.settings = options.settings
    this.cluster = options.cluster
    this.identity = options.identity
    this.now = options.now
    this.policy = options.policy
    this.pool = options.settings.acks === 0 ? undefined : new BufferPool()
  }

  wake(): void {
    if (!Deferred.isDoneUnsafe(this.wakeup)) Deferred.doneUnsafe(this.wakeup, Exit.void)
  }

  // ---- completion ---------------------------------------------------------------------------

  private settle(batch: Batch, parts: ReadonlyArray<AckPart>): void {
    const parent = batch.parent
    if (parent !== undefined) {
      for (const p of parts) parent.parts.push({ ...p, start: p.start + batch.parentStart })
      if (--parent.outstanding === 0) {
        parent.parts.sort((a, b) => a.start - b.start)
        this.settle(parent, parent.parts)
      }
      return
    }
    this.acc.complete(batch)
    this.onBatchDone(batch, parts)
    // the sends blocked on space append first (in FIFO order), before the batch's waiters resume
    // (their fibers run on synchronously and may flush or send more)
    this.onSpaceFreed()
    Deferred.doneUnsafe(batch.done, Exit.succeed(parts))
    if (batch.waitIndexes !== undefined) this.onSettled(batch, parts)
  }

  succeed(batch: Batch, baseOffset: bigint, logAppendTime: number): void {
    this.settle(batch, [{ start: 0, count: batch.records.length, baseOffset, logAppendTime, error: undefined }])
  }

  fail(batch: Batch, error: ProducerError): void {
    // A batch that had sequence numbers and will never be written leaves a gap the broker would
    // refuse every later batch for: start over with a new producer id (KIP-360's epoch bump).
    if (batch.baseSequence >= 0 && this.settings.idempotent) {
      if (this.settings.transactionalId === null) this.resetSequences()
      // in a transaction the gap is closed once the transaction is aborted (its epoch is bumped)
      else this.onSequenceGap()
    }
    this.settle(batch, [{ start: 0, count: batch.records.length, baseOffset: -1n, logAppendTime: -1, error }])
  }

  /** New producer id, sequence numbers from 0 on every partition; unacknowledged batches are restamped. */
  resetSequences(): void {
    for (const parts of this.acc.topics.values()) {
      for (const q of parts) {
        if (q === undefined) continue
        q.sequenceEpoch = -1
        for (const b of q.queue) b.encoded = undefined
      }
    }
    if (this.resetting) return
    this.resetting = true
    this.fork(this.resetIdentity.pipe(
      Effect.ignore,
      Effect.ensuring(Effect.sync(() => {
        this.resetting = false
        this.wake()
      }))
    ))
  }

  /** Fails everything still queued (producer closing after a fatal error). */
  failAll(error: ProducerError): void {
    for (const parts of this.acc.topics.values()) {
      for (const q of parts) {
        if (q === undefined) continue
        for (const b of q.queue.splice(0)) this.fail(b, error)
      }
    }
  }

  // ---- the drain loop -----------------------------------------------------------------------

  /** Runs until closed and empty. */
  readonly run: Effect.Effect<void> = Effect.suspend(() => this.loop())

  private loop(): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      for (;;) {
        const nextWake = this.drain()
        if (this.closing && this.acc.isEmpty()) return
        if (nextWake === 0) {
          yield* Effect.yieldNow
          continue
        }
        const wakeup = this.wakeup
        if (Deferred.isDoneUnsafe(wakeup)) {
          this.wakeup = Deferred.makeUnsafe<void>()
          continue
        }
        if (nextWake === Infinity) yield* Deferred.await(wakeup)
        else yield* Effect.timeoutOption(Deferred.await(wakeup), Math.max(1, nextWake - this.now()))
        this.wakeup = Deferred.makeUnsafe<void>()
      }
    })
  }

  /**
   * Takes every ready batch whose leader has room and starts its request. Returns 0 to run again
   * at once, the time of the next deadline (linger, retry back-off), or Infinity.
   */
  private drain(): number {
    if (this.resetting) return Infinity
    const now = this.now()
    const snapshot = this.cluster.snapshot()
    const s = this.settings
    let nextWake = Infinity
    let sent = false
    const byNode = new Map<number, Array<Batch>>()
    const needMetadata = new Set<string>()
    for (const [topic, parts] of this.acc.topics) {
      const tm = snapshot.topics.get(topic)
      for (const q of parts) {
        if (q === undefined) continue
        if (s.compression !== 0) this.compressReady(q)
        while (q.queue.length > 0) {
          const head = q.queue[0]
          if (now - head.createdAt >= s.deliveryTimeoutMs && head.baseSequence < 0) {
            q.queue.shift()
            this.fail(head, new DeliveryTimeout({
              topic, partition: q.partition, timeoutMs: s.deliveryTimeoutMs,
              message: `record(s) for ${topic}-${q.partition} not sent within ${s.deliveryTimeoutMs} ms`
            }))
            continue
          }
          if (head.compressError !== undefined && head.encoded === undefined) {
            q.queue.shift()
            this.fail(head, head.compressError)
            continue
          }
          if (head.compressing) break // its compression wakes the loop when done
          // one batch at a time while sequences are unsettled, and until the partition is in the
          // open transaction: a second batch racing the first one's AddPartitionsToTxn would reach
          // the broker first, and be refused as out of order if the first one's add fails
          const single = q.retrying || (s.idempotent && !q.confirmed) || !this.pipelined(topic, q.partition)
          if (single ? q.inFlight > 0 : q.inFlight >= s.maxInFlight) break
          if (head.retryAt > now) {
            nextWake = Math.min(nextWake, head.retryAt)
            break
          }
          const leader = tm?.partitions[q.partition]?.leader ?? -1
          // ready: full enough, behind another batch, flushing, lingered long enough — or, with
          // the default linger, nothing is in flight to its leader (waiting would gain nothing:
          // what arrives meanwhile batches up behind this request)
          const ready = head.sealed || q.queue.length > 1 || head.bytes >= s.batchSize || this.flushing > 0 || this.closing ||
            now - head.createdAt >= s.lingerMs ||
            (s.lingerWhenIdle && leader >= 0 && q.inFlight === 0 && (this.nodeInFlight.get(leader) ?? 0) === 0)
          if (!ready) {
            nextWake = Math.min(nextWake, head.createdAt + s.lingerMs)
            break
          }
          if (leader < 0) {
            needMetadata.add(topic)
            nextWake = Math.min(nextWake, now + 50)
            break
          }
          let list = byNode.get(leader)
          if (list === undefined) {
            if ((this.nodeInFlight.get(leader) ?? 0) >= s.maxInFlight) break
            list = []
            byNode.set(leader, list)
          } else if (list.some((b) => b.topic === topic && b.partition === q.partition)) {
            nextWake = 0 // one batch per partition per request: the next goes in the next request
            break
          }
          if (s.compression !== 0 && head.section === undefined) {
            // it takes no more records from here: compress (on the thread pool when large)
            head.sealed = true
            const work = startSection(head, s, this.onCompressed)
            if (work !== undefined) {
              this.fork(work)
              break // its compression wakes the loop when done
            }
            if (head.compressError !== undefined) continue // fails at the top of the loop
          }
          q.queue.shift()
          head.sealed = true
          q.inFlight++
          list.push(head)
          sent = true
        }
      }
    }
    for (const [node, batches] of byNode) this.startRequests(node, batches)
    if (needMetadata.size > 0) {
      this.fork(this.cluster.refresh([...needMetadata]).pipe(Effect.ignore))
    }
    return sent ? 0 : nextWake
  }

  /**
   * Starts compressing every batch of the queue that will take no more records (sealed, or the
   * producer is flushing or closing): on the thread pool when large, so the sections of several
   * partitions (and of batches waiting behind one in flight) compress at once, off the event loop.
   * The open batch keeps growing until the drain takes it (which compresses it then).
   */
  private compressReady(q: PartitionQueue): void {
    const s = this.settings
    for (const b of q.queue) {
      if (b.section !== undefined || b.compressing || b.compressError !== undefined || b.encoded !== undefined) continue
      if (!(b.sealed || this.flushing > 0 || this.closing)) continue
      b.sealed = true
      const work = startSection(b, s, this.onCompressed)
      if (work !== undefined) this.fork(work)
    }
  }

  private readonly onCompressed = (): void => this.wake()

  private startRequests(node: number, batches: ReadonlyArray<Batch>): void {
    // split into requests of at most maxRequestSize (estimated before compression)
    let current: Array<Batch> = []
    let size = 0
    const groups: Array<Array<Batch>> = []
    for (const b of batches) {
      if (current.length > 0 && size + b.bytes > this.settings.maxRequestSize) {
        groups.push(current)
        current = []
        size = 0
      }
      current.push(b)
      size += b.bytes
    }
    if (current.length > 0) groups.push(current)
    for (const g of groups) {
      this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 0) + 1)
      this.fork(this.traceRequest(this.request(node, g), node, g))
    }
  }

  // ---- one Produce request ------------------------------------------------------------------

  private stamp(b: Batch, q: PartitionQueue): void {
    if (!this.settings.idempotent) return
    const id = this.identity
    if (q.sequenceEpoch !== id.producerEpoch || q.sequenceProducerId !== id.producerId) {
      q.sequenceEpoch = id.producerEpoch
      q.sequenceProducerId = id.producerId
      q.nextSequence = 0
      q.confirmed = false
    }
    b.producerId = id.producerId
    b.producerEpoch = id.producerEpoch
    b.baseSequence = q.nextSequence
    q.nextSequence = (q.nextSequence + b.records.length) % (MAX_SEQUENCE + 1)
  }

  private needsStamp(b: Batch): boolean {
    return this.settings.idempotent
      ? b.encoded === undefined || b.producerEpoch !== this.identity.producerEpoch || b.producerId !== this.identity.producerId
      : b.encoded === undefined
  }

  private request(node: number, batches: ReadonlyArray<Batch>): Effect.Effect<void> {
    const s = this.settings
    return Effect.gen({ self: this }, function*() {
      for (const b of batches) {
        if (!this.needsStamp(b)) continue
        this.stamp(b, this.acc.queueOf(b.topic, b.partition))
        try {
          b.encoded = encodeBatch(b, s, this.pool)
        } catch (e) {
          if (e instanceof CompressionError) return yield* Effect.fail(e)
          throw e
        }
      }
      yield* this.beforeSend(batches)
      // the leader we drained for may have left the metadata meanwhile (killed, fenced): that is
      // a leader move, retried on the new leader, not a failure of the batches
      const broker: BrokerService = yield* Effect.catchIf(
        this.cluster.broker(node),
        (e) => e._tag === "KafkaError" && e.code === ErrorCode.BROKER_NOT_AVAILABLE,
        () => Effect.fail(kafkaError("NOT_LEADER_OR_FOLLOWER", `broker ${node}, the leader when the batches were drained, left the cluster's metadata`))
      )
      const topics = new Map<string, Array<{ index: number; records: Uint8Array }>>()
      for (const b of batches) {
        let list = topics.get(b.topic)
        if (list === undefined) {
          list = []
          topics.set(b.topic, list)
        }
        list.push({ index: b.partition, records: b.encoded! })
      }
      // Produce v13+ addresses topics by id (the encoder writes the name below v13, the id from v13)
      const meta = this.cluster.snapshot().topics
      const nameOfId = new Map<string, string>()
      const req = {
        transactionalId: s.transactionalId,
        acks: s.acks,
        timeoutMs: s.requestTimeoutMs,
        topicData: [...topics].map(([name, partitionData]) => {
          const topicId = meta.get(name)?.topicId ?? ZERO_UUID
          nameOfId.set(topicId, name)
          return { name, topicId, partitionData }
        })
      }
      for (const b of batches) b.attempts++
      if (s.acks === 0) {
        yield* broker.send(Produce, req)
        for (const b of batches) this.succeed(b, -1n, -1)
        return
      }
      const res = yield* broker.request(Produce, req, { timeout: s.requestTimeoutMs + 5_000 })
      const byKey = new Map<string, ProduceResponsePartitionProduceResponse>()
      for (const t of res.responses) {
        const name = t.name !== "" ? t.name : nameOfId.get(t.topicId) ?? ""
        for (const p of t.partitionResponses) byKey.set(name + "\u0000" + p.index, p)
      }
      for (const b of batches) {
        const pr = byKey.get(b.topic + "\u0000" + b.partition)
        if (pr === undefined) this.retryOrFail(b, kafkaError("UNKNOWN_SERVER_ERROR", `no response for ${b.topic}-${b.partition}`))
        else this.handlePartition(b, pr)
      }
    }).pipe(
      Effect.catch((e: ProducerError) =>
        Effect.sync(() => {
          for (const b of batches) {
            if (b.encoded === undefined && e._tag === "CompressionError") this.fail(b, e)
            else this.retryOrFail(b, e)
          }
        })
      ),
      Effect.ensuring(Effect.sync(() => {
        this.nodeInFlight.set(node, (this.nodeInFlight.get(node) ?? 1) - 1)
        for (const b of batches) this.acc.queueOf(b.topic, b.partition).inFlight--
        this.wake()
      }))
    )
  }

  // ---- responses ----------------------------------------------------------------------------

  private handlePartition(b: Batch, pr: ProduceResponsePartitionProduceResponse): void {
    const q = this.acc.queueOf(b.topic, b.partition)
    const code = pr.errorCode
    if (code === 0 || code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      if (b.producerEpoch === q.sequenceEpoch && b.producerId === q.sequenceProducerId) q.confirmed = true
      // answered: no write reads its bytes any more
      if (b.pooled !== undefined && this.pool !== undefined) {
        this.pool.give(b.pooled)
        b.pooled = undefined
        b.encoded = undefined
      }
      this.succeed(b, code === 0 ? pr.baseOffset : -1n, Number(pr.logAppendTimeMs))
      if (q.retrying && !q.queue.some((x) => x.attempts > 0)) q.retrying = false
      return
    }
    const error = errorForCode(code, pr.errorMessage) ?? kafkaError("UNKNOWN_SERVER_ERROR")
    if ((code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE)) {
      if (b.records.length > 1) return this.split(b, q, [b.records.length >> 1])
      return this.fail(b, new RecordTooLarge({
        topic: b.topic, size: b.bytes, max: -1,
        message: `the broker refused a record of ${b.bytes} bytes for ${b.topic}-${b.partition} as too large`
      }))
    }
    if (code === ErrorCode.INVALID_RECORD && pr.recordErrors.length > 0 && pr.recordErrors.length < b.records.length) {
      return this.dropRecords(b, q, pr, error)
    }
    if (this.settings.idempotent && b.attempts <= MAX_SEQUENCE_RETRIES) {
      if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && q.retrying) {
        // an earlier batch of this partition failed: this one goes again after it
        return this.requeueAfter(b, q, 0)
      }
      if (SEQUENCE_ERRORS.has(code) && this.settings.transactionalId === null) {
        // The broker lost our sequence state (or we ours): new producer id, sequences from 0.
        q.retrying = true
        this.requeueAfter(b, q, 0)
        this.resetSequences()
        return
      }
    }
    this.retryOrFail(b, error)
  }

  /** Retries by the policy (refreshing metadata when the leader moved) or fails the batch. */
  private retryOrFail(b: Batch, error: ProducerError | KafkaError): void {
    const reason = RetryPolicy.classify(error)
    const q = this.acc.queueOf(b.topic, b.partition)
    if (reason === undefined) {
      this.fail(b, error as ProducerError)
      return
    }
    const now = this.now()
    if (b.retry === undefined) b.retry = makeStep(this.policy[reason])
    const delay = b.retry(now, error)
    if (delay === undefined || now - b.createdAt >= this.settings.deliveryTimeoutMs) {
      this.fail(b, error as ProducerError)
      return
    }
    if (reason === "leaderMoved" || reason === "transient") {
      const leader = this.cluster.snapshot().topics.get(b.topic)?.partitions[b.partition]?.leader
      this.fork(
        this.cluster.leaderIsDown(b.topic, b.partition, leader).pipe(
          Effect.andThen(this.cluster.refresh([b.topic])),
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => this.wake()))
        )
      )
    }
    q.retrying = true
    this.requeueAfter(b, q, delay)
  }

  private requeueAfter(b: Batch, q: PartitionQueue, delayMs: number): void {
    b.retryAt = this.now() + delayMs
    q.requeue(b)
  }

  /** Replaces a batch by pieces cut at `cuts` (record indexes), sent in order in its place. */
  private split(b: Batch, q: PartitionQueue, cuts: ReadonlyArray<number>): void {
    const bounds = [0, ...cuts, b.records.length]
    b.outstanding = bounds.length - 1
    for (let i = 0; i < bounds.length - 1; i++) {
      const piece = new Batch(b.topic, b.partition, b.createdAt)
      piece.order = b.order + (i + 1) / (bounds.length + 1)
      piece.records = b.records.slice(bounds[i], bounds[i + 1])
      piece.bytes = 0
      piece.sealed = true
      piece.parent = b
      piece.parentStart = bounds[i]
      q.requeue(piece)
    }
    if (this.settings.idempotent) {
      q.retrying = true
      this.resequenceFrom(q, b.baseSequence)
    }
  }

  /** Sequence numbers restart at `sequence` (the failed batch's, which the broker never took). */
  private resequenceFrom(q: PartitionQueue, sequence: number): void {
    q.nextSequence = sequence
    for (const x of q.queue) x.encoded = undefined
    q.sequenceEpoch = this.identity.producerEpoch
    q.sequenceProducerId = this.identity.producerId
  }

  /** INVALID_RECORD for some records only: those fail, the others are sent again. */
  private dropRecords(b: Batch, q: PartitionQueue, pr: ProduceResponsePartitionProduceResponse, error: KafkaError): void {
    const bad = new Set(pr.recordErrors.map((r) => r.batchIndex))
    const cuts: Array<number> = []
    for (let i = 1; i < b.records.length; i++) if (bad.has(i) !== bad.has(i - 1)) cuts.push(i)
    const bounds = [0, ...cuts, b.records.length]
    b.outstanding = bounds.length - 1
    for (let i = 0; i < bounds.length - 1; i++) {
      const start = bounds[i]
      const piece = new Batch(b.topic, b.partition, b.createdAt)
      piece.order = b.order + (i + 1) / (bounds.length + 1)
      piece.records = b.records.slice(start, bounds[i + 1])
      piece.sealed = true
      piece.parent = b
      piece.parentStart = start
      if (bad.has(start)) {
        const message = pr.recordErrors.find((r) => r.batchIndex === start)?.batchIndexErrorMessage
        this.fail(piece, errorForCode(error.code, message ?? error.message) ?? error)
      } else q.requeue(piece)
    }
    if (this.settings.idempotent) {
      q.retrying = true
      this.resequenceFrom(q, b.baseSequence)
    }
  }
}

/** A synchronous step function over a Schedule: the next delay in ms, or undefined when it ends. */
const makeStep = (schedule: Schedule.Schedule<unknown, unknown>): ((now: number, input: unknown) => number | undefined) => {
  const step = Effect.runSync(Schedule.toStep(schedule))
  return (now, input) => {
    const exit = Effect.runSyncExit(step(now, input))
    if (Exit.isFailure(exit)) return undefined
    const [, delay] = exit.value
    return Math.max(0, Duration.toMillis(delay))
  }
}

export type { Batch }
