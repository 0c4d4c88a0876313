/**
 * Share groups (KIP-932): ShareGroupHeartbeat and ShareGroupDescribe at the group coordinator,
 * ShareFetch and ShareAcknowledge at the partition leaders (share sessions, acquisition locks,
 * piggy-backed acknowledgements, long polls), and the share-group offsets (Describe / Alter /
 * DeleteShareGroupOffsets). Checked against Kafka 4.4: a ShareFetch does not check the member id
 * (a group that has no share-partition state answers UNKNOWN_SERVER_ERROR per partition), an
 * empty member id is INVALID_REQUEST, an incremental epoch without a session is
 * SHARE_SESSION_NOT_FOUND and a ShareAcknowledge at epoch 0 INVALID_SHARE_SESSION_EPOCH.
 *
 * @internal
 */
import { Deferred, Effect, Exit } from "effect"
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { AlterShareGroupOffsets } from "../../../Protocol/generated/AlterShareGroupOffsets.ts"
import type { AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse } from "../../../Protocol/generated/AlterShareGroupOffsets.ts"
import { DeleteShareGroupOffsets } from "../../../Protocol/generated/DeleteShareGroupOffsets.ts"
import type { DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse } from "../../../Protocol/generated/DeleteShareGroupOffsets.ts"
import { DescribeShareGroupOffsets } from "../../../Protocol/generated/DescribeShareGroupOffsets.ts"
import type { DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse } from "../../../Protocol/generated/DescribeShareGroupOffsets.ts"
import { ShareAcknowledge } from "../../../Protocol/generated/ShareAcknowledge.ts"
import type { ShareAcknowledgeRequest, ShareAcknowledgeResponse } from "../../../Protocol/generated/ShareAcknowledge.ts"
import { ShareFetch } from "../../../Protocol/generated/ShareFetch.ts"
import type { ShareFetchRequest, ShareFetchResponse, ShareFetchResponsePartitionData } from "../../../Protocol/generated/ShareFetch.ts"
import { ShareGroupDescribe } from "../../../Protocol/generated/ShareGroupDescribe.ts"
import type { ShareGroupDescribeRequest, ShareGroupDescribeResponse } from "../../../Protocol/generated/ShareGroupDescribe.ts"
import { ShareGroupHeartbeat } from "../../../Protocol/generated/ShareGroupHeartbeat.ts"
import type { ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse } from "../../../Protocol/generated/ShareGroupHeartbeat.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import type { ShareGroup } from "../shareGroups.ts"
import { assignmentToWire, shareGroupState } from "../shareGroups.ts"
import type { AckBatch, SharePartition } from "../sharePartition.ts"
import type { ShareSession } from "../shareSessions.ts"
import { FINAL_EPOCH, INITIAL_EPOCH } from "../shareSessions.ts"
import { endpoint, route, ZERO_UUID } from "./common.ts"
import type { Route } from "./common.ts"
import { coordinatorError, NO_OPS } from "./groupCommon.ts"

/** The group of another type holding this id, if any ("a group of another type" errors). */
const otherType = (kafka: Kafka, groupId: string): string | undefined => {
  const g = kafka.groups.get(groupId)
  if (g === undefined) return undefined
  if (g.type === "classic" && g.members.size === 0 && g.pending.size === 0 && !kafka.offsets.hasOffsets(groupId)) return undefined
  if (g.type === "consumer" && g.members.size === 0 && !kafka.offsets.hasOffsets(groupId)) return undefined
  return g.type
}

