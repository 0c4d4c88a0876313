/**
 * The in-memory cluster's model: brokers (up or down), topics with partitions, replicas, ISR,
 * leaders and leader epochs, topic configs, and the internal topics whose partition leaders are
 * the group and transaction coordinators (as in Kafka: `Utils.abs(key.hashCode) % 50`).
 *
 * @internal
 */
import { createHash } from "node:crypto"
import { Result } from "effect"
import { ErrorCode } from "../../Protocol/Errors.ts"
import { validateName } from "../../Topic.ts"
import { PartitionLog } from "./log.ts"

export interface BrokerNode {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
  up: boolean
}

export interface PartitionState {
  readonly topic: TopicState
  readonly index: number
  /** -1 while the partition has no leader. */
  leader: number
  leaderEpoch: number
  replicas: Array<number>
  isr: Array<number>
  readonly log: PartitionLog
}

export interface TopicState {
  readonly name: string
  readonly id: string
  readonly isInternal: boolean
  readonly partitions: Array<PartitionState>
  readonly configs: Map<string, string>
}

export interface TopicSpec {
  readonly name: string
  /** -1: the cluster's default. */
  readonly partitions: number
  /** -1: the cluster's default. */
  readonly replicationFactor: number
  readonly assignments?: ReadonlyArray<ReadonlyArray<number>> | undefined
  readonly configs?: ReadonlyMap<string, string | null> | undefined
}

export type Outcome<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly code: number; readonly message: string }

const ok = <A>(value: A): Outcome<A> => ({ ok: true, value })
const err = (code: number, message: string): Outcome<never> => ({ ok: false, code, message })

/** Topic configs the in-memory broker knows, with Kafka's defaults. */
export const TOPIC_CONFIG_DEFAULTS: ReadonlyMap<string, string> = new Map([
  ["cleanup.policy", "delete"],
  ["compression.type", "producer"],
  ["delete.retention.ms", "86400000"],
  ["file.delete.delay.ms", "60000"],
  ["flush.messages", "9223372036854775807"],
  ["flush.ms", "9223372036854775807"],
  ["index.interval.bytes", "4096"],
  ["max.compaction.lag.ms", "9223372036854775807"],
  ["max.message.bytes", "1048588"],
  ["message.timestamp.after.max.ms", "3600000"],
  ["message.timestamp.before.max.ms", "9223372036854775807"],
  ["message.timestamp.type", "CreateTime"],
  ["min.cleanable.dirty.ratio", "0.5"],
  ["min.compaction.lag.ms", "0"],
  ["min.insync.replicas", "1"],
  ["preallocate", "false"],
  ["retention.bytes", "-1"],
  ["retention.ms", "604800000"],
  ["segment.bytes", "1073741824"],
  ["segment.index.bytes", "10485760"],
  ["segment.jitter.ms", "0"],
  ["segment.ms", "604800000"],
  ["unclean.leader.election.enable", "false"]
])

/** `undefined` when `name=value` is a valid topic config, else why not. */
export const validateConfig = (name: string, value: string | null): string | undefined => {
  if (!TOPIC_CONFIG_DEFAULTS.has(name)) return `Unknown topic config name: ${name}`
  if (value === null) return undefined
  switch (name) {
    case "cleanup.policy":
      return value.split(",").every((p) => p.trim() === "delete" || p.trim() === "compact") ? undefined : `Invalid value ${value} for configuration cleanup.policy`
    case "message.timestamp.type":
      return value === "CreateTime" || value === "LogAppendTime" ? undefined : `Invalid value ${value} for configuration message.timestamp.type`
    case "compression.type":
      return ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"].includes(value) ? undefined : `Invalid value ${value} for configuration compression.type`
    case "preallocate":
    case "unclean.leader.election.enable":
      return value === "true" || value === "false" ? undefined : `Invalid value ${value} for configuration ${name}`
    default:
      return /^-?\d+(\.\d+)?$/.test(value) ? undefined : `Invalid value ${value} for configuration ${name}: not a number`
  }
}

/** Java's `String.hashCode`. */
const javaHash = (s: string): number => {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0
  return h
}

export const GROUP_TOPIC = "__consumer_offsets"
export const TXN_TOPIC = "__transaction_state"
export const SHARE_STATE_TOPIC = "__share_group_state"

export interface StateOptions {
  readonly brokers: number
  readonly firstNodeId: number
  readonly host: string
  readonly basePort: number
  readonly racks: ReadonlyArray<string | null> | undefined
  readonly clusterId: string
  readonly defaultPartitions: number
  readonly defaultReplicationFactor: number
  readonly internalTopicPartitions: number
}

