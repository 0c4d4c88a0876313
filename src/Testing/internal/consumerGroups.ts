/**
 * KIP-848 consumer groups (ConsumerGroupHeartbeat), simplified: a group epoch bumped when members
 * join or leave or subscriptions or partition counts change; a server-side uniform assignor
 * (partitions of the subscribed topics spread round robin over the members subscribed to them);
 * reconciliation that hands a partition to its new owner only after the previous owner stopped
 * reporting it; member epochs, fencing (FENCED_MEMBER_EPOCH), session timeouts, and members
 * that do not give up their partitions within their rebalance timeout removed.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from "../../Protocol/generated/ConsumerGroupHeartbeat.ts"
import type { Scheduler, Timer } from "./scheduler.ts"
import type { ClusterState } from "./state.ts"

/** topic id → partitions */
export type Assignment = Map<string, Set<number>>

export interface ConsumerMember {
  readonly memberId: string
  instanceId: string | null
  rackId: string | null
  readonly clientId: string
  memberEpoch: number
  previousEpoch: number
  subscribedTopicNames: ReadonlyArray<string>
  subscribedTopicRegex: string | null
  rebalanceTimeoutMs: number
  /** What the coordinator last told the member to own. */
  assigned: Assignment
  /** What the member last reported owning. */
  owned: Assignment
  /** The assignment sent in the last response (to send only changes). */
  lastSent: string
  sessionTimer: Timer | undefined
  /** Runs while the member has partitions to give up: past the rebalance timeout it is fenced. */
  revocationTimer: Timer | undefined
}

export interface ConsumerGroup {
  readonly type: "consumer"
  readonly groupId: string
  groupEpoch: number
  assignmentEpoch: number
  readonly members: Map<string, ConsumerMember>
  target: Map<string, Assignment>
  /** Partition counts of the subscribed topics when the target was computed. */
  metadataSignature: string
}

export interface ConsumerGroupSettings {
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
}

export const newConsumerGroup = (groupId: string): ConsumerGroup => ({
  type: "consumer",
  groupId,
  groupEpoch: 0,
  assignmentEpoch: 0,
  members: new Map(),
  target: new Map(),
  metadataSignature: ""
})

const signature = (a: Assignment): string =>
  [...a].filter(([, ps]) => ps.size > 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([t, ps]) => `${t}:${[...ps].sort((x, y) => x - y).join(",")}`).join(";")

const has = (a: Assignment, topicId: string, p: number): boolean => a.get(topicId)?.has(p) === true

const add = (a: Assignment, topicId: string, p: number): void => {
  let s = a.get(topicId)
  if (s === undefined) {
    s = new Set()
    a.set(topicId, s)
  }
  s.add(p)
}

const toWire = (a: Assignment) =>
  [...a].filter(([, ps]) => ps.size > 0).map(([topicId, ps]) => ({ topicId, partitions: [...ps].sort((x, y) => x - y) }))

/** The state name Kafka reports for a consumer group. */
export const consumerGroupState = (g: ConsumerGroup): string => {
  if (g.members.size === 0) return "Empty"
  if (g.assignmentEpoch < g.groupEpoch) return "Assigning"
  for (const m of g.members.values()) if (m.memberEpoch !== g.groupEpoch) return "Reconciling"
  return "Stable"
}

export class ConsumerCoordinator {
  private readonly state: ClusterState
  private readonly scheduler: Scheduler
  private readonly settings: ConsumerGroupSettings

  constructor(state: ClusterState, scheduler: Scheduler, settings: ConsumerGroupSettings) {
    this.state = state
    this.scheduler = scheduler
    this.settings = settings
  }

  /** Topic names a member subscribes to, by name or by regex. */
  private subscribed(m: ConsumerMember): Array<string> {
    if (m.subscribedTopicRegex !== null) {
      let re: RegExp
      try {
        re = new RegExp(`^(?:${m.subscribedTopicRegex})$`)
      } catch {
        return []
      }
      return [...this.state.topics.values()].filter((t) => !t.isInternal && re.test(t.name)).map((t) => t.name)
    }
    return [...m.subscribedTopicNames]
  }

