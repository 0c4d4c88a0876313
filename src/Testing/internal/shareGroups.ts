/**
 * Share groups (KIP-932) at the group coordinator: ShareGroupHeartbeat membership (client-made
 * member ids, member epoch 0 joins, -1 leaves), a group epoch bumped when members join or leave or
 * subscriptions or partition counts change, and the simple share assignor: with no more members
 * than partitions each partition goes to one member (round robin), with more members than
 * partitions the partitions are shared (member i gets partition i mod n), so every partition has
 * a member and a member can have any partition. A share group needs no revocation: a member gets
 * its new assignment (and the group epoch) at its next heartbeat. Members that stop heartbeating
 * are removed after the session timeout. Group configs (`share.*`, set with
 * IncrementalAlterConfigs on a GROUP resource) and the share-partitions live here too.
 *
 * @internal
 */
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse } from "../../Protocol/generated/ShareGroupHeartbeat.ts"
import type { Scheduler, Timer } from "./scheduler.ts"
import { SharePartition } from "./sharePartition.ts"
import type { ShareLimits } from "./sharePartition.ts"
import type { ShareSession, ShareSessionCache } from "./shareSessions.ts"
import type { ClusterState } from "./state.ts"

/** topic id → partitions */
export type ShareAssignment = Map<string, Set<number>>

export interface ShareMember {
  readonly memberId: string
  rackId: string | null
  readonly clientId: string
  memberEpoch: number
  subscribedTopicNames: ReadonlyArray<string>
  assignment: ShareAssignment
  /** The assignment sent in the last response (to send only changes). */
  lastSent: string
  sessionTimer: Timer | undefined
}

export interface ShareGroup {
  readonly type: "share"
  readonly groupId: string
  groupEpoch: number
  assignmentEpoch: number
  readonly members: Map<string, ShareMember>
  metadataSignature: string
  /** `${topicId}:${partition}` → its share-partition (kept while the group exists). */
  readonly partitions: Map<string, SharePartition>
}

export interface ShareGroupSettings {
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  /** Broker defaults of the group configs. */
  readonly recordLockDurationMs: number
  readonly minRecordLockDurationMs: number
  readonly maxRecordLockDurationMs: number
  readonly deliveryCountLimit: number
  readonly partitionMaxRecordLocks: number
}

/**
 * The group configs Kafka 4.4 knows (DescribeConfigs on a GROUP resource lists them all, for
 * every group id), with their broker defaults and config types (1 boolean, 2 string, 3 int, 7
 * list). The share ones marked here change what the in-memory cluster does; the others are kept
 * and described only.
 */
export const GROUP_CONFIGS: ReadonlyArray<readonly [name: string, type: number]> = [
  ["consumer.session.timeout.ms", 3],
  ["consumer.heartbeat.interval.ms", 3],
  ["consumer.assignment.interval.ms", 3],
  ["share.auto.offset.reset", 2], // applied
  ["share.record.lock.duration.ms", 3], // applied
  ["share.delivery.count.limit", 3], // applied
  ["share.session.timeout.ms", 3], // applied
  ["share.heartbeat.interval.ms", 3], // applied
  ["share.partition.max.record.locks", 3], // applied
  ["share.isolation.level", 2], // applied
  ["share.renew.acknowledge.enable", 1],
  ["share.assignment.interval.ms", 3],
  ["streams.session.timeout.ms", 3],
  ["streams.heartbeat.interval.ms", 3],
  ["streams.assignment.interval.ms", 3],
  ["streams.initial.rebalance.delay.ms", 3],
  ["streams.num.standby.replicas", 3],
  ["streams.assignor.name", 2],
  ["streams.rack.aware.assignment.tags", 7],
  ["errors.deadletterqueue.topic.name", 2],
  ["errors.deadletterqueue.copy.record.enable", 1]
]
const GROUP_CONFIG_NAMES: ReadonlySet<string> = new Set(GROUP_CONFIGS.map(([n]) => n))

export const shareGroupState = (g: ShareGroup): string => (g.members.size === 0 ? "Empty" : "Stable")

const signature = (a: ShareAssignment): string =>
  [...a].filter(([, ps]) => ps.size > 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([t, ps]) => `${t}:${[...ps].sort((x, y) => x - y).join(",")}`).join(";")