const shareGroupHeartbeat = (kafka: Kafka, ctx: RequestContext, req: ShareGroupHeartbeatRequest): ShareGroupHeartbeatResponse => {
  const failed = (errorCode: number, errorMessage: string | null): ShareGroupHeartbeatResponse => ({
    throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null
  })
  const error = coordinatorError(kafka, ctx, req.groupId)
  if (error !== 0) return failed(error === ErrorCode.INVALID_GROUP_ID ? ErrorCode.INVALID_REQUEST : error, null)
  const other = otherType(kafka, req.groupId)
  if (other !== undefined) return failed(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a share group.`)
  return kafka.share.heartbeat(kafka.share.group(req.groupId, true)!, req, ctx.clientId)
}

const shareGroupDescribe = (kafka: Kafka, ctx: RequestContext, req: ShareGroupDescribeRequest): ShareGroupDescribeResponse => ({
  throttleTimeMs: 0,
  groups: req.groupIds.map((groupId) => {
    const empty = { errorMessage: null, groupId, groupState: "", groupEpoch: -1, assignmentEpoch: -1, assignorName: "", members: [], authorizedOperations: NO_OPS }
    const error = coordinatorError(kafka, ctx, groupId)
    if (error !== 0) return { ...empty, errorCode: error }
    const g = kafka.share.group(groupId, false)
    if (g === undefined) {
      const other = otherType(kafka, groupId)
      return { ...empty, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: other === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a share group.` }
    }
    const names = (a: ReturnType<typeof assignmentToWire>) => ({
      topicPartitions: a.map((t) => ({ ...t, topicName: kafka.state.topicsById.get(t.topicId)?.name ?? "" }))
    })
    return {
      ...empty,
      errorCode: 0,
      groupState: shareGroupState(g),
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: "simple",
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: "/in-memory",
        subscribedTopicNames: [...m.subscribedTopicNames],
        assignment: names(assignmentToWire(m.assignment))
      }))
    }
  })
})

const NO_LEADER = { leaderId: -1, leaderEpoch: -1 }
const EMPTY = new Uint8Array(0)

/** One partition of a ShareFetch / ShareAcknowledge at this broker: its share-partition, or the error. */
const sharePartitionAt = (kafka: Kafka, ctx: RequestContext, g: ShareGroup | undefined, topicId: string, partition: number) => {
  const topic = kafka.state.topicsById.get(topicId)
  const p = topic?.partitions[partition]
  const injected = ctx.fault.code(topic?.name, partition)
  if (injected !== 0) return { code: injected, leader: p }
  if (topic === undefined) return { code: ErrorCode.UNKNOWN_TOPIC_ID, leader: undefined }
  if (p === undefined) return { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leader: undefined }
  if (p.leader !== ctx.nodeId) return { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, leader: p }
  // Kafka 4.4: no share-partition state without the share group
  if (g === undefined) return { code: ErrorCode.UNKNOWN_SERVER_ERROR, leader: p }
  const sp = kafka.share.sharePartition(g, topicId, partition)
  kafka.share.initialise(g, sp)
  return { code: 0, leader: p, sp }
}

const currentLeader = (p: { readonly leader: number; readonly leaderEpoch: number } | undefined) =>
  p === undefined || p.leader < 0 ? NO_LEADER : { leaderId: p.leader, leaderEpoch: p.leaderEpoch }

/** The endpoints of the leaders a response sends clients to (NOT_LEADER_OR_FOLLOWER). */
const leaderEndpoints = (kafka: Kafka, ids: ReadonlySet<number>) =>
  [...ids].flatMap((id) => {
    const b = kafka.state.brokers.get(id)
    return b === undefined ? [] : [endpoint(b)]
  })

/** The session of a request, opened or checked by its epoch: the session, or a top-level error. */
const sessionFor = (
  kafka: Kafka,
  ctx: RequestContext,
  groupId: string,
  memberId: string,
  epoch: number,
  canOpen: boolean
): ShareSession | { readonly code: number; readonly message: string | null } => {
  if (epoch === INITIAL_EPOCH) {
    if (!canOpen) return { code: ErrorCode.INVALID_SHARE_SESSION_EPOCH, message: null }
    const { replaced, session } = kafka.shareSessions.open(ctx.nodeId, groupId, memberId, ctx.connection)
    if (replaced !== undefined) kafka.share.closeSession(replaced)
    return session
  }
  const s = kafka.shareSessions.check(ctx.nodeId, groupId, memberId, epoch)
  return typeof s === "number" ? { code: s, message: null } : s
}

