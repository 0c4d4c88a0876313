/**
 * The producer's front: `send`/`sendAll` append records synchronously (partitioning, validation,
 * accounting) and wait on their batch's `Deferred`; the slow path waits for metadata or buffer
 * space. Construction wires the accumulator, the sender loop and transactions into a scope.
 *
 * @internal
 */
import { Deferred, Effect, Exit, Fiber, Result, Scope, Sink } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import * as RetryPolicy from "../../Cluster/RetryPolicy.ts"
import { kafkaError } from "../../Protocol/Errors.ts"
import { validateName } from "../../Topic.ts"
import type { Topic } from "../../Topic.ts"
import { InvalidRecord, ProducerClosed, RecordTooLarge } from "../Errors.ts"
import type { ProducerError } from "../Errors.ts"
import { defaultPartitioner } from "../Partitioner.ts"
import type { ProducerRecord, ProducerService, RecordMetadata, ResolvedOptions, TypedRecord } from "../Producer.ts"
import { Accumulator, estimateSize } from "./accumulator.ts"
import type { Batch, BatchAck } from "./accumulator.ts"
import { Sender } from "./sender.ts"
import { Transactions } from "./transactions.ts"

/** Where a record went: its batch and index there. */
interface Appended {
  readonly batch: Batch
  readonly index: number
  readonly record: ProducerRecord
}

const NEED_METADATA = 1
const NEED_SPACE = 2

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

