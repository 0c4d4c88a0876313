/**
 * KIP-848 consumer groups at the coordinator: ConsumerGroupHeartbeat and ConsumerGroupDescribe.
 *
 * @internal
 */
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { ConsumerGroupDescribe } from "../../../Protocol/generated/ConsumerGroupDescribe.ts"
import type { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from "../../../Protocol/generated/ConsumerGroupDescribe.ts"
import { ConsumerGroupHeartbeat } from "../../../Protocol/generated/ConsumerGroupHeartbeat.ts"
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from "../../../Protocol/generated/ConsumerGroupHeartbeat.ts"
import { consumerGroupState, newConsumerGroup } from "../consumerGroups.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import { route } from "./common.ts"
import type { Route } from "./common.ts"
import { coordinatorError, NO_OPS } from "./groupCommon.ts"

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
        targetAssignment: wire(g.target.get(m.memberId) ?? new Map()),
        memberType: ctx.version >= 1 ? 1 : -1
      }))
    }
  })
})

export const consumerGroupRoutes: ReadonlyArray<Route> = [
  route(ConsumerGroupHeartbeat, 0, 1, consumerGroupHeartbeat),
  route(ConsumerGroupDescribe, 0, 1, consumerGroupDescribe)
]
