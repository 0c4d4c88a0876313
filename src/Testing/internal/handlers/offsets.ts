/**
 * Committed offsets at the group coordinator: OffsetCommit (checked against the member and its
 * generation or epoch), OffsetFetch (v8+ batched; requireStable), OffsetDelete.
 *
 * @internal
 */
import { Result } from "effect"
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { decodeVersioned } from "../../../Protocol/Frame.ts"
import { ConsumerProtocolSubscription } from "../../../Protocol/generated/ConsumerProtocolSubscription.ts"
import { OffsetCommit } from "../../../Protocol/generated/OffsetCommit.ts"
import type { OffsetCommitRequest, OffsetCommitResponse } from "../../../Protocol/generated/OffsetCommit.ts"
import { OffsetDelete } from "../../../Protocol/generated/OffsetDelete.ts"
import type { OffsetDeleteRequest, OffsetDeleteResponse } from "../../../Protocol/generated/OffsetDelete.ts"
import { OffsetFetch } from "../../../Protocol/generated/OffsetFetch.ts"
import type { OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponsePartition } from "../../../Protocol/generated/OffsetFetch.ts"
import { newClassicGroup } from "../groups.ts"
import type { AnyGroup, Kafka, RequestContext } from "../kafka.ts"
import { resolveTopic, route, ZERO_UUID } from "./common.ts"
import type { Route } from "./common.ts"
import { coordinatorError } from "./groupCommon.ts"

const MAX_METADATA = 4096

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
      // v10+ addresses topics by id (KIP-848) and answers with the id and an empty name
      const { topic, name, topicId, missing } = resolveTopic(kafka, ctx.version >= 10, t)
      return {
        name,
        topicId,
        partitions: t.partitions.map((p) => {
          const code = memberError !== 0
            ? memberError
            : topic === undefined
            ? missing
            : p.partitionIndex < 0 || p.partitionIndex >= topic.partitions.length
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : (p.committedMetadata?.length ?? 0) > MAX_METADATA
            ? ErrorCode.OFFSET_METADATA_TOO_LARGE
            : 0
          if (code === 0) {
            kafka.offsets.commit(req.groupId, topic!.name, p.partitionIndex, {
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
  readonly topics: ReadonlyArray<{ readonly name?: string; readonly topicId?: string; readonly partitionIndexes: ReadonlyArray<number> }> | null
}

const fetchGroupOffsets = (kafka: Kafka, ctx: RequestContext, q: FetchGroup, requireStable: boolean): { errorCode: number; topics: Array<{ name: string; topicId: string; partitions: Array<OffsetFetchResponsePartition> }> } => {
  const error = coordinatorError(kafka, ctx, q.groupId)
  if (error !== 0) return { errorCode: error, topics: [] }
  const g = kafka.groups.get(q.groupId)
  if (q.memberId !== null && q.memberId !== "" && g?.type === "consumer") {
    const code = kafka.consumer.validateCommit(g, q.memberId, q.memberEpoch)
    if (code !== 0) return { errorCode: code, topics: [] }
  }
  // v10+ addresses topics by id (KIP-848) and answers with the id and an empty name
  const byId = ctx.version >= 10
  const wanted = q.topics ?? groupTopics(kafka, q.groupId, byId)
  return {
    errorCode: 0,
    topics: wanted.map((t) => {
      const { topic, name, topicId, missing } = resolveTopic(kafka, byId, t)
      const topicName = byId ? topic?.name : name
      return {
      name,
      topicId,
      partitions: t.partitionIndexes.map((partitionIndex) => {
        if (topicName === undefined) return { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: missing }
        if (requireStable && kafka.txns.hasPendingOffset(q.groupId, topicName, partitionIndex)) {
          return { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
        }
        const o = kafka.offsets.get(q.groupId, topicName, partitionIndex)
        return o === undefined
          ? { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: 0 }
          : { partitionIndex, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata ?? "", errorCode: 0 }
      })
    }
    })
  }
}

/** Every partition a group has offsets for, by topic. */
const groupTopics = (kafka: Kafka, groupId: string, byId: boolean) => {
  const byTopic = new Map<string, Array<number>>()
  for (const [topic, partition] of kafka.offsets.all(groupId)) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition])
  const out: Array<{ name: string; topicId: string; partitionIndexes: Array<number> }> = []
  for (const [name, partitionIndexes] of byTopic) {
    // by id, a topic that no longer exists has no id to answer with: left out, as the broker does
    const topicId = kafka.state.topics.get(name)?.id ?? ZERO_UUID
    if (byId && topicId === ZERO_UUID) continue
    out.push({ name, topicId, partitionIndexes: partitionIndexes.sort((a, b) => a - b) })
  }
  return out
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

export const offsetRoutes: ReadonlyArray<Route> = [
  route(OffsetCommit, 2, 10, offsetCommit),
  route(OffsetFetch, 1, 10, offsetFetch),
  route(OffsetDelete, 0, 0, offsetDelete)
]
