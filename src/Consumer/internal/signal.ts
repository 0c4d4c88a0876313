/**
 * A wake-up signal between fibers: waiters take `current` *before* checking their condition,
 * then await it; `notify` completes it. No lost wake-ups, no allocation while nobody waits.
 *
 * @internal
 */
import { Deferred, Exit } from "effect"

export class Signal {
  private deferred = Deferred.makeUnsafe<void>()
  private watched = false

  /** The signal to await after checking the condition. */
  get current(): Deferred.Deferred<void> {
    this.watched = true
    return this.deferred
  }

  notify(): void {
    if (!this.watched) return
    const d = this.deferred
    this.deferred = Deferred.makeUnsafe<void>()
    this.watched = false
    Deferred.doneUnsafe(d, Exit.void)
  }
}
