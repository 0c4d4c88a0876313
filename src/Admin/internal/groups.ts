/**
 * Groups: list (ListGroups on every broker), describe (ConsumerGroupDescribe for KIP-848 groups,
 * ShareGroupDescribe for share groups, StreamsGroupDescribe for streams groups, DescribeGroups for
 * classic ones, merged into one type) and delete (DeleteGroups). Each
 * group's requests go to its coordinator, looked up again when it moves.
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService, Located } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import * as RetryPolicy from "../../Cluster/RetryPolicy.ts"
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import type { Api } from "../../Protocol/Api.ts"
import { ConsumerGroupDescribe } from "../../Protocol/generated/ConsumerGroupDescribe.ts"
import type { ConsumerGroupDescribeResponseDescribedGroup } from "../../Protocol/generated/ConsumerGroupDescribe.ts"
import { DeleteGroups } from "../../Protocol/generated/DeleteGroups.ts"
import { DescribeGroups } from "../../Protocol/generated/DescribeGroups.ts"
import type { DescribeGroupsResponseDescribedGroup } from "../../Protocol/generated/DescribeGroups.ts"
import { ListGroups } from "../../Protocol/generated/ListGroups.ts"
import { ShareGroupDescribe } from "../../Protocol/generated/ShareGroupDescribe.ts"
import type { ShareGroupDescribeResponseDescribedGroup } from "../../Protocol/generated/ShareGroupDescribe.ts"
import { StreamsGroupDescribe } from "../../Protocol/generated/StreamsGroupDescribe.ts"
import type { StreamsGroupDescribeResponseDescribedGroup } from "../../Protocol/generated/StreamsGroupDescribe.ts"
import type { AdminPartialFailure, InvalidAdminRequest } from "../Errors.ts"
import { decodeAssignment, decodeSubscription, sortTopicPartitions } from "./consumerProtocol.ts"
import type { TopicPartitions } from "./consumerProtocol.ts"
import { fetchMetadata } from "./metadata.ts"
import { codeError, collect, failed, ok, refuse, send } from "./request.ts"
import type { Outcome } from "./request.ts"

/**
 * A group's type: `"classic"` (JoinGroup/SyncGroup), `"consumer"` (KIP-848), `"share"`, `"streams"`.
 *
 * @since 0.1.0
 */
export type GroupType = "classic" | "consumer" | "share" | "streams" | (string & {})

/**
 * A group in `listGroups`. `state` and `type` are empty when the broker is too old to say.
 *
 * @since 0.1.0
 */
export interface GroupListing {
  readonly groupId: string
  /** `"consumer"` for consumer groups, `"connect"` for Connect workers, `""` for groups that only commit offsets. */
  readonly protocolType: string
  readonly state: string
  readonly type: GroupType
  /** The node id of the group's coordinator. */
  readonly coordinator: number
}

/**
 * Options of `listGroups`: only groups in these states / of these types (case-insensitive).
 *
 * @since 0.1.0
 */
export interface ListGroupsOptions {
  readonly states?: ReadonlyArray<string> | undefined
  readonly types?: ReadonlyArray<GroupType> | undefined
}

/**
 * A member of a group. For classic consumer groups the subscription and assignment are decoded
 * from the member's consumer-protocol bytes (empty while the group rebalances, or for other
 * protocols, whose raw bytes are in `classic`).
 *
 * @since 0.1.0
 */
export interface GroupMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly rackId: string | null
  /** KIP-848, share and streams groups: the member's epoch. */
  readonly memberEpoch: number | null
  readonly subscribedTopics: ReadonlyArray<string>
  readonly subscribedTopicRegex: string | null
  /** The partitions the member owns, by topic name (none for streams groups, which assign tasks). */
  readonly assignment: ReadonlyArray<TopicPartitions>
  /** KIP-848 groups: the partitions the member is moving to (`null` for classic groups). */
  readonly targetAssignment: ReadonlyArray<TopicPartitions> | null
  /** Classic groups: the member's protocol metadata and assignment bytes as sent. */
  readonly classic: { readonly metadata: Uint8Array; readonly assignment: Uint8Array } | null
  /** Streams groups: the member's tasks (`null` for the other types). */
  readonly tasks: StreamsTasks | null
}

/**
 * A streams-group member's tasks: partitions of each subtopology, by kind.
 *
 * @since 0.1.0
 */