const ackBatches = (bs: ReadonlyArray<{ readonly firstOffset: bigint; readonly lastOffset: bigint; readonly acknowledgeTypes: ReadonlyArray<number> }>): Array<AckBatch> =>
  bs.map((b) => ({ firstOffset: b.firstOffset, lastOffset: b.lastOffset, acknowledgeTypes: b.acknowledgeTypes }))

interface FetchSlot {
  readonly topicId: string
  readonly partition: number
  readonly sp: SharePartition | undefined
  readonly code: number
  readonly leader: { readonly leader: number; readonly leaderEpoch: number } | undefined
  ack: { code: number; message: string | null } | undefined
}

/** A ShareFetch / ShareAcknowledge answered with a top-level error (both responses have this shape). */
const top = (errorCode: number, errorMessage: string | null = null) => ({
  throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs: 0, responses: [], nodeEndpoints: []
})

/** The first checks of a ShareFetch / ShareAcknowledge: its group and member ids, or the error response. */
const ids = (ctx: RequestContext, req: { readonly groupId?: string | null | undefined; readonly memberId: string | null }) => {
  const injected = ctx.fault.code()
  if (injected !== 0) return top(injected, "injected")
  const groupId = req.groupId ?? ""
  if (groupId === "") return top(ErrorCode.INVALID_GROUP_ID)
  const memberId = req.memberId ?? ""
  if (memberId === "") return top(ErrorCode.INVALID_REQUEST, "The member id can't be empty.")
  return { groupId, memberId }
}

