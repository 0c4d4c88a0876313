/**
 * The producer's front: `send`/`sendAll` append records synchronously (partitioning, validation,
 * accounting). A `send` is one `Effect.callback`: its resume callback goes into its batch's waiter
 * list (resumed by the sender when the batch settles) or, when the buffer is full, into the FIFO
 * of blocked sends, which appends for it when space frees and then moves it to its batch's list —
 * no Deferred, timer or extra fiber per record. `sendAll` waits on its batches' `Deferred`s; when
 * blocked, the rest of its records wait as one entry of the same FIFO. One timer per producer
 * expires blocked sends at `maxBlock`. Construction wires the accumulator, the sender loop and
 * transactions into a scope.
 *
 * @internal
 */
import { Deferred, Effect, Exit, Fiber, Result, Scope, Sink } from "effect"
import type { ClusterMetadata, ClusterService, TopicMetadata } from "../../Cluster/Cluster.ts"
import * as RetryPolicy from "../../Cluster/RetryPolicy.ts"
import { kafkaError } from "../../Protocol/Errors.ts"
import { validateName } from "../../Topic.ts"
import type { Topic } from "../../Topic.ts"
import { InvalidRecord, MaxBlockTimeout, ProducerClosed, RecordTooLarge } from "../Errors.ts"
import type { ProducerError } from "../Errors.ts"
import { defaultPartitioner } from "../Partitioner.ts"
import type { PartitionInput } from "../Partitioner.ts"
import type { ProducerRecord, ProducerService, RecordMetadata, ResolvedOptions, TypedRecord } from "./types.ts"
import { Accumulator, Batch, estimateSize } from "./accumulator.ts"
import type { AckPart, BatchAck, PendingRecord, SendResume } from "./accumulator.ts"
import { Sender } from "./sender.ts"
import { SpaceQueue } from "./spaceQueue.ts"
import { Transactions } from "./transactions.ts"
import { ProducerTelemetry } from "./telemetry.ts"

/**
 * Where many records went, as runs of consecutive records that landed next to each other in one
 * batch (`batch`, the index of the run's first record there, its first position among the
 * records, its length); a failed record is a run of one with no batch, its error in `errors`.
 */
interface AppendedMany {
  readonly batches: Array<Batch | undefined>
  readonly firsts: Array<number>
  readonly starts: Array<number>
  readonly counts: Array<number>
  count: number
  errors: Map<number, ProducerError> | undefined
}

const NEED_METADATA = 1
const NEED_SPACE = 2
const DONE = 3

/**
 * An entry of the FIFO of sends blocked on buffer space: one `send`, or the rest of a `sendAll`.
 * `take` (at the head, when space frees) appends what now fits and returns true once the entry
 * is through (its fiber resumed one way or another, or gone), false to stay at the head.
 * `expire` resumes it with the max-block time-out. `deadline` is its time of queueing plus
 * `maxBlock` (ms since the producer started: a small integer, no boxed number per waiter), so the
 * queue is in deadline order and one timer serves it.
 */
interface SpaceWaiter {
  readonly deadline: number
  take(): boolean
  expire(): void
}
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array

const validate = (r: ProducerRecord): InvalidRecord | undefined => {
  if (r === null || typeof r !== "object") return new InvalidRecord({ topic: "", message: "a record must be an object" })
  if (r.value !== null && !isBytes(r.value)) {
    return new InvalidRecord({ topic: r.topic, message: "the record's value must be a Uint8Array or null (use a typed Topic for other types)" })
  }
  if (r.key != null && !isBytes(r.key)) return new InvalidRecord({ topic: r.topic, message: "the record's key must be a Uint8Array, null or absent" })
  const hs = r.headers
  if (hs !== undefined) {
    if (!Array.isArray(hs)) return new InvalidRecord({ topic: r.topic, message: "headers must be an array of { key, value }" })
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]
      if (h === null || typeof h !== "object" || typeof h.key !== "string" || (h.value !== null && !isBytes(h.value))) {
        return new InvalidRecord({ topic: r.topic, message: `header ${i} must be { key: string, value: Uint8Array | null }` })
      }
    }
  }
  if (r.timestamp !== undefined && (!Number.isSafeInteger(r.timestamp) || r.timestamp < 0)) {
    return new InvalidRecord({ topic: r.topic, message: `timestamp must be a non-negative integer of milliseconds, not ${r.timestamp}` })
  }
  return undefined
}

