/**
 * Typed errors of the producer.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { ClusterError } from "../Cluster/Errors.ts"
import type { CompressionError } from "../Protocol/Compression.ts"
import type { InvalidTopicName, RecordEncodeError } from "../Topic.ts"

/**
 * A record larger than the producer may send (`maxRequestSize`), or one the broker refused as too
 * large even alone in its batch. Only that record fails; the others are sent.
 *
 * @since 0.1.0
 */
export class RecordTooLarge extends Data.TaggedError("RecordTooLarge")<{
  readonly topic: string
  readonly size: number
  readonly max: number
  readonly message: string
}> {}

/**
 * A record that cannot be sent as given: a header that is not `{ key: string, value: bytes | null }`,
 * a value that is not bytes, a partition outside the topic. Only that record fails.
 *
 * @since 0.1.0
 */
export class InvalidRecord extends Data.TaggedError("InvalidRecord")<{
  readonly topic: string
  readonly message: string
}> {}

/**
 * The record was not acknowledged within `deliveryTimeout` (retries included).
 *
 * @since 0.1.0
 */
export class DeliveryTimeout extends Data.TaggedError("DeliveryTimeout")<{
  readonly topic: string
  readonly partition: number
  readonly timeoutMs: number
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * Another producer with the same `transactionalId` started (PRODUCER_FENCED / INVALID_PRODUCER_EPOCH
 * in a transaction): this producer can no longer write. Close it.
 *
 * @since 0.1.0
 */
export class ProducerFenced extends Data.TaggedError("ProducerFenced")<{
  readonly transactionalId: string
  readonly message: string
}> {}

/**
 * A transaction could not be begun, committed or aborted (state error, coordinator error,
 * transaction time-out). `code` is Kafka's error code when the broker answered with one.
 *
 * @since 0.1.0
 */
export class TransactionError extends Data.TaggedError("TransactionError")<{
  readonly transactionalId: string
  readonly code: number | undefined
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * A `send` blocked longer than `maxBlock` before its record could even be queued: it waited for
 * the topic's metadata (`waitedFor: "metadata"`: unknown topic, no leader yet) or for room in
 * `bufferMemory` (`waitedFor: "buffer-space"`: the broker drains slower than records arrive).
 * Nothing of the record was sent. `size` is the record's estimated size in bytes.
 *
 * @example
 * ```ts
 * producer.send(record).pipe(
 *   Effect.catchTag("MaxBlockTimeout", (e) =>
 *     Effect.logWarning(`${e.topic}: waited ${e.timeoutMs} ms for ${e.waitedFor}`)))
 * ```
 *
 * @since 0.1.0
 */
export class MaxBlockTimeout extends Data.TaggedError("MaxBlockTimeout")<{
  readonly waitedFor: "metadata" | "buffer-space"
  readonly topic: string
  readonly size: number
  readonly timeoutMs: number
  readonly message: string
}> {}

/**
 * The producer is closed (its scope ended) or failed fatally: nothing more is accepted.
 *
 * @since 0.1.0
 */
export class ProducerClosed extends Data.TaggedError("ProducerClosed")<{
  readonly message: string
}> {}

/**
 * Contradictory or out-of-range producer settings (e.g. idempotence with acks=1).
 *
 * @since 0.1.0
 */
export class InvalidProducerConfig extends Data.TaggedError("InvalidProducerConfig")<{
  readonly message: string
}> {}

/**
 * Everything `send` can fail with.
 *
 * @since 0.1.0
 */
export type ProducerError =
  | ClusterError
  | RecordTooLarge
  | InvalidRecord
  | DeliveryTimeout
  | MaxBlockTimeout
  | ProducerFenced
  | TransactionError
  | ProducerClosed
  | CompressionError
  | InvalidTopicName
  | RecordEncodeError
