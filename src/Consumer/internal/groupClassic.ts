/**
 * The classic group protocol: JoinGroup → (leader assigns) → SyncGroup → Heartbeat, LeaveGroup.
 *
 * One fiber runs the membership loop; it alone calls the rebalance hooks, so a hook always
 * finishes before the loop sends the next JoinGroup (eager: `onRevoked(all)` comes first) or
 * confirms a revocation by rejoining (cooperative). While it waits on a hook, the heartbeat fiber
 * of the current generation keeps the session alive. Per generation:
 *
 * 1. eager protocol (or first join with an eager assignor advertised): revoke everything;
 * 2. stop the previous generation's heartbeat and metadata watch;
 * 3. JoinGroup (MEMBER_ID_REQUIRED: again with the id given; UNKNOWN_MEMBER_ID: again with none);
 * 4. the leader runs the group's chosen assignor over all subscriptions, then withholds any
 *    partition another member still owns (the cooperative rule, applied to any assignor);
 * 5. SyncGroup; start heartbeats and the metadata watch;
 * 6. `onRevoked(owned − new)`, then `onAssigned(new − owned)`; if a cooperative member revoked
 *    something, it rejoins at once so the partitions can move (KIP-429's second rebalance);
 * 7. wait for a signal: rejoin (REBALANCE_IN_PROGRESS, subscription or metadata change), lost
 *    (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, a fenced commit: `onLost`, then rejoin), fatal.
 *
 * The member talks to its coordinator through two coordinator sessions of its own (never the
 * cluster's shared connection, where another member's JoinGroup would hold it up): `rebalance`
 * carries JoinGroup and SyncGroup, which the coordinator holds until the group is ready;
 * `member` carries Heartbeat, OffsetCommit, OffsetFetch and LeaveGroup, which must not wait
 * behind this member's own held JoinGroup either (a commit or a leave during a rebalance).
 *
 * @internal
 */
import { Effect, Fiber } from "effect"
import type { ClusterService, CoordinatorSession } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { ErrorCode, errorForCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { Heartbeat } from "../../Protocol/generated/Heartbeat.ts"
import { JoinGroup } from "../../Protocol/generated/JoinGroup.ts"
import type { JoinGroupResponse } from "../../Protocol/generated/JoinGroup.ts"
import { LeaveGroup } from "../../Protocol/generated/LeaveGroup.ts"
import { SyncGroup } from "../../Protocol/generated/SyncGroup.ts"
import type { Assignor, Subscription } from "../Assignor.ts"
import type { TopicPartition } from "../Record.ts"
import { minus, withoutTransfers } from "./assignorCommon.ts"
import { GroupRejected, RebalanceInProgress } from "./groupErrors.ts"
import type { GroupError } from "./groupErrors.ts"
import { commitOffsets, fetchOffsets } from "./groupOffsets.ts"
import type { OffsetToCommit } from "./groupOffsets.ts"
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "./groupProtocol.ts"
import type { Generation, GroupSettings, ProtocolRuntime } from "./groupRuntime.ts"
import { Wake } from "./groupSignal.ts"
import type { Ownership } from "./groupState.ts"
import { isFatalClusterError, partitionCounts, sameCounts, sameList, subscribedTopics } from "./groupSubscription.ts"

type Signal =
  | { readonly _tag: "Rejoin"; readonly reason: string }
  | { readonly _tag: "Lost"; readonly reason: string; readonly resetMemberId: boolean }
  | { readonly _tag: "Fatal"; readonly error: GroupError }

const priority = (s: Signal): number => (s._tag === "Fatal" ? 3 : s._tag === "Lost" ? 2 : 1)

/** What one rebalance ended with. */
type Outcome =
  | { readonly _tag: "Synced"; readonly assignor: Assignor; readonly partitions: ReadonlyArray<TopicPartition>; readonly userData: Uint8Array | null; readonly leaderOf: ReadonlyArray<string> | undefined; readonly counts: ReadonlyMap<string, number> | undefined; readonly topics: ReadonlyArray<string> }
  | { readonly _tag: "Again"; readonly reason: string; readonly lost: boolean; readonly resetMemberId: boolean }

const COORDINATOR = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR])
/** JoinGroup / SyncGroup / Heartbeat errors that end the membership. */
const FATAL = new Set<number>([
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_GROUP_ID,
  ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  ErrorCode.INVALID_SESSION_TIMEOUT,
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_REQUEST
])