export interface StreamsTasks {
  readonly active: ReadonlyArray<{ readonly subtopology: string; readonly partitions: ReadonlyArray<number> }>
  readonly standby: ReadonlyArray<{ readonly subtopology: string; readonly partitions: ReadonlyArray<number> }>
  readonly warmup: ReadonlyArray<{ readonly subtopology: string; readonly partitions: ReadonlyArray<number> }>
}

/**
 * A described group: classic, KIP-848 (`"consumer"`), share or streams, each described by its
 * own API. A group that does not exist is described as a classic group, `Dead`, with no members
 * (as Kafka answers DescribeGroups).
 *
 * @since 0.1.0
 */
export interface GroupDescription {
  readonly groupId: string
  readonly type: "classic" | "consumer" | "share" | "streams"
  /** `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Assigning`, `Reconciling`, `NotReady`, `Dead`, … */
  readonly state: string
  /** `"consumer"` for classic consumer and KIP-848 groups, `"share"`, `"streams"`, or a classic group's own. */
  readonly protocolType: string
  /** The assignor: the classic group's protocol name, or the server-side assignor of the others. */
  readonly protocol: string
  /** KIP-848, share and streams groups: the group epoch and the epoch of its target assignment. */
  readonly groupEpoch: number | null
  readonly assignmentEpoch: number | null
  /** The node id of the group's coordinator. */
  readonly coordinator: number
  readonly members: ReadonlyArray<GroupMember>
}

export const groupItem = (group: string) => `group ${group}`

export const checkGroups = (operation: string, groups: ReadonlyArray<string>): Effect.Effect<void, InvalidAdminRequest> =>
  refuse(operation, groups.some((g) => g === ""), "a group id cannot be empty")

const lower = (s: ReadonlyArray<string> | undefined) => s?.map((x) => x.toLowerCase())

export const listGroups = (
  cluster: ClusterService,
  options: ListGroupsOptions = {}
): Effect.Effect<Array<GroupListing>, ClusterError | AdminPartialFailure> =>
  Effect.gen(function*() {
    const operation = "listGroups"
    const states = lower(options.states)
    const types = lower(options.types)
    const brokers = (yield* fetchMetadata(cluster, [])).brokers.map((b) => b.nodeId).sort((a, b) => a - b)
    const outcomes = yield* Effect.forEach(brokers, (nodeId) =>
      RetryPolicy.retry(
        Effect.flatMap(cluster.broker(nodeId), (broker) =>
          send(broker, ListGroups, (v) => ({
            ...(v >= 4 && states !== undefined ? { statesFilter: states } : {}),
            ...(v >= 5 && types !== undefined ? { typesFilter: types } : {})
          }))).pipe(
            Effect.flatMap((res) => {
              const error = codeError(res.errorCode)
              return error === undefined ? Effect.succeed(res.groups) : Effect.fail(error)
            })
          )
      ).pipe(
        Effect.map((groups): Outcome<Array<GroupListing>> =>
          ok(`broker ${nodeId}`, groups.map((g) => ({
            groupId: g.groupId,
            protocolType: g.protocolType,
            state: g.groupState,
            type: g.groupType,
            coordinator: nodeId
          })))),
        Effect.catchTag("KafkaError", (e) => Effect.succeed(failed<Array<GroupListing>>(operation, `broker ${nodeId}`, e)))
      ), { concurrency: "unbounded" })
    const all = (yield* collect(operation, outcomes)).flat()
    // filter here too: older brokers ignore the filters
    return all
      .filter((g) => states === undefined || g.state === "" || states.includes(g.state.toLowerCase()))
      .filter((g) => types === undefined || g.type === "" || types.includes(g.type.toLowerCase()))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0))
  })

const fromConsumer = (g: ConsumerGroupDescribeResponseDescribedGroup, coordinator: number): GroupDescription => {
  const names = (a: { readonly topicPartitions: ReadonlyArray<{ readonly topicName: string; readonly partitions: ReadonlyArray<number> }> }) =>
    sortTopicPartitions(a.topicPartitions.map((t) => ({ topic: t.topicName, partitions: t.partitions })))
  return {
    groupId: g.groupId,
    type: "consumer",
    state: g.groupState,
    protocolType: "consumer",
    protocol: g.assignorName,
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    coordinator,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      subscribedTopics: [...m.subscribedTopicNames].sort(),
      subscribedTopicRegex: m.subscribedTopicRegex,
      assignment: names(m.assignment),
      targetAssignment: names(m.targetAssignment),
      classic: null,
      tasks: null
    }))
  }
}

