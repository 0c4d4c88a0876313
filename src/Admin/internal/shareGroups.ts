/**
 * Share groups (KIP-932): list them (ListGroups with the `share` type), describe them
 * (ShareGroupDescribe), delete them (DeleteGroups), and read, move and delete their share-partition
 * start offsets (DescribeShareGroupOffsets, AlterShareGroupOffsets, DeleteShareGroupOffsets). Group
 * requests go to the group's coordinator, looked up again when it moves.
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService, Located } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { AlterShareGroupOffsets } from "../../Protocol/generated/AlterShareGroupOffsets.ts"
import { DeleteShareGroupOffsets } from "../../Protocol/generated/DeleteShareGroupOffsets.ts"
import { DescribeShareGroupOffsets } from "../../Protocol/generated/DescribeShareGroupOffsets.ts"
import { ShareGroupDescribe } from "../../Protocol/generated/ShareGroupDescribe.ts"
import type { InvalidTopicName } from "../../Topic.ts"
import { GroupHasActiveMembers, itemError, NotShareGroup } from "../Errors.ts"
import type { AdminItemError, AdminPartialFailure, InvalidAdminRequest } from "../Errors.ts"
import type { OffsetReset, PartitionOffset, ResetScope } from "./groupOffsets.ts"
import { checkGroups, deleteGroups, describeOne, fromShare, groupItem, listGroups } from "./groups.ts"
import type { GroupDescription, GroupListing } from "./groups.ts"
import { checkSpec, expandPartitions, lookupOffsets } from "./offsets.ts"
import type { PartitionSelection } from "./offsets.ts"
import { partitionItem, partitionKey } from "./perLeader.ts"
import type { TopicPartition } from "./perLeader.ts"
import { checkTopics, codeError, collect, failed, ok, refuse, send, single } from "./request.ts"
import type { Outcome } from "./request.ts"

/**
 * A share group's position in one partition: `startOffset` is the share-partition start offset
 * (the first offset not yet acknowledged for good; `null` when the group has no state there yet),
 * `lag` the records from it to the partition's end as the broker counts them (`null` when it does
 * not say: brokers before 4.1, or no state yet).
 *
 * @since 0.1.0
 */
export interface ShareGroupPartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly startOffset: bigint | null
  readonly leaderEpoch: number | null
  readonly lag: bigint | null
}

const compare = (a: TopicPartition, b: TopicPartition) =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition

const byTopic = <T extends TopicPartition>(tps: ReadonlyArray<T>): Array<[string, Array<T>]> => {
  const m = new Map<string, Array<T>>()
  for (const tp of tps) m.set(tp.topic, [...(m.get(tp.topic) ?? []), tp])
  return [...m]
}

const groupError = (operation: string, group: string) => (e: KafkaError) => Effect.fail(itemError(operation, groupItem(group), e))

/**
 * Explains a GROUP_ID_NOT_FOUND: a group of another type is a `NotShareGroup`, a group that does
 * not exist the item error itself.
 */
const notFound = (cluster: ClusterService, operation: string, group: string, error: KafkaError) =>
  Effect.gen(function*() {
    const d = yield* describeOne(cluster, operation, group)
    if (d.ok && d.value.type !== "share" && d.value.state.toLowerCase() !== "dead") {
      return yield* Effect.fail(new NotShareGroup({
        group,
        type: d.value.type,
        message: `${operation}: group ${group} is a ${d.value.type} group, not a share group`
      }))
    }
    return yield* Effect.fail(itemError(operation, groupItem(group), error))
  })

/** Fails the group-level error of a share-group request (moved coordinators are retried by `withCoordinator`). */
const checkGroupCode = (code: number, message: string | null) => {
  const error = codeError(code, message)
  return error === undefined ? Effect.void : Effect.fail(error)
}

/** Turns a group-level Kafka error of a read into the operation's typed error. */
const explainRead = (cluster: ClusterService, operation: string, group: string) => (e: KafkaError) =>
  e.code === ErrorCode.GROUP_ID_NOT_FOUND ? notFound(cluster, operation, group, e) : groupError(operation, group)(e)

