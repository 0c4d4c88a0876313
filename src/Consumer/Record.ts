/**
 * What a consumer reads: records (`ConsumerRecord`), per-partition batches of them
 * (`ConsumerBatch`), and typed records decoded through a `Topic`'s schemas.
 *
 * Keys, values and header values are `Uint8Array` views into the fetched bytes (no copy): keep
 * them beyond processing only by copying them (`Uint8Array.prototype.slice`).
 *
 * **Typed records.** `decode(topic)` turns a stream of records into a stream of typed records,
 * failing the stream with a `RecordDecodeError` (topic, partition, offset, key or value, reason)
 * at the first record that does not decode; `decodeResult(topic)` emits a `Result` per record
 * instead, so that bad records can be skipped, collected or sent to a dead-letter topic;
 * `decodeSkipping(topic, onError)` skips them after handing each error to `onError`. Decoding
 * never throws.
 *
 * @example
 * ```ts
 * import { Schema, Stream } from "effect"
 * import * as Consumer from "kpax/Consumer" // or kpax/PartitionConsumer: both re-export these
 * import * as Topic from "kpax/Topic"
 *
 * const Orders = Topic.make({ name: "orders", key: Schema.String, value: Schema.Struct({ id: Schema.String }) })
 * const typed = records.pipe(Consumer.decode(Orders)) // Stream<TypedConsumerRecord<string, { id: string }>, E | RecordDecodeError>
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Result, Stream } from "effect"
import type { Header } from "../Protocol/RecordBatch.ts"
import type { RecordDecodeError, Topic } from "../Topic.ts"

export type { Header }

/**
 * A partition of a topic.
 *
 * @since 0.1.0
 */
export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/**
 * A record read from Kafka.
 *
 * @since 0.1.0
 */
export interface ConsumerRecord {
  readonly topic: string
  readonly partition: number
  /** The record's offset in its partition. */
  readonly offset: bigint
  /** Milliseconds since the epoch. */
  readonly timestamp: number
  /** Whether `timestamp` is the producer's create time or the broker's append time. */
  readonly timestampType: "CreateTime" | "LogAppendTime"
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: ReadonlyArray<Header>
  /** The leader epoch of the batch that holds the record (-1 when unknown: old message formats). */
  readonly leaderEpoch: number
}

/**
 * The records of one partition from one fetch, with the partition's offsets as the broker saw
 * them then.
 *
 * @since 0.1.0
 */
export interface ConsumerBatch {
  readonly topic: string
  readonly partition: number
  /** In offset order; never empty. */
  readonly records: ReadonlyArray<ConsumerRecord>
  /** The offset after the last fully replicated record. */
  readonly highWatermark: bigint
  /** The offset after the last record of a decided transaction (-1 when the broker did not say). */
  readonly lastStableOffset: bigint
  /** The first offset still in the log (-1 when the broker did not say). */
  readonly logStartOffset: bigint
  /** The position after this batch: the offset to read next. */
  readonly nextOffset: bigint
}

/**
 * A record whose key and value were decoded through a `Topic`'s schemas.
 *
 * @since 0.1.0
 */
export interface TypedConsumerRecord<K, V> extends Omit<ConsumerRecord, "key" | "value"> {
  readonly key: K | null
  readonly value: V
  /** The record as read. */
  readonly raw: ConsumerRecord
}

/**
 * Decodes one record through a topic's schemas.
 *
 * @example
 * ```ts
 * const result = Record.decodeRecord(Orders, record)
 * if (Result.isSuccess(result)) console.log(result.success.value.id)
 * ```
 *
 * @since 0.1.0
 */
export const decodeRecord = <K, V>(topic: Topic<K, V>, record: ConsumerRecord): Result.Result<TypedConsumerRecord<K, V>, RecordDecodeError> => {
  const key = topic.decodeKey(record.key, record.partition, record.offset)
  if (Result.isFailure(key)) return Result.fail(key.failure)
  const value = topic.decodeValue(record.value, record.partition, record.offset)
  if (Result.isFailure(value)) return Result.fail(value.failure)
  return Result.succeed({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType,
    headers: record.headers,
    leaderEpoch: record.leaderEpoch,
    key: key.success,
    value: value.success,
    raw: record
  })
}

/** Runs the topic's `prepare` (if it has one) on each batch before it is decoded. */
const prepared = <K, V>(topic: Topic<K, V>) =>
<E, R>(self: Stream.Stream<ConsumerRecord, E, R>): Stream.Stream<ConsumerRecord, E, R> => {
  const prepare = topic.prepare
  return prepare === undefined ? self : Stream.mapArrayEffect(self, (chunk) => Effect.as(prepare(chunk), chunk))
}

