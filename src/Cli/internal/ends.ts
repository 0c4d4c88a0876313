/**
 * When reading up to end offsets is done, per partition. A partition is finished when a record
 * at `end - 1` (or past it) was seen, or when the consumer's position stays at or past its end
 * (the last offsets are transaction markers or compacted away, which no record reaches).
 *
 * The consumers' positions jump to the end of each fetched chunk when the chunk is pulled,
 * before its records are handled. So a position at or past the end only says that the rest of a
 * partition holds no records once it has been seen twice with no chunk handled in between.
 *
 * @internal
 */

export class Ends<K> {
  readonly finished = new Set<K>()
  readonly #ends: ReadonlyMap<K, bigint>
  #handled = 0
  readonly #seenAtEnd = new Map<K, number>()
  /** `ends`: exclusive end offset per partition key; partitions not in it have no end. */
  constructor(ends: ReadonlyMap<K, bigint>) {
    this.#ends = ends
  }
  /** Whether the partition has an end. */
  bounded(key: K): boolean {
    return this.#ends.has(key)
  }
  /** Whether a record at `offset` is before its partition's end (to be printed); notes the end. */
  admit(key: K, offset: bigint): boolean {
    const end = this.#ends.get(key)
    if (end === undefined) return true
    if (offset >= end) {
      this.finished.add(key)
      return false
    }
    if (offset + 1n >= end) this.finished.add(key)
    return true
  }
  /** A chunk was handled. */
  handled(): void {
    this.#handled++
  }
  /** Looks at the positions of partitions (default: every bounded one). */
  checkPositions(position: (key: K) => bigint | undefined, keys: Iterable<K> = this.#ends.keys()): void {
    for (const k of keys) {
      const end = this.#ends.get(k)
      if (end === undefined || this.finished.has(k)) continue
      const pos = position(k)
      if (pos === undefined || pos < end) this.#seenAtEnd.delete(k)
      else if (this.#seenAtEnd.get(k) === this.#handled) this.finished.add(k)
      else this.#seenAtEnd.set(k, this.#handled)
    }
  }
}
