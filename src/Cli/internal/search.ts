/**
 * Binary search over a partition's offsets for the first record whose time is at or after a
 * target, reading single records at probe offsets.
 *
 * Assumes the times are monotone (non-decreasing) in offset order within the partition — true
 * of a time field set by a single producer from a clock, or of broker append times. Where they
 * are not, the search still ends, at an offset where an earlier record is at or after the
 * target and a later one before it.
 *
 * `probe(o, hi)` returns the first record with an offset in `[o, hi)` and its time, or
 * `undefined` when there is none (offsets compacted away, transaction markers). About
 * `log2(hi - lo)` probes.
 *
 * @internal
 */
import { Effect } from "effect"

export interface Probed {
  readonly offset: bigint
  readonly time: number
}

/**
 * The offset to start reading at so that the first record read is the first one at or after
 * `target`: `hi` when every record is before it.
 *
 * @example
 * ```ts
 * const offset = yield* searchOffset(0n, 1000n, Date.parse("2024-05-01T00:00:00Z"), probe)
 * ```
 */
export const searchOffset = <E, R>(
  lo: bigint,
  hi: bigint,
  target: number,
  probe: (offset: bigint, hi: bigint) => Effect.Effect<Probed | undefined, E, R>
): Effect.Effect<bigint, E, R> =>
  Effect.gen(function*() {
    // Invariant: every record below `lo` is before the target; the first record at or after
    // `hi` (if any) is at or after it, or `hi` is the end.
    while (lo < hi) {
      const mid = lo + (hi - lo) / 2n
      const r = yield* probe(mid, hi)
      if (r !== undefined && r.time < target) lo = r.offset + 1n
      else hi = mid
    }
    return lo
  })