export class ClusterState {
  readonly options: StateOptions
  readonly brokers = new Map<number, BrokerNode>()
  readonly topics = new Map<string, TopicState>()
  readonly topicsById = new Map<string, TopicState>()
  private created = 0
  private nextProducerId = 1000n
  private nextReplicaStart = 0

  constructor(options: StateOptions) {
    this.options = options
    for (let i = 0; i < options.brokers; i++) {
      const nodeId = options.firstNodeId + i
      this.brokers.set(nodeId, { nodeId, host: options.host, port: options.basePort + i, rack: options.racks?.[i] ?? null, up: true })
    }
  }

  get clusterId(): string {
    return this.options.clusterId
  }

  liveBrokers(): Array<BrokerNode> {
    return [...this.brokers.values()].filter((b) => b.up).sort((a, b) => a.nodeId - b.nodeId)
  }

  controllerId(): number {
    return this.liveBrokers()[0]?.nodeId ?? -1
  }

  allocateProducerId(): bigint {
    return this.nextProducerId++
  }

  private topicId(name: string): string {
    this.created++
    const bytes = createHash("sha256").update(`${this.options.clusterId}/${name}/${this.created}`).digest().subarray(0, 16)
    return bytes.toString("base64url")
  }

  /** Replica lists for `count` new partitions, spread round robin over the brokers (live ones first). */
  private assign(count: number, rf: number): Array<Array<number>> {
    const ids = [...this.brokers.values()].sort((a, b) => Number(b.up) - Number(a.up) || a.nodeId - b.nodeId).map((b) => b.nodeId)
    const live = this.liveBrokers().length
    const out: Array<Array<number>> = []
    const start = this.nextReplicaStart++
    for (let p = 0; p < count; p++) {
      const replicas: Array<number> = []
      for (let r = 0; r < rf; r++) replicas.push(ids[((start + p) % Math.max(1, live) + r) % ids.length])
      out.push(replicas)
    }
    return out
  }

  private newPartition(topic: TopicState, index: number, replicas: ReadonlyArray<number>): PartitionState {
    const live = replicas.filter((id) => this.brokers.get(id)?.up === true)
    return {
      topic,
      index,
      leader: live[0] ?? -1,
      leaderEpoch: 0,
      replicas: [...replicas],
      isr: live.length > 0 ? live : [...replicas],
      log: new PartitionLog()
    }
  }

