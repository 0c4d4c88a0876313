/**
 * The metadata cache's data: an immutable snapshot of brokers, topics and partitions built from a
 * Metadata response. Plain TypeScript, read synchronously on hot paths (partitioning a record).
 *
 * @internal
 */
import type { MetadataResponse } from "../../Protocol/generated/Metadata.ts"

export interface BrokerNode {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
}

export interface PartitionMetadata {
  readonly topic: string
  readonly partition: number
  /** Node id of the leader, -1 while there is none (election, or marked down). */
  readonly leader: number
  readonly leaderEpoch: number
  readonly replicas: ReadonlyArray<number>
  readonly isr: ReadonlyArray<number>
  readonly offline: ReadonlyArray<number>
  readonly errorCode: number
}

export interface TopicMetadata {
  readonly name: string
  readonly topicId: string
  readonly isInternal: boolean
  /** Kafka error code for the topic as a whole (0 when fine; 3 when it does not exist). */
  readonly errorCode: number
  /** Partitions by index: `partitions[p].partition === p`. */
  readonly partitions: ReadonlyArray<PartitionMetadata>
  /** Partitions whose leader is known, ascending. */
  readonly available: ReadonlyArray<number>
}

export interface ClusterMetadata {
  readonly clusterId: string | null
  readonly controllerId: number
  readonly brokers: ReadonlyMap<number, BrokerNode>
  readonly topics: ReadonlyMap<string, TopicMetadata>
  /** Clock time (ms) of the response this snapshot came from; 0 for the empty snapshot. */
  readonly fetchedAt: number
}

export const emptyMetadata: ClusterMetadata = {
  clusterId: null,
  controllerId: -1,
  brokers: new Map(),
  topics: new Map(),
  fetchedAt: 0
}

const availableOf = (partitions: ReadonlyArray<PartitionMetadata>): ReadonlyArray<number> => {
  const out: Array<number> = []
  for (const p of partitions) if (p.leader >= 0) out.push(p.partition)
  return out
}

/**
 * Merges a Metadata response into the previous snapshot: brokers are replaced by the response's
 * (brokers joining, leaving or moving), topics in the response replace their previous entries,
 * topics not asked about are kept.
 */
export const applyMetadataResponse = (
  previous: ClusterMetadata,
  res: MetadataResponse,
  now: number
): ClusterMetadata => {
  const brokers = new Map<number, BrokerNode>()
  for (const b of res.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })
  const topics = new Map(previous.topics)
  for (const t of res.topics) {
    if (t.name === null) continue
    const partitions: Array<PartitionMetadata> = []
    for (const p of t.partitions) {
      partitions[p.partitionIndex] = {
        topic: t.name,
        partition: p.partitionIndex,
        leader: p.errorCode === 0 || p.leaderId >= 0 ? p.leaderId : -1,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicaNodes,
        isr: p.isrNodes,
        offline: p.offlineReplicas,
        errorCode: p.errorCode
      }
    }
    // A response can leave holes when partitions are being created: fill them as leaderless.
    for (let i = 0; i < partitions.length; i++) {
      if (partitions[i] === undefined) {
        partitions[i] = { topic: t.name, partition: i, leader: -1, leaderEpoch: -1, replicas: [], isr: [], offline: [], errorCode: 5 }
      }
    }
    topics.set(t.name, {
      name: t.name,
      topicId: t.topicId,
      isInternal: t.isInternal,
      errorCode: t.errorCode,
      partitions,
      available: availableOf(partitions)
    })
  }
  return { clusterId: res.clusterId, controllerId: res.controllerId, brokers, topics, fetchedAt: now }
}

/** The snapshot with one partition's leader marked unknown (after NOT_LEADER_OR_FOLLOWER & co). */
export const withLeaderDown = (
  previous: ClusterMetadata,
  topic: string,
  partition: number,
  nodeId?: number
): ClusterMetadata => {
  const t = previous.topics.get(topic)
  const p = t?.partitions[partition]
  if (t === undefined || p === undefined || p.leader < 0) return previous
  if (nodeId !== undefined && p.leader !== nodeId) return previous
  const partitions = t.partitions.slice()
  partitions[partition] = { ...p, leader: -1 }
  const topics = new Map(previous.topics)
  topics.set(topic, { ...t, partitions, available: availableOf(partitions) })
  return { ...previous, topics }
}

/** The snapshot with every partition led by `nodeId` marked leaderless (the broker is gone). */
export const withBrokerDown = (previous: ClusterMetadata, nodeId: number): ClusterMetadata => {
  let topics: Map<string, TopicMetadata> | undefined
  for (const t of previous.topics.values()) {
    if (!t.partitions.some((p) => p.leader === nodeId)) continue
    const partitions = t.partitions.map((p) => (p.leader === nodeId ? { ...p, leader: -1 } : p))
    topics ??= new Map(previous.topics)
    topics.set(t.name, { ...t, partitions, available: availableOf(partitions) })
  }
  return topics === undefined ? previous : { ...previous, topics }
}

export const parseAddress = (address: string): { readonly host: string; readonly port: number } | undefined => {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address.trim())
  if (m === null) return undefined
  const port = Number(m[2])
  return port > 0 && port < 65536 ? { host: m[1], port } : undefined
}
