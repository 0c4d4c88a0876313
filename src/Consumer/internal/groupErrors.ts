/**
 * Typed errors of consumer-group membership and offset commits (re-exported by `Group.ts` and
 * `Offsets.ts`). Errors of the cluster layer (`KafkaError` for coordinator trouble that outlived
 * the `RetryPolicy`, `ConnectionError`, `BrokerUnavailable`, …) pass through as they are.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { ClusterError } from "../../Cluster/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"

/**
 * Bad group settings (no group id, neither topics nor a pattern, an unknown group protocol, a
 * heartbeat interval not below the session timeout, …). Never retried.
 *
 * @since 0.1.0
 */
export class InvalidGroupConfig extends Data.TaggedError("InvalidGroupConfig")<{
  readonly message: string
}> {}

/**
 * The coordinator refused the membership for good: authorization, an inconsistent group protocol,
 * a session timeout outside the broker's bounds, a full group, an unknown server assignor, or a
 * static member fenced by another instance with the same `groupInstanceId`. The membership has
 * ended (its `assignments` stream fails with this error).
 *
 * @example
 * ```ts
 * membership.assignments.pipe(Stream.catchTag("GroupRejected", (e) => Stream.fromEffect(Effect.logError(e.error.name))))
 * ```
 *
 * @since 0.1.0
 */
export class GroupRejected extends Data.TaggedError("GroupRejected")<{
  readonly groupId: string
  /** The coordinator's error. */
  readonly error: KafkaError
  readonly message: string
}> {}

/**
 * A commit was refused because the member is no longer part of the generation it committed in
 * (`ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`, `FENCED_MEMBER_EPOCH`, `STALE_MEMBER_EPOCH` that
 * did not go away, `FENCED_INSTANCE_ID`): its partitions may already belong to another member, so
 * the offsets must not be committed again blindly. The membership rejoins by itself (reporting the
 * partitions as `Lost`).
 *
 * @since 0.1.0
 */
export class CommitFailed extends Data.TaggedError("CommitFailed")<{
  readonly groupId: string
  readonly error: KafkaError
  readonly message: string
}> {}

/**
 * A commit arrived while the (classic) group is between JoinGroup and SyncGroup. Commit again once
 * the rebalance is over, for the partitions still assigned.
 *
 * @since 0.1.0
 */
export class RebalanceInProgress extends Data.TaggedError("RebalanceInProgress")<{
  readonly groupId: string
  readonly message: string
}> {}

/**
 * Some partitions of a commit or fetch failed (e.g. `UNKNOWN_TOPIC_OR_PARTITION`,
 * `OFFSET_METADATA_TOO_LARGE`, `TOPIC_AUTHORIZATION_FAILED`, `UNSTABLE_OFFSET_COMMIT` that did not
 * settle); the others succeeded.
 *
 * @since 0.1.0
 */
export class OffsetPartitionErrors extends Data.TaggedError("OffsetPartitionErrors")<{
  readonly groupId: string
  readonly failures: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly error: KafkaError }>
  readonly message: string
}> {}

/**
 * The membership has left the group (or was abandoned); it commits and fetches nothing more.
 *
 * @since 0.1.0
 */
export class GroupClosed extends Data.TaggedError("GroupClosed")<{
  readonly groupId: string
  readonly message: string
}> {}

/**
 * Everything committing or fetching offsets can fail with.
 *
 * @since 0.1.0
 */
export type OffsetsError = CommitFailed | RebalanceInProgress | OffsetPartitionErrors | KafkaError | ClusterError

/**
 * Everything group membership can fail with.
 *
 * @since 0.1.0
 */
export type GroupError = InvalidGroupConfig | GroupRejected | GroupClosed | OffsetsError
