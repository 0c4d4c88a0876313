/**
 * A group's committed offsets: read them with the lag behind each partition's end (OffsetFetch +
 * ListOffsets), reset them (OffsetCommit as a non-member, refused while the group has members),
 * delete them (OffsetDelete). Group requests go to the group's coordinator.
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService, Located } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { OffsetCommit } from "../../Protocol/generated/OffsetCommit.ts"
import { OffsetDelete } from "../../Protocol/generated/OffsetDelete.ts"
import { OffsetFetch } from "../../Protocol/generated/OffsetFetch.ts"
import { Metadata } from "../../Protocol/generated/Metadata.ts"
import type { InvalidTopicName } from "../../Topic.ts"
import { GroupHasActiveMembers, itemError } from "../Errors.ts"
import type { AdminItemError, AdminPartialFailure, InvalidAdminRequest } from "../Errors.ts"
import { checkGroups, describeOne } from "./groups.ts"
import { checkSpec, expandPartitions, lookupOffsets } from "./offsets.ts"
import type { ListOffsetsOptions, PartitionSelection } from "./offsets.ts"
import { partitionItem, partitionKey } from "./perLeader.ts"
import type { TopicPartition } from "./perLeader.ts"
import { checkTopics, codeError, collect, failed, ok, refuse, send, single } from "./request.ts"
import type { Outcome } from "./request.ts"
import { responseTopicName, topicIdVersion } from "../../Consumer/internal/groupOffsets.ts"

/**
 * A group's position in one partition. `committedOffset` is `null` when the group has committed
 * nothing there; `endOffset` is the partition's latest offset (`null` if it could not be read, e.g.
 * the topic is gone); `lag` is `endOffset - committedOffset` (at least 0), `null` without both.
 *
 * @since 0.1.0
 */
export interface GroupPartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly committedOffset: bigint | null
  readonly committedLeaderEpoch: number | null
  readonly metadata: string | null
  readonly endOffset: bigint | null
  readonly lag: bigint | null
}

/**
 * An offset of a partition.
 *
 * @since 0.1.0
 */
export interface PartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
}

/**
 * Where to move a group: to each partition's first or next-to-be-written offset, to the first
 * offset at or after a time (ms since the epoch; the end where no record is that recent, as
 * Kafka's `kafka-consumer-groups --to-datetime`), or to explicit offsets.
 *
 * @since 0.1.0
 */
export type OffsetReset =
  | { readonly to: "earliest" }
  | { readonly to: "latest" }
  | { readonly to: "timestamp"; readonly timestamp: number }
  | { readonly to: "offsets"; readonly offsets: ReadonlyArray<PartitionOffset> }

/**
 * Which partitions to reset (not for explicit offsets, which name theirs): `topics` (every
 * partition) and/or `partitions`; default: every partition the group has committed offsets for.
 *
 * @since 0.1.0
 */
export interface ResetScope {
  readonly topics?: ReadonlyArray<string> | undefined
  readonly partitions?: ReadonlyArray<TopicPartition> | undefined
}

const COORDINATOR_CODES: ReadonlySet<number> = new Set([14, 15, 16])

const byTopic = <T extends TopicPartition>(tps: ReadonlyArray<T>): Array<[string, Array<T>]> => {
  const m = new Map<string, Array<T>>()
  for (const tp of tps) m.set(tp.topic, [...(m.get(tp.topic) ?? []), tp])
  return [...m]
}

const compare = (a: TopicPartition, b: TopicPartition) =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition

interface Committed {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint | null
  readonly leaderEpoch: number | null
  readonly metadata: string | null
}

/** The name of the topic with this id in the cluster's metadata, or "". */
const nameOfId = (cluster: ClusterService, topicId: string | undefined): string => {
  if (topicId === undefined) return ""
  for (const t of cluster.snapshot().topics.values()) if (t.topicId === topicId) return t.name
  return ""
}