  private metadataSignature(g: ConsumerGroup): string {
    const names = new Set<string>()
    for (const m of g.members.values()) for (const n of this.subscribed(m)) names.add(n)
    return [...names].sort().map((n) => `${n}=${this.state.topics.get(n)?.partitions.length ?? 0}`).join(",")
  }

  /** The uniform assignor: each topic's partitions round robin over the members subscribed to it. */
  private computeTarget(g: ConsumerGroup): void {
    const members = [...g.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
    const target = new Map<string, Assignment>()
    for (const m of members) target.set(m.memberId, new Map())
    const subs = new Map(members.map((m) => [m.memberId, new Set(this.subscribed(m))]))
    const topics = [...new Set(members.flatMap((m) => [...subs.get(m.memberId)!]))].sort()
    let cursor = 0
    for (const name of topics) {
      const t = this.state.topics.get(name)
      if (t === undefined) continue
      const eligible = members.filter((m) => subs.get(m.memberId)!.has(name))
      for (let p = 0; p < t.partitions.length; p++) {
        const m = eligible[cursor++ % eligible.length]
        add(target.get(m.memberId)!, t.id, p)
      }
    }
    g.target = target
    g.assignmentEpoch = g.groupEpoch
    g.metadataSignature = this.metadataSignature(g)
  }

  private bumpEpoch(g: ConsumerGroup): void {
    g.groupEpoch++
    this.computeTarget(g)
  }

  private touch(g: ConsumerGroup, m: ConsumerMember): void {
    m.sessionTimer?.cancel()
    m.sessionTimer = this.scheduler.after(this.settings.sessionTimeoutMs, () => {
      m.sessionTimer = undefined
      if (g.members.get(m.memberId) === m) this.remove(g, m)
    })
  }

  private remove(g: ConsumerGroup, m: ConsumerMember): void {
    m.sessionTimer?.cancel()
    m.revocationTimer?.cancel()
    g.members.delete(m.memberId)
    this.bumpEpoch(g)
  }

  /** Is `p` (of topic id `t`) still held by a member other than `self`? */
  private heldByOther(g: ConsumerGroup, self: ConsumerMember, t: string, p: number): boolean {
    for (const o of g.members.values()) {
      if (o !== self && (has(o.owned, t, p) || has(o.assigned, t, p))) return true
    }
    return false
  }

  /** Moves a member toward its target: revocations first, then partitions others released. */
  private reconcile(g: ConsumerGroup, m: ConsumerMember): void {
    const target = g.target.get(m.memberId) ?? new Map()
    // keep only what is still in the target
    const kept: Assignment = new Map()
    for (const [t, ps] of m.assigned) for (const p of ps) if (has(target, t, p)) add(kept, t, p)
    m.assigned = kept
    const revoking = [...m.owned].some(([t, ps]) => [...ps].some((p) => !has(target, t, p)))
    if (revoking) {
      m.revocationTimer ??= this.scheduler.after(m.rebalanceTimeoutMs, () => {
        m.revocationTimer = undefined
        if (g.members.get(m.memberId) === m) this.remove(g, m)
      })
      return
    }
    m.revocationTimer?.cancel()
    m.revocationTimer = undefined
    for (const [t, ps] of target) {
      for (const p of ps) if (!has(m.assigned, t, p) && !this.heldByOther(g, m, t, p)) add(m.assigned, t, p)
    }
    if (m.memberEpoch !== g.groupEpoch) {
      m.previousEpoch = m.memberEpoch
      m.memberEpoch = g.groupEpoch
    }
  }

  heartbeat(g: ConsumerGroup, r: ConsumerGroupHeartbeatRequest, clientId: string): ConsumerGroupHeartbeatResponse {
    const reply = (errorCode: number, errorMessage: string | null, m?: ConsumerMember, assignment: ConsumerGroupHeartbeatResponse["assignment"] = null): ConsumerGroupHeartbeatResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      memberId: m?.memberId ?? (r.memberId === "" ? null : r.memberId),
      memberEpoch: m?.memberEpoch ?? (errorCode === 0 ? r.memberEpoch : -1),
      heartbeatIntervalMs: errorCode === 0 ? this.settings.heartbeatIntervalMs : 0,
      assignment
    })
    const topicNames = r.subscribedTopicNames ?? null
    const regex = r.subscribedTopicRegex ?? null
    let m = g.members.get(r.memberId)
    if (r.memberEpoch === -1 || r.memberEpoch === -2) {
      if (m === undefined) return reply(ErrorCode.UNKNOWN_MEMBER_ID, `member ${r.memberId} is not in group ${g.groupId}`)
      this.remove(g, m)
      return { ...reply(0, null), memberId: r.memberId, memberEpoch: r.memberEpoch, heartbeatIntervalMs: 0 }
    }
    if (r.memberEpoch === 0) {
      if (topicNames === null && regex === null) return reply(ErrorCode.INVALID_REQUEST, "a joining member must give its subscription")
      if (m !== undefined) this.remove(g, m)
      m = {
        memberId: r.memberId === "" ? randomUUID().replace(/-/g, "").slice(0, 22) : r.memberId,
        instanceId: r.instanceId ?? null,
        rackId: r.rackId ?? null,
        clientId,
        memberEpoch: 0,
        previousEpoch: -1,
        subscribedTopicNames: topicNames ?? [],
        subscribedTopicRegex: regex,
        rebalanceTimeoutMs: r.rebalanceTimeoutMs ?? 300_000,
        assigned: new Map(),
        owned: new Map(),
        lastSent: "\u0000",
        sessionTimer: undefined,
        revocationTimer: undefined
      }
      g.members.set(m.memberId, m)
      this.bumpEpoch(g)
    } else {
      if (m === undefined) return reply(ErrorCode.UNKNOWN_MEMBER_ID, `member ${r.memberId} is not in group ${g.groupId}`)
      if (r.memberEpoch !== m.memberEpoch && r.memberEpoch !== m.previousEpoch) {
        return reply(ErrorCode.FENCED_MEMBER_EPOCH, `member epoch ${r.memberEpoch} is fenced (current ${m.memberEpoch})`, undefined)
      }
      let changed = false
      if (topicNames !== null && (m.subscribedTopicRegex !== null || topicNames.join("\u0000") !== m.subscribedTopicNames.join("\u0000"))) {
        m.subscribedTopicNames = topicNames
        m.subscribedTopicRegex = null
        changed = true
      }
      if (regex !== null && regex !== m.subscribedTopicRegex) {
        m.subscribedTopicRegex = regex
        changed = true
      }
      if (changed || this.metadataSignature(g) !== g.metadataSignature) this.bumpEpoch(g)
    }
    this.touch(g, m)
    if (r.topicPartitions !== undefined && r.topicPartitions !== null) {
      const owned: Assignment = new Map()
      for (const tp of r.topicPartitions) for (const p of tp.partitions) add(owned, tp.topicId, p)
      m.owned = owned
    }
    this.reconcile(g, m)
    const sig = signature(m.assigned)
    const send = sig !== m.lastSent
    m.lastSent = sig
    return reply(0, null, m, send ? { topicPartitions: toWire(m.assigned) } : null)
  }

  /** Checks an offset commit's member epoch: 0 or an error code. */
  validateCommit(g: ConsumerGroup, memberId: string, memberEpoch: number): number {
    if (memberEpoch < 0 && memberId === "") return g.members.size === 0 ? 0 : ErrorCode.UNKNOWN_MEMBER_ID
    const m = g.members.get(memberId)
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (memberEpoch !== m.memberEpoch && memberEpoch !== m.previousEpoch) return ErrorCode.STALE_MEMBER_EPOCH
    return 0
  }

  shutdown(g: ConsumerGroup): void {
    for (const m of g.members.values()) {
      m.sessionTimer?.cancel()
      m.revocationTimer?.cancel()
    }
    g.members.clear()
  }
}
