/**
 * Typed errors of the consumer.
 *
 * Each error that concerns one partition carries its `topic` and `partition`. Errors of the
 * cluster layer (`KafkaError`, `ConnectionError`, `BrokerUnavailable`, …) pass through as they are.
 *
 * @example
 * ```ts
 * records.pipe(
 *   Stream.catchTag("OffsetOutOfRange", (e) => Stream.fromEffect(Effect.logError(`${e.topic}-${e.partition}@${e.offset}`)))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { ClusterError } from "../Cluster/Errors.ts"
import type { KafkaError } from "../Protocol/Errors.ts"
import type { RecordBatchError } from "../Protocol/RecordBatch.ts"

/**
 * Bad consumer settings (a negative size, an unknown isolation level, …). Never retried.
 *
 * @since 0.1.0
 */
export class InvalidConsumerConfig extends Data.TaggedError("InvalidConsumerConfig")<{
  readonly message: string
}> {}

/**
 * The position of a partition is outside its log (the records were deleted by retention or
 * `DeleteRecords`, or the offset is beyond the end) and the reset policy is `"none"`.
 *
 * @example
 * ```ts
 * Stream.catchTag("OffsetOutOfRange", (e) => Stream.fromEffect(consumer.seek(e, "earliest")))
 * ```
 *
 * @since 0.1.0
 */
export class OffsetOutOfRange extends Data.TaggedError("OffsetOutOfRange")<{
  readonly topic: string
  readonly partition: number
  /** The offset that was asked for. */
  readonly offset: bigint
  readonly message: string
}> {}

/**
 * The log of a partition was truncated below records already read (an unclean leader election:
 * the new leader never had them), detected after a leader change (KIP-320), and the reset policy
 * is `"none"`. With another policy the partition is read again from `divergentOffset`.
 *
 * @since 0.1.0
 */
export class LogTruncation extends Data.TaggedError("LogTruncation")<{
  readonly topic: string
  readonly partition: number
  /** The next offset the reader expected. */
  readonly offset: bigint
  /** Where the new leader's log diverges: records from here on were not the ones read. */
  readonly divergentOffset: bigint
  readonly message: string
}> {}

/**
 * A partition has no committed offset and the reset policy is `"none"`.
 *
 * @since 0.1.0
 */
export class NoOffsetForPartition extends Data.TaggedError("NoOffsetForPartition")<{
  readonly topic: string
  readonly partition: number
  readonly message: string
}> {}

/**
 * Fetched bytes of a partition that do not decode (bad CRC, corrupt lengths, undecodable
 * compression). `offset` is the offset that was fetched; `cause` says where and why.
 *
 * @since 0.1.0
 */
export class CorruptRecords extends Data.TaggedError("CorruptRecords")<{
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly cause: RecordBatchError
  readonly message: string
}> {}

/**
 * A broker answered a partition's Fetch or ListOffsets with an error that retrying cannot fix
 * (e.g. `TOPIC_AUTHORIZATION_FAILED`). `error` is the broker's error.
 *
 * @since 0.1.0
 */
export class PartitionError extends Data.TaggedError("PartitionError")<{
  readonly topic: string
  readonly partition: number
  readonly error: KafkaError
  readonly message: string
}> {}

/**
 * An operation named a partition that is not assigned to this consumer.
 *
 * @since 0.1.0
 */
export class PartitionNotAssigned extends Data.TaggedError("PartitionNotAssigned")<{
  readonly topic: string
  readonly partition: number
  readonly message: string
}> {}

/**
 * Records were acknowledged for a partition this consumer no longer owns (revoked, lost, or
 * released after a revocation timed out): the ack is refused, nothing is committed for them, so
 * the partition's next owner's offsets are never moved by this member.
 *
 * @example
 * ```ts
 * consumer.ack(record).pipe(Effect.catchTag("PartitionRevoked", (e) => Effect.logWarning(e.message)))
 * ```
 *
 * @since 0.1.0
 */
export class PartitionRevoked extends Data.TaggedError("PartitionRevoked")<{
  readonly topic: string
  readonly partition: number
  readonly message: string
}> {}

/**
 * The consumer was closed (its scope ended) while a stream was still read.
 *
 * @since 0.1.0
 */
export class ConsumerClosed extends Data.TaggedError("ConsumerClosed")<{
  readonly message: string
}> {}

/**
 * Everything reading records can fail with.
 *
 * @since 0.1.0
 */
export type ConsumerError =
  | ClusterError
  | OffsetOutOfRange
  | LogTruncation
  | NoOffsetForPartition
  | CorruptRecords
  | PartitionError
  | PartitionNotAssigned
  | ConsumerClosed
