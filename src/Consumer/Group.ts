/**
 * Consumer-group membership, on its own: join a group, learn which partitions this member owns,
 * commit and read the group's offsets, leave. Reading the partitions is the fetcher's job
 * (`PartitionConsumer`); `Consumer` combines the two.
 *
 * Two protocols:
 * - `"classic"` (default): JoinGroup / SyncGroup / Heartbeat; the group's leader assigns
 *   partitions with an `Assignor` (`range`, `roundRobin`, `cooperativeSticky`, or your own);
 *   eager assignors revoke everything at each rebalance, cooperative ones (KIP-429) only what
 *   moves.
 * - `"consumer"` (KIP-848): ConsumerGroupHeartbeat; the coordinator assigns (`serverAssignor`:
 *   `"uniform"` or `"range"`), incrementally.
 *
 * **Rebalance hooks and their order.** `onAssigned`, `onRevoked` and `onLost` are Effects, and
 * the membership waits for each to finish before it goes on:
 * - `onRevoked(partitions)` runs while the member still owns them, *before* the member tells the
 *   coordinator it gave them up (classic eager: before the next JoinGroup; classic cooperative:
 *   before the rejoin that lets them move; KIP-848: before the heartbeat that stops reporting
 *   them). Stop processing them and commit their offsets there: the group's generation is still
 *   the one the offsets belong to, and no other member has the partitions yet.
 * - `onAssigned(partitions)` runs after the member got them, before it reports them owned
 *   (KIP-848) or goes on (classic).
 * - `onLost(partitions)` runs when the session was lost (fenced, expired, removed): the partitions
 *   may already belong to another member, so do not commit; just stop.
 * Hooks run one at a time, in one fiber, uninterruptibly (closing waits for a running hook);
 * heartbeats go on meanwhile. A hook that fails is logged; the membership goes on. Don't call
 * `leave` from inside a hook (it would wait for that hook).
 *
 * `assignments` reports the same changes as events, after the hooks ran: for observing, not for
 * acting before the coordinator is told.
 *
 * **Eager or cooperative (classic).** The group uses an assignor every member advertises (the
 * coordinator picks by the members' preference order); that assignor's `protocol` decides how the
 * member behaves in the following rebalances. Eager: before each JoinGroup the member revokes
 * everything. Cooperative (KIP-429): the member rejoins keeping its partitions and reports them;
 * the leader withholds every partition that changes owner; the members that lost partitions
 * revoke just those and rejoin at once, and that second rebalance hands them over. Everything
 * else is consumed without a pause. (Before the first generation the member owns nothing, so the
 * choice does not matter.)
 *
 * **Connections.** A membership talks to its coordinator over connections of its own
 * (`Cluster.coordinatorSession`), not the cluster's shared one: the coordinator holds a JoinGroup
 * until the group is ready, and a connection carries one request at a time, so members sharing a
 * connection would wait behind each other's JoinGroup. Classic: two (JoinGroup and SyncGroup on
 * one; Heartbeat, commits, offset fetches and LeaveGroup on the other, so they never wait behind
 * the member's own held JoinGroup); KIP-848: one. Opened when first needed, moved with the
 * coordinator, closed when the membership ends. So any number of members can share one `Cluster`.
 *
 * **Static membership (KIP-345).** With `groupInstanceId`, closing does not leave the group
 * (classic: no LeaveGroup; KIP-848: epoch -2): an instance restarting within the session timeout
 * gets its partitions back without a rebalance.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import * as Group from "kpax/Group"
 *
 * const program = Effect.gen(function*() {
 *   const membership = yield* Group.join({
 *     groupId: "billing",
 *     topics: ["orders"],
 *     onRevoked: (partitions, group) => group.commit(offsetsOf(partitions)).pipe(Effect.ignore)
 *   })
 *   yield* membership.assignments.pipe(Stream.runForEach((e) => Effect.log(e._tag, e.partitions)))
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Fiber, Option } from "effect"
import type { Scope, Stream } from "effect"
import { Cluster } from "../Cluster/Cluster.ts"
import * as Assignor from "./Assignor.ts"
import type { TopicPartition } from "./Record.ts"
import { makeClassic } from "./internal/groupClassic.ts"
import { makeConsumerGroup } from "./internal/groupConsumer.ts"
import { GroupClosed, InvalidGroupConfig } from "./internal/groupErrors.ts"
import type { GroupError } from "./internal/groupErrors.ts"
import type { CommittedOffset, OffsetToCommit } from "./internal/groupOffsets.ts"
import type { Generation, GroupSettings } from "./internal/groupRuntime.ts"
import { MembershipState } from "./internal/groupState.ts"
import type { AssignmentEvent, RebalanceHook } from "./internal/groupState.ts"
import { patternSpec, topicsSpec } from "./internal/groupSubscription.ts"

export {
  CommitFailed,
  GroupClosed,
  GroupRejected,
  InvalidGroupConfig,
  OffsetPartitionErrors,
  RebalanceInProgress
} from "./internal/groupErrors.ts"
export type { GroupError, OffsetsError } from "./internal/groupErrors.ts"
export { topicPartitionKey } from "./internal/groupOffsets.ts"
export type { AssignmentEvent, CommittedOffset, Generation, OffsetToCommit, RebalanceHook, TopicPartition }

/**
 * Settings of a membership. Give `topics` or `pattern`.
 *
 * @since 0.1.0
 */