export const assignmentToWire = (a: ShareAssignment) =>
  [...a].filter(([, ps]) => ps.size > 0).map(([topicId, ps]) => ({ topicId, partitions: [...ps].sort((x, y) => x - y) }))

export class ShareCoordinator {
  readonly groups = new Map<string, ShareGroup>()
  /** Group configs by group id (any group type may have them; share groups read `share.*`). */
  readonly configs = new Map<string, Map<string, string>>()
  private readonly state: ClusterState
  private readonly scheduler: Scheduler
  readonly settings: ShareGroupSettings
  private readonly sessions: ShareSessionCache

  constructor(state: ClusterState, scheduler: Scheduler, settings: ShareGroupSettings, sessions: ShareSessionCache) {
    this.state = state
    this.scheduler = scheduler
    this.settings = settings
    this.sessions = sessions
  }

  /** The default (broker) value of a group config. */
  defaultConfig(name: string): string {
    const s = this.settings
    switch (name) {
      case "consumer.session.timeout.ms":
      case "share.session.timeout.ms":
      case "streams.session.timeout.ms":
        return name.startsWith("share") ? String(s.sessionTimeoutMs) : "45000"
      case "consumer.heartbeat.interval.ms":
      case "share.heartbeat.interval.ms":
      case "streams.heartbeat.interval.ms":
        return name.startsWith("share") ? String(s.heartbeatIntervalMs) : "5000"
      case "share.record.lock.duration.ms":
        return String(s.recordLockDurationMs)
      case "share.delivery.count.limit":
        return String(s.deliveryCountLimit)
      case "share.partition.max.record.locks":
        return String(s.partitionMaxRecordLocks)
      case "share.auto.offset.reset":
        return "latest"
      case "share.isolation.level":
        return "read_uncommitted"
      case "share.renew.acknowledge.enable":
        return "true"
      case "streams.initial.rebalance.delay.ms":
        return "3000"
      case "streams.num.standby.replicas":
        return "0"
      case "streams.assignor.name":
        return "sticky"
      case "errors.deadletterqueue.copy.record.enable":
        return "false"
      case "errors.deadletterqueue.topic.name":
      case "streams.rack.aware.assignment.tags":
        return ""
      default:
        return "1000" // the *.assignment.interval.ms
    }
  }

  /** A session closed (its connection went, epoch -1, replaced): its member's records there go back. */
  closeSession(s: ShareSession): void {
    const g = this.groups.get(s.groupId)
    if (g === undefined) return
    for (const key of s.partitions.keys()) g.partitions.get(key)?.releaseAll(s.memberId)
  }

  config(groupId: string, name: string): string | undefined {
    return this.configs.get(groupId)?.get(name)
  }

  /** Checks a group config change: undefined or why it is invalid. */
  validateConfig(name: string, value: string | null): string | undefined {
    if (!GROUP_CONFIG_NAMES.has(name)) return `Unknown group config name: ${name}`
    if (value === null) return undefined
    // the broker's messages (Kafka 4.4)
    const int = (min: number, max: number) => {
      const n = Number(value)
      if (!Number.isInteger(n)) return `Invalid value ${value} for configuration ${name}: Not a number of type INT`
      if (n < min && name === "share.delivery.count.limit") return `Invalid value ${value} for configuration ${name}: Value must be at least ${min}`
      return n >= min && n <= max ? undefined : `${name} must be in the range ${min} to ${max} inclusive.`
    }
    switch (name) {
      case "share.auto.offset.reset":
        return value === "earliest" || value === "latest" || (value.startsWith("by_duration:") && durationMs(value.slice(12)) !== undefined)
          ? undefined
          : `Invalid value ${value} for configuration ${name}: Invalid value \`${value}\` for configuration ${name}. The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.`
      case "share.record.lock.duration.ms":
        return int(this.settings.minRecordLockDurationMs, this.settings.maxRecordLockDurationMs)
      case "share.delivery.count.limit":
        return int(2, 10)
      case "share.isolation.level":
        return value === "read_committed" || value === "read_uncommitted" ? undefined : `invalid ${name}: ${value}`
      default:
        return undefined
    }
  }

