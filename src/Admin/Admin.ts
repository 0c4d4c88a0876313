/**
 * The `Admin` service: topics, partitions, configs, the cluster, groups of every type (classic,
 * consumer, share, streams) and their offsets — share groups' start offsets too —, records and
 * ACLs — the Kafka admin API over the `Cluster` in context.
 *
 * Where requests go: topic, config and ACL requests to any broker (in KRaft every broker forwards
 * what the controller must do), a broker's own configs to that broker, group requests to the
 * group's coordinator (looked up again when it moves), per-partition requests (ListOffsets,
 * DeleteRecords) to each partition's leader, one request per leader.
 *
 * How failures come back (see `kpax/Admin/Errors`): operations over several items succeed for all
 * of them or fail with `AdminPartialFailure`, which lists an `AdminItemError` per failed item and
 * names the items that succeeded; the one-item forms fail with the `AdminItemError` itself. Topic
 * names are checked before anything is sent (`InvalidTopicName`), other bad arguments are an
 * `InvalidAdminRequest`. Network failures are retried by the `RetryPolicy`, as are moved
 * coordinators and leaders.
 *
 * Layer: a client on the Cluster (checked by `npm run lint:cycles`). May import Protocol,
 * Connection, Cluster, Topic and Consumer (its group-offset helpers); never its peers Producer and
 * SchemaRegistry, or anything above.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Admin from "kpax/Admin"
 * import * as Cluster from "kpax/Cluster"
 *
 * const program = Effect.gen(function*() {
 *   const admin = yield* Admin.Admin
 *   yield* admin.createTopic({ name: "orders", partitions: 6, configs: { "retention.ms": "86400000" } })
 *   const lag = yield* admin.listGroupOffsets("billing")
 *   yield* Effect.log(lag.map((p) => `${p.topic}-${p.partition}: ${p.lag}`))
 * }).pipe(
 *   Effect.provide(Admin.layer),
 *   Effect.provide(Cluster.layer({ bootstrap: ["localhost:9092"] }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { Duration } from "effect"
import { Cluster } from "../Cluster/Cluster.ts"
import type { ClusterError } from "../Cluster/Errors.ts"
import * as Telemetry from "../Connection/Telemetry.ts"
import type { InvalidTopicName } from "../Topic.ts"
import type { AdminItemError, AdminPartialFailure, GroupHasActiveMembers, InvalidAdminRequest, NotShareGroup } from "./Errors.ts"
import * as acls from "./internal/acls.ts"
import type { AclBinding, AclFilter } from "./internal/acls.ts"
import * as configs from "./internal/configs.ts"
import type { ConfigChange, DescribeConfigsOptions, ResourceConfig } from "./internal/configs.ts"
import type { ConfigResource } from "./internal/configTypes.ts"
import { describeCluster } from "./internal/describeCluster.ts"
import type { ClusterDescription } from "./internal/describeCluster.ts"
import * as groupOffsets from "./internal/groupOffsets.ts"
import type { GroupPartitionOffset, OffsetReset, PartitionOffset, ResetScope } from "./internal/groupOffsets.ts"
import * as groups from "./internal/groups.ts"
import type { GroupDescription, GroupListing, ListGroupsOptions } from "./internal/groups.ts"
import * as offsets from "./internal/offsets.ts"
import type { DeletedRecords, ListedOffset, ListOffsetsOptions, OffsetSpec, PartitionSelection, RecordsToDelete } from "./internal/offsets.ts"
import { single } from "./internal/request.ts"
import * as shareGroups from "./internal/shareGroups.ts"
import type { ShareGroupPartitionOffset } from "./internal/shareGroups.ts"
import * as topics from "./internal/topics.ts"
import type { CreatedTopic, NewTopic, PartitionIncrease, TopicDescription, TopicListing, TopicOperationOptions } from "./internal/topics.ts"

export * from "./Errors.ts"
export type { AclBinding, AclFilter, AclOperation, AclPatternType, AclPermission, AclResourceType } from "./internal/acls.ts"
export type { ConfigChange, DescribeConfigsOptions, ResourceConfig } from "./internal/configs.ts"
export type {
  AlterConfigOp,
  ConfigEntry,
  ConfigResource,
  ConfigResourceType,
  ConfigSource,
  ConfigSynonym,
  ConfigType
} from "./internal/configTypes.ts"
export type { TopicPartitions } from "./internal/consumerProtocol.ts"
export type { BrokerDescription, ClusterDescription } from "./internal/describeCluster.ts"
export type { GroupPartitionOffset, OffsetReset, PartitionOffset, ResetScope } from "./internal/groupOffsets.ts"
export type { GroupDescription, GroupListing, GroupMember, GroupType, ListGroupsOptions, StreamsTasks } from "./internal/groups.ts"
export type {
  DeletedRecords,
  ListedOffset,
  ListOffsetsOptions,
  OffsetSpec,
  PartitionSelection,
  RecordsToDelete
} from "./internal/offsets.ts"
export type { TopicPartition } from "./internal/perLeader.ts"
export type { ShareGroupPartitionOffset } from "./internal/shareGroups.ts"
export type {
  CreatedTopic,
  NewTopic,
  PartitionDescription,
  PartitionIncrease,
  TopicDescription,
  TopicListing,
  TopicOperationOptions
} from "./internal/topics.ts"

type E<X> = X | ClusterError

/**
 * What the `Admin` service offers.
 *
 * @since 0.1.0
 */