/** The metadata of record `i` of a batch, or its error. */
const metadataOf = (batch: Batch, i: number, record: PendingRecord, ack: BatchAck): RecordMetadata | ProducerError => {
  let part = ack[0]
  if (ack.length > 1) {
    for (const p of ack) {
      if (i >= p.start && i < p.start + p.count) {
        part = p
        break
      }
    }
  }
  if (part.error !== undefined) return part.error
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: part.baseOffset < 0n ? -1n : part.baseOffset + BigInt(i - part.start),
    timestamp: part.logAppendTime >= 0 ? part.logAppendTime : (record.timestamp ?? batch.createdAt)
  }
}

const isError = (x: RecordMetadata | ProducerError): x is ProducerError => "_tag" in x

export const makeProducer = (cluster: ClusterService, o: ResolvedOptions): Effect.Effect<ProducerService, ProducerError, Scope.Scope> =>
  Effect.gen(function*() {
    // Background work (the drain loop, requests, refreshes) runs in a child scope that closes only
    // after the close-time flush: forking into a scope that is already closing would not run.
    const parentScope = yield* Effect.scope
    const scope = yield* Scope.fork(parentScope)
    const context = yield* Effect.context<never>()
    const clock = yield* Effect.clockWith(Effect.succeed)
    const now = () => clock.currentTimeMillisUnsafe()
    const started = now()
    /** Milliseconds since the producer started (waiters' deadlines: small integers). */
    const elapsed = () => now() - started
    const policy = yield* RetryPolicy.RetryPolicy
    const runFork = Effect.runForkWith(context)
    const acc = new Accumulator(o.batchSize, o.maxBatchSize)
    const identity = { producerId: -1n, producerEpoch: -1 }
    const txn = new Transactions(cluster, identity, o.transactionalId, o.transactionTimeoutMs)
    const sender = new Sender({
      acc,
      settings: o,
      cluster,
      identity,
      now,
      policy,
      fork: (effect) => {
        runFork(Effect.forkIn(effect, scope))
      }
    })
    const telemetry = new ProducerTelemetry(context, cluster)
    sender.onBatchDone = telemetry.onBatchDone
    sender.traceRequest = telemetry.traceRequest
    sender.beforeSend = txn.beforeSend
    if (o.transactionalId !== null) {
      sender.pipelined = txn.added
      sender.onSequenceGap = () => {
        txn.epochBumpNeeded = true
      }
    }
    if (o.idempotent) {
      yield* txn.init
      if (o.transactionalId === null) sender.resetIdentity = txn.init
    }
    const partitioner = o.partitioner ?? defaultPartitioner({ batchSize: o.batchSize })
    /** The partitioner's input, reused for every record (partitioners must not keep it). */
    const pin: { -readonly [K in keyof PartitionInput]: PartitionInput[K] } = { topic: "", key: null, size: 0, partitionCount: 0, available: [] }
    let closed = false
    // the topic of the previous record, and its metadata in the snapshot it was read from
    let lastSnapshot: ClusterMetadata | undefined
    let lastTopic = ""
    let lastTopicMetadata: TopicMetadata | undefined
    /** Sends waiting for buffer space, FIFO; a new send queues behind them (per-partition order). */
    const spaceQueue = new SpaceQueue<SpaceWaiter>()

    /**
     * The synchronous fast path: the record's batch (its index is in `acc.lastIndex`), a typed
     * error, or a reason to take the slow path. Allocates nothing per record.
     */
    const tryAppend = (r: ProducerRecord, queued = false): Batch | ProducerError | typeof NEED_METADATA | typeof NEED_SPACE => {
      if (closed) return new ProducerClosed({ message: "the producer is closed" })
      if (txn.state === "fatal") return txn.fatal!
      const invalid = validate(r)
      if (invalid !== undefined) return invalid
      const size = estimateSize(r)
      if (size > o.maxRequestSize) {
        return new RecordTooLarge({
          topic: r.topic, size, max: o.maxRequestSize,
          message: `a record of about ${size} bytes for ${r.topic} exceeds maxRequestSize (${o.maxRequestSize} bytes)`
        })
      }
      const snapshot = cluster.snapshot()
      let t: TopicMetadata | undefined
      if (snapshot === lastSnapshot && r.topic === lastTopic) t = lastTopicMetadata
      else {
        t = snapshot.topics.get(r.topic)
        lastSnapshot = snapshot
        lastTopic = r.topic
        lastTopicMetadata = t
      }
      if (t === undefined || t.errorCode !== 0 || t.partitions.length === 0) return NEED_METADATA
      // no overtaking: while sends wait for space, a new one waits behind them (only the queue's
      // own drain appends for the waiters, in order)
      if (!queued && spaceQueue.length > 0) return NEED_SPACE
      if (acc.bufferedBytes > 0 && acc.bufferedBytes + size > o.bufferMemory) return NEED_SPACE
      let partition = r.partition
      if (partition === undefined) {
        pin.topic = r.topic
        pin.key = r.key ?? null
        pin.size = size
        pin.partitionCount = t.partitions.length
        pin.available = t.available
        partition = partitioner(pin)
      } else if (!Number.isInteger(partition) || partition < 0 || partition >= t.partitions.length) {
        return new InvalidRecord({ topic: r.topic, message: `partition ${partition} does not exist: ${r.topic} has ${t.partitions.length} partitions` })
      }
      const batch = acc.append(r.topic, partition, r, size, now)
      if (acc.lastWake) sender.wake()
      return batch
    }

    const isBatch = (x: unknown): x is Batch => x instanceof Batch

    /** Waits until the topic's metadata is known (bounded by maxBlock and the retry policy). */
    const awaitTopic = (topic: string, size: number): Effect.Effect<void, ProducerError> =>
      Effect.suspend((): Effect.Effect<void, ProducerError> => {
        const named = validateName(topic)
        if (Result.isFailure(named)) return Effect.fail(named.failure)
        return RetryPolicy.retry(cluster.topic(topic)).pipe(
          Effect.timeoutOrElse({
            duration: o.maxBlockMs,
            orElse: () => Effect.fail(metadataTimeout(topic, size))
          }),
          Effect.asVoid
        )
      })

    const metadataTimeout = (topic: string, size: number) =>
      new MaxBlockTimeout({
        waitedFor: "metadata", topic, size, timeoutMs: o.maxBlockMs,
        message: `no usable metadata for topic ${topic} within maxBlock (${o.maxBlockMs} ms)`
      })

    const spaceTimeout = (r: ProducerRecord) => {
      const size = estimateSize(r)
      return new MaxBlockTimeout({
        waitedFor: "buffer-space", topic: r.topic, size, timeoutMs: o.maxBlockMs,
        message: `no room for a record of about ${size} bytes for ${r.topic} in bufferMemory (${o.bufferMemory} bytes) within maxBlock (${o.maxBlockMs} ms)`
      })
    }

    // ---- blocked on buffer space: the FIFO, its one timer ---------------------------------------

    const takeWaiter = (_size: number, w: SpaceWaiter): boolean => w.take()
    const drainSpace = (): void => {
      if (spaceQueue.length > 0) spaceQueue.drain(takeWaiter)
    }
    sender.onSpaceFreed = drainSpace

    /** When the armed timer fires (Infinity: none armed). */
    let timerAt = Infinity
    let expireBefore = 0
    const expireIfDue = (_size: number, w: SpaceWaiter): boolean => {
      if (w.deadline > expireBefore) return false
      w.expire()
      return true
    }
    const onTimer = (): void => {
      timerAt = Infinity
      expireBefore = elapsed()
      if (spaceQueue.length > 0) spaceQueue.drain(expireIfDue)
      armTimer()
      drainSpace() // the waiters behind an expired head may fit
    }
    /** Arms the timer for the head's deadline (deadlines grow from head to tail). */
    const armTimer = (): void => {
      const head = spaceQueue.peek()
      if (head === undefined || timerAt <= head.deadline) return
      timerAt = head.deadline
      sender.fork(Effect.andThen(Effect.sleep(Math.max(0, head.deadline - elapsed())), Effect.sync(onTimer)))
    }

    /** Queues a blocked entry at the tail; returns its ticket (to take it out early). */
    const queueSpace = (w: SpaceWaiter, size: number): number => {
      const ticket = spaceQueue.push(size, w)
      armTimer()
      sender.wake()
      return ticket
    }

    // ---- one record: `send` ---------------------------------------------------------------------

    /**
     * A blocked `send`: appends its record when it fits and moves its resume to the batch's list.
     * It registers no interruption finalizer (that would be an effect, a closure and a stack
     * entry more per waiting send, about a third of its memory): an interrupted send is skipped
     * when it reaches the head instead — its fiber is done by then, so its record is not appended.
     */
    class SendWaiter implements SpaceWaiter {
      readonly record: ProducerRecord
      readonly resume: SendResume
      readonly fiber: Fiber.Fiber<unknown, unknown>
      readonly deadline: number
      constructor(record: ProducerRecord, resume: SendResume, fiber: Fiber.Fiber<unknown, unknown>) {
        this.record = record
        this.resume = resume
        this.fiber = fiber
        this.deadline = elapsed() + o.maxBlockMs
      }
      take(): boolean {
        if (this.fiber.pollUnsafe() !== undefined) return true // interrupted while it waited
        const x = tryAppend(this.record, true)
        if (x === NEED_SPACE) return false
        dispatch(x, this.record, this.resume, 0)
        return true
      }
      expire(): void {
        this.resume(Effect.fail(spaceTimeout(this.record)))
      }
    }

    /**
     * Routes the outcome of appending `r` for a waiting send: into its batch's waiter list, a
     * failure, a wait for metadata (`waited`: metadata waits so far) or for space.
     */
    const dispatch = (
      x: Batch | ProducerError | typeof NEED_METADATA | typeof NEED_SPACE,
      r: ProducerRecord,
      resume: SendResume,
      waited: number
    ): void => {
      if (isBatch(x)) x.addWaiter(acc.lastIndex, resume)
      else if (x === NEED_SPACE) queueSpace(new SendWaiter(r, resume, Fiber.getCurrent()!), estimateSize(r))
      else if (x === NEED_METADATA) resume(afterMetadata(r, waited))
      else resume(Effect.fail(x))
    }

    const afterMetadata = (r: ProducerRecord, waited: number): Effect.Effect<RecordMetadata, ProducerError> =>
      Effect.flatMap(awaitTopic(r.topic, estimateSize(r)), () =>
        Effect.callback<RecordMetadata, ProducerError>((resume) => {
          const x = tryAppend(r)
          if (x === NEED_METADATA && waited > 0) {
            resume(Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${r.topic} has no usable metadata`)))
            return
          }
          dispatch(x, r, resume, waited + 1)
        }))

    /** One record: appended synchronously, then one suspension until its batch settles. */
    const send = (r: ProducerRecord): Effect.Effect<RecordMetadata, ProducerError> =>
      Effect.callback<RecordMetadata, ProducerError>((resume) => {
        const x = tryAppend(r)
        if (isBatch(x)) {
          x.addWaiter(acc.lastIndex, resume)
          return
        }
        dispatch(x, r, resume, 0)
      })

    /** `send` in a `create` span when called inside a sampled span (only with a tracer installed). */
    const tracedSend = telemetry.wrapSend(send)

    /**
     * Resumes the sends waiting in a settled batch, in record order: a plain loop; when the batch
     * went in one piece, one object and one bigint step per record (consecutive offsets).
     */
    sender.onSettled = (batch: Batch, parts: ReadonlyArray<AckPart>): void => {
      const indexes = batch.waitIndexes!
      const resumes = batch.waitResumes!
      batch.waitIndexes = undefined
      batch.waitResumes = undefined
      const part = parts[0]
      if (parts.length === 1 && part.error === undefined) {
        const { topic, partition, createdAt, records } = batch
        const logAppendTime = part.logAppendTime
        const known = part.baseOffset >= 0n
        let last = -2
        let offset = -1n
        for (let k = 0; k < indexes.length; k++) {
          const i = indexes[k]
          if (known) offset = i === last + 1 ? offset + 1n : part.baseOffset + BigInt(i - part.start)
          last = i
          resumes[k](Effect.succeed({
            topic,
            partition,
            offset,
            timestamp: logAppendTime >= 0 ? logAppendTime : (records[i].timestamp ?? createdAt)
          }))
        }
        return
      }
      for (let k = 0; k < indexes.length; k++) {
        const i = indexes[k]
        const m = metadataOf(batch, i, batch.records[i], parts)
        if (isError(m)) {
          txn.batchFailed(m)
          resumes[k](Effect.fail(m))
        } else resumes[k](Effect.succeed(m))
      }
    }

    // ---- many records: `sendAll`, the sink ------------------------------------------------------

    /** Adds record `position` (appended to `batch` at `index`, or failed with `error`) to the runs. */
    const addToRuns = (out: AppendedMany, batch: Batch | undefined, index: number, error: ProducerError | undefined): void => {
      const position = out.count++
      const last = out.batches.length - 1
      if (batch !== undefined && last >= 0 && out.batches[last] === batch && out.firsts[last] + out.counts[last] === index) {
        out.counts[last]++
        return
      }
      out.batches.push(batch)
      out.firsts.push(index)
      out.starts.push(position)
      out.counts.push(1)
      if (error !== undefined) (out.errors ??= new Map()).set(position, error)
    }

    /**
     * One `sendAll`'s appending: where it is in its records (`pending`: taken from them, not
     * appended yet) and the runs so far; blocked on space, it is one entry of the FIFO.
     */
    class Appending implements SpaceWaiter {
      readonly out: AppendedMany = { batches: [], firsts: [], starts: [], counts: [], count: 0, errors: undefined }
      readonly array: ReadonlyArray<ProducerRecord> | undefined
      readonly it: Iterator<ProducerRecord> | undefined
      i = 0
      pending: ProducerRecord | undefined = undefined
      /** Metadata waits for `pending` so far. */
      waits = 0
      /** Set at the time-out: records that do not fit at once fail instead of waiting. */
      expired = false
      resume: ((result: Effect.Effect<AppendedMany>) => void) | undefined = undefined
      deadline = 0
      /** Its place in the FIFO (to take it out when interrupted). */
      ticket = -1
      constructor(records: Iterable<ProducerRecord>) {
        // arrays by index (no iterator result per record), other iterables through their iterator
        this.array = Array.isArray(records) ? (records as ReadonlyArray<ProducerRecord>) : undefined
        this.it = this.array === undefined ? records[Symbol.iterator]() : undefined
      }

      /**
       * Appends in order, a plain loop (no object, Effect or generator step per record), until
       * the records end (DONE) or one needs metadata or space (left in `pending`). `queued`: at
       * the head of the FIFO.
       */
      run(queued: boolean): typeof DONE | typeof NEED_METADATA | typeof NEED_SPACE {
        const out = this.out
        for (;;) {
          let r = this.pending
          if (r === undefined) {
            if (this.array !== undefined) {
              if (this.i >= this.array.length) return DONE
              r = this.array[this.i++]
            } else {
              const next = this.it!.next()
              if (next.done === true) return DONE
              r = next.value
            }
            this.waits = 0
          }
          const x = tryAppend(r, queued)
          if (typeof x === "object") {
            if (isBatch(x)) addToRuns(out, x, acc.lastIndex, undefined)
            else addToRuns(out, undefined, -1, x)
          } else if (x === NEED_SPACE && this.expired) addToRuns(out, undefined, -1, spaceTimeout(r))
          else if (x === NEED_METADATA && this.waits >= 2) {
            addToRuns(out, undefined, -1, kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${r.topic} has no usable metadata`))
          } else {
            this.pending = r
            return x
          }
          this.pending = undefined
        }
      }

      /** What to do after `run`: the result, or the wait it needs. */
      next(x: typeof DONE | typeof NEED_METADATA | typeof NEED_SPACE): Effect.Effect<AppendedMany> {
        if (x === DONE) return Effect.succeed(this.out)
        if (x === NEED_SPACE) {
          return Effect.callback<AppendedMany>((resume) => {
            this.resume = resume
            this.deadline = elapsed() + o.maxBlockMs
            this.ticket = queueSpace(this, estimateSize(this.pending!))
            return Effect.sync(() => {
              // a dead head must not hold back the waiters behind it
              if (spaceQueue.cancel(this.ticket)) drainSpace()
            })
          })
        }
        const r = this.pending!
        this.waits++
        return Effect.flatMap(Effect.result(awaitTopic(r.topic, estimateSize(r))), (waited) => {
          if (Result.isFailure(waited)) {
            addToRuns(this.out, undefined, -1, waited.failure)
            this.pending = undefined
          }
          return this.next(this.run(false))
        })
      }

      take(): boolean {
        const before = this.out.count
        const x = this.run(true)
        if (x === NEED_SPACE) {
          if (this.out.count === before) return false
          // it moved on but its next record does not fit: behind the others, with a new deadline
          // (each record waits at most maxBlock; the FIFO stays in deadline order)
          this.deadline = elapsed() + o.maxBlockMs
          this.ticket = spaceQueue.push(estimateSize(this.pending!), this)
          armTimer()
          return true
        }
        this.resume!(x === DONE ? Effect.succeed(this.out) : Effect.suspend(() => this.next(x)))
        return true
      }

      expire(): void {
        this.expired = true
        const x = this.run(false)
        this.resume!(x === DONE ? Effect.succeed(this.out) : Effect.suspend(() => this.next(x)))
      }
    }

    /**
     * Appends records in order, as runs per batch: a plain loop on the fast path; blocked, the
     * rest waits as one entry of the FIFO. Errors are kept at their record's place.
     */
    const appendMany = (records: Iterable<ProducerRecord>): Effect.Effect<AppendedMany> =>
      Effect.suspend(() => {
        const a = new Appending(records)
        return a.next(a.run(false))
      })

    const awaitMany = (a: AppendedMany): Effect.Effect<ReadonlyArray<RecordMetadata>, ProducerError> =>
      Effect.gen(function*() {
        const out: Array<RecordMetadata> = new Array(a.count)
        let firstError: ProducerError | undefined
        for (let k = 0; k < a.batches.length; k++) {
          const batch = a.batches[k]
          const start = a.starts[k]
          if (batch === undefined) {
            firstError ??= a.errors!.get(start)
            continue
          }
          const ack = yield* Deferred.await(batch.done)
          const first = a.firsts[k]
          const count = a.counts[k]
          const part = ack[0]
          if (ack.length === 1 && part.error === undefined) {
            // one part, no error: consecutive offsets, one bigint step per record
            const { topic, partition, createdAt } = batch
            const logAppendTime = part.logAppendTime
            const records = batch.records
            let offset = part.baseOffset < 0n ? -1n : part.baseOffset + BigInt(first - part.start)
            const step = part.baseOffset < 0n ? 0n : 1n
            for (let j = 0; j < count; j++) {
              out[start + j] = {
                topic,
                partition,
                offset,
                timestamp: logAppendTime >= 0 ? logAppendTime : (records[first + j].timestamp ?? createdAt)
              }
              offset += step
            }
            continue
          }
          for (let j = 0; j < count; j++) {
            const m = metadataOf(batch, first + j, batch.records[first + j], ack)
            if (isError(m)) {
              txn.batchFailed(m)
              firstError ??= m
            } else out[start + j] = m
          }
        }
        if (firstError !== undefined) return yield* Effect.fail(firstError)
        return out
      })

    const flush: Effect.Effect<void> = Effect.suspend(() => {
      const batches = [...acc.pending]
      if (batches.length === 0) return Effect.void
      sender.flushing++
      sender.wake()
      return Effect.forEach(batches, (b) => Deferred.await(b.done), { discard: true }).pipe(
        Effect.ensuring(Effect.sync(() => {
          sender.flushing--
        }))
      )
    })

    // the sender loop lives in the producer's scope; closing flushes first, then stops it
    const loopFiber = yield* Effect.forkIn(sender.run, scope)
    yield* Scope.addFinalizer(parentScope, Effect.gen(function*() {
      closed = true
      sender.closing = true
      sender.wake()
      yield* flush
      yield* Fiber.interrupt(loopFiber)
    }).pipe(Effect.andThen(Effect.sync(() => sender.failAll(new ProducerClosed({ message: "the producer closed" }))))))

    const sendTyped = <K, V>(topic: Topic<K, V>, r: TypedRecord<K, V>) =>
      Effect.suspend(() => {
        const key = topic.encodeKey(r.key ?? null)
        if (Result.isFailure(key)) return Effect.fail(key.failure)
        const value = topic.encodeValue(r.value)
        if (Result.isFailure(value)) return Effect.fail(value.failure)
        return tracedSend({ topic: topic.name, key: key.success, value: value.success, partition: r.partition, headers: r.headers, timestamp: r.timestamp })
      })

    const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ProducerError, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          yield* txn.begin
          const exit = yield* Effect.exit(restore(effect))
          yield* flush
          if (Exit.isSuccess(exit) && txn.failure === undefined) {
            yield* txn.end(true)
            return exit.value
          }
          yield* txn.end(false).pipe(Effect.ignore)
          if (Exit.isSuccess(exit)) return yield* Effect.fail(txn.failure!)
          return yield* Effect.failCause(exit.cause)
        })
      )

    const sink: Sink.Sink<void, ProducerRecord, never, ProducerError> = Sink.suspend(() => {
      // batches not known to be fine yet, oldest first (one entry per batch)
      const pending = new Set<Batch>()
      const check = (batch: Batch): ProducerError | undefined => {
        const exit = Effect.runSyncExit(Deferred.await(batch.done))
        if (Exit.isFailure(exit)) return undefined
        for (const part of exit.value) {
          if (part.error !== undefined) {
            txn.batchFailed(part.error)
            return part.error
          }
        }
        return undefined
      }
      return Sink.forEachArray((chunk: ReadonlyArray<ProducerRecord>) =>
        Effect.flatMap(appendMany(chunk), (a) =>
          Effect.suspend(() => {
            if (a.errors !== undefined) return Effect.fail(a.errors.values().next().value!)
            for (const b of a.batches) pending.add(b!)
            // forget batches that are done and fine, so a long stream holds no memory
            for (const b of pending) {
              if (!Deferred.isDoneUnsafe(b.done)) break
              pending.delete(b)
              const e = check(b)
              if (e !== undefined) return Effect.fail(e)
            }
            return Effect.void
          })
        )
      ).pipe(Sink.mapEffectEnd(() =>
        Effect.forEach(pending, (b) =>
          Effect.flatMap(Deferred.await(b.done), () => {
            const e = check(b)
            return e === undefined ? Effect.void : Effect.fail(e)
          }), { discard: true }).pipe(Effect.as([undefined] as const))
      ))
    })

    const service: ProducerService = {
      send: tracedSend,
      sendAll: (records) => Effect.flatMap(appendMany(records), awaitMany),
      sendTyped,
      sink,
      flush,
      transaction,
      sendOffsets: txn.sendOffsets,
      identity: () => ({ producerId: identity.producerId, producerEpoch: identity.producerEpoch }),
      bufferedBytes: () => acc.bufferedBytes
    }
    return service
  })
