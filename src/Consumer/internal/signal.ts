/**
 * A wake-up signal between fibers: waiters take `current` *before* checking their condition,
 * then await it; `notify` completes it. No lost wake-ups, no allocation while nobody waits.
 *
 * Completing a `Deferred` resumes its waiters synchronously, inside the caller's stack; `notify`
 * completes it on a microtask instead, so that a waiter never runs in the middle of the code that
 * notified it (e.g. the dispatch loop inside `assign`, or a reader inside response handling).
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
    queueMicrotask(() => {
      Deferred.doneUnsafe(d, Exit.void)
    })
  }
}