/** A group's committed offsets for `partitions` (every committed partition for `null`). */
const fetchCommitted = (
  cluster: ClusterService,
  operation: string,
  group: string,
  partitions: ReadonlyArray<TopicPartition> | null
): Effect.Effect<Array<Outcome<Committed>>, ClusterError | AdminItemError> => {
  const grouped = partitions === null ? null : byTopic(partitions)
  return cluster.withCoordinator({ type: "group", key: group }, (c: Located) =>
    // v10+ addresses topics by id
    topicIdVersion(c, OffsetFetch, 10, grouped === null ? [] : grouped.map(([name]) => name)).pipe(Effect.flatMap(({ ids, version }) => {
      const topics = grouped === null ? null : grouped.map(([name, ps]) => ({ name, ...(ids.has(name) ? { topicId: ids.get(name)! } : {}), partitionIndexes: ps.map((p) => p.partition) }))
      // every committed partition (topics null) comes back by id at v10+: their names from the cluster's metadata
      const byId = new Map<string, string>()
      const names = (t: { readonly name: string; readonly topicId?: string }) =>
        t.name !== "" ? t.name : responseTopicName(t, ids) || nameOfId(cluster, t.topicId) || byId.get(t.topicId ?? "") || ""
      return c.broker.request(OffsetFetch, version >= 8
        ? { groups: [{ groupId: group, topics }], requireStable: false }
        : { groupId: group, topics, ...(version >= 7 ? { requireStable: false } : {}) }, { version }).pipe(
          Effect.flatMap((res) => {
            // topics answered by id only (every committed partition at v10+): their names by a Metadata request by id
            const unnamed = [...new Set(res.groups.flatMap((g) => g.topics).filter((t) => t.name === "" && responseTopicName(t, ids) === "" && nameOfId(cluster, t.topicId) === "").map((t) => t.topicId))]
            if (unnamed.length === 0) return Effect.succeed(res)
            return c.broker.request(Metadata, { topics: unnamed.map((topicId) => ({ topicId, name: null })), allowAutoTopicCreation: false }).pipe(
              Effect.map((md) => {
                for (const t of md.topics) if (t.errorCode === 0 && t.name !== null) byId.set(t.topicId, t.name)
                return res
              })
            )
          }),
          Effect.flatMap((res): Effect.Effect<Array<Outcome<Committed>>, KafkaError> => {
            const g = res.groups.length > 0 ? (res.groups.find((g) => g.groupId === group) ?? res.groups[0]) : undefined
            // a group that does not exist has no committed offsets (OffsetFetch v10+ says GROUP_ID_NOT_FOUND)
            const groupCode = g !== undefined ? g.errorCode : res.errorCode
            const error = groupCode === ErrorCode.GROUP_ID_NOT_FOUND ? undefined : codeError(groupCode)
            if (error !== undefined) return Effect.fail(error)
            const out: Array<Outcome<Committed>> = []
            for (const t of g !== undefined ? g.topics : res.topics) {
              const name = names(t)
              for (const p of t.partitions) {
                const item = partitionItem({ topic: name, partition: p.partitionIndex })
                const e = codeError(p.errorCode, p.metadata)
                out.push(e !== undefined ? failed(operation, item, e) : ok(item, {
                  topic: name,
                  partition: p.partitionIndex,
                  offset: p.committedOffset >= 0n ? p.committedOffset : null,
                  leaderEpoch: p.committedLeaderEpoch >= 0 ? p.committedLeaderEpoch : null,
                  metadata: p.metadata
                }))
              }
            }
            return Effect.succeed(out)
          })
        )
    }))).pipe(Effect.catchTag("KafkaError", (e) => Effect.fail(itemError(operation, `group ${group}`, e))))
}

