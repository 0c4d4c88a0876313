/**
 * The producer's front: `send`/`sendAll` append records synchronously (partitioning, validation,
 * accounting) and wait on their batch's `Deferred`; the slow path waits for metadata or buffer
 * space. Construction wires the accumulator, the sender loop and transactions into a scope.
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
import type { ProducerRecord, ProducerService, RecordMetadata, ResolvedOptions, TypedRecord } from "../Producer.ts"
import { Accumulator, Batch, estimateSize } from "./accumulator.ts"
import type { BatchAck, PendingRecord } from "./accumulator.ts"
import { Sender } from "./sender.ts"
import { SpaceQueue } from "./spaceQueue.ts"
import { Transactions } from "./transactions.ts"

/** Where a record went: its batch and index there. */
interface Appended {
  readonly batch: Batch
  readonly index: number
  readonly record: ProducerRecord
}

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

/**
 * A send blocked on buffer space: its record, and the callback that resumes its fiber with the
 * outcome of the append done for it when space freed (see `SpaceQueue`).
 */
interface SpaceWaiter {
  readonly record: ProducerRecord
  readonly resume: (effect: Effect.Effect<Appended | typeof NEED_METADATA, ProducerError>) => void
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
    const policy = yield* RetryPolicy.RetryPolicy
    const runFork = Effect.runForkWith(context)
    const acc = new Accumulator(o.batchSize)
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

    /**
     * Appends for the waiters at the head of the space queue while their records fit, in order
     * (called when a batch completes and when a waiter joins or leaves). A waiter whose topic lost
     * its metadata meanwhile is resumed to wait for it, and then queues again.
     */
    const takeWaiter = (_size: number, w: SpaceWaiter): boolean => {
      const x = tryAppend(w.record, true)
      if (x === NEED_SPACE) return false
      if (x === NEED_METADATA) w.resume(Effect.succeed(NEED_METADATA))
      else if (isBatch(x)) w.resume(Effect.succeed({ batch: x, index: acc.lastIndex, record: w.record }))
      else w.resume(Effect.fail(x))
      return true
    }
    const drainSpace = (): void => {
      if (spaceQueue.length > 0) spaceQueue.drain(takeWaiter)
    }
    sender.onSpaceFreed = drainSpace

    /**
     * Queues the record for buffer space; resumes with its append once it fits (or with
     * NEED_METADATA). Interrupted (maxBlock, the caller), its entry is marked dead.
     */
    const awaitSpace = (r: ProducerRecord): Effect.Effect<Appended | typeof NEED_METADATA, ProducerError> =>
      Effect.suspend(() => {
        if (spaceQueue.length === 0) {
          // space may have freed since the fast path looked
          const x = tryAppend(r, true)
          if (x === NEED_METADATA) return Effect.succeed(NEED_METADATA)
          if (isBatch(x)) return Effect.succeed({ batch: x, index: acc.lastIndex, record: r })
          if (x !== NEED_SPACE) return Effect.fail(x)
        }
        return Effect.callback<Appended | typeof NEED_METADATA, ProducerError>((resume) => {
          const ticket = spaceQueue.push(estimateSize(r), { record: r, resume })
          sender.wake()
          return Effect.sync(() => {
            // a dead head must not hold back the waiters behind it
            if (spaceQueue.cancel(ticket)) drainSpace()
          })
        })
      })

    /** Appends one record, taking the slow path when needed. */
    const appended = (x: Batch | ProducerError, r: ProducerRecord): Effect.Effect<Appended, ProducerError> =>
      isBatch(x) ? Effect.succeed({ batch: x, index: acc.lastIndex, record: r }) : Effect.fail(x)