/** Turns a group-level Kafka error of a change into the operation's typed error. */
const explain = (cluster: ClusterService, operation: string, group: string) =>
(e: KafkaError): Effect.Effect<never, ClusterError | AdminItemError | GroupHasActiveMembers | NotShareGroup> =>
  e.code === ErrorCode.GROUP_ID_NOT_FOUND
    ? notFound(cluster, operation, group, e)
    : e.code === ErrorCode.NON_EMPTY_GROUP
    ? Effect.flatMap(describeOne(cluster, operation, group), (d) =>
      Effect.fail(activeMembers(group, d.ok ? d.value.state : "Stable", d.ok ? d.value.members.length : 1)))
    : groupError(operation, group)(e)

const activeMembers = (group: string, state: string, members: number) =>
  new GroupHasActiveMembers({
    group,
    state,
    members,
    message: `share group ${group} is ${state} with ${members} member(s): its offsets can only be changed while it has no ` +
      `active members (Empty); stop its share consumers first`
  })

export const listShareGroups = (
  cluster: ClusterService,
  options: { readonly states?: ReadonlyArray<string> | undefined } = {}
): Effect.Effect<Array<GroupListing>, ClusterError | AdminPartialFailure> => listGroups(cluster, { ...options, types: ["share"] })

/** One share group's description; a group of another type is GROUP_ID_NOT_FOUND, as Kafka says. */
const describeShareOne = (cluster: ClusterService, operation: string, group: string): Effect.Effect<Outcome<GroupDescription>, ClusterError> =>
  cluster.withCoordinator({ type: "group", key: group }, (c: Located) =>
    send(c.broker, ShareGroupDescribe, { groupIds: [group], includeAuthorizedOperations: false }).pipe(
      Effect.flatMap((res): Effect.Effect<GroupDescription, KafkaError> => {
        const g = res.groups.find((g) => g.groupId === group) ?? res.groups[0]
        if (g === undefined) return Effect.fail(codeError(-1, "the coordinator did not describe the group")!)
        const error = codeError(g.errorCode, g.errorMessage)
        return error === undefined ? Effect.succeed(fromShare(g, c.nodeId)) : Effect.fail(error)
      })
    )).pipe(
      Effect.map((d) => ok(groupItem(group), d)),
      Effect.catchTag("KafkaError", (e) => Effect.succeed(failed<GroupDescription>(operation, groupItem(group), e)))
    )

export const describeShareGroups = (
  cluster: ClusterService,
  groups: ReadonlyArray<string>
): Effect.Effect<Array<GroupDescription>, ClusterError | AdminPartialFailure | InvalidAdminRequest> =>
  Effect.gen(function*() {
    const operation = "describeShareGroups"
    yield* checkGroups(operation, groups)
    const outcomes = yield* Effect.forEach(groups, (g) => describeShareOne(cluster, operation, g), { concurrency: 8 })
    return yield* collect(operation, outcomes)
  })

export const deleteShareGroups = (
  cluster: ClusterService,
  groups: ReadonlyArray<string>
): Effect.Effect<void, ClusterError | AdminPartialFailure | InvalidAdminRequest> =>
  Effect.gen(function*() {
    const operation = "deleteShareGroups"
    yield* checkGroups(operation, groups)
    // only share groups: another type's group (or none) is its item's GROUP_ID_NOT_FOUND
    yield* collect(operation, yield* Effect.forEach(groups, (g) => describeShareOne(cluster, operation, g), { concurrency: 8 }))
    yield* deleteGroups(cluster, groups)
  })