/**
 * Decodes a stream of records through a topic's schemas; the stream fails with the first
 * `RecordDecodeError` (after emitting every record before it).
 *
 * @example
 * ```ts
 * const orders = records.pipe(Record.decode(Orders))
 * ```
 *
 * @since 0.1.0
 */
export const decode = <K, V>(topic: Topic<K, V>) =>
<E, R>(self: Stream.Stream<ConsumerRecord, E, R>): Stream.Stream<TypedConsumerRecord<K, V>, E | RecordDecodeError, R> =>
  Stream.transformPull(prepared(topic)(self), (pull) =>
    Effect.sync(() => {
      let failed: RecordDecodeError | undefined
      return Effect.suspend(() => {
        if (failed !== undefined) return Effect.fail(failed)
        return Effect.flatMap(pull, (chunk) => {
          const out: Array<TypedConsumerRecord<K, V>> = []
          for (let i = 0; i < chunk.length; i++) {
            const r = decodeRecord(topic, chunk[i])
            if (Result.isFailure(r)) {
              failed = r.failure
              break
            }
            out.push(r.success)
          }
          if (out.length === 0) return Effect.fail(failed!)
          return Effect.succeed(out as unknown as readonly [TypedConsumerRecord<K, V>, ...Array<TypedConsumerRecord<K, V>>])
        })
      })
    }))

/**
 * Decodes a stream of records through a topic's schemas into a `Result` per record: the stream
 * never fails on a bad record, the caller decides (skip, collect, dead-letter).
 *
 * @example
 * ```ts
 * const results = records.pipe(Record.decodeResult(Orders))
 * const bad = results.pipe(Stream.filter(Result.isFailure))
 * ```
 *
 * @since 0.1.0
 */
export const decodeResult = <K, V>(topic: Topic<K, V>) =>
<E, R>(self: Stream.Stream<ConsumerRecord, E, R>): Stream.Stream<Result.Result<TypedConsumerRecord<K, V>, RecordDecodeError>, E, R> =>
  Stream.mapArray(prepared(topic)(self), (chunk) => {
    const out = new Array<Result.Result<TypedConsumerRecord<K, V>, RecordDecodeError>>(chunk.length)
    for (let i = 0; i < chunk.length; i++) out[i] = decodeRecord(topic, chunk[i])
    return out as unknown as readonly [Result.Result<TypedConsumerRecord<K, V>, RecordDecodeError>]
  })

/**
 * Decodes a stream of records through a topic's schemas, skipping records that do not decode
 * after running `onError` for each (log it, count it, send it to a dead-letter topic).
 *
 * @example
 * ```ts
 * const orders = records.pipe(Record.decodeSkipping(Orders, (e) => Effect.logWarning(e.message)))
 * ```
 *
 * @since 0.1.0
 */
export const decodeSkipping = <K, V, E2 = never, R2 = never>(
  topic: Topic<K, V>,
  onError: (error: RecordDecodeError) => Effect.Effect<void, E2, R2> = () => Effect.void as Effect.Effect<void, E2, R2>
) =>
<E, R>(self: Stream.Stream<ConsumerRecord, E, R>): Stream.Stream<TypedConsumerRecord<K, V>, E | E2, R | R2> =>
  Stream.transformPull(prepared(topic)(self), (pull) =>
    Effect.sync(() => {
      const next: Effect.Effect<
        readonly [TypedConsumerRecord<K, V>, ...Array<TypedConsumerRecord<K, V>>],
        Effect.Error<typeof pull> | E2,
        R2
      > = Effect.flatMap(pull, (chunk) => {
        const out: Array<TypedConsumerRecord<K, V>> = []
        const errors: Array<RecordDecodeError> = []
        for (let i = 0; i < chunk.length; i++) {
          const r = decodeRecord(topic, chunk[i])
          if (Result.isFailure(r)) errors.push(r.failure)
          else out.push(r.success)
        }
        const report = errors.length === 0 ? Effect.void : Effect.forEach(errors, onError, { discard: true })
        return Effect.flatMap(report, () =>
          out.length === 0 ? next : Effect.succeed(out as unknown as readonly [TypedConsumerRecord<K, V>, ...Array<TypedConsumerRecord<K, V>>]))
      })
      return next
    }))