export interface AdminService {
  // ---- topics -------------------------------------------------------------------------------
  /** Creates topics (or only validates the request, with `validateOnly`); does not wait for their leaders. */
  readonly createTopics: (
    topics: ReadonlyArray<NewTopic>,
    options?: TopicOperationOptions
  ) => Effect.Effect<ReadonlyArray<CreatedTopic>, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>
  /** Creates one topic. */
  readonly createTopic: (
    topic: NewTopic,
    options?: TopicOperationOptions
  ) => Effect.Effect<CreatedTopic, E<AdminItemError | InvalidAdminRequest | InvalidTopicName>>
  /** Deletes topics. */
  readonly deleteTopics: (
    names: ReadonlyArray<string>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ) => Effect.Effect<void, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>
  /** Deletes one topic. */
  readonly deleteTopic: (
    name: string,
    options?: { readonly timeout?: Duration.Input | undefined }
  ) => Effect.Effect<void, E<AdminItemError | InvalidAdminRequest | InvalidTopicName>>
  /** Every topic, by name; internal topics (`__consumer_offsets`, …) only with `includeInternal`. */
  readonly listTopics: (options?: { readonly includeInternal?: boolean | undefined }) => Effect.Effect<ReadonlyArray<TopicListing>, ClusterError>
  /** Partitions, leaders, replicas and ISRs of topics, fresh from a broker. */
  readonly describeTopics: (
    names: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<TopicDescription>, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>
  readonly describeTopic: (name: string) => Effect.Effect<TopicDescription, E<AdminItemError | InvalidAdminRequest | InvalidTopicName>>
  /** Grows topics to a number of partitions. */
  readonly createPartitions: (
    increases: ReadonlyArray<PartitionIncrease>,
    options?: TopicOperationOptions
  ) => Effect.Effect<void, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>

  // ---- cluster and configs ------------------------------------------------------------------
  /** Cluster id, controller and brokers. */
  readonly describeCluster: Effect.Effect<ClusterDescription, ClusterError>
  /** Configs of topics, brokers, broker loggers, groups, client-metrics subscriptions. */
  readonly describeConfigs: (
    resources: ReadonlyArray<ConfigResource>,
    options?: DescribeConfigsOptions
  ) => Effect.Effect<ReadonlyArray<ResourceConfig>, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>
  /** Sets, deletes, appends to or subtracts from configs, leaving the others as they are (IncrementalAlterConfigs). */
  readonly alterConfigs: (
    changes: ReadonlyArray<ConfigChange>,
    options?: { readonly validateOnly?: boolean | undefined }
  ) => Effect.Effect<void, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>

  // ---- groups -------------------------------------------------------------------------------
  /** Groups of every broker. */
  readonly listGroups: (options?: ListGroupsOptions) => Effect.Effect<ReadonlyArray<GroupListing>, E<AdminPartialFailure>>
  /**
   * Groups with their members and assignments, each by its type's describe API: classic
   * (DescribeGroups), KIP-848 consumer (ConsumerGroupDescribe), share (ShareGroupDescribe) and
   * streams (StreamsGroupDescribe) groups alike.
   */
  readonly describeGroups: (
    groups: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<GroupDescription>, E<AdminPartialFailure | InvalidAdminRequest>>
  readonly describeGroup: (group: string) => Effect.Effect<GroupDescription, E<AdminItemError | InvalidAdminRequest>>
  /** Deletes groups (which must have no members), with their committed offsets. */
  readonly deleteGroups: (groups: ReadonlyArray<string>) => Effect.Effect<void, E<AdminPartialFailure | InvalidAdminRequest>>
  /**
   * A group's committed offsets and its lag behind each partition's end; every partition it
   * committed to, or every partition of `topics` (committed or not).
   */
  readonly listGroupOffsets: (
    group: string,
    options?: { readonly topics?: ReadonlyArray<string> | undefined } & ListOffsetsOptions
  ) => Effect.Effect<ReadonlyArray<GroupPartitionOffset>, E<AdminItemError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>
  /**
   * Moves a group's committed offsets; refused with `GroupHasActiveMembers` unless the group is
   * Empty or Dead. Succeeds with the offsets committed.
   */
  readonly resetGroupOffsets: (
    group: string,
    reset: OffsetReset,
    scope?: ResetScope
  ) => Effect.Effect<
    ReadonlyArray<PartitionOffset>,
    E<AdminItemError | AdminPartialFailure | GroupHasActiveMembers | InvalidAdminRequest | InvalidTopicName>
  >
  /** Deletes a group's committed offsets for partitions it no longer consumes (OffsetDelete). */
  readonly deleteGroupOffsets: (
    group: string,
    partitions: PartitionSelection
  ) => Effect.Effect<void, E<AdminItemError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>

  // ---- share groups (KIP-932) ---------------------------------------------------------------
  /**
   * Share groups of every broker (ListGroups with the `share` type), optionally only those in
   * some states (`Empty`, `Stable`, `Dead`; case-insensitive).
   *
   * @example
   * ```ts
   * const names = (yield* admin.listShareGroups()).map((g) => `${g.groupId} ${g.state}`)
   * ```
   */
  readonly listShareGroups: (
    options?: { readonly states?: ReadonlyArray<string> | undefined }
  ) => Effect.Effect<ReadonlyArray<GroupListing>, E<AdminPartialFailure>>
  /**
   * Share groups with their state, group and assignment epochs, and members (member epoch,
   * subscription, assigned partitions), by ShareGroupDescribe. A group that does not exist or is
   * of another type is its item's `GROUP_ID_NOT_FOUND`.
   *
   * @example
   * ```ts
   * const [g] = yield* admin.describeShareGroups(["jobs"])
   * yield* Effect.log(`${g.state} epoch ${g.groupEpoch}: ${g.members.length} member(s)`)
   * ```
   */
  readonly describeShareGroups: (
    groups: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<GroupDescription>, E<AdminPartialFailure | InvalidAdminRequest>>
  /**
   * One share group's description.
   *
   * @example
   * ```ts
   * const g = yield* admin.describeShareGroup("jobs").pipe(
   *   Effect.catchReason("AdminItemError", "GROUP_ID_NOT_FOUND", () => Effect.succeed(undefined))
   * )
   * ```
   */
  readonly describeShareGroup: (group: string) => Effect.Effect<GroupDescription, E<AdminItemError | InvalidAdminRequest>>
  /**
   * Deletes share groups with their offsets (DeleteGroups); each must be an Empty share group
   * (a group of another type is its item's `GROUP_ID_NOT_FOUND`, one with members `NON_EMPTY_GROUP`).
   *
   * @example
   * ```ts
   * yield* admin.deleteShareGroups(["jobs"])
   * ```
   */
  readonly deleteShareGroups: (groups: ReadonlyArray<string>) => Effect.Effect<void, E<AdminPartialFailure | InvalidAdminRequest>>
  /**
   * A share group's start offset and lag in every partition it has state for, or in every
   * partition of `topics` (`null` offsets where it has none), by DescribeShareGroupOffsets. Fails
   * with `NotShareGroup` for a group of another type, `AdminItemError` `GROUP_ID_NOT_FOUND` for
   * no group at all.
   *
   * @example
   * ```ts
   * const rows = yield* admin.listShareGroupOffsets("jobs", { topics: ["orders"] })
   * yield* Effect.log(rows.map((r) => `${r.topic}-${r.partition}: start ${r.startOffset} lag ${r.lag}`))
   * ```
   */
  readonly listShareGroupOffsets: (
    group: string,
    options?: { readonly topics?: ReadonlyArray<string> | undefined }
  ) => Effect.Effect<
    ReadonlyArray<ShareGroupPartitionOffset>,
    E<AdminItemError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName | NotShareGroup>
  >
  /**
   * Moves a share group's start offsets (AlterShareGroupOffsets): to each partition's earliest or
   * latest offset, to the first offset at or after a time (the end where no record is that
   * recent; looked up by ListOffsets), or to explicit offsets. The group must be an Empty share
   * group or not exist yet — Kafka then makes it, Empty, with these offsets (`GroupHasActiveMembers`,
   * `NotShareGroup` otherwise). Default scope: every partition the group has state for. Succeeds
   * with the offsets set (with `dryRun`: the offsets it would set, nothing changed).
   *
   * @example
   * ```ts
   * yield* admin.resetShareGroupOffsets("jobs", { to: "timestamp", timestamp: Date.now() - 3_600_000 }, { topics: ["orders"] })
   * ```
   */
  readonly resetShareGroupOffsets: (
    group: string,
    reset: OffsetReset,
    scope?: ResetScope,
    options?: { readonly dryRun?: boolean | undefined }
  ) => Effect.Effect<
    ReadonlyArray<PartitionOffset>,
    E<AdminItemError | AdminPartialFailure | GroupHasActiveMembers | InvalidAdminRequest | InvalidTopicName | NotShareGroup>
  >
  /**
   * Deletes a share group's state for whole topics (DeleteShareGroupOffsets); the group must be
   * an Empty share group.
   *
   * @example
   * ```ts
   * yield* admin.deleteShareGroupOffsets("jobs", ["orders"])
   * ```
   */
  readonly deleteShareGroupOffsets: (
    group: string,
    topics: ReadonlyArray<string>
  ) => Effect.Effect<
    void,
    E<AdminItemError | AdminPartialFailure | GroupHasActiveMembers | InvalidAdminRequest | InvalidTopicName | NotShareGroup>
  >

  // ---- records and offsets ------------------------------------------------------------------
  /** Offsets by time: earliest, latest, of the max timestamp, or the first at or after a time. */
  readonly listOffsets: (
    partitions: PartitionSelection,
    spec: OffsetSpec,
    options?: ListOffsetsOptions
  ) => Effect.Effect<ReadonlyArray<ListedOffset>, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>
  /** Deletes the records before an offset of each partition; succeeds with the new low watermarks. */
  readonly deleteRecords: (
    cuts: ReadonlyArray<RecordsToDelete>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ) => Effect.Effect<ReadonlyArray<DeletedRecords>, E<AdminPartialFailure | InvalidAdminRequest | InvalidTopicName>>

  // ---- ACLs ---------------------------------------------------------------------------------
  readonly createAcls: (bindings: ReadonlyArray<AclBinding>) => Effect.Effect<void, E<AdminPartialFailure | InvalidAdminRequest>>
  /** The ACLs matching a filter (all of them without one). */
  readonly describeAcls: (filter?: AclFilter) => Effect.Effect<ReadonlyArray<AclBinding>, E<AdminItemError>>
  /** Deletes the ACLs matching any of the filters; succeeds with the ACLs deleted. */
  readonly deleteAcls: (filters: ReadonlyArray<AclFilter>) => Effect.Effect<ReadonlyArray<AclBinding>, E<AdminPartialFailure>>
}

/**
 * The `Admin` service tag.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Admin from "kpax/Admin"
 *
 * const resetBilling = Effect.gen(function*() {
 *   const admin = yield* Admin.Admin
 *   return yield* admin.resetGroupOffsets("billing", { to: "timestamp", timestamp: Date.now() - 3_600_000 })
 * })
 * ```
 *
 * @since 0.1.0
 */
export class Admin extends Context.Service<Admin, AdminService>()("kpax/Admin") {}

/** An admin call's span: `Admin.<name>` with `messaging.system`, the operation's name and `error.type` on failure. */
const span = <A, Err>(name: string, self: Effect.Effect<A, Err>): Effect.Effect<A, Err> =>
  Effect.withSpan(
    Effect.tapError(self, (e) => Effect.annotateCurrentSpan(Telemetry.A.errorType, Telemetry.errorType(e))),
    `Admin.${name}`,
    { kind: "client", attributes: { [Telemetry.A.system]: "kafka", [Telemetry.A.operationName]: name } }
  )

/**
 * The Admin service over the `Cluster` in context. It holds nothing of its own: every operation
 * uses the cluster's connections.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Admin from "kpax/Admin"
 *
 * const topics = Effect.gen(function*() {
 *   const admin = yield* Admin.make
 *   return yield* admin.listTopics()
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<AdminService, never, Cluster> = Effect.map(Effect.service(Cluster), (cluster): AdminService => ({
  createTopics: (ts, options) => span("createTopics", topics.createTopics(cluster, ts, options)),
  createTopic: (t, options) => span("createTopic", single(topics.createTopics(cluster, [t], options))),
  deleteTopics: (names, options) => span("deleteTopics", topics.deleteTopics(cluster, names, options)),
  deleteTopic: (name, options) => span("deleteTopic", single(Effect.as(topics.deleteTopics(cluster, [name], options), [undefined]))),
  listTopics: (options) => span("listTopics", topics.listTopics(cluster, options)),
  describeTopics: (names) => span("describeTopics", topics.describeTopics(cluster, names)),
  describeTopic: (name) => span("describeTopic", single(topics.describeTopics(cluster, [name]))),
  createPartitions: (increases, options) => span("createPartitions", topics.createPartitions(cluster, increases, options)),
  describeCluster: span("describeCluster", describeCluster(cluster)),
  describeConfigs: (resources, options) => span("describeConfigs", configs.describeConfigs(cluster, resources, options)),
  alterConfigs: (changes, options) => span("alterConfigs", configs.alterConfigs(cluster, changes, options)),
  listGroups: (options) => span("listGroups", groups.listGroups(cluster, options)),
  describeGroups: (ids) => span("describeGroups", groups.describeGroups(cluster, ids)),
  describeGroup: (id) => span("describeGroup", single(groups.describeGroups(cluster, [id]))),
  deleteGroups: (ids) => span("deleteGroups", groups.deleteGroups(cluster, ids)),
  listGroupOffsets: (group, options) => span("listGroupOffsets", groupOffsets.listGroupOffsets(cluster, group, options)),
  resetGroupOffsets: (group, reset, scope) => span("resetGroupOffsets", groupOffsets.resetGroupOffsets(cluster, group, reset, scope)),
  deleteGroupOffsets: (group, partitions) => span("deleteGroupOffsets", groupOffsets.deleteGroupOffsets(cluster, group, partitions)),
  listShareGroups: (options) => span("listShareGroups", shareGroups.listShareGroups(cluster, options)),
  describeShareGroups: (ids) => span("describeShareGroups", shareGroups.describeShareGroups(cluster, ids)),
  describeShareGroup: (id) => span("describeShareGroup", single(shareGroups.describeShareGroups(cluster, [id]))),
  deleteShareGroups: (ids) => span("deleteShareGroups", shareGroups.deleteShareGroups(cluster, ids)),
  listShareGroupOffsets: (group, options) => span("listShareGroupOffsets", shareGroups.listShareGroupOffsets(cluster, group, options)),
  resetShareGroupOffsets: (group, reset, scope, options) =>
    span("resetShareGroupOffsets", shareGroups.resetShareGroupOffsets(cluster, group, reset, scope, options)),
  deleteShareGroupOffsets: (group, topics) => span("deleteShareGroupOffsets", shareGroups.deleteShareGroupOffsets(cluster, group, topics)),
  listOffsets: (partitions, spec, options) => span("listOffsets", offsets.listOffsets(cluster, partitions, spec, options)),
  deleteRecords: (cuts, options) => span("deleteRecords", offsets.deleteRecords(cluster, cuts, options)),
  createAcls: (bindings) => span("createAcls", acls.createAcls(cluster, bindings)),
  describeAcls: (filter) => span("describeAcls", acls.describeAcls(cluster, filter)),
  deleteAcls: (filters) => span("deleteAcls", acls.deleteAcls(cluster, filters))
}))

/**
 * A layer providing `Admin` over the `Cluster` it is given.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as Admin from "kpax/Admin"
 * import * as Cluster from "kpax/Cluster"
 *
 * const Live = Admin.layer.pipe(Layer.provide(Cluster.layer({ bootstrap: ["localhost:9092"] })))
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Admin, never, Cluster> = Layer.effect(Admin, make)