export interface GroupOptions {
  readonly groupId: string
  /** The topics to subscribe to. */
  readonly topics?: ReadonlyArray<string> | undefined
  /**
   * Subscribe to every (non-internal) topic whose whole name matches. Classic: matched here
   * against the cluster's topics, re-checked every `metadataRecheck`; KIP-848: sent to the
   * coordinator, which matches it (RE2 syntax; flags are not sent).
   */
  readonly pattern?: RegExp | string | undefined
  /** `"classic"` (default) or `"consumer"` (KIP-848). */
  readonly groupProtocol?: "classic" | "consumer" | undefined
  /** Static membership (KIP-345): this instance's stable id in the group. */
  readonly groupInstanceId?: string | null | undefined
  readonly rackId?: string | null | undefined
  /** Classic: assignors in order of preference (default `[range, cooperativeSticky]`, as Java 4). */
  readonly assignors?: ReadonlyArray<Assignor.Assignor> | undefined
  /** KIP-848: the coordinator's assignor (`"uniform"`, `"range"`; default: the broker's). */
  readonly serverAssignor?: string | undefined
  /** Classic: the coordinator drops the member after this long without a heartbeat (default 45 s). KIP-848: the broker's setting. */
  readonly sessionTimeout?: Duration.Input | undefined
  /** Classic: time between heartbeats (default 3 s). KIP-848: the coordinator says. */
  readonly heartbeatInterval?: Duration.Input | undefined
  /**
   * How long the coordinator waits for members to rejoin (classic) or to revoke partitions
   * (KIP-848) in a rebalance: `onRevoked` must finish within it (default 5 minutes, as Java's
   * `max.poll.interval.ms`).
   */
  readonly rebalanceTimeout?: Duration.Input | undefined
  /** Classic: how often pattern subscriptions and (on the leader) partition counts are re-checked (default 5 minutes). */
  readonly metadataRecheck?: Duration.Input | undefined
  /** Pause before retrying after a failed rebalance or heartbeat (default 500 ms). */
  readonly retryBackoff?: Duration.Input | undefined
  /** Runs after partitions were assigned, before the membership goes on. */
  readonly onAssigned?: RebalanceHook<GroupMembership> | undefined
  /** Runs before revoked partitions are given up: stop processing them and commit their offsets. */
  readonly onRevoked?: RebalanceHook<GroupMembership> | undefined
  /** Runs when partitions were lost with the session: stop processing them, do not commit. */
  readonly onLost?: RebalanceHook<GroupMembership> | undefined
}

/**
 * A member of a consumer group.
 *
 * @since 0.1.0
 */
