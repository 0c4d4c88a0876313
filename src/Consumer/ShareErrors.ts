/**
 * Typed errors of the share consumer (KIP-932 share groups).
 *
 * @example
 * ```ts
 * const results = yield* shareConsumer.commit
 * for (const r of results) if (r.error?._tag === "InvalidRecordState") yield* Effect.logWarning(r.error.message)
 * ```
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { KafkaError } from "../Protocol/Errors.ts"

/**
 * The share-group coordinator refused the membership for good (authorization, the group id is
 * used by another kind of group, the group is full, the broker has no share groups, …).
 *
 * @since 0.1.0
 */
export class ShareGroupRejected extends Data.TaggedError("ShareGroupRejected")<{
  readonly groupId: string
  readonly error: KafkaError
  readonly message: string
}> {}

/**
 * An acknowledgement the broker refused because the records were not in a state that allows it:
 * typically their acquisition lock expired (`share.record.lock.duration.ms`) and they went back to
 * the group, or were delivered to another member (INVALID_RECORD_STATE).
 *
 * @since 0.1.0
 */
export class InvalidRecordState extends Data.TaggedError("InvalidRecordState")<{
  readonly topic: string
  readonly partition: number
  readonly message: string
}> {}

/**
 * An acknowledgement of a partition's records failed for another reason (the leader moved, the
 * share session was lost, authorization, …). `error` is the broker's error.
 *
 * @since 0.1.0
 */
export class AcknowledgeFailed extends Data.TaggedError("AcknowledgeFailed")<{
  readonly topic: string
  readonly partition: number
  readonly error: KafkaError
  readonly message: string
}> {}

/**
 * The share consumer was closed (or abandoned) while a stream was still read.
 *
 * @since 0.1.0
 */
export class ShareConsumerClosed extends Data.TaggedError("ShareConsumerClosed")<{
  readonly message: string
}> {}

/**
 * Why an acknowledgement failed.
 *
 * @since 0.1.0
 */
export type AcknowledgeError = InvalidRecordState | AcknowledgeFailed
