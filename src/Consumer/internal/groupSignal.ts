/**
 * A coalescing wake-up between the fibers of a membership: `notify` marks it and wakes a waiter;
 * `wait` returns at once if it was marked since the last wait. Waiters re-check their state after
 * waking, so several notifications may fold into one wake-up.
 *
 * @internal
 */
import { Deferred, Effect, Exit } from "effect"
import type { Duration } from "effect"

export class Wake {
  private deferred = Deferred.makeUnsafe<void>()
  private marked = false

  notify(): void {
    this.marked = true
    Deferred.doneUnsafe(this.deferred, Exit.void)
  }

  private readonly reset = Effect.sync(() => {
    this.marked = false
    this.deferred = Deferred.makeUnsafe<void>()
  })

  /** Until notified (at once if notified since the last wait). */
  readonly wait: Effect.Effect<void> = Effect.suspend(() =>
    this.marked ? this.reset : Effect.andThen(Deferred.await(this.deferred), this.reset)
  )

  /** Until notified or `timeout` passed, whichever comes first. */
  waitAtMost(timeout: Duration.Input): Effect.Effect<void> {
    return Effect.suspend(() =>
      this.marked ? this.reset : Effect.andThen(Effect.raceFirst(Deferred.await(this.deferred), Effect.sleep(timeout)), this.reset)
    )
  }
}
