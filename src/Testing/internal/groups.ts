/**
 * The classic group coordinator (JoinGroup / SyncGroup / Heartbeat / LeaveGroup): states Empty →
 * PreparingRebalance → CompletingRebalance → Stable, generations, leader election, protocol
 * selection by vote, MEMBER_ID_REQUIRED for new members (v4+), static members, rebalances when
 * members join, leave, change their metadata or miss their session timeout, and joins completed
 * when every member rejoined or the rebalance timeout passed. Timers run on the Effect clock.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import { Deferred, Effect, Exit } from "effect"
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { JoinGroupResponse } from "../../Protocol/generated/JoinGroup.ts"
import type { SyncGroupResponse } from "../../Protocol/generated/SyncGroup.ts"
import type { Scheduler, Timer } from "./scheduler.ts"

export type ClassicState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead"

export interface Protocol {
  readonly name: string
  readonly metadata: Uint8Array
}

export interface ClassicMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocols: ReadonlyArray<Protocol>
  assignment: Uint8Array
  joinWaiter: Deferred.Deferred<JoinGroupResponse> | undefined
  syncWaiter: Deferred.Deferred<SyncGroupResponse> | undefined
  sessionTimer: Timer | undefined
}

export interface ClassicGroup {
  readonly type: "classic"
  readonly groupId: string
  state: ClassicState
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leaderId: string | null
  readonly members: Map<string, ClassicMember>
  /** Member ids handed out with MEMBER_ID_REQUIRED, expected back within the session timeout. */
  readonly pending: Map<string, Timer>
  /** Static members: group instance id → member id. */
  readonly instances: Map<string, string>
  rebalanceTimer: Timer | undefined
}

export interface JoinRequest {
  readonly groupId: string
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly protocolType: string
  readonly protocols: ReadonlyArray<Protocol>
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly clientId: string
  /** JoinGroup v4+: a new member first gets its id with MEMBER_ID_REQUIRED. */
  readonly requireKnownMemberId: boolean
  /** JoinGroup v9+ (KIP-814): a restarted static leader is told to skip the assignment. */
  readonly skipAssignmentSupported: boolean
}

export interface GroupSettings {
  readonly minSessionTimeoutMs: number
  readonly maxSessionTimeoutMs: number
  readonly initialRebalanceDelayMs: number
}

const EMPTY = new Uint8Array(0)

export const newClassicGroup = (groupId: string): ClassicGroup => ({
  type: "classic",
  groupId,
  state: "Empty",
  generationId: 0,
  protocolType: null,
  protocolName: null,
  leaderId: null,
  members: new Map(),
  pending: new Map(),
  instances: new Map(),
  rebalanceTimer: undefined
})

const joinError = (code: number, memberId = "", generationId = -1): JoinGroupResponse => ({
  throttleTimeMs: 0,
  errorCode: code,
  generationId,
  protocolType: null,
  protocolName: null,
  leader: "",
  skipAssignment: false,
  memberId,
  members: []
})

const syncResult = (code: number, g: ClassicGroup | undefined, assignment: Uint8Array = EMPTY): SyncGroupResponse => ({
  throttleTimeMs: 0,
  errorCode: code,
  protocolType: code === 0 ? g?.protocolType ?? null : null,
  protocolName: code === 0 ? g?.protocolName ?? null : null,
  assignment
})

const sameProtocols = (a: ReadonlyArray<Protocol>, b: ReadonlyArray<Protocol>): boolean =>
  a.length === b.length && a.every((p, i) => p.name === b[i].name && Buffer.compare(p.metadata, b[i].metadata) === 0)

export class ClassicCoordinator {
  private readonly scheduler: Scheduler
  private readonly settings: GroupSettings