/** The group's share-partition start offsets for `partitions` (every partition with state for `null`). */
const fetchStartOffsets = (
  cluster: ClusterService,
  operation: string,
  group: string,
  partitions: ReadonlyArray<TopicPartition> | null
): Effect.Effect<Array<Outcome<ShareGroupPartitionOffset>>, ClusterError | AdminItemError | NotShareGroup> =>
  cluster.withCoordinator({ type: "group", key: group }, (c: Located) =>
    send(c.broker, DescribeShareGroupOffsets, {
      groups: [{
        groupId: group,
        topics: partitions === null ? null : byTopic(partitions).map(([topicName, ps]) => ({ topicName, partitions: ps.map((p) => p.partition) }))
      }]
    }).pipe(
      Effect.flatMap((res) => {
        const g = res.groups.find((g) => g.groupId === group) ?? res.groups[0]
        if (g === undefined) return Effect.fail(codeError(-1, "the coordinator did not answer for the group")!)
        return Effect.as(checkGroupCode(g.errorCode, g.errorMessage), g)
      })
    )).pipe(
      Effect.catchTag("KafkaError", explainRead(cluster, operation, group)),
      Effect.map((g) => {
        const out: Array<Outcome<ShareGroupPartitionOffset>> = []
        for (const t of g.topics) {
          for (const p of t.partitions) {
            const item = partitionItem({ topic: t.topicName, partition: p.partitionIndex })
            const e = codeError(p.errorCode, p.errorMessage)
            out.push(e !== undefined ? failed(operation, item, e) : ok(item, {
              topic: t.topicName,
              partition: p.partitionIndex,
              startOffset: p.startOffset >= 0n ? p.startOffset : null,
              leaderEpoch: p.leaderEpoch >= 0 ? p.leaderEpoch : null,
              lag: p.lag >= 0n ? p.lag : null
            }))
          }
        }
        return out.sort((a, b) => (a.ok && b.ok ? compare(a.value, b.value) : 0))
      })
    )

export const listShareGroupOffsets = (
  cluster: ClusterService,
  group: string,
  options: { readonly topics?: ReadonlyArray<string> | undefined } = {}
): Effect.Effect<
  Array<ShareGroupPartitionOffset>,
  ClusterError | AdminItemError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName | NotShareGroup
> =>
  Effect.gen(function*() {
    const operation = "listShareGroupOffsets"
    yield* checkGroups(operation, [group])
    const partitions = options.topics === undefined ? null : yield* expandPartitions(cluster, operation, options.topics)
    const found = yield* collect(operation, yield* fetchStartOffsets(cluster, operation, group, partitions))
    // Kafka answers no partitions (and no error) for groups of other types: say which it is
    if (found.length === 0) yield* ensureShareOrNone(cluster, operation, group)
    if (partitions === null) return found
    // every partition asked for, with state or not
    const have = new Map(found.map((f) => [partitionKey(f.topic, f.partition), f]))
    return partitions.map((tp) =>
      have.get(partitionKey(tp.topic, tp.partition)) ?? { ...tp, startOffset: null, leaderEpoch: null, lag: null }
    ).sort(compare)
  })

/** Fails with `NotShareGroup` when `group` is a live group of another type. */
const ensureShareOrNone = (cluster: ClusterService, operation: string, group: string) =>
  Effect.gen(function*() {
    const d = yield* single(collect(operation, [yield* describeOne(cluster, operation, group)]))
    if (d.type !== "share" && !(d.state.toLowerCase() === "dead" && d.members.length === 0)) {
      return yield* Effect.fail(new NotShareGroup({ group, type: d.type, message: `${operation}: group ${group} is a ${d.type} group, not a share group` }))
    }
  })

/** Fails unless `group` is an Empty share group or no group at all. */
const ensureEmptyShare = (cluster: ClusterService, operation: string, group: string) =>
  Effect.gen(function*() {
    const d = yield* single(collect(operation, [yield* describeOne(cluster, operation, group)]))
    const state = d.state.toLowerCase()
    if (state === "dead" && d.members.length === 0) return
    if (d.type !== "share") {
      return yield* Effect.fail(new NotShareGroup({ group, type: d.type, message: `${operation}: group ${group} is a ${d.type} group, not a share group` }))
    }
    if (state !== "empty" || d.members.length > 0) return yield* Effect.fail(activeMembers(group, d.state, d.members.length))
  })