  limits(groupId: string): ShareLimits {
    const lock = this.config(groupId, "share.record.lock.duration.ms")
    const limit = this.config(groupId, "share.delivery.count.limit")
    const locks = this.config(groupId, "share.partition.max.record.locks")
    return {
      lockMs: lock === undefined ? this.settings.recordLockDurationMs : Number(lock),
      deliveryCountLimit: limit === undefined ? this.settings.deliveryCountLimit : Number(limit),
      maxRecordLocks: locks === undefined ? this.settings.partitionMaxRecordLocks : Number(locks),
      readCommitted: this.config(groupId, "share.isolation.level") === "read_committed"
    }
  }

  group(groupId: string, create: boolean): ShareGroup | undefined {
    let g = this.groups.get(groupId)
    if (g === undefined && create) {
      g = { type: "share", groupId, groupEpoch: 0, assignmentEpoch: 0, members: new Map(), metadataSignature: "", partitions: new Map() }
      this.groups.set(groupId, g)
    }
    return g
  }

  /** The share-partition of a group (made, uninitialised, on first use). */
  sharePartition(g: ShareGroup, topicId: string, partition: number): SharePartition {
    const key = `${topicId}:${partition}`
    let sp = g.partitions.get(key)
    if (sp === undefined) {
      sp = new SharePartition(
        this.scheduler,
        () => this.state.topicsById.get(topicId)?.partitions[partition]?.log,
        () => this.limits(g.groupId)
      )
      g.partitions.set(key, sp)
    }
    return sp
  }

  /** Sets a share-partition's start offset the first time it is fetched, by `share.auto.offset.reset`. */
  initialise(g: ShareGroup, sp: SharePartition): void {
    if (sp.initialised) return
    const log = sp.log()
    if (log === undefined) return
    const reset = this.config(g.groupId, "share.auto.offset.reset") ?? "latest"
    if (reset === "earliest") sp.reset(log.logStartOffset)
    else if (reset.startsWith("by_duration:")) {
      const found = log.offsetForTimestamp(this.scheduler.now() - (durationMs(reset.slice("by_duration:".length)) ?? 0), log.highWatermark)
      sp.reset(found?.offset ?? log.highWatermark)
    } else sp.reset(log.highWatermark)
  }

  private metadataSignature(g: ShareGroup): string {
    const names = new Set<string>()
    for (const m of g.members.values()) for (const n of m.subscribedTopicNames) names.add(n)
    return [...names].sort().map((n) => `${n}=${this.state.topics.get(n)?.partitions.length ?? 0}`).join(",")
  }