const shareFetch = (kafka: Kafka, ctx: RequestContext, req: ShareFetchRequest): ShareFetchResponse | Effect.Effect<ShareFetchResponse> => {
  const checked = ids(ctx, req)
  if ("errorCode" in checked) return checked
  const { groupId, memberId } = checked
  const epoch = req.shareSessionEpoch
  const acking = req.topics.some((t) => t.partitions.some((p) => p.acknowledgementBatches.length > 0))
  if (epoch === INITIAL_EPOCH && acking) return top(ErrorCode.INVALID_REQUEST, "Acknowledge data present in initial share fetch request.")
  const found = sessionFor(kafka, ctx, groupId, memberId, epoch, true)
  if (!("partitions" in found)) return top(found.code, found.message)
  const session = found
  const g = kafka.share.group(groupId, false)
  const renewAllowed = ctx.version >= 2 && req.isRenewAck === true
  const slots = new Map<string, FetchSlot>()
  const slotOf = (topicId: string, partition: number): FetchSlot => {
    const key = `${topicId}:${partition}`
    let slot = slots.get(key)
    if (slot === undefined) {
      const at = sharePartitionAt(kafka, ctx, g, topicId, partition)
      slot = { topicId, partition, sp: at.sp, code: at.code, leader: at.leader, ack: undefined }
      slots.set(key, slot)
    }
    return slot
  }
  // the session's partitions: forgotten ones out, the request's in; acknowledgements applied first
  for (const f of req.forgottenTopicsData) for (const p of f.partitions) session.partitions.delete(`${f.topicId}:${p}`)
  for (const t of req.topics) {
    for (const rp of t.partitions) {
      if (epoch !== FINAL_EPOCH) session.partitions.set(`${t.topicId}:${rp.partitionIndex}`, { topicId: t.topicId, partition: rp.partitionIndex })
      if (rp.acknowledgementBatches.length === 0) continue
      const slot = slotOf(t.topicId, rp.partitionIndex)
      slot.ack = slot.sp === undefined
        ? { code: slot.code, message: null }
        : slot.sp.acknowledge(memberId, ackBatches(rp.acknowledgementBatches), renewAllowed)
    }
  }
  const limits = g === undefined ? undefined : kafka.share.limits(groupId)
  const lockMs = limits?.lockMs ?? kafka.share.settings.recordLockDurationMs
  if (epoch === FINAL_EPOCH) {
    kafka.shareSessions.close(session)
    kafka.share.closeSession(session)
  } else if (epoch !== INITIAL_EPOCH) kafka.shareSessions.advance(session) // a new session is at 1 already
  // a final or renewing request fetches nothing
  const fetching = epoch !== FINAL_EPOCH && !renewAllowed
  if (fetching) for (const p of session.partitions.values()) slotOf(p.topicId, p.partition)
  const strict = ctx.version >= 2 && req.shareAcquireMode === 1
  const maxRecords = ctx.version >= 1 ? Math.max(1, req.maxRecords ?? 500) : 500

  const respond = (acquire: boolean): { readonly response: ShareFetchResponse; readonly acquired: number } => {
    let budget = maxRecords
    let acquired = 0
    const leaders = new Set<number>()
    const byTopic = new Map<string, Array<ShareFetchResponsePartitionData>>()
    for (const slot of slots.values()) {
      let records: Buffer | null = null
      let ranges: ShareFetchResponsePartitionData["acquiredRecords"] = []
      if (acquire && fetching && slot.sp !== undefined && budget > 0 && session.partitions.has(`${slot.topicId}:${slot.partition}`)) {
        const a = slot.sp.acquire(memberId, budget, strict)
        for (const r of a.ranges) {
          const n = Number(r.lastOffset - r.firstOffset + 1n)
          budget -= n
          acquired += n
        }
        records = a.records
        ranges = a.ranges.map((r) => ({ firstOffset: r.firstOffset, lastOffset: r.lastOffset, deliveryCount: r.deliveryCount }))
      }
      const code = fetching ? slot.code : 0
      if (ranges.length === 0 && code === 0 && slot.ack === undefined && epoch !== INITIAL_EPOCH) continue
      if (slot.code === ErrorCode.NOT_LEADER_OR_FOLLOWER && slot.leader !== undefined && slot.leader.leader >= 0) leaders.add(slot.leader.leader)
      let list = byTopic.get(slot.topicId)
      if (list === undefined) byTopic.set(slot.topicId, list = [])
      list.push({
        partitionIndex: slot.partition,
        errorCode: code,
        errorMessage: null,
        acknowledgeErrorCode: slot.ack?.code ?? 0,
        acknowledgeErrorMessage: slot.ack?.message ?? null,
        currentLeader: currentLeader(slot.leader),
        // not nullable from v1: an empty record set, as the broker sends
        records: records ?? EMPTY,
        acquiredRecords: ranges
      })
    }
    return {
      response: {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        acquisitionLockTimeoutMs: lockMs,
        responses: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
        nodeEndpoints: leaderEndpoints(kafka, leaders)
      },
      acquired
    }
  }

  const first = respond(true)
  const waitable = [...slots.values()].flatMap((s) => (s.sp === undefined ? [] : [s.sp]))
  const anyError = [...slots.values()].some((s) => s.code !== 0 || s.ack !== undefined)
  if (!fetching || first.acquired > 0 || anyError || req.maxWaitMs <= 0 || waitable.length === 0) return first.response
  // long poll: until records can be acquired (new ones, releases, expired locks) or the deadline
  const deadline = ctx.now + req.maxWaitMs
  const loop: Effect.Effect<ShareFetchResponse> = Effect.suspend(() => {
    const again = respond(true)
    if (again.acquired > 0) return Effect.succeed(again.response)
    const left = deadline - kafka.scheduler.now()
    if (left <= 0 || kafka.shareSessions.get(ctx.nodeId, groupId, memberId) !== session) return Effect.succeed(again.response)
    const wake = Deferred.makeUnsafe<void>()
    const done = () => Deferred.doneUnsafe(wake, Exit.void)
    const offs = waitable.flatMap((sp) => {
      const log = sp.log()
      return [sp.onChange(done), ...(log === undefined ? [] : [log.onChange(done)])]
    })
    return Deferred.await(wake).pipe(
      Effect.timeoutOption(left),
      Effect.ensuring(Effect.sync(() => offs.forEach((off) => off()))),
      Effect.flatMap(() => loop)
    )
  })
  return loop
}

