/**
 * One-shot change listeners: what a waiting request (a Fetch or ShareFetch long poll) registers
 * on a log or a share-partition, called once at the next change and then forgotten.
 *
 * @internal
 */
export class Wakeups {
  private readonly listeners = new Set<() => void>()

  /** Calls `f` once, at the next `fire`; returns an unsubscribe. */
  on(f: () => void): () => void {
    this.listeners.add(f)
    return () => this.listeners.delete(f)
  }

  fire(): void {
    const fs = [...this.listeners]
    this.listeners.clear()
    for (const f of fs) f()
  }
}