const fromClassic = (g: DescribeGroupsResponseDescribedGroup, coordinator: number): GroupDescription => {
  const isConsumer = g.protocolType === "consumer"
  return {
    groupId: g.groupId,
    type: "classic",
    state: g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    groupEpoch: null,
    assignmentEpoch: null,
    coordinator,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rackId: null,
      memberEpoch: null,
      subscribedTopics: (isConsumer ? decodeSubscription(m.memberMetadata) : undefined) ?? [],
      subscribedTopicRegex: null,
      assignment: (isConsumer ? decodeAssignment(m.memberAssignment) : undefined) ?? [],
      targetAssignment: null,
      classic: { metadata: m.memberMetadata, assignment: m.memberAssignment },
      tasks: null
    }))
  }
}

export const fromShare = (g: ShareGroupDescribeResponseDescribedGroup, coordinator: number): GroupDescription => ({
  groupId: g.groupId,
  type: "share",
  state: g.groupState,
  protocolType: "share",
  protocol: g.assignorName,
  groupEpoch: g.groupEpoch,
  assignmentEpoch: g.assignmentEpoch,
  coordinator,
  members: g.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: null,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rackId: m.rackId,
    memberEpoch: m.memberEpoch,
    subscribedTopics: [...m.subscribedTopicNames].sort(),
    subscribedTopicRegex: null,
    assignment: sortTopicPartitions(m.assignment.topicPartitions.map((t) => ({ topic: t.topicName, partitions: t.partitions }))),
    targetAssignment: null,
    classic: null,
    tasks: null
  }))
})

const taskIds = (ts: ReadonlyArray<{ readonly subtopologyId: string; readonly partitions: ReadonlyArray<number> }>) =>
  ts.map((t) => ({ subtopology: t.subtopologyId, partitions: [...t.partitions].sort((a, b) => a - b) }))
    .sort((a, b) => (a.subtopology < b.subtopology ? -1 : a.subtopology > b.subtopology ? 1 : 0))

const fromStreams = (g: StreamsGroupDescribeResponseDescribedGroup, coordinator: number): GroupDescription => ({
  groupId: g.groupId,
  type: "streams",
  state: g.groupState,
  protocolType: "streams",
  protocol: g.assignorName ?? "",
  groupEpoch: g.groupEpoch,
  assignmentEpoch: g.assignmentEpoch,
  coordinator,
  members: g.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.instanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rackId: m.rackId,
    memberEpoch: m.memberEpoch,
    subscribedTopics: [],
    subscribedTopicRegex: null,
    assignment: [],
    targetAssignment: null,
    classic: null,
    tasks: {
      active: taskIds(m.assignment.activeTasks),
      standby: taskIds(m.assignment.standbyTasks),
      warmup: taskIds(m.assignment.warmupTasks)
    }
  }))
})

interface Described {
  readonly groupId: string
  readonly errorCode: number
  readonly errorMessage: string | null
}

/**
 * A group's description by one of the describe APIs of the newer group types, or `undefined`
 * when the broker lacks the API or the group is not of that type (GROUP_ID_NOT_FOUND).
 */
