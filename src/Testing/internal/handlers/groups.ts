/**
 * The classic group protocol at the coordinator: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, and
 * ListGroups / DescribeGroups / DeleteGroups.
 *
 * @internal
 */
import { Effect } from "effect"
import { ErrorCode } from "../../../Protocol/Errors.ts"
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
import { SyncGroup } from "../../../Protocol/generated/SyncGroup.ts"
import type { SyncGroupRequest, SyncGroupResponse } from "../../../Protocol/generated/SyncGroup.ts"
import { consumerGroupState } from "../consumerGroups.ts"
import { shareGroupState } from "../shareGroups.ts"
import type { AnyGroup, Kafka, RequestContext } from "../kafka.ts"
import { route } from "./common.ts"
import type { Route } from "./common.ts"
import { coordinatorError, classicGroup, NO_OPS } from "./groupCommon.ts"

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
  // share groups (ListGroups v5 with a types filter, or without one: every group)
  const shares = [...kafka.share.groups.values()]
    .filter((g) => kafka.isCoordinator(ctx.nodeId, "group", g.groupId))
    .filter((g) => states.size === 0 || states.has(shareGroupState(g).toLowerCase()))
    .filter(() => types.size === 0 || types.has("share"))
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    groups: [
      ...groups.map((g) => ({
        groupId: g.groupId,
        protocolType: g.type === "classic" ? g.protocolType ?? "" : "consumer",
        groupState: v >= 4 ? stateOf(g) : "",
        groupType: v >= 5 ? g.type : ""
      })),
      ...shares.map((g) => ({ groupId: g.groupId, protocolType: "share", groupState: v >= 4 ? shareGroupState(g) : "", groupType: v >= 5 ? "share" : "" }))
    ]
  }
}

const describeGroups = (kafka: Kafka, ctx: RequestContext, req: DescribeGroupsRequest): DescribeGroupsResponse => ({
  throttleTimeMs: 0,
  groups: req.groups.map((groupId): DescribeGroupsResponseDescribedGroup => {
    const dead = { groupId, groupState: "Dead", protocolType: "", protocolData: "", members: [], authorizedOperations: NO_OPS, errorMessage: null }
    const error = coordinatorError(kafka, ctx, groupId)
    if (error !== 0) return { ...dead, errorCode: error, groupState: "" }
    const g = kafka.groups.get(groupId)
    if (g === undefined || g.type !== "classic") {
      // v6 (KIP-1043): a missing group, or one of another type, is GROUP_ID_NOT_FOUND
      if (ctx.version < 6) return { ...dead, errorCode: 0 }
      const errorMessage = g === undefined && kafka.share.group(groupId, false) === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a classic group.`
      return { ...dead, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage }
    }
    const stable = g.state === "Stable"
    return {
      errorCode: 0,
      errorMessage: null,
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
    if (error !== 0) return { groupId, errorCode: error, errorMessage: null }
    const share = kafka.share.group(groupId, false)
    if (share !== undefined) {
      const code = kafka.share.delete(groupId)
      return { groupId, errorCode: code, errorMessage: code === 0 || ctx.version < 3 ? null : `Share group ${groupId} is not empty.` }
    }
    const g = kafka.groups.get(groupId)
    if (g === undefined && !kafka.offsets.hasOffsets(groupId)) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: ctx.version >= 3 ? `Group ${groupId} not found.` : null }
    if (g !== undefined && (g.members.size > 0 || (g.type === "classic" && g.state !== "Empty" && g.state !== "Dead"))) {
      return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP, errorMessage: ctx.version >= 3 ? `Group ${groupId} is not empty.` : null }
    }
    kafka.groups.delete(groupId)
    kafka.offsets.delete(groupId)
    return { groupId, errorCode: 0, errorMessage: null }
  })
})

export const groupRoutes: ReadonlyArray<Route> = [
  route(JoinGroup, 0, 9, joinGroup),
  route(SyncGroup, 0, 5, syncGroup),
  route(Heartbeat, 0, 4, heartbeat),
  route(LeaveGroup, 0, 5, leaveGroup),
  route(ListGroups, 0, 5, listGroups),
  route(DescribeGroups, 0, 6, describeGroups),
  route(DeleteGroups, 0, 3, deleteGroups)
]
