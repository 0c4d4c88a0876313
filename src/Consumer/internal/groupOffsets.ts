/**
 * OffsetCommit and OffsetFetch against a group's coordinator: through a member's own coordinator
 * session, or the cluster's shared coordinator connection for standalone use (`sharedCoordinator`).
 * Coordinator moves and transient failures are retried by the `RetryPolicy` (through
 * `withCoordinator`); membership errors become typed errors; other per-partition errors are
 * collected into `OffsetPartitionErrors`.
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService, CoordinatorSession, Located } from "../../Cluster/Cluster.ts"
import { ErrorCode, errorForCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import type { AnyApi } from "../../Protocol/Api.ts"
import type { BrokerError } from "../../Connection/Errors.ts"
import { OffsetCommit } from "../../Protocol/generated/OffsetCommit.ts"
import { OffsetFetch } from "../../Protocol/generated/OffsetFetch.ts"
import type { TopicPartition } from "../Record.ts"
import { CommitFailed, OffsetPartitionErrors, RebalanceInProgress } from "./groupErrors.ts"
import type { OffsetsError } from "./groupErrors.ts"

/** An offset to commit: the offset of the next record to consume. */
export interface OffsetToCommit {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly leaderEpoch?: number | undefined
  readonly metadata?: string | null | undefined
}

/** A committed offset; `leaderEpoch` is `null` when the committer did not give one. */
export interface CommittedOffset {
  readonly offset: bigint
  readonly leaderEpoch: number | null
  readonly metadata: string | null
}

/** Who commits: a member's generation (classic) or epoch (KIP-848); none for standalone use. */
export interface MemberIdentity {
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
}

/** How requests reach the group's coordinator: a session's `withCoordinator`, or `sharedCoordinator`. */
export type WithCoordinator = CoordinatorSession["withCoordinator"]

/** The cluster's shared connection to `groupId`'s coordinator, for clients that are not members. */
export const sharedCoordinator = (cluster: ClusterService, groupId: string): WithCoordinator => (f) =>
  cluster.withCoordinator({ type: "group", key: groupId }, f)

/**
 * The version to send an API at whose requests address topics by id from `byIdFrom` on, and the
 * topics' ids: the highest version both sides support, or the last name-addressed one when an id
 * is not known (an older broker, or a coordinator found without the cluster's metadata).
 */
export const topicIdVersion = (
  c: Located,
  api: AnyApi,
  byIdFrom: number,
  topics: ReadonlyArray<string>
): Effect.Effect<{ readonly version: number; readonly ids: ReadonlyMap<string, string> }, BrokerError> =>
  Effect.flatMap(c.broker.versionFor(api), (version) => {
    if (version < byIdFrom) return Effect.succeed({ version, ids: new Map<string, string>() })
    if (c.topicIds === undefined) return Effect.succeed({ version: byIdFrom - 1, ids: new Map<string, string>() })
    return Effect.map(c.topicIds(topics), (ids) => ({ version: topics.every((t) => ids.has(t)) ? version : byIdFrom - 1, ids }))
  })

/** The name of a topic in a response: the name, or (id-addressed versions) the topic of its id. */
export const responseTopicName = (t: { readonly name: string; readonly topicId?: string }, ids: ReadonlyMap<string, string>): string => {
  if (t.name !== "") return t.name
  for (const [name, id] of ids) if (id === t.topicId) return name
  return ""
}