const describeBy = <Req, Res extends { readonly groups: ReadonlyArray<Described> }>(
  c: Located,
  group: string,
  api: Api<Req, Res>,
  req: Req,
  from: (g: Res["groups"][number], coordinator: number) => GroupDescription
): Effect.Effect<GroupDescription | undefined, ClusterError> =>
  c.broker.versionFor(api).pipe(
    Effect.flatMap(() => send(c.broker, api, req)),
    Effect.flatMap((res): Effect.Effect<GroupDescription | undefined, KafkaError> => {
      const g = res.groups.find((g) => g.groupId === group) ?? res.groups[0]
      if (g === undefined || g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return Effect.succeed(undefined)
      const error = codeError(g.errorCode, g.errorMessage)
      return error === undefined ? Effect.succeed(from(g, c.nodeId)) : Effect.fail(error)
    }),
    Effect.catchTag("UnsupportedVersionError", () => Effect.succeed(undefined))
  )

/** KIP-848 description, or `undefined` when the broker lacks the API or the group is not a KIP-848 group. */
const describeConsumer = (c: Located, group: string) =>
  describeBy(c, group, ConsumerGroupDescribe, { groupIds: [group], includeAuthorizedOperations: false }, fromConsumer)

/** Share-group description, or `undefined` when the broker lacks the API or the group is not a share group. */
export const describeShare = (c: Located, group: string) =>
  describeBy(c, group, ShareGroupDescribe, { groupIds: [group], includeAuthorizedOperations: false }, fromShare)

/** Streams-group description, or `undefined` when the broker lacks the API or the group is not a streams group. */
const describeStreams = (c: Located, group: string) =>
  describeBy(c, group, StreamsGroupDescribe, { groupIds: [group], includeAuthorizedOperations: false }, fromStreams)


const describeClassic = (c: Located, group: string): Effect.Effect<GroupDescription, ClusterError> =>
  send(c.broker, DescribeGroups, (v) => ({ groups: [group], ...(v >= 3 ? { includeAuthorizedOperations: false } : {}) })).pipe(
    Effect.flatMap((res) => {
      const g = res.groups.find((g) => g.groupId === group) ?? res.groups[0]
      if (g === undefined) return Effect.fail(codeError(-1, "the coordinator did not describe the group")!)
      // DescribeGroups v6+ answers GROUP_ID_NOT_FOUND where older versions said Dead: say Dead
      if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) {
        return Effect.succeed(fromClassic({ ...g, errorCode: 0, groupState: "Dead", protocolType: "", protocolData: "", members: [] }, c.nodeId))
      }
      const error = codeError(g.errorCode, g.errorMessage)
      return error === undefined ? Effect.succeed(fromClassic(g, c.nodeId)) : Effect.fail(error)
    })
  )

/** One group's description from its coordinator; a Kafka error for the group is the outcome's. */
export const describeOne = (cluster: ClusterService, operation: string, group: string): Effect.Effect<Outcome<GroupDescription>, ClusterError> =>
  cluster.withCoordinator({ type: "group", key: group }, (c) =>
    // the newer types' describe APIs at once (a group is of one type: the others say GROUP_ID_NOT_FOUND), then DescribeGroups
    Effect.flatMap(
      Effect.all([describeConsumer(c, group), describeShare(c, group), describeStreams(c, group)], { concurrency: "unbounded" }),
      (ds) => {
        const d = ds.find((d) => d !== undefined)
        return d !== undefined ? Effect.succeed(d) : describeClassic(c, group)
      }
    )).pipe(
      Effect.map((d) => ok(groupItem(group), d)),
      Effect.catchTag("KafkaError", (e) => Effect.succeed(failed<GroupDescription>(operation, groupItem(group), e)))
    )

export const describeGroups = (
  cluster: ClusterService,
  groups: ReadonlyArray<string>
): Effect.Effect<Array<GroupDescription>, ClusterError | AdminPartialFailure | InvalidAdminRequest> =>
  Effect.gen(function*() {
    const operation = "describeGroups"
    yield* checkGroups(operation, groups)
    const outcomes = yield* Effect.forEach(groups, (g) => describeOne(cluster, operation, g), { concurrency: 8 })
    return yield* collect(operation, outcomes)
  })

export const deleteGroups = (
  cluster: ClusterService,
  groups: ReadonlyArray<string>
): Effect.Effect<void, ClusterError | AdminPartialFailure | InvalidAdminRequest> =>
  Effect.gen(function*() {
    const operation = "deleteGroups"
    yield* checkGroups(operation, groups)
    const outcomes = yield* Effect.forEach(groups, (group) =>
      cluster.withCoordinator({ type: "group", key: group }, (c) =>
        send(c.broker, DeleteGroups, { groupsNames: [group] }).pipe(
          Effect.flatMap((res) => {
            const r = res.results.find((r) => r.groupId === group) ?? res.results[0]
            const error = r === undefined ? codeError(-1, "the coordinator did not answer for the group") : codeError(r.errorCode)
            return error === undefined ? Effect.void : Effect.fail(error)
          })
        )).pipe(
          Effect.map(() => ok(groupItem(group), undefined)),
          Effect.catchTag("KafkaError", (e) => Effect.succeed(failed<void>(operation, groupItem(group), e)))
        ), { concurrency: 8 })
    yield* collect(operation, outcomes)
  })