export interface GroupMembership {
  readonly groupId: string
  readonly groupProtocol: "classic" | "consumer"
  /**
   * Changes of this member's partitions: the current assignment first (if any), then each change
   * (after its hook ran). Ends when the membership ends; fails with `GroupRejected` if the
   * coordinator refused it for good.
   */
  readonly assignments: Stream.Stream<AssignmentEvent, GroupError>
  /** The partitions this member owns now. */
  readonly assigned: () => ReadonlyArray<TopicPartition>
  /** Commits offsets (of the next records to read) in the member's current generation. */
  readonly commit: (offsets: ReadonlyArray<OffsetToCommit>) => Effect.Effect<void, GroupError>
  /** The group's committed offsets, keyed by `topicPartitionKey`; `undefined` where none. */
  readonly committed: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<ReadonlyMap<string, CommittedOffset | undefined>, GroupError>
  /**
   * The member's generation (classic) or epoch (KIP-848), member id and instance id: what
   * `Producer.sendOffsets` takes to commit offsets in a transaction.
   */
  readonly generation: () => Generation
  /** Revokes everything (`onRevoked`), leaves the group (not for static members), ends the membership. Also run when the scope closes. */
  readonly leave: Effect.Effect<void>
  /**
   * Ends the membership as a crash would: no hooks, no leaving; the coordinator notices after the
   * session timeout. For tests and for handing a static member's place to a new process.
   */
  readonly abandon: Effect.Effect<void>
}

/**
 * The assignors a classic member advertises by default: `range` first, then `cooperativeSticky`
 * (Java 4's default).
 *
 * @since 0.1.0
 */
export const defaultAssignors: ReadonlyArray<Assignor.Assignor> = [Assignor.range, Assignor.cooperativeSticky]

const millis = (d: Duration.Input | undefined, dflt: Duration.Input): number | undefined => {
  const parsed = Duration.fromInput(d ?? dflt)
  return Option.isSome(parsed) ? Duration.toMillis(parsed.value) : undefined
}

const resolveOptions = (o: GroupOptions): Effect.Effect<GroupSettings & { readonly protocol: "classic" | "consumer" }, InvalidGroupConfig> =>
  Effect.suspend(() => {
    const bad = (message: string) => Effect.fail(new InvalidGroupConfig({ message }))
    if (typeof o.groupId !== "string" || o.groupId === "") return bad("groupId must be a non-empty string")
    const protocol = o.groupProtocol ?? "classic"
    if (protocol !== "classic" && protocol !== "consumer") return bad(`groupProtocol must be "classic" or "consumer", not ${JSON.stringify(protocol)}`)
    if ((o.topics === undefined) === (o.pattern === undefined)) return bad("give either topics or pattern")
    let subscription
    if (o.topics !== undefined) {
      if (o.topics.length === 0 || o.topics.some((t) => typeof t !== "string" || t === "")) return bad("topics must be non-empty topic names")
      subscription = topicsSpec(o.topics)
    } else {
      subscription = patternSpec(o.pattern!)
      if (subscription === undefined) return bad(`pattern ${String(o.pattern)} is not a valid regular expression`)
    }
    const sessionTimeoutMs = millis(o.sessionTimeout, "45 seconds")
    const heartbeatIntervalMs = millis(o.heartbeatInterval, "3 seconds")
    const rebalanceTimeoutMs = millis(o.rebalanceTimeout, "5 minutes")
    const metadataRecheckMs = millis(o.metadataRecheck, "5 minutes")
    const retryBackoffMs = millis(o.retryBackoff, "500 millis")
    for (const [name, v] of Object.entries({ sessionTimeoutMs, heartbeatIntervalMs, rebalanceTimeoutMs, metadataRecheckMs, retryBackoffMs })) {
      if (v === undefined || !Number.isFinite(v) || v <= 0 || v > 2 ** 31 - 1) return bad(`${name.replace(/Ms$/, "")} must be a positive duration below 2^31 ms`)
    }
    if (heartbeatIntervalMs! >= sessionTimeoutMs!) return bad("heartbeatInterval must be shorter than sessionTimeout")
    const assignors = o.assignors ?? defaultAssignors
    if (assignors.length === 0) return bad("assignors must not be empty")
    if (new Set(assignors.map((a) => a.name)).size !== assignors.length) return bad("assignor names must be distinct")
    if (o.groupInstanceId === "") return bad("groupInstanceId must not be empty (null for a dynamic member)")
    return Effect.succeed({
      protocol,
      groupId: o.groupId,
      groupInstanceId: o.groupInstanceId ?? null,
      rackId: o.rackId ?? null,
      subscription,
      sessionTimeoutMs: sessionTimeoutMs!,
      heartbeatIntervalMs: heartbeatIntervalMs!,
      rebalanceTimeoutMs: rebalanceTimeoutMs!,
      metadataRecheckMs: metadataRecheckMs!,
      retryBackoffMs: retryBackoffMs!,
      leaveTimeoutMs: 5000,
      assignors,
      serverAssignor: o.serverAssignor ?? null
    })
  })

