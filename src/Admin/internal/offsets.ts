/**
 * Offsets of partitions: look them up by time (ListOffsets) and delete records before one
 * (DeleteRecords). Both go to each partition's leader.
 *
 * @internal
 */
import { Duration, Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { kafkaError } from "../../Protocol/Errors.ts"
import { DeleteRecords } from "../../Protocol/generated/DeleteRecords.ts"
import { ListOffsets } from "../../Protocol/generated/ListOffsets.ts"
import type { InvalidTopicName } from "../../Topic.ts"
import { itemError, partialFailure } from "../Errors.ts"
import type { AdminPartialFailure, InvalidAdminRequest } from "../Errors.ts"
import { fetchMetadata, topicsByName } from "./metadata.ts"
import { answerOf, answersOf, perLeader } from "./perLeader.ts"
import type { TopicPartition } from "./perLeader.ts"
import { checkTopics, codeError, collect, ok, refuse, send, timeouts } from "./request.ts"
import type { Outcome } from "./request.ts"

/**
 * Which offset to look up: the first (`"earliest"`), the next to be written (`"latest"`, the high
 * watermark — or the last stable offset with `read_committed`), the offset of the record with the
 * largest timestamp (`"maxTimestamp"`, Kafka 3.0+), or the first record whose timestamp is at or
 * after `timestamp` (ms since the epoch).
 *
 * @since 0.1.0
 */
export type OffsetSpec = "earliest" | "latest" | "maxTimestamp" | { readonly timestamp: number }

/**
 * Options of `listOffsets`.
 *
 * @since 0.1.0
 */
export interface ListOffsetsOptions {
  /** Default `"read_uncommitted"`. */
  readonly isolation?: "read_uncommitted" | "read_committed" | undefined
}

/**
 * A looked-up offset. `offset` is `null` when there is none (no record at or after the timestamp,
 * an empty partition for `"maxTimestamp"`); `timestamp` is the record's timestamp for timestamp
 * and `"maxTimestamp"` lookups, else `null`.
 *
 * @since 0.1.0
 */
export interface ListedOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint | null
  readonly timestamp: number | null
  readonly leaderEpoch: number | null
}

/**
 * Where to cut a partition: records before `offset` are deleted (`-1n`: the high watermark, i.e.
 * every record).
 *
 * @since 0.1.0
 */
export interface RecordsToDelete {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
}

/**
 * A partition's first offset after `deleteRecords`.
 *
 * @since 0.1.0
 */
export interface DeletedRecords {
  readonly topic: string
  readonly partition: number
  readonly lowWatermark: bigint
}

/** Partitions named one by one, or every partition of a topic named by its name. */
export type PartitionSelection = ReadonlyArray<string | TopicPartition>