export const listGroupOffsets = (
  cluster: ClusterService,
  group: string,
  options: { readonly topics?: ReadonlyArray<string> | undefined } & ListOffsetsOptions = {}
): Effect.Effect<Array<GroupPartitionOffset>, ClusterError | AdminItemError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "listGroupOffsets"
    yield* checkGroups(operation, [group])
    const partitions = options.topics === undefined ? null : yield* expandPartitions(cluster, operation, options.topics)
    const committed = (yield* collect(operation, yield* fetchCommitted(cluster, operation, group, partitions))).sort(compare)
    const ends = yield* lookupOffsets(cluster, operation, committed, "latest", options)
    return committed.map((c, i) => {
      const end = ends[i].ok ? ends[i].value.offset : null
      return {
        topic: c.topic,
        partition: c.partition,
        committedOffset: c.offset,
        committedLeaderEpoch: c.leaderEpoch,
        metadata: c.metadata,
        endOffset: end,
        lag: end !== null && c.offset !== null ? (end > c.offset ? end - c.offset : 0n) : null
      }
    })
  })

/** Fails unless the group is inactive (Empty or Dead, no members). */
const ensureInactive = (cluster: ClusterService, operation: string, group: string) =>
  Effect.gen(function*() {
    const described = yield* single(collect(operation, [yield* describeOne(cluster, operation, group)]))
    const state = described.state.toLowerCase()
    if ((state !== "empty" && state !== "dead") || described.members.length > 0) {
      return yield* Effect.fail(new GroupHasActiveMembers({
        group,
        state: described.state,
        members: described.members.length,
        message: `group ${group} is ${described.state} with ${described.members.length} member(s): ` +
          `its offsets can only be changed while it has no active members (Empty or Dead); stop its consumers first`
      }))
    }
  })

/** Where each partition goes. */
const targets = (cluster: ClusterService, operation: string, group: string, reset: OffsetReset, scope: ResetScope) =>
  Effect.gen(function*() {
    if (reset.to === "offsets") return [...reset.offsets]
    const selection: PartitionSelection = [...(scope.topics ?? []), ...(scope.partitions ?? [])]
    const partitions = selection.length > 0
      ? yield* expandPartitions(cluster, operation, selection)
      : (yield* collect(operation, yield* fetchCommitted(cluster, operation, group, null))).map((c) => ({ topic: c.topic, partition: c.partition }))
    yield* refuse(operation, partitions.length === 0, `group ${group} has no committed offsets: name the topics or partitions to reset`)
    partitions.sort(compare)
    const spec = reset.to === "timestamp" ? { timestamp: reset.timestamp } : reset.to
    const found = yield* collect(operation, yield* lookupOffsets(cluster, operation, partitions, spec))
    // a timestamp later than every record: the end of the partition
    const past = partitions.filter((_, i) => found[i].offset === null)
    const ends = past.length === 0 ? [] : yield* collect(operation, yield* lookupOffsets(cluster, operation, past, "latest"))
    const endOf = new Map(ends.map((e) => [partitionKey(e.topic, e.partition), e.offset ?? 0n]))
    return partitions.map((tp, i): PartitionOffset => ({
      topic: tp.topic,
      partition: tp.partition,
      offset: found[i].offset ?? endOf.get(partitionKey(tp.topic, tp.partition)) ?? 0n
    }))
  })