  /** Checks a topic creation; `validateOnly` leaves the cluster unchanged. */
  createTopic(spec: TopicSpec, validateOnly = false, isInternal = false): Outcome<TopicState> {
    const named = validateName(spec.name)
    if (Result.isFailure(named)) return err(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name ${JSON.stringify(spec.name)} is illegal: ${named.failure.reason}`)
    if (this.topics.has(spec.name)) return err(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`)
    const hasAssignments = spec.assignments !== undefined && spec.assignments.length > 0
    if (hasAssignments && (spec.partitions !== -1 || spec.replicationFactor !== -1)) {
      return err(ErrorCode.INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments were set.")
    }
    const partitions = hasAssignments ? spec.assignments!.length : spec.partitions === -1 ? this.options.defaultPartitions : spec.partitions
    const rf = hasAssignments ? spec.assignments![0].length : spec.replicationFactor === -1 ? Math.min(this.options.defaultReplicationFactor, this.brokers.size) : spec.replicationFactor
    if (partitions <= 0) return err(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")
    if (rf <= 0) return err(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.")
    if (rf > this.liveBrokers().length) {
      return err(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${this.liveBrokers().length} broker(s) are registered.`)
    }
    if (hasAssignments) {
      for (const a of spec.assignments!) {
        if (a.length !== rf || new Set(a).size !== a.length || a.some((id) => !this.brokers.has(id))) {
          return err(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Invalid replica assignment ${JSON.stringify(a)}`)
        }
      }
    }
    const configs = new Map<string, string>()
    for (const [k, v] of spec.configs ?? []) {
      const bad = validateConfig(k, v)
      if (bad !== undefined) return err(ErrorCode.INVALID_CONFIG, bad)
      if (v !== null) configs.set(k, v)
    }
    if (validateOnly) {
      return ok({ name: spec.name, id: "AAAAAAAAAAAAAAAAAAAAAA", isInternal, partitions: new Array(partitions), configs })
    }
    const topic: TopicState = { name: spec.name, id: this.topicId(spec.name), isInternal, partitions: [], configs }
    const replicas = hasAssignments ? spec.assignments!.map((a) => [...a]) : this.assign(partitions, rf)
    for (let p = 0; p < partitions; p++) topic.partitions.push(this.newPartition(topic, p, replicas[p]))
    this.topics.set(topic.name, topic)
    this.topicsById.set(topic.id, topic)
    return ok(topic)
  }

  createPartitions(name: string, count: number, assignments: ReadonlyArray<ReadonlyArray<number>> | null, validateOnly: boolean): Outcome<void> {
    const topic = this.topics.get(name)
    if (topic === undefined) return err(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`)
    const current = topic.partitions.length
    if (count < current) return err(ErrorCode.INVALID_PARTITIONS, `The topic ${name} currently has ${current} partition(s); ${count} would not be an increase.`)
    if (count === current) return err(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`)
    const rf = topic.partitions[0]?.replicas.length ?? 1
    if (assignments !== null && assignments.length !== count - current) {
      return err(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Attempted to add ${count - current} additional partition(s), but only ${assignments.length} assignment(s) were specified.`)
    }
    if (assignments !== null && assignments.some((a) => a.length !== rf || a.some((id) => !this.brokers.has(id)))) {
      return err(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Invalid replica assignment")
    }
    if (validateOnly) return ok(undefined)
    const replicas = assignments !== null ? assignments : this.assign(count - current, rf)
    for (let i = 0; i < count - current; i++) topic.partitions.push(this.newPartition(topic, current + i, replicas[i]))
    return ok(undefined)
  }

  deleteTopic(topic: TopicState): void {
    this.topics.delete(topic.name)
    this.topicsById.delete(topic.id)
  }

  partition(topic: string, index: number): PartitionState | undefined {
    return this.topics.get(topic)?.partitions[index]
  }

  private elect(p: PartitionState, leader: number): void {
    if (p.leader === leader) return
    p.leader = leader
    p.leaderEpoch++
  }

  /** A broker stops: leadership moves to another live in-sync replica, or the partition is offline. */
  brokerDown(nodeId: number): void {
    const b = this.brokers.get(nodeId)
    if (b === undefined || !b.up) return
    b.up = false
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        if (!p.replicas.includes(nodeId)) continue
        const others = p.isr.filter((id) => id !== nodeId && this.brokers.get(id)?.up === true)
        if (others.length > 0) p.isr = p.isr.filter((id) => id !== nodeId)
        if (p.leader === nodeId) this.elect(p, others[0] ?? -1)
      }
    }
  }

  /** A broker is back: it catches up at once and leads the partitions that had no leader. */
  brokerUp(nodeId: number): void {
    const b = this.brokers.get(nodeId)
    if (b === undefined || b.up) return
    b.up = true
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        if (!p.replicas.includes(nodeId)) continue
        if (p.leader < 0) {
          if (!p.isr.includes(nodeId)) continue
          this.elect(p, nodeId)
          p.isr = p.replicas.filter((id) => this.brokers.get(id)?.up === true)
        } else if (!p.isr.includes(nodeId)) p.isr.push(nodeId)
      }
    }
  }

  /** Moves a partition's leadership (the target becomes a replica and in sync if it was not). */
  moveLeader(topic: string, index: number, toNode: number): Outcome<void> {
    const p = this.partition(topic, index)
    if (p === undefined) return err(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${index} does not exist`)
    const b = this.brokers.get(toNode)
    if (b === undefined) return err(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${toNode} does not exist`)
    if (!b.up) return err(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${toNode} is down`)
    if (!p.replicas.includes(toNode)) p.replicas.push(toNode)
    if (!p.isr.includes(toNode)) p.isr.push(toNode)
    p.leader = toNode
    p.leaderEpoch++
    return ok(undefined)
  }

  /** The internal topic behind coordinators, created on first use as Kafka does. */
  internalTopic(name: typeof GROUP_TOPIC | typeof TXN_TOPIC | typeof SHARE_STATE_TOPIC): TopicState {
    const existing = this.topics.get(name)
    if (existing !== undefined) return existing
    const rf = Math.min(3, this.brokers.size)
    const created = this.createTopic({
      name,
      partitions: this.options.internalTopicPartitions,
      replicationFactor: Math.min(rf, Math.max(1, this.liveBrokers().length))
    }, false, true)
    if (!created.ok) throw new Error(`cannot create ${name}: ${created.message}`)
    return created.value
  }

  /** The internal partition of a group id or transactional id. */
  coordinatorPartition(type: "group" | "transaction" | "share", key: string): PartitionState {
    const topic = this.internalTopic(type === "group" ? GROUP_TOPIC : type === "transaction" ? TXN_TOPIC : SHARE_STATE_TOPIC)
    const h = javaHash(key)
    const index = (h === -2147483648 ? 0 : Math.abs(h)) % topic.partitions.length
    return topic.partitions[index]
  }

  /** The coordinator node of a group id or transactional id, or -1 while there is none. */
  coordinatorOf(type: "group" | "transaction" | "share", key: string): number {
    return this.coordinatorPartition(type, key).leader
  }
}