/** Every partition a selection names; a topic that does not exist is an `AdminPartialFailure`. */
export const expandPartitions = (
  cluster: ClusterService,
  operation: string,
  selection: PartitionSelection
): Effect.Effect<Array<TopicPartition>, ClusterError | AdminPartialFailure | InvalidTopicName> =>
  Effect.gen(function*() {
    yield* checkTopics(selection.map((s) => (typeof s === "string" ? s : s.topic)))
    const whole = [...new Set(selection.filter((s): s is string => typeof s === "string"))]
    const topics = whole.length === 0 ? new Map() : topicsByName(yield* fetchMetadata(cluster, whole))
    const out: Array<TopicPartition> = []
    const seen = new Set<string>()
    const missing: Array<string> = []
    const add = (tp: TopicPartition) => {
      const k = `${tp.topic}\u0000${tp.partition}`
      if (!seen.has(k)) {
        seen.add(k)
        out.push(tp)
      }
    }
    for (const s of selection) {
      if (typeof s !== "string") {
        add(s)
        continue
      }
      const t = topics.get(s)
      const error = t === undefined ? kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${s} does not exist`) : codeError(t.errorCode, `topic ${s}`)
      if (error !== undefined) {
        if (!missing.includes(s)) missing.push(s)
        continue
      }
      for (const p of [...t!.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) add({ topic: s, partition: p.partitionIndex })
    }
    if (missing.length > 0) {
      return yield* Effect.fail(partialFailure(
        operation,
        missing.map((s) => itemError(operation, `topic ${s}`, codeError(topics.get(s)?.errorCode ?? 3, `topic ${s}`)!)),
        []
      ))
    }
    return out
  })

const specTimestamp = (spec: OffsetSpec): bigint =>
  spec === "earliest" ? -2n : spec === "latest" ? -1n : spec === "maxTimestamp" ? -3n : BigInt(Math.trunc(spec.timestamp))

/** Looks offsets up at each partition's leader; one outcome per partition, in order. */
export const lookupOffsets = (
  cluster: ClusterService,
  operation: string,
  partitions: ReadonlyArray<TopicPartition>,
  spec: OffsetSpec,
  options: ListOffsetsOptions = {}
): Effect.Effect<Array<Outcome<ListedOffset>>, ClusterError> => {
  const timestamp = specTimestamp(spec)
  const isolationLevel = options.isolation === "read_committed" ? 1 : 0
  return perLeader(cluster, operation, partitions, (broker, group) => {
    const byTopic = new Map<string, Array<number>>()
    for (const tp of group) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition])
    return send(broker, ListOffsets, (v) => ({
      replicaId: -1,
      ...(v >= 2 ? { isolationLevel } : {}),
      topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp })) }))
    })).pipe(Effect.map((res) =>
      answersOf(res.topics, (p) => p.partitionIndex, (p) =>
        answerOf(p.errorCode, {
          topic: "",
          partition: p.partitionIndex,
          offset: p.offset >= 0n ? p.offset : null,
          timestamp: (typeof spec !== "string" || spec === "maxTimestamp") && p.timestamp >= 0n ? Number(p.timestamp) : null,
          leaderEpoch: p.leaderEpoch >= 0 ? p.leaderEpoch : null
        }))))
  }).pipe(Effect.map((outcomes) =>
    outcomes.map((o, i) => (o.ok ? ok(o.item, { ...o.value, topic: partitions[i].topic }) : o))))
}

export const listOffsets = (
  cluster: ClusterService,
  selection: PartitionSelection,
  spec: OffsetSpec,
  options: ListOffsetsOptions = {}
): Effect.Effect<Array<ListedOffset>, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "listOffsets"
    yield* checkSpec(operation, spec)
    const partitions = yield* expandPartitions(cluster, operation, selection)
    return yield* collect(operation, yield* lookupOffsets(cluster, operation, partitions, spec, options))
  })

/** Refuses a timestamp that is not a time. */
export const checkSpec = (operation: string, spec: OffsetSpec): Effect.Effect<void, InvalidAdminRequest> =>
  refuse(operation, typeof spec === "object" && !(Number.isFinite(spec.timestamp) && spec.timestamp >= 0),
    `a timestamp must be a time in ms since the epoch, got ${typeof spec === "object" ? spec.timestamp : spec}`)

export const deleteRecords = (
  cluster: ClusterService,
  cuts: ReadonlyArray<RecordsToDelete>,
  options: { readonly timeout?: Duration.Input | undefined } = {}
): Effect.Effect<Array<DeletedRecords>, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "deleteRecords"
    yield* checkTopics(cuts.map((c) => c.topic))
    for (const c of cuts) {
      yield* refuse(operation, c.offset < -1n, `partition ${c.topic}-${c.partition}: offset must be -1 (the high watermark) or more, got ${c.offset}`)
    }
    const timeout = timeouts(options.timeout)
    const outcomes = yield* perLeader(cluster, operation, cuts, (broker, group) => {
      const byTopic = new Map<string, Array<RecordsToDelete>>()
      for (const c of group) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), c])
      return send(broker, DeleteRecords, {
        topics: [...byTopic].map(([name, cs]) => ({ name, partitions: cs.map((c) => ({ partitionIndex: c.partition, offset: c.offset })) })),
        timeoutMs: timeout.ms
      }, timeout.request).pipe(Effect.map((res) =>
        answersOf(res.topics, (p) => p.partitionIndex, (p) => answerOf(p.errorCode, p.lowWatermark))))
    })
    const values = yield* collect(operation, outcomes)
    return values.map((lowWatermark, i) => ({ topic: cuts[i].topic, partition: cuts[i].partition, lowWatermark }))
  })