/**
 * Joins a consumer group; the membership lives in the current scope (closing it leaves the
 * group, after `onRevoked`). Returns at once: partitions arrive through the hooks and
 * `assignments`. Fails only for bad settings; a coordinator that refuses the membership for good
 * ends `assignments` with `GroupRejected`.
 *
 * @example
 * ```ts
 * const membership = yield* Group.join({
 *   groupId: "billing",
 *   topics: ["orders"],
 *   assignors: [Assignor.cooperativeSticky],
 *   onAssigned: (partitions) => fetcher.assign(partitions.map((tp) => ({ ...tp, position: "committed" }))),
 *   onRevoked: (partitions, group) => Effect.andThen(fetcher.unassign(partitions), group.commit(positions(partitions)).pipe(Effect.ignore)),
 *   onLost: (partitions) => fetcher.unassign(partitions)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const join = (options: GroupOptions): Effect.Effect<GroupMembership, GroupError, Cluster | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* resolveOptions(options)
    const cluster = yield* Cluster
    const state = new MembershipState<GroupMembership>(settings.groupId, {
      onAssigned: options.onAssigned,
      onRevoked: options.onRevoked,
      onLost: options.onLost
    })
    // the membership's own coordinator connections (closed with this scope, after leaving): on the
    // cluster's shared one, another member's JoinGroup, held by the coordinator, would hold this
    // member's requests up
    const key = { type: "group", key: settings.groupId } as const
    const runtime = settings.protocol === "consumer"
      ? makeConsumerGroup(cluster, settings, state, yield* cluster.coordinatorSession(key))
      : makeClassic(cluster, settings, state, { rebalance: yield* cluster.coordinatorSession(key), member: yield* cluster.coordinatorSession(key) })
    const scope = yield* Effect.scope
    let fiber: Fiber.Fiber<void> | undefined
    let closing: Deferred.Deferred<void> | undefined
    /** Set once left or abandoned; commits still work while leaving (in onRevoked). */
    let ended = false

    const close = (graceful: boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (closing !== undefined) return Deferred.await(closing)
        const done = Deferred.makeUnsafe<void>()
        closing = done
        if (!graceful) ended = true
        return Effect.gen(function*() {
          if (fiber !== undefined) yield* Fiber.interrupt(fiber)
          if (graceful) yield* runtime.leave
          ended = true
          state.end()
        }).pipe(Effect.uninterruptible, Effect.ensuring(Deferred.succeed(done, undefined)))
      })

    const notClosed = <A>(f: () => Effect.Effect<A, GroupError>): Effect.Effect<A, GroupError> =>
      Effect.suspend(() =>
        ended
          ? Effect.fail(new GroupClosed({ groupId: settings.groupId, message: `group ${settings.groupId}: the membership has ended` }))
          : f()
      )

    const membership: GroupMembership = {
      groupId: settings.groupId,
      groupProtocol: settings.protocol,
      assignments: state.events,
      assigned: () => state.owned,
      commit: (offsets) => notClosed(() => runtime.commit(offsets)),
      committed: (partitions) => notClosed(() => runtime.fetch(partitions)),
      generation: runtime.generation,
      leave: close(true),
      abandon: close(false)
    }
    state.membership = membership
    fiber = yield* runtime.run.pipe(
      Effect.catch((error) =>
        Effect.logError(`group ${settings.groupId}: the membership ended`, error).pipe(Effect.andThen(Effect.sync(() => state.end(error))))
      ),
      Effect.forkIn(scope)
    )
    yield* Effect.addFinalizer(() => close(true))
    return membership
  })