const shareAcknowledge = (kafka: Kafka, ctx: RequestContext, req: ShareAcknowledgeRequest): ShareAcknowledgeResponse => {
  const checked = ids(ctx, req)
  if ("errorCode" in checked) return checked
  const { groupId, memberId } = checked
  const found = sessionFor(kafka, ctx, groupId, memberId, req.shareSessionEpoch, false)
  if (!("partitions" in found)) return top(found.code, found.message)
  const g = kafka.share.group(groupId, false)
  const renewAllowed = ctx.version >= 2 && req.isRenewAck === true
  const leaders = new Set<number>()
  const responses = req.topics.map((t) => ({
    topicId: t.topicId,
    partitions: t.partitions.map((rp) => {
      const at = sharePartitionAt(kafka, ctx, g, t.topicId, rp.partitionIndex)
      if (at.code === ErrorCode.NOT_LEADER_OR_FOLLOWER && at.leader !== undefined && at.leader.leader >= 0) leaders.add(at.leader.leader)
      const r = at.sp === undefined ? { code: at.code, message: null } : at.sp.acknowledge(memberId, ackBatches(rp.acknowledgementBatches), renewAllowed)
      return { partitionIndex: rp.partitionIndex, errorCode: r.code, errorMessage: r.message, currentLeader: currentLeader(at.leader) }
    })
  }))
  if (req.shareSessionEpoch === FINAL_EPOCH) {
    kafka.shareSessions.close(found)
    kafka.share.closeSession(found)
  } else kafka.shareSessions.advance(found)
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    acquisitionLockTimeoutMs: g === undefined ? kafka.share.settings.recordLockDurationMs : kafka.share.limits(groupId).lockMs,
    responses,
    nodeEndpoints: leaderEndpoints(kafka, leaders)
  }
}

/** The share group of an offsets request, or the group-level error Kafka answers. */
const offsetsGroup = (kafka: Kafka, ctx: RequestContext, groupId: string, create: boolean): ShareGroup | { readonly code: number; readonly message: string | null } => {
  const error = coordinatorError(kafka, ctx, groupId)
  if (error !== 0) return { code: error, message: null }
  const g = kafka.share.group(groupId, false)
  if (g !== undefined) return g
  const other = otherType(kafka, groupId)
  if (other !== undefined) return { code: ErrorCode.GROUP_ID_NOT_FOUND, message: `Group ${groupId} is not a share group.` }
  return create ? kafka.share.group(groupId, true)! : { code: ErrorCode.GROUP_ID_NOT_FOUND, message: `Group ${groupId} not found.` }
}

const describeShareGroupOffsets = (kafka: Kafka, ctx: RequestContext, req: DescribeShareGroupOffsetsRequest): DescribeShareGroupOffsetsResponse => ({
  throttleTimeMs: 0,
  groups: req.groups.map((rg) => {
    const g = offsetsGroup(kafka, ctx, rg.groupId, false)
    if (!("partitions" in g)) {
      // no group: no partitions (Kafka answers an empty list for a group it does not know)
      if (g.code === ErrorCode.GROUP_ID_NOT_FOUND && otherType(kafka, rg.groupId) === undefined) {
        return { groupId: rg.groupId, topics: [], errorCode: 0, errorMessage: null }
      }
      return { groupId: rg.groupId, topics: [], errorCode: g.code, errorMessage: g.message }
    }
    const row = (topicId: string, partition: number) => {
      const sp = g.partitions.get(`${topicId}:${partition}`)
      const log = kafka.state.topicsById.get(topicId)?.partitions[partition]?.log
      const start = sp?.initialised === true ? sp.startOffset : -1n
      return {
        partitionIndex: partition,
        startOffset: start,
        leaderEpoch: -1,
        lag: start < 0n || log === undefined ? -1n : start >= log.highWatermark ? 0n : log.highWatermark - start,
        errorCode: 0,
        errorMessage: null
      }
    }
    if (rg.topics === null) {
      // every share-partition of the group (assigned ones before their first fetch without a start offset)
      const byTopic = new Map<string, Array<number>>()
      for (const key of g.partitions.keys()) {
        const [topicId, p] = key.split(":")
        let list = byTopic.get(topicId)
        if (list === undefined) byTopic.set(topicId, list = [])
        list.push(Number(p))
      }
      return {
        groupId: rg.groupId,
        errorCode: 0,
        errorMessage: null,
        topics: [...byTopic].flatMap(([topicId, ps]) => {
          const t = kafka.state.topicsById.get(topicId)
          return t === undefined ? [] : [{ topicName: t.name, topicId, partitions: ps.sort((a, b) => a - b).map((p) => row(topicId, p)) }]
        })
      }
    }
    return {
      groupId: rg.groupId,
      errorCode: 0,
      errorMessage: null,
      topics: rg.topics.map((rt) => {
        const t = kafka.state.topics.get(rt.topicName)
        if (t === undefined) {
          return {
            topicName: rt.topicName,
            topicId: ZERO_UUID,
            partitions: rt.partitions.map((p) => ({
              partitionIndex: p, startOffset: -1n, leaderEpoch: -1, lag: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null
            }))
          }
        }
        return { topicName: rt.topicName, topicId: t.id, partitions: rt.partitions.map((p) => row(t.id, p)) }
      })
    }
  })
})

