/**
 * Time for the in-memory cluster: the current time and one-shot timers, both on the Effect
 * `Clock` of the context the cluster was made in (a `TestClock` in `it.effect` tests, so timers
 * fire when the test adjusts the clock, never by real sleeping).
 *
 * @internal
 */
import { Effect } from "effect"
import type { Clock, Context, Fiber } from "effect"

export interface Timer {
  readonly cancel: () => void
}

export class Scheduler {
  private readonly fibers = new Set<Fiber.Fiber<void>>()
  private readonly runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  private readonly clock: Clock.Clock
  private closed = false

  constructor(context: Context.Context<never>, clock: Clock.Clock) {
    this.runFork = Effect.runForkWith(context)
    this.clock = clock
  }

  /** Milliseconds since the epoch, by the cluster's clock. */
  now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  /** Runs `f` once, `delayMs` from now; `cancel` prevents it. */
  after(delayMs: number, f: () => void): Timer {
    if (this.closed) return { cancel: () => {} }
    let fiber: Fiber.Fiber<void> | undefined = undefined
    let done = false
    fiber = this.runFork(
      Effect.sleep(Math.max(0, delayMs)).pipe(
        Effect.andThen(Effect.sync(() => {
          done = true
          if (fiber !== undefined) this.fibers.delete(fiber)
          f()
        }))
      )
    )
    if (!done) this.fibers.add(fiber)
    return {
      cancel: () => {
        if (done || fiber === undefined) return
        done = true
        this.fibers.delete(fiber)
        fiber.interruptUnsafe()
      }
    }
  }

  /** Runs an effect in the background, in the cluster's context; stopped with the cluster. */
  run(effect: Effect.Effect<void>): void {
    if (this.closed) return
    const fiber = this.runFork(effect)
    this.fibers.add(fiber)
    fiber.addObserver(() => this.fibers.delete(fiber))
  }

  /** Stops every pending timer (the cluster's scope is closing). */
  shutdown(): void {
    this.closed = true
    for (const f of this.fibers) f.interruptUnsafe()
    this.fibers.clear()
  }
}