const errorOf = (code: number, message?: string | null): KafkaError => errorForCode(code, message) ?? kafkaError("UNKNOWN_SERVER_ERROR")

/** The member's coordinator sessions: one for the requests the coordinator holds, one for the others. */
export interface ClassicLanes {
  /** JoinGroup, SyncGroup. */
  readonly rebalance: CoordinatorSession
  /** Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup. */
  readonly member: CoordinatorSession
}

export const makeClassic = (
  cluster: ClusterService,
  settings: GroupSettings,
  state: Ownership,
  lanes: ClassicLanes
): ProtocolRuntime => {
  const { groupId, groupInstanceId } = settings
  let memberId = ""
  let generationId = -1
  /** The assignor the group chose in the last generation. */
  let chosen: Assignor | undefined
  const allCooperative = settings.assignors.every((a) => a.protocol === "cooperative")

  // ---- signals to the loop, tagged with the generation they are about --------------------------
  let pending: Signal | undefined
  const wake = new Wake()
  const signal = (s: Signal, generation: number): void => {
    if (generation !== generationId) return // about a generation already over
    if (pending === undefined || priority(s) > priority(pending)) pending = s
    wake.notify()
  }
  const nextSignal: Effect.Effect<Signal> = Effect.suspend(() => {
    const s = pending
    if (s !== undefined) {
      pending = undefined
      return Effect.succeed(s)
    }
    return Effect.andThen(wake.wait, nextSignal)
  })

  const rejected = (error: KafkaError): GroupRejected =>
    new GroupRejected({ groupId, error, message: `group ${groupId}: the coordinator refused the membership (${error.name}: ${error.message})` })

  // ---- JoinGroup ------------------------------------------------------------------------------

  const joinOnce = (topics: ReadonlyArray<string>, reason: string): Effect.Effect<JoinGroupResponse, ClusterError | GroupError> =>
    lanes.rebalance.withCoordinator((c) =>
      Effect.gen(function*() {
        const version = yield* c.broker.versionFor(JoinGroup)
        if (groupInstanceId !== null && version < 5) {
          return yield* Effect.fail(rejected(kafkaError("UNSUPPORTED_VERSION", `static membership needs JoinGroup v5+, the coordinator offers v${version}`)))
        }
        const owned = state.owned
        const res = yield* c.broker.request(JoinGroup, {
          groupId,
          sessionTimeoutMs: settings.sessionTimeoutMs,
          rebalanceTimeoutMs: settings.rebalanceTimeoutMs,
          memberId,
          ...(version >= 5 ? { groupInstanceId } : {}),
          protocolType: "consumer",
          protocols: settings.assignors.map((a) => ({
            name: a.name,
            metadata: encodeSubscription({
              topics,
              userData: a.subscriptionUserData?.({ owned, generationId }) ?? null,
              ownedPartitions: owned,
              generationId,
              rackId: settings.rackId
            })
          })),
          ...(version >= 8 ? { reason } : {})
        }, { version, timeout: settings.rebalanceTimeoutMs + 5000 })
        if (COORDINATOR.has(res.errorCode)) return yield* Effect.fail(errorOf(res.errorCode))
        return res
      }))

  // ---- the leader's assignment ----------------------------------------------------------------

  const assign = (res: JoinGroupResponse, assignor: Assignor) =>
    Effect.gen(function*() {
      const subscriptions: Array<Subscription> = res.members.map((m) => {
        const s = decodeSubscription(m.metadata)
        return {
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          topics: s?.topics ?? [],
          userData: s?.userData ?? null,
          ownedPartitions: s?.ownedPartitions ?? [],
          generationId: s?.generationId ?? -1,
          rackId: s?.rackId ?? null
        }
      })
      const groupTopics = [...new Set(subscriptions.flatMap((s) => s.topics))].sort()
      const counts = yield* partitionCounts(cluster, groupTopics)
      const raw = assignor.assign(subscriptions, { partitionsPerTopic: counts })
      const adjusted = withoutTransfers(subscriptions, new Map([...raw].map(([id, a]) => [id, a.partitions])))
      const assignments = subscriptions.map((s) => ({
        memberId: s.memberId,
        assignment: encodeAssignment({ partitions: adjusted.get(s.memberId) ?? [], userData: raw.get(s.memberId)?.userData ?? null })
      }))
      return { assignments, groupTopics, counts }
    })

  // ---- one rebalance: join, assign, sync ------------------------------------------------------

  const rebalance = (reason: string): Effect.Effect<Outcome, ClusterError | GroupError> =>
    Effect.gen(function*() {
      const topics = yield* subscribedTopics(cluster, settings.subscription)
      let res = yield* joinOnce(topics, reason)
      while (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        memberId = res.memberId
        res = yield* joinOnce(topics, reason)
      }
      switch (res.errorCode) {
        case 0:
          break
        case ErrorCode.UNKNOWN_MEMBER_ID:
          return { _tag: "Again", reason: "JoinGroup: unknown member id", lost: true, resetMemberId: true }
        case ErrorCode.REBALANCE_IN_PROGRESS:
          return { _tag: "Again", reason: "JoinGroup: rebalance in progress", lost: false, resetMemberId: false }
        default:
          return yield* Effect.fail(FATAL.has(res.errorCode) ? rejected(errorOf(res.errorCode)) : errorOf(res.errorCode))
      }
      memberId = res.memberId
      generationId = res.generationId
      const assignor = settings.assignors.find((a) => a.name === res.protocolName)
      if (assignor === undefined) {
        return yield* Effect.fail(rejected(kafkaError("INCONSISTENT_GROUP_PROTOCOL", `the group chose assignor ${res.protocolName}, which this member does not have`)))
      }
      const leader = res.leader === res.memberId
      let assignments: Array<{ memberId: string; assignment: Uint8Array }> = []
      let leaderOf: ReadonlyArray<string> | undefined
      let counts: ReadonlyMap<string, number> | undefined
      if (leader) {
        leaderOf = [...new Set(res.members.flatMap((m) => decodeSubscription(m.metadata)?.topics ?? []))].sort()
        if (!res.skipAssignment) {
          const a = yield* assign(res, assignor)
          assignments = a.assignments
          counts = a.counts
        }
      }
      const c = yield* lanes.rebalance.coordinator
      const version = yield* c.broker.versionFor(SyncGroup)
      const sync = yield* c.broker.request(SyncGroup, {
        groupId,
        generationId: res.generationId,
        memberId: res.memberId,
        ...(version >= 3 ? { groupInstanceId } : {}),
        ...(version >= 5 ? { protocolType: "consumer", protocolName: res.protocolName } : {}),
        assignments
      }, { version, timeout: settings.rebalanceTimeoutMs + 5000 })
      switch (sync.errorCode) {
        case 0:
          break
        case ErrorCode.REBALANCE_IN_PROGRESS:
          return { _tag: "Again", reason: "SyncGroup: rebalance in progress", lost: false, resetMemberId: false }
        case ErrorCode.UNKNOWN_MEMBER_ID:
          return { _tag: "Again", reason: "SyncGroup: unknown member id", lost: true, resetMemberId: true }
        case ErrorCode.ILLEGAL_GENERATION:
          return { _tag: "Again", reason: "SyncGroup: illegal generation", lost: true, resetMemberId: false }
        default:
          if (COORDINATOR.has(sync.errorCode)) {
            yield* lanes.rebalance.coordinatorIsDown
            return { _tag: "Again", reason: "SyncGroup: the coordinator moved", lost: false, resetMemberId: false }
          }
          return yield* Effect.fail(FATAL.has(sync.errorCode) ? rejected(errorOf(sync.errorCode)) : errorOf(sync.errorCode))
      }
      const decoded = decodeAssignment(sync.assignment)
      if (decoded === undefined) return yield* Effect.fail(kafkaError("INCONSISTENT_GROUP_PROTOCOL", "SyncGroup: the assignment does not decode"))
      return { _tag: "Synced", assignor, partitions: decoded.partitions, userData: decoded.userData, leaderOf, counts, topics }
    })

  // ---- per-generation fibers ------------------------------------------------------------------

  const heartbeats = (generation: number, member: string): Effect.Effect<void> =>
    Effect.gen(function*() {
      for (;;) {
        yield* Effect.sleep(settings.heartbeatIntervalMs)
        const r = yield* Effect.result(Effect.gen(function*() {
          const c = yield* lanes.member.coordinator
          return yield* c.broker.request(Heartbeat, { groupId, generationId: generation, memberId: member, groupInstanceId })
        }))
        if (r._tag === "Failure") {
          yield* lanes.member.coordinatorIsDown
          continue
        }
        const code = r.success.errorCode
        if (code === 0) continue
        if (code === ErrorCode.REBALANCE_IN_PROGRESS) signal({ _tag: "Rejoin", reason: "the group is rebalancing" }, generation)
        else if (code === ErrorCode.ILLEGAL_GENERATION) return signal({ _tag: "Lost", reason: "Heartbeat: illegal generation", resetMemberId: false }, generation)
        else if (code === ErrorCode.UNKNOWN_MEMBER_ID) return signal({ _tag: "Lost", reason: "Heartbeat: unknown member id", resetMemberId: true }, generation)
        else if (COORDINATOR.has(code)) yield* lanes.member.coordinatorIsDown
        else if (FATAL.has(code)) return signal({ _tag: "Fatal", error: rejected(errorOf(code)) }, generation)
        else yield* Effect.logWarning(`group ${groupId}: Heartbeat answered ${errorOf(code).name}`)
      }
    })

  /** Rejoins when the subscribed topics (pattern) or, for the leader, the group's partition counts change. */
  const watchMetadata = (generation: number, joined: ReadonlyArray<string>, leaderOf: ReadonlyArray<string> | undefined, counts: ReadonlyMap<string, number> | undefined) =>
    Effect.gen(function*() {
      let baseline = counts
      for (;;) {
        yield* Effect.sleep(settings.metadataRecheckMs)
        const check = Effect.gen(function*() {
          if (settings.subscription._tag === "Pattern") {
            const now = yield* subscribedTopics(cluster, settings.subscription)
            if (!sameList(now, joined)) return signal({ _tag: "Rejoin", reason: "the pattern matches other topics" }, generation)
          }
          if (leaderOf !== undefined) {
            const now = yield* partitionCounts(cluster, leaderOf)
            if (baseline === undefined) baseline = now
            else if (!sameCounts(now, baseline)) return signal({ _tag: "Rejoin", reason: "the subscribed topics' partitions changed" }, generation)
          }
        })
        yield* Effect.ignore(check)
      }
    })

  // ---- the loop -------------------------------------------------------------------------------

  const run: Effect.Effect<never, GroupError> = Effect.gen(function*() {
    let fibers: Array<Fiber.Fiber<void>> = []
    const stopFibers = Effect.suspend(() => {
      const fs = fibers
      fibers = []
      return Effect.forEach(fs, Fiber.interrupt, { discard: true })
    })
    let reason = "joining"
    for (;;) {
      const cooperative = (chosen?.protocol ?? (allCooperative ? "cooperative" : "eager")) === "cooperative"
      if (!cooperative && state.owned.length > 0) yield* state.revoke(state.owned)
      yield* stopFibers
      const outcome = yield* rebalance(reason).pipe(
        Effect.catch((e): Effect.Effect<Outcome, GroupError> =>
          e._tag === "GroupRejected" || e._tag === "InvalidGroupConfig" || isFatalClusterError(e)
            ? Effect.fail(e)
            : Effect.logWarning(`group ${groupId}: rebalance failed, retrying`, e).pipe(
              Effect.andThen(Effect.sleep(settings.retryBackoffMs)),
              Effect.as({ _tag: "Again", reason: `retry after ${e._tag}`, lost: false, resetMemberId: false } as const)
            ))
      )
      if (outcome._tag === "Again") {
        reason = outcome.reason
        if (outcome.lost) {
          generationId = -1
          yield* state.lose()
        }
        if (outcome.resetMemberId) memberId = ""
        continue
      }
      chosen = outcome.assignor
      pending = undefined
      const generation = generationId
      fibers.push(yield* Effect.forkChild(heartbeats(generation, memberId)))
      fibers.push(yield* Effect.forkChild(watchMetadata(generation, outcome.topics, outcome.leaderOf, outcome.counts)))
      outcome.assignor.onAssignment?.({ partitions: outcome.partitions, userData: outcome.userData }, generation)
      const revoked = minus(state.owned, outcome.partitions)
      if (revoked.length > 0) yield* state.revoke(revoked)
      yield* state.assign(minus(outcome.partitions, state.owned))
      if (revoked.length > 0 && outcome.assignor.protocol === "cooperative") {
        signal({ _tag: "Rejoin", reason: "partitions were revoked for another member" }, generation)
      }
      const s = yield* nextSignal
      if (s._tag === "Fatal") {
        yield* stopFibers
        yield* state.lose()
        return yield* Effect.fail(s.error)
      }
      reason = s.reason
      if (s._tag === "Lost") {
        yield* stopFibers
        generationId = -1
        yield* state.lose()
        if (s.resetMemberId) memberId = ""
      }
    }
  })

  // ---- commits --------------------------------------------------------------------------------

  const generation = (): Generation => ({ groupId, generationId, memberId, groupInstanceId })

  const commit = (offsets: ReadonlyArray<OffsetToCommit>): Effect.Effect<void, GroupError> =>
    Effect.suspend(() => {
      const g = generation()
      if (g.generationId < 0) {
        return Effect.fail(new RebalanceInProgress({ groupId, message: `group ${groupId}: the member is not in a generation (joining); commit again once it has its partitions` }))
      }
      return commitOffsets(lanes.member.withCoordinator, groupId, offsets, g).pipe(
        Effect.tapError((e) =>
          Effect.sync(() => {
            if (e._tag === "CommitFailed") {
              const resetMemberId = e.error.code === ErrorCode.UNKNOWN_MEMBER_ID
              signal({ _tag: "Lost", reason: `OffsetCommit: ${e.error.name}`, resetMemberId }, g.generationId)
            } else if (e._tag === "RebalanceInProgress") {
              signal({ _tag: "Rejoin", reason: "OffsetCommit: rebalance in progress" }, g.generationId)
            }
          })
        )
      )
    })

  const leave: Effect.Effect<void> = Effect.gen(function*() {
    if (state.owned.length > 0) yield* state.revoke(state.owned)
    // KIP-345: a static member does not leave; it comes back within the session timeout
    if (groupInstanceId !== null || memberId === "") return
    const member = memberId
    yield* lanes.member.withCoordinator((c) =>
      Effect.gen(function*() {
        const version = yield* c.broker.versionFor(LeaveGroup)
        const res = yield* c.broker.request(
          LeaveGroup,
          version >= 3
            ? { groupId, members: [{ memberId: member, groupInstanceId: null, ...(version >= 5 ? { reason: "the consumer is closing" } : {}) }] }
            : { groupId, memberId: member },
          { version }
        )
        if (COORDINATOR.has(res.errorCode)) return yield* Effect.fail(errorOf(res.errorCode))
      })).pipe(
        Effect.timeoutOrElse({ duration: settings.leaveTimeoutMs, orElse: () => Effect.logWarning(`group ${groupId}: LeaveGroup timed out`) }),
        Effect.catch((e) => Effect.logWarning(`group ${groupId}: LeaveGroup failed`, e))
      )
    memberId = ""
    generationId = -1
  })

  return {
    run,
    generation,
    commit,
    fetch: (partitions) => fetchOffsets(lanes.member.withCoordinator, groupId, partitions),
    leave
  }
}

