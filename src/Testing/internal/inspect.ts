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
  readonly type: "classic" | "consumer"
  /** Classic: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead; consumer: Empty, Assigning, Reconciling, Stable. */
  readonly state: string
  /** Classic: the generation; consumer: the group epoch. */
  readonly generation: number
  readonly protocolName: string | null
  readonly leader: string | null
  readonly members: ReadonlyArray<{
    readonly memberId: string
    readonly groupInstanceId: string | null
    /** KIP-848 members: partitions currently assigned, `topic-partition`; classic: empty. */
    readonly assigned: ReadonlyArray<string>
  }>
}

export const describeGroup = (kafka: Kafka, groupId: string): GroupInfo | undefined => {
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
      assigned: [...m.assigned].flatMap(([topicId, ps]) => {
        const name = kafka.state.topicsById.get(topicId)?.name ?? topicId
        return [...ps].sort((a, b) => a - b).map((p) => `${name}-${p}`)
      })
    }))
  }
}
