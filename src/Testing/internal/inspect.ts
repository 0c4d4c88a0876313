/**
 * Read-only views of the in-memory cluster for tests: a partition's records as a consumer of
 * either isolation level sees them, and a group's state.
 *
 * @internal
 */
import type { KafkaRecord } from "../../Protocol/RecordBatch.ts"
import { consumerGroupState } from "./consumerGroups.ts"
import type { Kafka } from "./kafka.ts"
import type { PartitionLog } from "./log.ts"
import { shareGroupState } from "./shareGroups.ts"
import type { InFlightRecord } from "./sharePartition.ts"

/**
 * A share-partition (KIP-932) as its leader sees it: the share-partition start and end offsets
 * and every in-flight record between them with its state, delivery count and owner.
 *
 * @example
 * ```ts
 * const sp = yield* kafka.sharePartition("workers", "jobs", 0)
 * const archived = sp?.records.filter((r) => r.state === "archived").map((r) => r.offset)
 * ```
 *
 * @since 0.1.0
 */
export interface SharePartitionInfo {
  /** The share-partition start offset (-1 until the first ShareFetch sets it). */
  readonly startOffset: bigint
  /** The next offset never acquired. */
  readonly endOffset: bigint
  readonly records: ReadonlyArray<InFlightRecord>
}

export const describeSharePartition = (kafka: Kafka, groupId: string, topic: string, partition: number): SharePartitionInfo | undefined => {
  const g = kafka.share.group(groupId, false)
  const t = kafka.state.topics.get(topic)
  const sp = g === undefined || t === undefined ? undefined : g.partitions.get(`${t.id}:${partition}`)
  return sp === undefined ? undefined : { startOffset: sp.startOffset, endOffset: sp.endOffset, records: sp.inFlightRecords() }
}

/** A partition's records, without control records; read_committed drops aborted and open transactions. */
export const readRecords = (log: PartitionLog, readCommitted: boolean): ReadonlyArray<KafkaRecord> => {
  const upTo = readCommitted ? log.lastStableOffset : log.highWatermark
  const out: Array<KafkaRecord> = []
  for (const batch of log.decoded()) {
    if (batch.isControl) continue
    if (readCommitted && batch.isTransactional && log.aborted.some((a) => a.producerId === batch.producerId && a.firstOffset <= batch.baseOffset && a.lastOffset > batch.baseOffset)) {
      continue
    }
    for (const r of batch.records) if (r.offset >= log.logStartOffset && r.offset < upTo) out.push(r)
  }
  return out
}

/**
 * A group as the coordinator sees it.
 *
 * @example
 * ```ts
 * const group = yield* kafka.group("billing")
 * if (group?.state === "Stable") console.log(group.generation, group.members.length)
 * ```
 *
 * @since 0.1.0
 */
export interface GroupInfo {
  readonly groupId: string
  readonly type: "classic" | "consumer" | "share"
  /** Classic: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead; consumer: Empty, Assigning, Reconciling, Stable; share: Empty, Stable. */
  readonly state: string
  /** Classic: the generation; consumer: the group epoch. */
  readonly generation: number
  readonly protocolName: string | null
  readonly leader: string | null
  readonly members: ReadonlyArray<{
    readonly memberId: string
    readonly groupInstanceId: string | null
    /** KIP-848 and share-group members: partitions currently assigned, `topic-partition`; classic: empty. */
    readonly assigned: ReadonlyArray<string>
  }>
}

const assignedNames = (kafka: Kafka, a: ReadonlyMap<string, ReadonlySet<number>>): Array<string> =>
  [...a].flatMap(([topicId, ps]) => {
    const name = kafka.state.topicsById.get(topicId)?.name ?? topicId
    return [...ps].sort((x, y) => x - y).map((p) => `${name}-${p}`)
  })

export const describeGroup = (kafka: Kafka, groupId: string): GroupInfo | undefined => {
  const share = kafka.share.group(groupId, false)
  if (share !== undefined) {
    return {
      groupId,
      type: "share",
      state: shareGroupState(share),
      generation: share.groupEpoch,
      protocolName: "simple",
      leader: null,
      members: [...share.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: null, assigned: assignedNames(kafka, m.assignment) }))
    }
  }
  const g = kafka.groups.get(groupId)
  if (g === undefined) return undefined
  if (g.type === "classic") {
    return {
      groupId,
      type: "classic",
      state: g.state,
      generation: g.generationId,
      protocolName: g.protocolName,
      leader: g.leaderId,
      members: [...g.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, assigned: [] }))
    }
  }
  return {
    groupId,
    type: "consumer",
    state: consumerGroupState(g),
    generation: g.groupEpoch,
    protocolName: "uniform",
    leader: null,
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      assigned: assignedNames(kafka, m.assigned)
    }))
  }
}
