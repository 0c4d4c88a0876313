/**
 * Typed errors of the Admin service.
 *
 * How failures are reported:
 * - an error code for one item of a request (a topic, a partition, a group, a config resource, an
 *   ACL) becomes an {@link AdminItemError} naming that item and carrying the Kafka error as its
 *   `reason` (so `Effect.catchReason("AdminItemError", "TOPIC_ALREADY_EXISTS", …)` works);
 * - an operation over several items (`createTopics`, `deleteTopics`, `deleteRecords`, …) either
 *   succeeds for every item or fails with an {@link AdminPartialFailure} listing each failed item
 *   and naming the items that succeeded (their effect is done: a topic created is created);
 * - the single-item forms (`createTopic`, `describeGroup`, …) fail with the item's `AdminItemError`;
 * - bad arguments fail before any request: `InvalidTopicName` (from `kpax/Topic`) and
 *   {@link InvalidAdminRequest};
 * - connection, time-out and cluster-level failures are the `ClusterError`s of `kpax/Cluster`.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { ClusterError } from "../Cluster/Errors.ts"
import type { ErrorName, ErrorReason, KafkaError } from "../Protocol/Errors.ts"
import type { InvalidTopicName } from "../Topic.ts"

/**
 * A Kafka error code returned for one item of an admin request. `item` names the item
 * (`topic orders`, `partition orders-3`, `group billing`, `broker 1 config`, …); `error` is the
 * Kafka error; `reason`, `code`, `name`, `retriable` and `invalidMetadata` are copied from it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * admin.createTopic({ name: "orders", partitions: 3 }).pipe(
 *   Effect.catchReason("AdminItemError", "TOPIC_ALREADY_EXISTS", () => Effect.void)
 * )
 * ```
 *
 * @since 0.1.0
 */
export class AdminItemError extends Data.TaggedError("AdminItemError")<{
  /** The Admin operation, e.g. `"createTopics"`. */
  readonly operation: string
  /** What failed, e.g. `"topic orders"`. */
  readonly item: string
  readonly error: KafkaError
  readonly reason: ErrorReason
  readonly code: number
  readonly name: ErrorName
  readonly retriable: boolean
  readonly invalidMetadata: boolean
  readonly message: string
}> {}

/**
 * The `AdminItemError` for a Kafka error about one item.
 *
 * @since 0.1.0
 */
export const itemError = (operation: string, item: string, error: KafkaError): AdminItemError =>
  new AdminItemError({
    operation,
    item,
    error,
    reason: error.reason,
    code: error.code,
    name: error.name,
    retriable: error.retriable,
    invalidMetadata: error.invalidMetadata,
    message: `${operation}: ${item}: ${error.name}: ${error.message}`
  })

/**
 * Some items of an operation over several items failed. `failures` has one `AdminItemError` per
 * failed item; `succeeded` names the items that did not fail (what the operation does to them is
 * done).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * admin.deleteTopics(["a", "b"]).pipe(
 *   Effect.catchTag("AdminPartialFailure", (e) =>
 *     Effect.logWarning(`not deleted: ${e.failures.map((f) => f.item).join(", ")}`))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class AdminPartialFailure extends Data.TaggedError("AdminPartialFailure")<{
  readonly operation: string
  readonly failures: ReadonlyArray<AdminItemError>
  readonly succeeded: ReadonlyArray<string>
  readonly message: string
}> {}

/**
 * The `AdminPartialFailure` for failed items.
 *
 * @since 0.1.0
 */
export const partialFailure = (
  operation: string,
  failures: ReadonlyArray<AdminItemError>,
  succeeded: ReadonlyArray<string>
): AdminPartialFailure =>
  new AdminPartialFailure({
    operation,
    failures,
    succeeded,
    message: `${operation}: ${failures.length} of ${failures.length + succeeded.length} failed: ` +
      failures.map((f) => `${f.item} (${f.name}: ${f.error.message})`).join("; ")
  })

/**
 * A consumer group's offsets cannot be reset while it has active members: its state must be
 * `Empty` or `Dead`. Stop the group's consumers first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * admin.resetGroupOffsets("billing", { to: "earliest" }).pipe(
 *   Effect.catchTag("GroupHasActiveMembers", (e) => Effect.logError(`${e.members} consumers still run`))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class GroupHasActiveMembers extends Data.TaggedError("GroupHasActiveMembers")<{
  readonly group: string
  /** The group's state, e.g. `"Stable"`. */
  readonly state: string
  /** How many members the group has. */
  readonly members: number
  readonly message: string
}> {}

/**
 * A share-group operation named a group of another type (`classic`, `consumer`, `streams`): Kafka
 * keeps share-group offsets only for share groups.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 *
 * admin.listShareGroupOffsets("billing").pipe(
 *   Effect.catchTag("NotShareGroup", (e) => Effect.logError(`${e.group} is a ${e.type} group`))
 * )
 * ```
 *
 * @since 0.1.0
 */
export class NotShareGroup extends Data.TaggedError("NotShareGroup")<{
  readonly group: string
  /** The group's actual type. */
  readonly type: string
  readonly message: string
}> {}

/**
 * An admin request whose arguments are wrong (a partition count below 1, an assignment together
 * with a partition count, a topic named twice, a broker config resource whose name is not a node
 * id, …). Nothing was sent.
 *
 * @since 0.1.0
 */
export class InvalidAdminRequest extends Data.TaggedError("InvalidAdminRequest")<{
  readonly operation: string
  readonly message: string
}> {}

/**
 * Everything an Admin operation can fail with.
 *
 * @since 0.1.0
 */
export type AdminError =
  | AdminItemError
  | AdminPartialFailure
  | GroupHasActiveMembers
  | NotShareGroup
  | InvalidAdminRequest
  | InvalidTopicName
  | ClusterError