  constructor(scheduler: Scheduler, settings: GroupSettings) {
    this.scheduler = scheduler
    this.settings = settings
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Protocols every member supports, chosen by the members' votes (first preference). */
  private selectProtocol(g: ClassicGroup): string | null {
    const members = [...g.members.values()]
    if (members.length === 0) return null
    const candidates = members[0].protocols.map((p) => p.name).filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)))
    if (candidates.length === 0) return null
    const votes = new Map<string, number>()
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))!.name
      votes.set(choice, (votes.get(choice) ?? 0) + 1)
    }
    let best = candidates[0]
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c
    return best
  }

  private supportsProtocols(g: ClassicGroup, protocolType: string, protocols: ReadonlyArray<Protocol>): boolean {
    if (g.members.size === 0) return true
    if (g.protocolType !== protocolType) return false
    const names = protocols.map((p) => p.name)
    return names.some((n) => [...g.members.values()].every((m) => m.protocols.some((p) => p.name === n)))
  }

  private joinResponseFor(g: ClassicGroup, m: ClassicMember): JoinGroupResponse {
    const isLeader = g.leaderId === m.memberId
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? "",
      skipAssignment: false,
      memberId: m.memberId,
      members: isLeader
        ? [...g.members.values()].map((x) => ({
          memberId: x.memberId,
          groupInstanceId: x.groupInstanceId,
          metadata: x.protocols.find((p) => p.name === g.protocolName)?.metadata ?? EMPTY
        }))
        : []
    }
  }

  /**
   * (Re)starts a member's session timer. A member waiting in a join or a sync is kept alive (as
   * Kafka's `shouldKeepAlive`): its session starts over once it is answered.
   */
  private heartbeat(g: ClassicGroup, m: ClassicMember): void {
    m.sessionTimer?.cancel()
    m.sessionTimer = this.scheduler.after(m.sessionTimeoutMs, () => {
      m.sessionTimer = undefined
      if (g.members.get(m.memberId) !== m || m.joinWaiter !== undefined) return
      if (m.syncWaiter !== undefined) return this.heartbeat(g, m)
      this.removeMember(g, m, ErrorCode.UNKNOWN_MEMBER_ID)
      this.onMembershipChange(g)
    })
  }

  private removeMember(g: ClassicGroup, m: ClassicMember, code: number): void {
    m.sessionTimer?.cancel()
    m.sessionTimer = undefined
    g.members.delete(m.memberId)
    if (m.groupInstanceId !== null && g.instances.get(m.groupInstanceId) === m.memberId) g.instances.delete(m.groupInstanceId)
    if (m.joinWaiter !== undefined) Deferred.doneUnsafe(m.joinWaiter, Exit.succeed(joinError(code, m.memberId)))
    if (m.syncWaiter !== undefined) Deferred.doneUnsafe(m.syncWaiter, Exit.succeed(syncResult(code, g)))
    m.joinWaiter = undefined
    m.syncWaiter = undefined
    if (g.leaderId === m.memberId) g.leaderId = null
  }

  private onMembershipChange(g: ClassicGroup): void {
    if (g.state === "Stable" || g.state === "CompletingRebalance") this.prepareRebalance(g)
    else if (g.state === "PreparingRebalance") this.tryCompleteJoin(g)
  }

  private prepareRebalance(g: ClassicGroup): void {
    if (g.state === "CompletingRebalance") {
      for (const m of g.members.values()) {
        m.assignment = EMPTY
        if (m.syncWaiter !== undefined) Deferred.doneUnsafe(m.syncWaiter, Exit.succeed(syncResult(ErrorCode.REBALANCE_IN_PROGRESS, g)))
        m.syncWaiter = undefined
      }
    }
    const wasEmpty = g.state === "Empty"
    g.state = "PreparingRebalance"
    g.rebalanceTimer?.cancel()
    let timeout = 0
    for (const m of g.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs)
    const delay = wasEmpty && this.settings.initialRebalanceDelayMs > 0 ? Math.min(this.settings.initialRebalanceDelayMs, timeout) : timeout
    g.rebalanceTimer = this.scheduler.after(delay, () => {
      g.rebalanceTimer = undefined
      if (g.state === "PreparingRebalance") this.completeJoin(g)
    })
    if (!(wasEmpty && this.settings.initialRebalanceDelayMs > 0)) this.tryCompleteJoin(g)
  }

  private tryCompleteJoin(g: ClassicGroup): void {
    if (g.state !== "PreparingRebalance") return
    for (const m of g.members.values()) if (m.joinWaiter === undefined) return
    if (g.pending.size > 0) return
    this.completeJoin(g)
  }

  private completeJoin(g: ClassicGroup): void {
    g.rebalanceTimer?.cancel()
    g.rebalanceTimer = undefined
    // members that did not rejoin in time are gone
    for (const m of [...g.members.values()]) if (m.joinWaiter === undefined) this.removeMember(g, m, ErrorCode.UNKNOWN_MEMBER_ID)
    for (const t of g.pending.values()) t.cancel()
    g.pending.clear()
    g.generationId++
    if (g.members.size === 0) {
      g.state = "Empty"
      g.protocolName = null
      g.leaderId = null
      return
    }
    g.protocolName = this.selectProtocol(g)
    if (g.leaderId === null || !g.members.has(g.leaderId)) g.leaderId = g.members.keys().next().value!
    g.state = "CompletingRebalance"
    for (const m of g.members.values()) {
      const w = m.joinWaiter!
      m.joinWaiter = undefined
      Deferred.doneUnsafe(w, Exit.succeed(this.joinResponseFor(g, m)))
      this.heartbeat(g, m)
    }
  }

  /** Parks a member's join until the rebalance completes. */
  private park(g: ClassicGroup, m: ClassicMember): Effect.Effect<JoinGroupResponse> {
    m.sessionTimer?.cancel()
    m.sessionTimer = undefined
    const previous = m.joinWaiter
    const d = Deferred.makeUnsafe<JoinGroupResponse>()
    m.joinWaiter = d
    if (previous !== undefined) Deferred.doneUnsafe(previous, Exit.succeed(joinError(ErrorCode.REBALANCE_IN_PROGRESS, m.memberId)))
    if (g.state !== "PreparingRebalance") this.prepareRebalance(g)
    else this.tryCompleteJoin(g)
    return Deferred.await(d)
  }

  private addMember(g: ClassicGroup, memberId: string, r: JoinRequest): ClassicMember {
    const m: ClassicMember = {
      memberId,
      groupInstanceId: r.groupInstanceId,
      clientId: r.clientId,
      clientHost: "/in-memory",
      sessionTimeoutMs: r.sessionTimeoutMs,
      rebalanceTimeoutMs: r.rebalanceTimeoutMs,
      protocols: r.protocols,
      assignment: EMPTY,
      joinWaiter: undefined,
      syncWaiter: undefined,
      sessionTimer: undefined
    }
    if (g.members.size === 0) g.protocolType = r.protocolType
    g.members.set(memberId, m)
    if (r.groupInstanceId !== null) g.instances.set(r.groupInstanceId, memberId)
    return m
  }

  // ---- the protocol -------------------------------------------------------------------------

  join(g: ClassicGroup, r: JoinRequest): Effect.Effect<JoinGroupResponse> {
    if (r.sessionTimeoutMs < this.settings.minSessionTimeoutMs || r.sessionTimeoutMs > this.settings.maxSessionTimeoutMs) {
      return Effect.succeed(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, r.memberId))
    }
    if (r.protocolType === "" || r.protocols.length === 0 || !this.supportsProtocols(g, r.protocolType, r.protocols)) {
      return Effect.succeed(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, r.memberId))
    }
    if (g.state === "Dead") return Effect.succeed(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, r.memberId))
    if (r.memberId === "") {
      if (r.groupInstanceId !== null) {
        const newId = `${r.groupInstanceId}-${randomUUID()}`
        const oldId = g.instances.get(r.groupInstanceId)
        const old = oldId === undefined ? undefined : g.members.get(oldId)
        if (old !== undefined) {
          // a static member restarted: it takes over the old member's place and assignment
          this.removeMember(g, old, ErrorCode.FENCED_INSTANCE_ID)
          const m = this.addMember(g, newId, r)
          m.assignment = old.assignment
          const wasLeader = g.leaderId === null
          if (wasLeader) g.leaderId = newId
          if (g.state === "Stable" && sameProtocols(old.protocols, r.protocols)) {
            if (!wasLeader) {
              this.heartbeat(g, m)
              return Effect.succeed({ ...this.joinResponseFor(g, m), members: [] })
            }
            // KIP-814: the restarted leader learns the members but need not assign (v9+);
            // older clients' leaders get a rebalance
            if (r.skipAssignmentSupported) {
              this.heartbeat(g, m)
              return Effect.succeed({ ...this.joinResponseFor(g, m), skipAssignment: true })
            }
          }
          return this.park(g, m)
        }
        return this.park(g, this.addMember(g, newId, r))
      }
      const newId = `${r.clientId}-${randomUUID()}`
      if (r.requireKnownMemberId) {
        g.pending.set(newId, this.scheduler.after(r.sessionTimeoutMs, () => {
          if (g.pending.delete(newId)) this.tryCompleteJoin(g)
        }))
        return Effect.succeed(joinError(ErrorCode.MEMBER_ID_REQUIRED, newId))
      }
      return this.park(g, this.addMember(g, newId, r))
    }
    const pending = g.pending.get(r.memberId)
    if (pending !== undefined) {
      pending.cancel()
      g.pending.delete(r.memberId)
      return this.park(g, this.addMember(g, r.memberId, r))
    }
    const m = g.members.get(r.memberId)
    if (m === undefined) return Effect.succeed(joinError(ErrorCode.UNKNOWN_MEMBER_ID, r.memberId))
    if (m.groupInstanceId !== null && r.groupInstanceId !== null && g.instances.get(r.groupInstanceId) !== m.memberId) {
      return Effect.succeed(joinError(ErrorCode.FENCED_INSTANCE_ID, r.memberId))
    }
    const changed = !sameProtocols(m.protocols, r.protocols)
    m.protocols = r.protocols
    m.sessionTimeoutMs = r.sessionTimeoutMs
    m.rebalanceTimeoutMs = r.rebalanceTimeoutMs
    switch (g.state) {
      case "PreparingRebalance":
        return this.park(g, m)
      case "CompletingRebalance":
        if (!changed) return Effect.succeed(this.joinResponseFor(g, m))
        return this.park(g, m)
      case "Stable":
        if (!changed && g.leaderId !== m.memberId) {
          this.heartbeat(g, m)
          return Effect.succeed(this.joinResponseFor(g, m))
        }
        return this.park(g, m)
      default:
        return Effect.succeed(joinError(ErrorCode.UNKNOWN_MEMBER_ID, r.memberId))
    }
  }

  private fenced(g: ClassicGroup, m: ClassicMember, groupInstanceId: string | null): boolean {
    return groupInstanceId !== null && g.instances.get(groupInstanceId) !== m.memberId
  }

  sync(
    g: ClassicGroup | undefined,
    r: {
      readonly memberId: string
      readonly generationId: number
      readonly groupInstanceId: string | null
      readonly protocolType: string | null
      readonly protocolName: string | null
      readonly assignments: ReadonlyArray<{ readonly memberId: string; readonly assignment: Uint8Array }>
    }
  ): Effect.Effect<SyncGroupResponse> {
    const m = g?.members.get(r.memberId)
    if (g === undefined || m === undefined) return Effect.succeed(syncResult(ErrorCode.UNKNOWN_MEMBER_ID, g))
    if (this.fenced(g, m, r.groupInstanceId)) return Effect.succeed(syncResult(ErrorCode.FENCED_INSTANCE_ID, g))
    if (r.generationId !== g.generationId) return Effect.succeed(syncResult(ErrorCode.ILLEGAL_GENERATION, g))
    if ((r.protocolType !== null && r.protocolType !== g.protocolType) || (r.protocolName !== null && r.protocolName !== g.protocolName)) {
      return Effect.succeed(syncResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, g))
    }
    switch (g.state) {
      case "PreparingRebalance":
        return Effect.succeed(syncResult(ErrorCode.REBALANCE_IN_PROGRESS, g))
      case "Stable":
        this.heartbeat(g, m)
        return Effect.succeed(syncResult(0, g, m.assignment))
      case "CompletingRebalance": {
        this.heartbeat(g, m)
        const d = Deferred.makeUnsafe<SyncGroupResponse>()
        if (m.syncWaiter !== undefined) Deferred.doneUnsafe(m.syncWaiter, Exit.succeed(syncResult(ErrorCode.REBALANCE_IN_PROGRESS, g)))
        m.syncWaiter = d
        if (g.leaderId === m.memberId) {
          const given = new Map(r.assignments.map((a) => [a.memberId, a.assignment]))
          for (const x of g.members.values()) x.assignment = given.get(x.memberId) ?? EMPTY
          g.state = "Stable"
          for (const x of g.members.values()) {
            if (x.syncWaiter === undefined) continue
            Deferred.doneUnsafe(x.syncWaiter, Exit.succeed(syncResult(0, g, x.assignment)))
            x.syncWaiter = undefined
          }
        }
        return Deferred.await(d)
      }
      default:
        return Effect.succeed(syncResult(ErrorCode.UNKNOWN_MEMBER_ID, g))
    }
  }

  heartbeatRequest(g: ClassicGroup | undefined, memberId: string, generationId: number, groupInstanceId: string | null): number {
    const m = g?.members.get(memberId)
    if (g === undefined || m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (this.fenced(g, m, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID
    if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION
    switch (g.state) {
      case "PreparingRebalance":
        this.heartbeat(g, m)
        return ErrorCode.REBALANCE_IN_PROGRESS
      case "CompletingRebalance":
      case "Stable":
        this.heartbeat(g, m)
        return 0
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID
    }
  }

  /** One member leaving (found by member id, or by instance id when the member id is empty). */
  leave(g: ClassicGroup | undefined, memberId: string, groupInstanceId: string | null): { readonly code: number; readonly memberId: string } {
    if (g === undefined) return { code: ErrorCode.UNKNOWN_MEMBER_ID, memberId }
    const id = memberId === "" && groupInstanceId !== null ? g.instances.get(groupInstanceId) ?? "" : memberId
    const pending = g.pending.get(id)
    if (pending !== undefined) {
      pending.cancel()
      g.pending.delete(id)
      this.tryCompleteJoin(g)
      return { code: 0, memberId: id }
    }
    const m = g.members.get(id)
    if (m === undefined) return { code: ErrorCode.UNKNOWN_MEMBER_ID, memberId: id }
    if (this.fenced(g, m, groupInstanceId)) return { code: ErrorCode.FENCED_INSTANCE_ID, memberId: id }
    this.removeMember(g, m, ErrorCode.UNKNOWN_MEMBER_ID)
    this.onMembershipChange(g)
    return { code: 0, memberId: id }
  }

  /**
   * Checks an offset commit from a member: 0, or the error (a generation of -1 with no member id
   * is an admin / standalone commit, allowed while the group is empty).
   */
  validateCommit(g: ClassicGroup, memberId: string, generationId: number, groupInstanceId: string | null): number {
    if (g.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (generationId < 0 && memberId === "") return g.state === "Empty" ? 0 : ErrorCode.UNKNOWN_MEMBER_ID
    const m = g.members.get(memberId)
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (this.fenced(g, m, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID
    if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION
    if (g.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS
    this.heartbeat(g, m)
    return 0
  }

  /** Stops every timer and answers parked requests (the cluster is closing or the group deleted). */
  shutdown(g: ClassicGroup): void {
    g.rebalanceTimer?.cancel()
    for (const t of g.pending.values()) t.cancel()
    for (const m of [...g.members.values()]) this.removeMember(g, m, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    g.state = "Dead"
  }
}