/** Commits offsets as a non-member (generation -1), as `kafka-consumer-groups --reset-offsets` does. */
const commit = (cluster: ClusterService, operation: string, group: string, offsets: ReadonlyArray<PartitionOffset>) =>
  cluster.withCoordinator({ type: "group", key: group }, (c: Located) =>
    // v10+ addresses topics by id
    topicIdVersion(c, OffsetCommit, 10, byTopic(offsets).map(([name]) => name)).pipe(Effect.flatMap(({ ids, version }) =>
    c.broker.request(OffsetCommit, {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: byTopic(offsets).map(([name, os]) => ({
        name,
        ...(ids.has(name) ? { topicId: ids.get(name)! } : {}),
        partitions: os.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedMetadata: null }))
      }))
    }, { version }).pipe(
      Effect.flatMap((res): Effect.Effect<Array<Outcome<PartitionOffset>>, KafkaError> => {
        const answers = new Map<string, number>()
        for (const t of res.topics) for (const p of t.partitions) answers.set(partitionKey(responseTopicName(t, ids), p.partitionIndex), p.errorCode)
        const out: Array<Outcome<PartitionOffset>> = []
        for (const o of offsets) {
          const code = answers.get(partitionKey(o.topic, o.partition)) ?? -1
          const error = codeError(code, code === -1 ? "the coordinator did not answer for this partition" : undefined)
          // the coordinator moved: the whole commit goes again to the new one
          if (error !== undefined && COORDINATOR_CODES.has(code)) return Effect.fail(error)
          out.push(error === undefined ? ok(partitionItem(o), o) : failed(operation, partitionItem(o), error))
        }
        return Effect.succeed(out)
      })
    ))))

export const resetGroupOffsets = (
  cluster: ClusterService,
  group: string,
  reset: OffsetReset,
  scope: ResetScope = {}
): Effect.Effect<
  Array<PartitionOffset>,
  ClusterError | AdminItemError | AdminPartialFailure | GroupHasActiveMembers | InvalidAdminRequest | InvalidTopicName
> =>
  Effect.gen(function*() {
    const operation = "resetGroupOffsets"
    yield* checkGroups(operation, [group])
    if (reset.to === "offsets") {
      yield* checkTopics(reset.offsets.map((o) => o.topic))
      for (const o of reset.offsets) {
        yield* refuse(operation, o.offset < 0n, `partition ${o.topic}-${o.partition}: an offset cannot be negative, got ${o.offset}`)
      }
    } else {
      yield* checkTopics([...(scope.topics ?? []), ...(scope.partitions ?? []).map((p) => p.topic)])
      if (reset.to === "timestamp") yield* checkSpec(operation, { timestamp: reset.timestamp })
    }
    yield* ensureInactive(cluster, operation, group)
    const offsets = yield* targets(cluster, operation, group, reset, scope)
    if (offsets.length === 0) return []
    const outcomes = yield* commit(cluster, operation, group, offsets).pipe(
      Effect.catchTag("KafkaError", (e) => Effect.succeed(offsets.map((o) => failed<PartitionOffset>(operation, partitionItem(o), e))))
    )
    return yield* collect(operation, outcomes)
  })

export const deleteGroupOffsets = (
  cluster: ClusterService,
  group: string,
  selection: PartitionSelection
): Effect.Effect<void, ClusterError | AdminItemError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "deleteGroupOffsets"
    yield* checkGroups(operation, [group])
    const partitions = yield* expandPartitions(cluster, operation, selection)
    if (partitions.length === 0) return
    const outcomes = yield* cluster.withCoordinator({ type: "group", key: group }, (c: Located) =>
      send(c.broker, OffsetDelete, {
        groupId: group,
        topics: byTopic(partitions).map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition })) }))
      }).pipe(
        Effect.flatMap((res): Effect.Effect<Array<Outcome<void>>, KafkaError> => {
          const error = codeError(res.errorCode)
          if (error !== undefined) return Effect.fail(error)
          const answers = new Map<string, number>()
          for (const t of res.topics) for (const p of t.partitions) answers.set(partitionKey(t.name, p.partitionIndex), p.errorCode)
          return Effect.succeed(partitions.map((tp) => {
            const code = answers.get(partitionKey(tp.topic, tp.partition)) ?? -1
            const e = codeError(code, code === -1 ? "the coordinator did not answer for this partition" : undefined)
            return e === undefined ? ok(partitionItem(tp), undefined) : failed(operation, partitionItem(tp), e)
          }))
        })
      )).pipe(Effect.catchTag("KafkaError", (e) => Effect.succeed([failed<void>(operation, `group ${group}`, e)])))
    yield* collect(operation, outcomes)
  })