/** Where each partition goes. */
const targets = (cluster: ClusterService, operation: string, group: string, reset: OffsetReset, scope: ResetScope) =>
  Effect.gen(function*() {
    if (reset.to === "offsets") return [...reset.offsets].sort(compare)
    const selection: PartitionSelection = [...(scope.topics ?? []), ...(scope.partitions ?? [])]
    const partitions = selection.length > 0
      ? yield* expandPartitions(cluster, operation, selection)
      : (yield* collect(operation, yield* fetchStartOffsets(cluster, operation, group, null))).map((c) => ({ topic: c.topic, partition: c.partition }))
    yield* refuse(operation, partitions.length === 0, `share group ${group} has no offsets: name the topics or partitions to reset`)
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

export const resetShareGroupOffsets = (
  cluster: ClusterService,
  group: string,
  reset: OffsetReset,
  scope: ResetScope = {},
  options: { readonly dryRun?: boolean | undefined } = {}
): Effect.Effect<
  Array<PartitionOffset>,
  ClusterError | AdminItemError | AdminPartialFailure | GroupHasActiveMembers | InvalidAdminRequest | InvalidTopicName | NotShareGroup
> =>
  Effect.gen(function*() {
    const operation = "resetShareGroupOffsets"
    yield* checkGroups(operation, [group])
    if (reset.to === "offsets") {
      yield* checkTopics(reset.offsets.map((o) => o.topic))
      yield* refuse(operation, reset.offsets.length === 0, "no offsets given")
      for (const o of reset.offsets) {
        yield* refuse(operation, o.offset < 0n, `partition ${o.topic}-${o.partition}: an offset cannot be negative, got ${o.offset}`)
      }
    } else {
      yield* checkTopics([...(scope.topics ?? []), ...(scope.partitions ?? []).map((p) => p.topic)])
      if (reset.to === "timestamp") yield* checkSpec(operation, { timestamp: reset.timestamp })
    }
    yield* ensureEmptyShare(cluster, operation, group)
    const offsets = yield* targets(cluster, operation, group, reset, scope)
    if (options.dryRun === true) return offsets
    const outcomes = yield* cluster.withCoordinator({ type: "group", key: group }, (c: Located) =>
      send(c.broker, AlterShareGroupOffsets, {
        groupId: group,
        topics: byTopic(offsets).map(([topicName, os]) => ({
          topicName,
          partitions: os.map((o) => ({ partitionIndex: o.partition, startOffset: o.offset }))
        }))
      }).pipe(Effect.flatMap((res) => Effect.as(checkGroupCode(res.errorCode, res.errorMessage), res)))).pipe(
        Effect.catchTag("KafkaError", explain(cluster, operation, group)),
        Effect.map((res) => {
          const answers = new Map<string, { readonly code: number; readonly message: string | null }>()
          for (const t of res.responses) {
            for (const p of t.partitions) answers.set(partitionKey(t.topicName, p.partitionIndex), { code: p.errorCode, message: p.errorMessage })
          }
          return offsets.map((o): Outcome<PartitionOffset> => {
            const a = answers.get(partitionKey(o.topic, o.partition)) ?? { code: -1, message: "the coordinator did not answer for this partition" }
            const e = codeError(a.code, a.message)
            return e === undefined ? ok(partitionItem(o), o) : failed(operation, partitionItem(o), e)
          })
        })
      )
    return yield* collect(operation, outcomes)
  })

export const deleteShareGroupOffsets = (
  cluster: ClusterService,
  group: string,
  topics: ReadonlyArray<string>
): Effect.Effect<
  void,
  ClusterError | AdminItemError | AdminPartialFailure | GroupHasActiveMembers | InvalidAdminRequest | InvalidTopicName | NotShareGroup
> =>
  Effect.gen(function*() {
    const operation = "deleteShareGroupOffsets"
    yield* checkGroups(operation, [group])
    yield* checkTopics(topics)
    const names = [...new Set(topics)]
    if (names.length === 0) return
    const outcomes = yield* cluster.withCoordinator({ type: "group", key: group }, (c: Located) =>
      send(c.broker, DeleteShareGroupOffsets, { groupId: group, topics: names.map((topicName) => ({ topicName })) }).pipe(
        Effect.flatMap((res) => Effect.as(checkGroupCode(res.errorCode, res.errorMessage), res))
      )).pipe(
        Effect.catchTag("KafkaError", explain(cluster, operation, group)),
        Effect.map((res) => {
          const answers = new Map(res.responses.map((t) => [t.topicName, t]))
          return names.map((name): Outcome<void> => {
            const a = answers.get(name)
            const e = a === undefined ? codeError(-1, "the coordinator did not answer for this topic") : codeError(a.errorCode, a.errorMessage)
            return e === undefined ? ok(`topic ${name}`, undefined) : failed(operation, `topic ${name}`, e)
          })
        })
      )
    yield* collect(operation, outcomes)
  })
