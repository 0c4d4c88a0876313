/**
 * Group APIs at the group coordinator: the classic protocol (JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup), KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe), committed offsets
 * (OffsetCommit, OffsetFetch, OffsetDelete) and ListGroups / DescribeGroups / DeleteGroups.
 *
 * @internal
 */
import { Effect, Result } from "effect"
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { decodeVersioned } from "../../../Protocol/Frame.ts"
import { ConsumerGroupDescribe } from "../../../Protocol/generated/ConsumerGroupDescribe.ts"
import type { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from "../../../Protocol/generated/ConsumerGroupDescribe.ts"
import { ConsumerGroupHeartbeat } from "../../../Protocol/generated/ConsumerGroupHeartbeat.ts"
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from "../../../Protocol/generated/ConsumerGroupHeartbeat.ts"
import { ConsumerProtocolSubscription } from "../../../Protocol/generated/ConsumerProtocolSubscription.ts"
import { DeleteGroups } from "../../../Protocol/generated/DeleteGroups.ts"
import type { DeleteGroupsRequest, DeleteGroupsResponse } from "../../../Protocol/generated/DeleteGroups.ts"
import { DescribeGroups } from "../../../Protocol/generated/DescribeGroups.ts"
import type { DescribeGroupsRequest, DescribeGroupsResponse, DescribeGroupsResponseDescribedGroup } from "../../../Protocol/generated/DescribeGroups.ts"
import { Heartbeat } from "../../../Protocol/generated/Heartbeat.ts"
import type { HeartbeatRequest, HeartbeatResponse } from "../../../Protocol/generated/Heartbeat.ts"
import { JoinGroup } from "../../../Protocol/generated/JoinGroup.ts"
import type { JoinGroupRequest, JoinGroupResponse } from "../../../Protocol/generated/JoinGroup.ts"
import { LeaveGroup } from "../../../Protocol/generated/LeaveGroup.ts"
import type { LeaveGroupRequest, LeaveGroupResponse } from "../../../Protocol/generated/LeaveGroup.ts"
import { ListGroups } from "../../../Protocol/generated/ListGroups.ts"
import type { ListGroupsRequest, ListGroupsResponse } from "../../../Protocol/generated/ListGroups.ts"
import { OffsetCommit } from "../../../Protocol/generated/OffsetCommit.ts"
import type { OffsetCommitRequest, OffsetCommitResponse } from "../../../Protocol/generated/OffsetCommit.ts"
import { OffsetDelete } from "../../../Protocol/generated/OffsetDelete.ts"
import type { OffsetDeleteRequest, OffsetDeleteResponse } from "../../../Protocol/generated/OffsetDelete.ts"
import { OffsetFetch } from "../../../Protocol/generated/OffsetFetch.ts"
import type { OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponsePartition } from "../../../Protocol/generated/OffsetFetch.ts"
import { SyncGroup } from "../../../Protocol/generated/SyncGroup.ts"
import type { SyncGroupRequest, SyncGroupResponse } from "../../../Protocol/generated/SyncGroup.ts"
import type { ConsumerGroup } from "../consumerGroups.ts"
import { consumerGroupState, newConsumerGroup } from "../consumerGroups.ts"
import type { ClassicGroup } from "../groups.ts"
import { newClassicGroup } from "../groups.ts"
import type { AnyGroup, Kafka, RequestContext } from "../kafka.ts"
import { route } from "./common.ts"
import type { Route } from "./common.ts"

const NO_OPS = -2147483648
const MAX_METADATA = 4096

/** 0 when this node coordinates the group and nothing is injected, else the error code. */
const coordinatorError = (kafka: Kafka, ctx: RequestContext, groupId: string): number => {
  const injected = ctx.fault.code()
  if (injected !== 0) return injected
  if (groupId === "") return ErrorCode.INVALID_GROUP_ID
  return kafka.isCoordinator(ctx.nodeId, "group", groupId) ? 0 : ErrorCode.NOT_COORDINATOR
}

const classicGroup = (kafka: Kafka, groupId: string, create: boolean): ClassicGroup | "consumer" | undefined => {
  const g = kafka.groups.get(groupId)
  if (g !== undefined) {
    if (g.type === "classic") return g
    if (g.members.size > 0) return "consumer"
    if (!create) return undefined
  }
  if (!create) return undefined
  const fresh = newClassicGroup(groupId)
  kafka.groups.set(groupId, fresh)
  return fresh
}

// ---- classic protocol -------------------------------------------------------------------------

const joinGroup = (kafka: Kafka, ctx: RequestContext, req: JoinGroupRequest): JoinGroupResponse | Effect.Effect<JoinGroupResponse> => {
  const v = ctx.version
  const adapt = (r: JoinGroupResponse): JoinGroupResponse =>
    v < 7 ? { ...r, protocolType: null, protocolName: r.protocolName ?? "", skipAssignment: false } : r
  const failed = (code: number) =>
    adapt({ throttleTimeMs: 0, errorCode: code, generationId: -1, protocolType: null, protocolName: null, leader: "", skipAssignment: false, memberId: req.memberId, members: [] })
  const error = coordinatorError(kafka, ctx, req.groupId)
  if (error !== 0) return failed(error)
  const g = classicGroup(kafka, req.groupId, true)
  if (g === "consumer" || g === undefined) return failed(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  return Effect.map(
    kafka.classic.join(g, {
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId ?? null : null,
      protocolType: req.protocolType,
      protocols: req.protocols,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs ?? req.sessionTimeoutMs : req.sessionTimeoutMs,
      clientId: ctx.clientId,
      requireKnownMemberId: v >= 4,
      skipAssignmentSupported: v >= 9
    }),
    adapt
  )
}

const syncGroup = (kafka: Kafka, ctx: RequestContext, req: SyncGroupRequest): SyncGroupResponse | Effect.Effect<SyncGroupResponse> => {
  const v = ctx.version
  const adapt = (r: SyncGroupResponse): SyncGroupResponse => (v < 5 ? { ...r, protocolType: null, protocolName: null } : r)
  const error = coordinatorError(kafka, ctx, req.groupId)
  if (error !== 0) return adapt({ throttleTimeMs: 0, errorCode: error, protocolType: null, protocolName: null, assignment: new Uint8Array(0) })
  const g = classicGroup(kafka, req.groupId, false)
  return Effect.map(
    kafka.classic.sync(typeof g === "object" ? g : undefined, {
      memberId: req.memberId,
      generationId: req.generationId,
      groupInstanceId: req.groupInstanceId ?? null,
      protocolType: req.protocolType ?? null,
      protocolName: req.protocolName ?? null,
      assignments: req.assignments
    }),
    adapt
  )
}

const heartbeat = (kafka: Kafka, ctx: RequestContext, req: HeartbeatRequest): HeartbeatResponse => {
  const error = coordinatorError(kafka, ctx, req.groupId)
  if (error !== 0) return { throttleTimeMs: 0, errorCode: error }
  const g = classicGroup(kafka, req.groupId, false)
  return { throttleTimeMs: 0, errorCode: kafka.classic.heartbeatRequest(typeof g === "object" ? g : undefined, req.memberId, req.generationId, req.groupInstanceId ?? null) }
}

const leaveGroup = (kafka: Kafka, ctx: RequestContext, req: LeaveGroupRequest): LeaveGroupResponse => {
  const v = ctx.version
  const error = coordinatorError(kafka, ctx, req.groupId)
  if (error !== 0) return { throttleTimeMs: 0, errorCode: error, members: [] }
  const found = classicGroup(kafka, req.groupId, false)
  const g = typeof found === "object" ? found : undefined
  if (v < 3) return { throttleTimeMs: 0, errorCode: kafka.classic.leave(g, req.memberId ?? "", null).code, members: [] }
  if (g === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    members: (req.members ?? []).map((m) => {
      const r = kafka.classic.leave(g, m.memberId, m.groupInstanceId ?? null)
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, errorCode: r.code }
    })
  }
}

// ---- KIP-848 ----------------------------------------------------------------------------------

const consumerGroupHeartbeat = (kafka: Kafka, ctx: RequestContext, req: ConsumerGroupHeartbeatRequest): ConsumerGroupHeartbeatResponse => {
  const failed = (errorCode: number, errorMessage: string | null): ConsumerGroupHeartbeatResponse => ({
    throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null
  })
  const error = coordinatorError(kafka, ctx, req.groupId)
  if (error !== 0) return failed(error === ErrorCode.INVALID_GROUP_ID ? ErrorCode.INVALID_REQUEST : error, null)
  let g = kafka.groups.get(req.groupId)
  if (g !== undefined && g.type === "classic") {
    if (g.members.size > 0 || g.pending.size > 0) return failed(ErrorCode.GROUP_ID_NOT_FOUND, `group ${req.groupId} is a classic group`)
    g = undefined
  }
  if (g === undefined) {
    g = newConsumerGroup(req.groupId)
    kafka.groups.set(req.groupId, g)
  }
  return kafka.consumer.heartbeat(g, req, ctx.clientId)
}

const consumerGroupDescribe = (kafka: Kafka, ctx: RequestContext, req: ConsumerGroupDescribeRequest): ConsumerGroupDescribeResponse => ({
  throttleTimeMs: 0,
  groups: req.groupIds.map((groupId) => {
    const empty = { errorMessage: null, groupId, groupState: "", groupEpoch: -1, assignmentEpoch: -1, assignorName: "", members: [], authorizedOperations: NO_OPS }
    const error = coordinatorError(kafka, ctx, groupId)
    if (error !== 0) return { ...empty, errorCode: error }
    const g = kafka.groups.get(groupId)
    if (g === undefined || g.type !== "consumer") {
      return { ...empty, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: g === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a consumer group.` }
    }
    const wire = (a: Map<string, Set<number>>) => ({
      topicPartitions: [...a].filter(([, ps]) => ps.size > 0).map(([topicId, ps]) => ({
        topicId,
        topicName: kafka.state.topicsById.get(topicId)?.name ?? "",
        partitions: [...ps].sort((x, y) => x - y)
      }))
    })
    return {
      ...empty,
      errorCode: 0,
      groupState: consumerGroupState(g),
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: "uniform",
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: "/in-memory",
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: wire(m.assigned),
        targetAssignment: wire(g.target.get(m.memberId) ?? new Map())
      }))
    }
  })
})

// ---- offsets ----------------------------------------------------------------------------------

/** The member check of an offset commit: 0 or an error code; creates an empty group for admin commits. */
const commitError = (kafka: Kafka, groupId: string, memberId: string, generation: number, instanceId: string | null): number => {
  const g = kafka.groups.get(groupId)
  if (g === undefined) {
    if (generation >= 0 || memberId !== "") return ErrorCode.ILLEGAL_GENERATION
    kafka.groups.set(groupId, newClassicGroup(groupId))
    return 0
  }
  return g.type === "classic"
    ? kafka.classic.validateCommit(g, memberId, generation, instanceId)
    : kafka.consumer.validateCommit(g, memberId, generation)
}

const offsetCommit = (kafka: Kafka, ctx: RequestContext, req: OffsetCommitRequest): OffsetCommitResponse => {
  const groupError = coordinatorError(kafka, ctx, req.groupId)
  const memberError = groupError !== 0
    ? groupError
    : commitError(kafka, req.groupId, req.memberId ?? "", req.generationIdOrMemberEpoch ?? -1, req.groupInstanceId ?? null)
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const topic = kafka.state.topics.get(t.name)
      return {
        name: t.name,
        partitions: t.partitions.map((p) => {
          const code = memberError !== 0
            ? memberError
            : topic === undefined || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions.length
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : (p.committedMetadata?.length ?? 0) > MAX_METADATA
            ? ErrorCode.OFFSET_METADATA_TOO_LARGE
            : 0
          if (code === 0) {
            kafka.offsets.commit(req.groupId, t.name, p.partitionIndex, {
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch ?? -1,
              metadata: p.committedMetadata,
              commitTimestamp: ctx.now
            })
          }
          return { partitionIndex: p.partitionIndex, errorCode: code }
        })
      }
    })
  }
}

interface FetchGroup {
  readonly groupId: string
  readonly memberId: string | null
  readonly memberEpoch: number
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitionIndexes: ReadonlyArray<number> }> | null
}

const fetchGroupOffsets = (kafka: Kafka, ctx: RequestContext, q: FetchGroup, requireStable: boolean): { errorCode: number; topics: Array<{ name: string; partitions: Array<OffsetFetchResponsePartition> }> } => {
  const error = coordinatorError(kafka, ctx, q.groupId)
  if (error !== 0) return { errorCode: error, topics: [] }
  const g = kafka.groups.get(q.groupId)
  if (q.memberId !== null && q.memberId !== "" && g?.type === "consumer") {
    const code = kafka.consumer.validateCommit(g, q.memberId, q.memberEpoch)
    if (code !== 0) return { errorCode: code, topics: [] }
  }
  const wanted = q.topics ?? groupTopics(kafka, q.groupId)
  return {
    errorCode: 0,
    topics: wanted.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => {
        if (requireStable && kafka.txns.hasPendingOffset(q.groupId, t.name, partitionIndex)) {
          return { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
        }
        const o = kafka.offsets.get(q.groupId, t.name, partitionIndex)
        return o === undefined
          ? { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: 0 }
          : { partitionIndex, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata ?? "", errorCode: 0 }
      })
    }))
  }
}

/** Every partition a group has offsets for, by topic. */
const groupTopics = (kafka: Kafka, groupId: string) => {
  const byTopic = new Map<string, Array<number>>()
  for (const [topic, partition] of kafka.offsets.all(groupId)) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition])
  return [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes: partitionIndexes.sort((a, b) => a - b) }))
}

const offsetFetch = (kafka: Kafka, ctx: RequestContext, req: OffsetFetchRequest): OffsetFetchResponse => {
  const v = ctx.version
  const requireStable = v >= 7 && req.requireStable === true
  if (v >= 8) {
    return {
      throttleTimeMs: 0,
      topics: [],
      errorCode: 0,
      groups: (req.groups ?? []).map((g) => {
        const r = fetchGroupOffsets(kafka, ctx, { groupId: g.groupId, memberId: g.memberId ?? null, memberEpoch: g.memberEpoch ?? -1, topics: g.topics }, requireStable)
        return { groupId: g.groupId, topics: r.topics, errorCode: r.errorCode }
      })
    }
  }
  const topics = v >= 2 ? req.topics ?? null : req.topics ?? []
  const r = fetchGroupOffsets(kafka, ctx, { groupId: req.groupId ?? "", memberId: null, memberEpoch: -1, topics }, requireStable)
  if (v < 2 && r.errorCode !== 0) {
    // v0-1 have no top-level error: every partition carries it
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      groups: [],
      topics: (topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: r.errorCode }))
      }))
    }
  }
  return { throttleTimeMs: 0, topics: r.topics, errorCode: v >= 2 ? r.errorCode : 0, groups: [] }
}

/** Topics the members of a group subscribe to (offsets of those cannot be deleted). */
const subscribedTopics = (g: AnyGroup): Set<string> => {
  const out = new Set<string>()
  if (g.type === "consumer") {
    for (const m of g.members.values()) for (const t of m.subscribedTopicNames) out.add(t)
    return out
  }
  if (g.protocolType !== "consumer") return out
  for (const m of g.members.values()) {
    const meta = m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? m.protocols[0]?.metadata
    if (meta === undefined) continue
    const decoded = decodeVersioned(ConsumerProtocolSubscription, meta)
    if (Result.isSuccess(decoded)) for (const t of decoded.success.value.topics) out.add(t)
  }
  return out
}

const offsetDelete = (kafka: Kafka, ctx: RequestContext, req: OffsetDeleteRequest): OffsetDeleteResponse => {
  const error = coordinatorError(kafka, ctx, req.groupId)
  const g = kafka.groups.get(req.groupId)
  if (error !== 0 || g === undefined) return { errorCode: error !== 0 ? error : ErrorCode.GROUP_ID_NOT_FOUND, throttleTimeMs: 0, topics: [] }
  const subscribed = g.members.size > 0 ? subscribedTopics(g) : new Set<string>()
  return {
    errorCode: 0,
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (subscribed.has(t.name)) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }
        kafka.offsets.delete(req.groupId, t.name, p.partitionIndex)
        return { partitionIndex: p.partitionIndex, errorCode: 0 }
      })
    }))
  }
}

// ---- listing ----------------------------------------------------------------------------------

const stateOf = (g: AnyGroup): string => (g.type === "classic" ? g.state : consumerGroupState(g))

const listGroups = (kafka: Kafka, ctx: RequestContext, req: ListGroupsRequest): ListGroupsResponse => {
  const v = ctx.version
  const injected = ctx.fault.code()
  if (injected !== 0) return { throttleTimeMs: 0, errorCode: injected, groups: [] }
  const states = new Set((req.statesFilter ?? []).map((s) => s.toLowerCase()))
  const types = new Set((req.typesFilter ?? []).map((s) => s.toLowerCase()))
  const groups = [...kafka.groups.values()]
    .filter((g) => kafka.isCoordinator(ctx.nodeId, "group", g.groupId))
    .filter((g) => g.type !== "classic" || g.state !== "Dead")
    .filter((g) => states.size === 0 || states.has(stateOf(g).toLowerCase()))
    .filter((g) => types.size === 0 || types.has(g.type))
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    groups: groups.map((g) => ({
      groupId: g.groupId,
      protocolType: g.type === "classic" ? g.protocolType ?? "" : "consumer",
      groupState: v >= 4 ? stateOf(g) : "",
      groupType: v >= 5 ? g.type : ""
    }))
  }
}

const describeGroups = (kafka: Kafka, ctx: RequestContext, req: DescribeGroupsRequest): DescribeGroupsResponse => ({
  throttleTimeMs: 0,
  groups: req.groups.map((groupId): DescribeGroupsResponseDescribedGroup => {
    const dead = { groupId, groupState: "Dead", protocolType: "", protocolData: "", members: [], authorizedOperations: NO_OPS }
    const error = coordinatorError(kafka, ctx, groupId)
    if (error !== 0) return { ...dead, errorCode: error, groupState: "" }
    const g = kafka.groups.get(groupId)
    if (g === undefined || g.type !== "classic") return { ...dead, errorCode: 0 }
    const stable = g.state === "Stable"
    return {
      errorCode: 0,
      groupId,
      groupState: g.state,
      protocolType: g.protocolType ?? "",
      protocolData: stable || g.state === "CompletingRebalance" ? g.protocolName ?? "" : "",
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: ctx.version >= 4 ? m.groupInstanceId : null,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? new Uint8Array(0) : new Uint8Array(0),
        memberAssignment: stable ? m.assignment : new Uint8Array(0)
      })),
      authorizedOperations: NO_OPS
    }
  })
})

const deleteGroups = (kafka: Kafka, ctx: RequestContext, req: DeleteGroupsRequest): DeleteGroupsResponse => ({
  throttleTimeMs: 0,
  results: req.groupsNames.map((groupId) => {
    const error = coordinatorError(kafka, ctx, groupId)
    if (error !== 0) return { groupId, errorCode: error }
    const g = kafka.groups.get(groupId)
    if (g === undefined && !kafka.offsets.hasOffsets(groupId)) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND }
    if (g !== undefined && (g.members.size > 0 || (g.type === "classic" && g.state !== "Empty" && g.state !== "Dead"))) {
      return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP }
    }
    kafka.groups.delete(groupId)
    kafka.offsets.delete(groupId)
    return { groupId, errorCode: 0 }
  })
})

export const groupRoutes: ReadonlyArray<Route> = [
  route(JoinGroup, 0, 9, joinGroup),
  route(SyncGroup, 0, 5, syncGroup),
  route(Heartbeat, 0, 4, heartbeat),
  route(LeaveGroup, 0, 5, leaveGroup),
  route(ConsumerGroupHeartbeat, 0, 1, consumerGroupHeartbeat),
  route(ConsumerGroupDescribe, 0, 0, consumerGroupDescribe),
  route(OffsetCommit, 2, 9, offsetCommit),
  route(OffsetFetch, 1, 9, offsetFetch),
  route(OffsetDelete, 0, 0, offsetDelete),
  route(ListGroups, 0, 5, listGroups),
  route(DescribeGroups, 0, 5, describeGroups),
  route(DeleteGroups, 0, 2, deleteGroups)
]
