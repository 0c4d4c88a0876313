/**
 * The FIFO of sends blocked on buffer space (Java's `BufferPool` waiters, without the herd).
 *
 * Each waiter is a (size, value) pair in two parallel arrays read from a head index, so a push, a
 * wake and a cancel are O(1) (amortised: the consumed prefix is cut off once it is at least half
 * of the arrays). When space frees, `drain` offers the head to `take` while `take` accepts it:
 * only the waiters whose record now fits run, in arrival order, and nothing is scanned.
 * A cancelled waiter (timed out, interrupted) is only marked dead (its value cleared): `drain`
 * skips it, so a dead head never blocks the live waiters behind it.
 *
 * Memory: two array slots per waiter (a small-integer size and a pointer). Measured with
 * `npx node --expose-gc bench/producer/space-queue-memory.ts` at 1M waiters (Node 24): 20.9 bytes
 * of heap per waiter for the queue itself; 136 bytes with the producer's `{ record, resume }`
 * entry and a resume closure each. The waiting fiber (the user's `Effect.forEach` makes one per
 * send anyway) is not counted.
 *
 * @internal
 */
export class SpaceQueue<A> {
  private sizes: Array<number> = []
  private values: Array<A | undefined> = []
  /** Index of the first entry not yet taken or skipped. */
  private head = 0
  /** Entries cut off the front of the arrays so far: ticket `t` lives at index `t - dropped`. */
  private dropped = 0
  /** Live (not cancelled, not taken) waiters. */
  private live = 0

  /** Number of live waiters. */
  get length(): number {
    return this.live
  }

  /** Queues a waiter at the tail; the ticket cancels it. */
  push(size: number, value: A): number {
    this.sizes.push(size)
    this.values.push(value)
    this.live++
    return this.dropped + this.values.length - 1
  }

  /** The waiter at the head (always a live one), if any. */
  peek(): A | undefined {
    return this.head < this.values.length ? this.values[this.head] : undefined
  }

  /** Marks a waiter dead (no-op if it was already taken or cancelled). Returns whether it was live. */
  cancel(ticket: number): boolean {
    const i = ticket - this.dropped
    if (i < this.head || i >= this.values.length || this.values[i] === undefined) return false
    this.values[i] = undefined
    this.live--
    if (i === this.head) this.skipDead()
    return true
  }

  /**
   * Offers live waiters from the head to `take(size, value)`: a waiter `take` accepts (returns
   * true) leaves the queue; the first it refuses stays at the head and ends the drain.
   * Returns the number taken.
   */
  drain(take: (size: number, value: A) => boolean): number {
    let taken = 0
    while (this.head < this.values.length) {
      const v = this.values[this.head]
      if (v === undefined) {
        this.head++
        continue
      }
      if (!take(this.sizes[this.head], v)) break
      this.values[this.head] = undefined
      this.head++
      this.live--
      taken++
    }
    this.compact()
    return taken
  }

  private skipDead(): void {
    while (this.head < this.values.length && this.values[this.head] === undefined) this.head++
    this.compact()
  }

  private compact(): void {
    const head = this.head
    if (head === this.values.length) {
      // empty: start over with fresh arrays (drops the memory of a past burst)
      if (head > 0) {
        this.dropped += head
        this.head = 0
        this.sizes = []
        this.values = []
      }
      return
    }
    if (head >= 1024 && head * 2 >= this.values.length) {
      this.dropped += head
      this.sizes = this.sizes.slice(head)
      this.values = this.values.slice(head)
      this.head = 0
    }
  }
}