const metadataOf = (a: Appended, ack: BatchAck): Result.Result<RecordMetadata, ProducerError> => {
  const i = a.index
  let part = ack[0]
  if (ack.length > 1) {
    for (const p of ack) {
      if (i >= p.start && i < p.start + p.count) {
        part = p
        break
      }
    }
  }
  if (part.error !== undefined) return Result.fail(part.error)
  return Result.succeed({
    topic: a.batch.topic,
    partition: a.batch.partition,
    offset: part.baseOffset < 0n ? -1n : part.baseOffset + BigInt(i - part.start),
    timestamp: part.logAppendTime >= 0 ? part.logAppendTime : (a.record.timestamp ?? a.batch.createdAt)
  })
}

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
    if (o.idempotent) {
      yield* txn.init
      if (o.transactionalId === null) sender.resetIdentity = txn.init
    }
    const partitioner = o.partitioner ?? defaultPartitioner({ batchSize: o.batchSize })
    let closed = false

    /** The synchronous fast path: an Appended, a typed error, or a reason to take the slow path. */
    const tryAppend = (r: ProducerRecord): Appended | ProducerError | typeof NEED_METADATA | typeof NEED_SPACE => {
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
      const t = cluster.snapshot().topics.get(r.topic)
      if (t === undefined || t.errorCode !== 0 || t.partitions.length === 0) return NEED_METADATA
      if (acc.bufferedBytes > 0 && acc.bufferedBytes + size > o.bufferMemory) return NEED_SPACE
      let partition = r.partition
      if (partition === undefined) {
        partition = partitioner({ topic: r.topic, key: r.key ?? null, size, partitionCount: t.partitions.length, available: t.available })
      } else if (!Number.isInteger(partition) || partition < 0 || partition >= t.partitions.length) {
        return new InvalidRecord({ topic: r.topic, message: `partition ${partition} does not exist: ${r.topic} has ${t.partitions.length} partitions` })
      }
      const { batch, index, wake } = acc.append(r.topic, partition, r, size, now())
      if (wake) sender.wake()
      return { batch, index, record: r }
    }

    /** Waits until the topic's metadata is known (bounded by maxBlock and the retry policy). */
    const awaitTopic = (topic: string): Effect.Effect<void, ProducerError> =>
      Effect.suspend((): Effect.Effect<void, ProducerError> => {
        const named = validateName(topic)
        if (Result.isFailure(named)) return Effect.fail(named.failure)
        return RetryPolicy.retry(cluster.topic(topic)).pipe(
          Effect.timeoutOrElse({
            duration: o.maxBlockMs,
            orElse: () => Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${topic} not in the cluster's metadata after ${o.maxBlockMs} ms`))
          }),
          Effect.asVoid
        )
      })

    const awaitSpace: Effect.Effect<void> = Effect.suspend(() => {
      const d = Deferred.makeUnsafe<void>()
      sender.spaceWaiters.push(d)
      sender.wake()
      return Deferred.await(d)
    })

    /** Appends one record, taking the slow path when needed. */
    const append = (r: ProducerRecord): Effect.Effect<Appended, ProducerError> =>
      Effect.suspend(() => {
        const first = tryAppend(r)
        if (typeof first === "object") return "_tag" in first ? Effect.fail(first) : Effect.succeed(first)
        const loop = (reason: number, waited: number): Effect.Effect<Appended, ProducerError> => {
          const wait = reason === NEED_METADATA ? awaitTopic(r.topic) : awaitSpace
          return Effect.flatMap(wait, () => {
            const next = tryAppend(r)
            if (typeof next === "object") return "_tag" in next ? Effect.fail(next) : Effect.succeed(next)
            if (next === NEED_METADATA && waited > 0) {
              return Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${r.topic} has no usable metadata`))
            }
            return loop(next, next === NEED_METADATA ? waited + 1 : waited)
          })
        }
        return loop(first, 0).pipe(
          Effect.timeoutOrElse({
            duration: o.maxBlockMs,
            orElse: () => Effect.fail(kafkaError("REQUEST_TIMED_OUT", `no buffer space or metadata for ${r.topic} within ${o.maxBlockMs} ms`))
          })
        )
      })

    const awaitAppended = (a: Appended): Effect.Effect<RecordMetadata, ProducerError> =>
      Effect.flatMap(Deferred.await(a.batch.done), (ack) => {
        const m = metadataOf(a, ack)
        if (Result.isFailure(m)) txn.batchFailed(m.failure)
        return Result.isSuccess(m) ? Effect.succeed(m.success) : Effect.fail(m.failure)
      })

    const send = (r: ProducerRecord) => Effect.flatMap(append(r), awaitAppended)

    /** Appends records in order; the fast path allocates no Effect per record. */
    const appendMany = (records: Iterable<ProducerRecord>): Effect.Effect<Array<Appended | ProducerError>> =>
      Effect.gen(function*() {
        const out: Array<Appended | ProducerError> = []
        for (const r of records) {
          const a = tryAppend(r)
          if (typeof a === "object") out.push(a)
          else out.push(yield* Effect.result(append(r)).pipe(Effect.map((x) => (Result.isSuccess(x) ? x.success : x.failure))))
        }
        return out
      })

    const awaitMany = (appended: ReadonlyArray<Appended | ProducerError>): Effect.Effect<ReadonlyArray<RecordMetadata>, ProducerError> =>
      Effect.gen(function*() {
        const out: Array<RecordMetadata> = new Array(appended.length)
        let firstError: ProducerError | undefined
        let lastBatch: Batch | undefined
        let ack: BatchAck | undefined
        for (let i = 0; i < appended.length; i++) {
          const a = appended[i]
          if ("_tag" in a) {
            firstError ??= a
            continue
          }
          if (a.batch !== lastBatch) {
            lastBatch = a.batch
            ack = yield* Deferred.await(a.batch.done)
          }
          const m = metadataOf(a, ack!)
          if (Result.isSuccess(m)) out[i] = m.success
          else {
            txn.batchFailed(m.failure)
            firstError ??= m.failure
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
      const pending: Array<Appended | ProducerError> = []
      return Sink.forEachArray((chunk: ReadonlyArray<ProducerRecord>) =>
        Effect.flatMap(appendMany(chunk), (as) =>
          Effect.suspend(() => {
            for (const a of as) {
              if ("_tag" in a) return Effect.fail(a)
              // keep one entry per batch: the last record of each batch is enough to await it
              const last = pending[pending.length - 1]
              if (last !== undefined && !("_tag" in last) && last.batch === a.batch) pending[pending.length - 1] = a
              else pending.push(a)
            }
            // forget batches that are done and fine, so a long stream holds no memory
            while (pending.length > 0) {
              const head = pending[0] as Appended
              if (!Deferred.isDoneUnsafe(head.batch.done)) break
              const exit = Effect.runSyncExit(Deferred.await(head.batch.done))
              if (Exit.isSuccess(exit)) {
                const m = metadataOf(head, exit.value)
                if (Result.isFailure(m)) return Effect.fail(m.failure)
              }
              pending.shift()
            }
            return Effect.void
          })
        )
      ).pipe(Sink.mapEffectEnd(() => Effect.map(awaitMany(pending), () => [undefined] as const)))
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