    const append = (r: ProducerRecord): Effect.Effect<Appended, ProducerError> =>
      Effect.suspend(() => {
        const first = tryAppend(r)
        if (typeof first === "object") return appended(first, r)
        // the slow path: what it waits for now, for the time-out's error
        let waitingFor: typeof NEED_METADATA | typeof NEED_SPACE = first
        const afterMetadata = (waited: number): Effect.Effect<Appended, ProducerError> =>
          Effect.flatMap(awaitTopic(r.topic, estimateSize(r)), () => {
            const next = tryAppend(r)
            if (typeof next === "object") return appended(next, r)
            if (next === NEED_METADATA && waited > 0) {
              return Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${r.topic} has no usable metadata`))
            }
            return next === NEED_METADATA ? afterMetadata(waited + 1) : forSpace(waited)
          })
        const forSpace = (waited: number): Effect.Effect<Appended, ProducerError> => {
          waitingFor = NEED_SPACE
          return Effect.flatMap(awaitSpace(r), (x) => {
            if (x !== NEED_METADATA) return Effect.succeed(x)
            waitingFor = NEED_METADATA
            return afterMetadata(waited)
          })
        }
        return (first === NEED_METADATA ? afterMetadata(0) : forSpace(0)).pipe(
          Effect.timeoutOrElse({
            duration: o.maxBlockMs,
            orElse: () =>
              Effect.fail(
                waitingFor === NEED_METADATA
                  ? metadataTimeout(r.topic, estimateSize(r))
                  : new MaxBlockTimeout({
                    waitedFor: "buffer-space", topic: r.topic, size: estimateSize(r), timeoutMs: o.maxBlockMs,
                    message: `no room for a record of about ${estimateSize(r)} bytes for ${r.topic} in bufferMemory (${o.bufferMemory} bytes) within maxBlock (${o.maxBlockMs} ms)`
                  })
              )
          })
        )
      })

    const awaitInBatch = (batch: Batch, index: number, record: ProducerRecord): Effect.Effect<RecordMetadata, ProducerError> =>
      Effect.flatMap(Deferred.await(batch.done), (ack) => {
        const m = metadataOf(batch, index, record, ack)
        if (isError(m)) {
          txn.batchFailed(m)
          return Effect.fail(m)
        }
        return Effect.succeed(m)
      })

    const awaitAppended = (a: Appended): Effect.Effect<RecordMetadata, ProducerError> => awaitInBatch(a.batch, a.index, a.record)

    /**
     * One record: on the fast path the append is synchronous and goes straight to the batch's
     * Deferred (no `Appended` object, no extra flatMap step); the slow path only when needed.
     */
    const send = (r: ProducerRecord): Effect.Effect<RecordMetadata, ProducerError> =>
      Effect.suspend(() => {
        const first = tryAppend(r)
        if (isBatch(first)) return awaitInBatch(first, acc.lastIndex, r)
        if (typeof first === "object") return Effect.fail(first)
        return Effect.flatMap(append(r), awaitAppended)
      })

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
     * Appends records in order, as runs per batch: a plain loop on the fast path (no object,
     * Effect or generator step per record); the slow path (metadata, buffer space) per record
     * that needs it. Errors are kept at their record's place.
     */
    const appendMany = (records: Iterable<ProducerRecord>): Effect.Effect<AppendedMany> =>
      Effect.suspend(() => {
        const out: AppendedMany = { batches: [], firsts: [], starts: [], counts: [], count: 0, errors: undefined }
        // arrays by index (no iterator result per record), other iterables through their iterator
        const array = Array.isArray(records) ? (records as ReadonlyArray<ProducerRecord>) : undefined
        const it = array === undefined ? records[Symbol.iterator]() : undefined
        let i = 0
        const loop = (): Effect.Effect<AppendedMany> => {
          for (;;) {
            let r: ProducerRecord
            if (array !== undefined) {
              if (i >= array.length) return Effect.succeed(out)
              r = array[i++]
            } else {
              const next = it!.next()
              if (next.done === true) return Effect.succeed(out)
              r = next.value
            }
            const x = tryAppend(r)
            if (typeof x === "object") {
              if (isBatch(x)) addToRuns(out, x, acc.lastIndex, undefined)
              else addToRuns(out, undefined, -1, x)
              continue
            }
            return Effect.flatMap(Effect.result(append(r)), (slow) => {
              if (Result.isSuccess(slow)) addToRuns(out, slow.success.batch, slow.success.index, undefined)
              else addToRuns(out, undefined, -1, slow.failure)
              return loop()
            })
          }
        }
        return loop()
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
        return send({ topic: topic.name, key: key.success, value: value.success, partition: r.partition, headers: r.headers, timestamp: r.timestamp })
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
      send,
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