  /** The simple share assignor, over the members subscribed to each topic. */
  private assign(g: ShareGroup): void {
    const members = [...g.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
    for (const m of members) m.assignment = new Map()
    const topics = [...new Set(members.flatMap((m) => m.subscribedTopicNames))].sort()
    for (const name of topics) {
      const t = this.state.topics.get(name)
      if (t === undefined || t.partitions.length === 0) continue
      const eligible = members.filter((m) => m.subscribedTopicNames.includes(name))
      const n = t.partitions.length
      const give = (m: ShareMember, p: number) => {
        let s = m.assignment.get(t.id)
        if (s === undefined) m.assignment.set(t.id, s = new Set())
        s.add(p)
      }
      if (eligible.length <= n) for (let p = 0; p < n; p++) give(eligible[p % eligible.length], p)
      else for (let i = 0; i < eligible.length; i++) give(eligible[i], i % n)
    }
    // as Kafka's share coordinator: an assigned partition has share-partition state (listed by
    // DescribeShareGroupOffsets) from its assignment; its start offset comes with the first fetch
    for (const m of members) for (const [topicId, ps] of m.assignment) for (const p of ps) this.sharePartition(g, topicId, p)
    g.assignmentEpoch = g.groupEpoch
    g.metadataSignature = this.metadataSignature(g)
  }

  private bump(g: ShareGroup): void {
    g.groupEpoch++
    this.assign(g)
  }

  private touch(g: ShareGroup, m: ShareMember): void {
    m.sessionTimer?.cancel()
    m.sessionTimer = this.scheduler.after(this.sessionTimeoutMs(g), () => {
      m.sessionTimer = undefined
      if (g.members.get(m.memberId) === m) this.remove(g, m)
    })
  }

  private sessionTimeoutMs(g: ShareGroup): number {
    const c = this.config(g.groupId, "share.session.timeout.ms")
    return c === undefined ? this.settings.sessionTimeoutMs : Number(c)
  }

  private heartbeatIntervalMs(g: ShareGroup): number {
    const c = this.config(g.groupId, "share.heartbeat.interval.ms")
    return c === undefined ? this.settings.heartbeatIntervalMs : Number(c)
  }

  /**
   * A member leaves or its session times out. As Kafka 4.4 (checked on the test broker): its
   * acquired records stay acquired — its share sessions live on, and the records go back when a
   * session closes (epoch -1, its connection) or their locks expire.
   */
  private remove(g: ShareGroup, m: ShareMember): void {
    m.sessionTimer?.cancel()
    g.members.delete(m.memberId)
    this.bump(g)
  }

  heartbeat(g: ShareGroup, r: ShareGroupHeartbeatRequest, clientId: string): ShareGroupHeartbeatResponse {
    const reply = (errorCode: number, errorMessage: string | null, m?: ShareMember, assignment: ShareGroupHeartbeatResponse["assignment"] = null): ShareGroupHeartbeatResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      memberId: m?.memberId ?? (r.memberId === "" ? null : r.memberId),
      memberEpoch: m?.memberEpoch ?? (errorCode === 0 ? r.memberEpoch : -1),
      heartbeatIntervalMs: errorCode === 0 ? this.heartbeatIntervalMs(g) : 0,
      assignment
    })
    if (r.memberId === "") return reply(ErrorCode.INVALID_REQUEST, "MemberId can't be empty.")
    const topics = r.subscribedTopicNames ?? null
    let m = g.members.get(r.memberId)
    if (r.memberEpoch === -1) {
      if (m === undefined) return reply(ErrorCode.UNKNOWN_MEMBER_ID, `member ${r.memberId} is not in group ${g.groupId}`)
      this.remove(g, m)
      return { ...reply(0, null), memberEpoch: -1, heartbeatIntervalMs: 0 }
    }
    if (r.memberEpoch === 0) {
      if (topics === null || topics.length === 0) return reply(ErrorCode.INVALID_REQUEST, "SubscribedTopicNames must be set in first request.")
      if (m === undefined) {
        m = { memberId: r.memberId, rackId: r.rackId ?? null, clientId, memberEpoch: 0, subscribedTopicNames: topics, assignment: new Map(), lastSent: "\u0000", sessionTimer: undefined }
        g.members.set(m.memberId, m)
        this.bump(g)
      } else {
        m.lastSent = "\u0000"
        if (topics.join("\u0000") !== m.subscribedTopicNames.join("\u0000")) {
          m.subscribedTopicNames = topics
          this.bump(g)
        }
      }
    } else {
      if (m === undefined) return reply(ErrorCode.UNKNOWN_MEMBER_ID, `member ${r.memberId} is not in group ${g.groupId}`)
      if (r.memberEpoch !== m.memberEpoch) return reply(ErrorCode.FENCED_MEMBER_EPOCH, `member epoch ${r.memberEpoch} is fenced (current ${m.memberEpoch})`)
      if (topics !== null && topics.join("\u0000") !== m.subscribedTopicNames.join("\u0000")) {
        m.subscribedTopicNames = topics
        this.bump(g)
      } else if (this.metadataSignature(g) !== g.metadataSignature) this.bump(g)
    }
    if (r.rackId !== undefined && r.rackId !== null) m.rackId = r.rackId
    m.memberEpoch = g.groupEpoch
    this.touch(g, m)
    const sig = signature(m.assignment)
    const send = sig !== m.lastSent
    m.lastSent = sig
    return reply(0, null, m, send ? { topicPartitions: assignmentToWire(m.assignment) } : null)
  }

  /** DeleteGroups: only an empty group; its share-partition state goes with it. */
  delete(groupId: string): number {
    const g = this.groups.get(groupId)
    if (g === undefined) return ErrorCode.GROUP_ID_NOT_FOUND
    if (g.members.size > 0) return ErrorCode.NON_EMPTY_GROUP
    for (const s of this.sessions.ofGroup(groupId)) this.sessions.close(s)
    this.groups.delete(groupId)
    return 0
  }

  shutdown(): void {
    for (const g of this.groups.values()) for (const m of g.members.values()) m.sessionTimer?.cancel()
  }
}

/** An ISO-8601 duration (`PnDTnHnMnS`) in milliseconds (undefined when it does not parse). */
const durationMs = (iso: string): number | undefined => {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso)
  if (m === null || iso === "P" || iso.endsWith("T")) return undefined
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000
}