/** The key of a partition in the maps offsets come in: `"<topic>-<partition>"`. */
export const topicPartitionKey = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`

const COORDINATOR = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR])
/** Per-partition errors that go away by themselves: retried (by the RetryPolicy) with the whole request. */
const TRANSIENT = new Set<number>([ErrorCode.REQUEST_TIMED_OUT, ErrorCode.UNSTABLE_OFFSET_COMMIT, ...COORDINATOR])
const FENCED = new Set<number>([
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.FENCED_MEMBER_EPOCH,
  ErrorCode.STALE_MEMBER_EPOCH
])

const errorOf = (code: number, message?: string | null): KafkaError => errorForCode(code, message) ?? kafkaError("UNKNOWN_SERVER_ERROR")

/** The error of a whole response from its error codes (first of each kind wins); also for TxnOffsetCommit. */
export const judge = (
  groupId: string,
  operation: string,
  results: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly code: number }>
): Effect.Effect<void, OffsetsError> => {
  const failures: Array<{ topic: string; partition: number; error: KafkaError }> = []
  for (const r of results) {
    if (r.code === 0) continue
    const error = errorOf(r.code)
    if (TRANSIENT.has(r.code)) return Effect.fail(error)
    if (r.code === ErrorCode.REBALANCE_IN_PROGRESS) {
      return Effect.fail(new RebalanceInProgress({ groupId, message: `${operation} for group ${groupId}: the group is rebalancing; commit again once it is over` }))
    }
    if (FENCED.has(r.code)) {
      return Effect.fail(new CommitFailed({ groupId, error, message: `${operation} for group ${groupId} refused (${error.name}): the member is no longer in the generation it committed in` }))
    }
    if (r.partition < 0) return Effect.fail(error) // a group-level error (authorization, …)
    failures.push({ topic: r.topic, partition: r.partition, error })
  }
  if (failures.length === 0) return Effect.void
  const names = failures.slice(0, 5).map((f) => `${f.topic}-${f.partition}: ${f.error.name}`).join(", ")
  return Effect.fail(new OffsetPartitionErrors({ groupId, failures, message: `${operation} for group ${groupId} failed for ${failures.length} partition(s): ${names}` }))
}

const byTopic = <T extends TopicPartition>(tps: ReadonlyArray<T>): Array<[string, Array<T>]> => {
  const m = new Map<string, Array<T>>()
  for (const tp of tps) {
    let list = m.get(tp.topic)
    if (list === undefined) m.set(tp.topic, list = [])
    list.push(tp)
  }
  return [...m]
}

/** Commits offsets for a group, as `member` (or as a standalone client: generation -1, member ""). */
export const commitOffsets = (
  withCoordinator: WithCoordinator,
  groupId: string,
  offsets: ReadonlyArray<OffsetToCommit>,
  member?: MemberIdentity
): Effect.Effect<void, OffsetsError> => {
  if (offsets.length === 0) return Effect.void
  const grouped = byTopic(offsets)
  const topicsWith = (ids: ReadonlyMap<string, string>) => grouped.map(([name, ps]) => ({
    name,
    ...(ids.has(name) ? { topicId: ids.get(name)! } : {}),
    partitions: ps.map((p) => ({
      partitionIndex: p.partition,
      committedOffset: p.offset,
      committedLeaderEpoch: p.leaderEpoch ?? -1,
      committedMetadata: p.metadata ?? ""
    }))
  }))
  return withCoordinator((c: Located) =>
    Effect.gen(function*() {
      // v10+ addresses topics by id
      const { ids, version } = yield* topicIdVersion(c, OffsetCommit, 10, grouped.map(([name]) => name))
      const res = yield* c.broker.request(OffsetCommit, {
        groupId,
        generationIdOrMemberEpoch: member?.generationId ?? -1,
        memberId: member?.memberId ?? "",
        ...(version >= 7 ? { groupInstanceId: member?.groupInstanceId ?? null } : {}),
        topics: topicsWith(ids)
      }, { version })
      yield* judge(groupId, "OffsetCommit", res.topics.flatMap((t) => t.partitions.map((p) => ({ topic: responseTopicName(t, ids), partition: p.partitionIndex, code: p.errorCode }))))
    }))
}

/**
 * The committed offsets of `partitions` (keyed by `topicPartitionKey`; `undefined` where nothing is
 * committed). `requireStable` waits out pending transactional commits (retried while they last).
 */
export const fetchOffsets = (
  withCoordinator: WithCoordinator,
  groupId: string,
  partitions: ReadonlyArray<TopicPartition>,
  options: { readonly member?: MemberIdentity | undefined; readonly requireStable?: boolean | undefined } = {}
): Effect.Effect<ReadonlyMap<string, CommittedOffset | undefined>, OffsetsError> => {
  const out = new Map<string, CommittedOffset | undefined>()
  if (partitions.length === 0) return Effect.succeed(out)
  const grouped = byTopic(partitions)
  const requireStable = options.requireStable ?? true
  return withCoordinator((c: Located) =>
    Effect.gen(function*() {
      // v10+ addresses topics by id
      const { ids, version } = yield* topicIdVersion(c, OffsetFetch, 10, grouped.map(([name]) => name))
      const topics = grouped.map(([name, ps]) => ({ name, ...(ids.has(name) ? { topicId: ids.get(name)! } : {}), partitionIndexes: ps.map((p) => p.partition) }))
      const res = yield* c.broker.request(
        OffsetFetch,
        version >= 8
          ? {
            groups: [{
              groupId,
              memberId: options.member?.memberId ?? null,
              memberEpoch: options.member?.generationId ?? -1,
              topics
            }],
            requireStable
          }
          : { groupId, topics, ...(version >= 7 ? { requireStable } : {}) },
        { version }
      )
      const group = version >= 8 ? res.groups.find((g) => g.groupId === groupId) ?? res.groups[0] : undefined
      const groupCode = group !== undefined ? group.errorCode : res.errorCode
      const resTopics = group !== undefined ? group.topics : res.topics
      const codes: Array<{ topic: string; partition: number; code: number }> = []
      // a group that does not exist has no committed offsets (OffsetFetch v10+ says GROUP_ID_NOT_FOUND)
      if (groupCode !== 0 && groupCode !== ErrorCode.GROUP_ID_NOT_FOUND) codes.push({ topic: "", partition: -1, code: groupCode })
      for (const t of resTopics) {
        const name = responseTopicName(t, ids)
        for (const p of t.partitions) {
          codes.push({ topic: name, partition: p.partitionIndex, code: p.errorCode })
          if (p.errorCode === 0) {
            out.set(
              topicPartitionKey({ topic: name, partition: p.partitionIndex }),
              p.committedOffset < 0n ? undefined : {
                offset: p.committedOffset,
                leaderEpoch: p.committedLeaderEpoch >= 0 ? p.committedLeaderEpoch : null,
                metadata: p.metadata
              }
            )
          }
        }
      }
      yield* judge(groupId, "OffsetFetch", codes)
      for (const tp of partitions) {
        const k = topicPartitionKey(tp)
        if (!out.has(k)) out.set(k, undefined)
      }
      return out as ReadonlyMap<string, CommittedOffset | undefined>
    }))
}
