/**
 * The KIP-848 consumer group protocol: one ConsumerGroupHeartbeat loop; the coordinator computes
 * assignments (server-side assignor) and hands each member its target, in topic ids.
 *
 * Two fibers. The heartbeat fiber sends heartbeats (at the interval the coordinator asks for, and
 * at once when the owned partitions changed), always reporting the partitions the member owns
 * *now*; it records each new target. The reconciler fiber brings the owned partitions to the
 * target: first `onRevoked(owned − target)`, and only once that hook is done are the partitions
 * dropped from what the next heartbeat reports (that heartbeat is the acknowledgement the
 * coordinator waits for before giving them to another member); then `onAssigned(target − owned)`.
 * Topic ids are mapped to names through the cluster's metadata (refreshed when an id is unknown;
 * partitions of ids still unknown wait for a later attempt). FENCED_MEMBER_EPOCH /
 * UNKNOWN_MEMBER_ID: the reconciler runs `onLost`, then the member rejoins with epoch 0. Leaving
 * sends epoch -1, or -2 for a static member (which keeps its assignment for the session timeout).
 *
 * Heartbeats, commits and offset fetches go through the member's own coordinator session, not the
 * cluster's shared coordinator connection (where another member's request could hold them up).
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import type { ClusterService, CoordinatorSession } from "../../Cluster/Cluster.ts"
import { ErrorCode, errorForCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { ConsumerGroupHeartbeat } from "../../Protocol/generated/ConsumerGroupHeartbeat.ts"
import type { ConsumerGroupHeartbeatRequest } from "../../Protocol/generated/ConsumerGroupHeartbeat.ts"
import type { TopicPartition } from "../Record.ts"
import { minus } from "./assignorCommon.ts"
import { GroupRejected, RebalanceInProgress } from "./groupErrors.ts"
import type { GroupError } from "./groupErrors.ts"
import { commitOffsets, fetchOffsets } from "./groupOffsets.ts"
import type { CommittedOffset, OffsetToCommit } from "./groupOffsets.ts"
import { groupByTopic } from "./groupProtocol.ts"
import type { Generation, GroupSettings, ProtocolRuntime } from "./groupRuntime.ts"
import { Wake } from "./groupSignal.ts"
import type { Ownership } from "./groupState.ts"
import { isFatalClusterError } from "./groupSubscription.ts"

const COORDINATOR = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR])
const FATAL = new Set<number>([
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_REQUEST,
  ErrorCode.UNSUPPORTED_ASSIGNOR,
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_REGULAR_EXPRESSION,
  ErrorCode.TOPIC_AUTHORIZATION_FAILED
])
const LEAVE_EPOCH = -1
const LEAVE_STATIC_EPOCH = -2

type Target = ReadonlyArray<{ readonly topicId: string; readonly partitions: ReadonlyArray<number> }>

const errorOf = (code: number, message?: string | null): KafkaError => errorForCode(code, message) ?? kafkaError("UNKNOWN_SERVER_ERROR")

export const makeConsumerGroup = (
  cluster: ClusterService,
  settings: GroupSettings,
  state: Ownership,
  session: CoordinatorSession
): ProtocolRuntime => {
  const { groupId, groupInstanceId, subscription } = settings
  /** KIP-1082: the member generates its id (v1+); v0 coordinators assign one. */
  const ownId = randomBytes(16).toString("base64url")
  let memberId = ""
  let epoch = 0
  let joined = false
  let intervalMs = settings.heartbeatIntervalMs
  let target: Target | undefined
  let targetVersion = 0
  let lostRequested = false
  let unresolved = false
  const idToName = new Map<string, string>()
  const nameToId = new Map<string, string>()
  const heartbeatWake = new Wake()
  const reconcileWake = new Wake()

  const rejected = (error: KafkaError): GroupRejected =>
    new GroupRejected({ groupId, error, message: `group ${groupId}: the coordinator refused the membership (${error.name}: ${error.message})` })

  const learnIds = (): void => {
    for (const t of cluster.snapshot().topics.values()) {
      if (t.errorCode !== 0 || t.topicId === "AAAAAAAAAAAAAAAAAAAAAA") continue
      idToName.set(t.topicId, t.name)
      nameToId.set(t.name, t.topicId)
    }
  }

  const ownedIds = (): Array<{ topicId: string; partitions: Array<number> }> =>
    groupByTopic(state.owned).flatMap((t) => {
      const id = nameToId.get(t.topic)
      return id === undefined ? [] : [{ topicId: id, partitions: t.partitions }]
    })

  const request = (version: number, memberEpoch: number): ConsumerGroupHeartbeatRequest => {
    const leaving = memberEpoch < 0
    return {
      groupId,
      memberId,
      memberEpoch,
      instanceId: groupInstanceId,
      rackId: leaving ? null : settings.rackId,
      rebalanceTimeoutMs: leaving ? -1 : settings.rebalanceTimeoutMs,
      subscribedTopicNames: leaving || subscription._tag !== "Topics" ? null : subscription.topics,
      ...(version >= 1 ? { subscribedTopicRegex: leaving || subscription._tag !== "Pattern" ? null : subscription.source } : {}),
      serverAssignor: leaving ? null : settings.serverAssignor,
      topicPartitions: leaving ? null : memberEpoch === 0 ? [] : ownedIds()
    }
  }

  const send = (memberEpoch: number) =>
    Effect.gen(function*() {
      const c = yield* session.coordinator
      const version = yield* c.broker.versionFor(ConsumerGroupHeartbeat)
      if (subscription._tag === "Pattern" && version < 1) {
        return yield* Effect.fail(rejected(kafkaError("UNSUPPORTED_VERSION", "a pattern subscription needs ConsumerGroupHeartbeat v1+")))
      }
      if (memberId === "" && version >= 1) memberId = ownId
      return yield* c.broker.request(ConsumerGroupHeartbeat, request(version, memberEpoch), { version })
    })

  // ---- heartbeat fiber ------------------------------------------------------------------------

  const heartbeats: Effect.Effect<never, GroupError> = Effect.gen(function*() {
    for (;;) {
      if (lostRequested) {
        yield* heartbeatWake.wait // the reconciler is running onLost; rejoin after it
        continue
      }
      const sentEpoch = epoch
      const r = yield* Effect.result(send(sentEpoch))
      if (r._tag === "Failure") {
        if (r.failure._tag === "GroupRejected" || isFatalClusterError(r.failure)) return yield* Effect.fail(r.failure)
        yield* session.coordinatorIsDown
        yield* Effect.sleep(settings.retryBackoffMs)
        continue
      }
      const res = r.success
      const code = res.errorCode
      if (code === 0) {
        if (res.memberId !== null && res.memberId !== "") memberId = res.memberId
        epoch = res.memberEpoch
        joined = true
        if (res.heartbeatIntervalMs > 0) intervalMs = res.heartbeatIntervalMs
        if (res.assignment !== null) {
          target = res.assignment.topicPartitions
          targetVersion++
          reconcileWake.notify()
        }
        yield* heartbeatWake.waitAtMost(intervalMs)
      } else if (code === ErrorCode.FENCED_MEMBER_EPOCH || code === ErrorCode.UNKNOWN_MEMBER_ID) {
        yield* Effect.logDebug(`group ${groupId}: ${errorOf(code).name} at epoch ${sentEpoch}; rejoining`)
        epoch = 0
        joined = false
        target = undefined
        targetVersion++
        lostRequested = true
        reconcileWake.notify()
        if (sentEpoch === 0) yield* Effect.sleep(settings.retryBackoffMs)
      } else if (code === ErrorCode.UNRELEASED_INSTANCE_ID) {
        yield* Effect.logWarning(`group ${groupId}: instance ${groupInstanceId} is still held by a member that did not leave; retrying`)
        yield* Effect.sleep(Math.max(intervalMs, settings.retryBackoffMs))
      } else if (COORDINATOR.has(code)) {
        yield* session.coordinatorIsDown
        yield* Effect.sleep(settings.retryBackoffMs)
      } else if (FATAL.has(code)) {
        return yield* Effect.fail(rejected(errorOf(code, res.errorMessage)))
      } else {
        yield* Effect.logWarning(`group ${groupId}: ConsumerGroupHeartbeat answered ${errorOf(code).name}: ${res.errorMessage ?? ""}`)
        yield* Effect.sleep(settings.retryBackoffMs)
      }
    }
  })

  // ---- reconciler fiber -----------------------------------------------------------------------

  const resolve = (t: Target) =>
    Effect.gen(function*() {
      const known = () => t.every((x) => idToName.has(x.topicId))
      if (!known()) learnIds()
      if (!known()) {
        yield* Effect.ignore(subscription._tag === "Topics" ? cluster.refresh(subscription.topics) : cluster.listTopics)
        learnIds()
      }
      const partitions: Array<TopicPartition> = []
      let missing = false
      for (const x of t) {
        const topic = idToName.get(x.topicId)
        if (topic === undefined) missing = true
        else for (const partition of x.partitions) partitions.push({ topic, partition })
      }
      return { partitions, missing }
    })

  const reconciler: Effect.Effect<never> = Effect.gen(function*() {
    for (;;) {
      yield* (unresolved ? reconcileWake.waitAtMost(settings.retryBackoffMs) : reconcileWake.wait)
      if (lostRequested) {
        yield* state.lose()
        lostRequested = false
        heartbeatWake.notify()
        continue
      }
      const t = target
      if (t === undefined) continue
      const version = targetVersion
      const { partitions, missing } = yield* resolve(t)
      unresolved = missing
      const revoked = minus(state.owned, partitions)
      if (revoked.length > 0) {
        yield* state.revoke(revoked)
        heartbeatWake.notify() // acknowledge: the next heartbeat no longer reports them
      }
      if (lostRequested || targetVersion !== version) {
        reconcileWake.notify()
        continue
      }
      const added = minus(partitions, state.owned)
      if (added.length > 0) {
        yield* state.assign(added)
        heartbeatWake.notify()
      }
    }
  })

  const run: Effect.Effect<never, GroupError> = Effect.gen(function*() {
    yield* Effect.forkChild(reconciler)
    return yield* heartbeats
  })

  // ---- commits and leaving --------------------------------------------------------------------

  const generation = (): Generation => ({ groupId, generationId: joined ? epoch : -1, memberId, groupInstanceId })

  /** Runs a commit or fetch as the member; STALE_MEMBER_EPOCH: again with the newer epoch the heartbeat learns. */
  const asMember = <A>(f: (g: Generation) => Effect.Effect<A, GroupError>): Effect.Effect<A, GroupError> =>
    Effect.gen(function*() {
      for (let attempt = 1; ; attempt++) {
        const g = generation()
        if (g.generationId <= 0) {
          return yield* Effect.fail(new RebalanceInProgress({ groupId, message: `group ${groupId}: the member is not in the group (joining); try again once it has its partitions` }))
        }
        const r = yield* Effect.result(f(g))
        if (r._tag === "Success") return r.success
        const e = r.failure
        if (e._tag === "CommitFailed" && e.error.code === ErrorCode.STALE_MEMBER_EPOCH && attempt < 4) {
          yield* Effect.sleep(settings.retryBackoffMs)
          continue
        }
        return yield* Effect.fail(e)
      }
    })

  const commit = (offsets: ReadonlyArray<OffsetToCommit>) => asMember((g) => commitOffsets(session.withCoordinator, groupId, offsets, g))

  const fetch = (partitions: ReadonlyArray<TopicPartition>): Effect.Effect<ReadonlyMap<string, CommittedOffset | undefined>, GroupError> =>
    joined ? asMember((g) => fetchOffsets(session.withCoordinator, groupId, partitions, { member: g })) : fetchOffsets(session.withCoordinator, groupId, partitions)

  const leave: Effect.Effect<void> = Effect.gen(function*() {
    if (state.owned.length > 0) yield* state.revoke(state.owned)
    if (!joined) return
    const leaveEpoch = groupInstanceId !== null ? LEAVE_STATIC_EPOCH : LEAVE_EPOCH
    yield* send(leaveEpoch).pipe(
      Effect.flatMap((res) => res.errorCode === 0 ? Effect.void : Effect.logWarning(`group ${groupId}: leaving answered ${errorOf(res.errorCode).name}`)),
      Effect.timeoutOrElse({ duration: settings.leaveTimeoutMs, orElse: () => Effect.logWarning(`group ${groupId}: leaving timed out`) }),
      Effect.catch((e) => Effect.logWarning(`group ${groupId}: leaving failed`, e))
    )
    joined = false
    epoch = leaveEpoch
  })

  return { run, generation, commit, fetch, leave }
}
