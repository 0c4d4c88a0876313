/**
 * What both group protocols share: the partitions the member owns, the rebalance hooks and the
 * `assignments` event stream.
 *
 * Ordering: `assign`, `revoke` and `lose` run the user's hook to completion (uninterruptibly: a
 * `leave` or a closing scope waits for it) and only then return, so the protocol code that calls
 * them confirms nothing to the coordinator before the hook is done. `assigned()` includes the
 * partitions during `onAssigned`, and still includes them during `onRevoked` / `onLost`. Events
 * are published after the hook, to every subscriber at once; a new subscriber first gets the
 * current assignment (as one `Assigned` event) so it never misses state.
 *
 * @internal
 */
import { Cause, Effect, Queue, Stream } from "effect"
import type { TopicPartition } from "../Record.ts"
import type { GroupError } from "./groupErrors.ts"
import { keySet, sortedPartitions } from "./groupProtocol.ts"
import { tpKey } from "./assignorCommon.ts"

/** A change of the member's partitions. */
export type AssignmentEvent =
  | { readonly _tag: "Assigned"; readonly partitions: ReadonlyArray<TopicPartition> }
  | { readonly _tag: "Revoked"; readonly partitions: ReadonlyArray<TopicPartition> }
  | { readonly _tag: "Lost"; readonly partitions: ReadonlyArray<TopicPartition> }

/** A rebalance hook: the membership waits for it before going on. Failures are logged, not fatal. */
export type RebalanceHook<M> = (partitions: ReadonlyArray<TopicPartition>, membership: M) => Effect.Effect<void, unknown>

export interface Hooks<M> {
  readonly onAssigned?: RebalanceHook<M> | undefined
  readonly onRevoked?: RebalanceHook<M> | undefined
  readonly onLost?: RebalanceHook<M> | undefined
}

/** What the protocols drive: the owned partitions and the hooks around changing them. */
export interface Ownership {
  readonly owned: ReadonlyArray<TopicPartition>
  readonly assign: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
  readonly revoke: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
  readonly lose: () => Effect.Effect<void>
}

export class MembershipState<M> implements Ownership {
  private ownedList: ReadonlyArray<TopicPartition> = []
  private readonly subscribers = new Set<Queue.Queue<AssignmentEvent, GroupError | Cause.Done>>()
  private ended: { readonly error: GroupError | undefined } | undefined
  /** Set once the membership object exists (hooks receive it). */
  membership: M | undefined

  readonly groupId: string
  private readonly hooks: Hooks<M>

  constructor(groupId: string, hooks: Hooks<M>) {
    this.groupId = groupId
    this.hooks = hooks
  }

  get owned(): ReadonlyArray<TopicPartition> {
    return this.ownedList
  }

  get isEnded(): boolean {
    return this.ended !== undefined
  }

  private runHook(name: keyof Hooks<M>, partitions: ReadonlyArray<TopicPartition>): Effect.Effect<void> {
    const hook = this.hooks[name]
    if (hook === undefined || this.membership === undefined) return Effect.void
    return Effect.uninterruptible(
      Effect.suspend(() => hook(partitions, this.membership!)).pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.void
            : Effect.logWarning(`group ${this.groupId}: ${name} hook failed; the membership goes on`, cause)
        )
      )
    )
  }

  private publish(event: AssignmentEvent): void {
    for (const q of this.subscribers) Queue.offerUnsafe(q, event)
  }

  /** Adds partitions, then runs `onAssigned` and publishes `Assigned`. */
  assign(partitions: ReadonlyArray<TopicPartition>): Effect.Effect<void> {
    return Effect.suspend(() => {
      const have = keySet(this.ownedList)
      const added = sortedPartitions(partitions.filter((tp) => !have.has(tpKey(tp.topic, tp.partition))))
      if (added.length === 0) return Effect.void
      this.ownedList = sortedPartitions([...this.ownedList, ...added])
      return Effect.andThen(this.runHook("onAssigned", added), Effect.sync(() => this.publish({ _tag: "Assigned", partitions: added })))
    })
  }

  /** Runs `onRevoked`, then removes the partitions and publishes `Revoked`. */
  revoke(partitions: ReadonlyArray<TopicPartition>): Effect.Effect<void> {
    return this.remove("onRevoked", "Revoked", partitions)
  }

  /** Runs `onLost` for every owned partition, then forgets them and publishes `Lost`. */
  lose(): Effect.Effect<void> {
    return Effect.suspend(() => this.remove("onLost", "Lost", this.ownedList))
  }

  private remove(hook: "onRevoked" | "onLost", tag: "Revoked" | "Lost", partitions: ReadonlyArray<TopicPartition>): Effect.Effect<void> {
    return Effect.suspend(() => {
      const have = keySet(this.ownedList)
      const removed = sortedPartitions(partitions.filter((tp) => have.has(tpKey(tp.topic, tp.partition))))
      if (removed.length === 0) return Effect.void
      return Effect.andThen(
        this.runHook(hook, removed),
        Effect.sync(() => {
          const drop = keySet(removed)
          this.ownedList = this.ownedList.filter((tp) => !drop.has(tpKey(tp.topic, tp.partition)))
          this.publish({ _tag: tag, partitions: removed })
        })
      )
    })
  }

  /** Ends every event stream (with `error`, if given); later subscribers end at once. */
  end(error?: GroupError): void {
    if (this.ended !== undefined) return
    this.ended = { error }
    for (const q of this.subscribers) {
      if (error === undefined) Queue.endUnsafe(q)
      else Queue.failCauseUnsafe(q, Cause.fail(error))
    }
    this.subscribers.clear()
  }

  /** The event stream: the current assignment first (if any), then every change. */
  readonly events: Stream.Stream<AssignmentEvent, GroupError> = Stream.callback<AssignmentEvent, GroupError>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        if (this.ownedList.length > 0) Queue.offerUnsafe(queue, { _tag: "Assigned", partitions: this.ownedList })
        if (this.ended !== undefined) {
          if (this.ended.error === undefined) Queue.endUnsafe(queue)
          else Queue.failCauseUnsafe(queue, Cause.fail(this.ended.error))
          return
        }
        this.subscribers.add(queue)
      }),
      () => Effect.sync(() => this.subscribers.delete(queue))
    )
  )
}