/** An Alter / DeleteShareGroupOffsets answer: `f`'s topics when the group has no members, else the group's error. */
const onEmptyGroup = <T>(kafka: Kafka, ctx: RequestContext, groupId: string, create: boolean, f: (g: ShareGroup) => Array<T>) => {
  const g = offsetsGroup(kafka, ctx, groupId, create)
  const error = !("partitions" in g) ? g : g.members.size > 0 ? { code: ErrorCode.NON_EMPTY_GROUP, message: `Share group ${groupId} is not empty.` } : undefined
  if (error !== undefined) return { throttleTimeMs: 0, errorCode: error.code, errorMessage: error.message, responses: [] as Array<T> }
  return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, responses: f(g as ShareGroup) }
}

const alterShareGroupOffsets = (kafka: Kafka, ctx: RequestContext, req: AlterShareGroupOffsetsRequest): AlterShareGroupOffsetsResponse =>
  onEmptyGroup(kafka, ctx, req.groupId, true, (g) =>
    req.topics.map((rt) => {
      const t = kafka.state.topics.get(rt.topicName)
      return {
        topicName: rt.topicName,
        topicId: t?.id ?? ZERO_UUID,
        partitions: rt.partitions.map((rp) => {
          const result = (errorCode: number, errorMessage: string | null = null) => ({ partitionIndex: rp.partitionIndex, errorCode, errorMessage })
          if (t === undefined || t.partitions[rp.partitionIndex] === undefined) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
          if (rp.startOffset < 0n) return result(ErrorCode.INVALID_REQUEST, `invalid start offset ${rp.startOffset}`)
          kafka.share.sharePartition(g, t.id, rp.partitionIndex).reset(rp.startOffset)
          return result(0)
        })
      }
    }))

const deleteShareGroupOffsets = (kafka: Kafka, ctx: RequestContext, req: DeleteShareGroupOffsetsRequest): DeleteShareGroupOffsetsResponse =>
  onEmptyGroup(kafka, ctx, req.groupId, false, (g) =>
    req.topics.map((rt) => {
      const t = kafka.state.topics.get(rt.topicName)
      if (t === undefined) return { topicName: rt.topicName, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null }
      for (const key of [...g.partitions.keys()]) if (key.startsWith(`${t.id}:`)) g.partitions.delete(key)
      return { topicName: rt.topicName, topicId: t.id, errorCode: 0, errorMessage: null }
    }))

export const shareGroupRoutes: ReadonlyArray<Route> = [
  route(ShareGroupHeartbeat, 1, 1, shareGroupHeartbeat),
  route(ShareGroupDescribe, 1, 1, shareGroupDescribe),
  route(ShareFetch, 1, 2, shareFetch),
  route(ShareAcknowledge, 1, 2, shareAcknowledge),
  route(DescribeShareGroupOffsets, 0, 1, describeShareGroupOffsets),
  route(AlterShareGroupOffsets, 0, 0, alterShareGroupOffsets),
  route(DeleteShareGroupOffsets, 0, 0, deleteShareGroupOffsets)
]
