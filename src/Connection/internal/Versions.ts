/**
 * The broker's supported version ranges (from ApiVersions) and the choice of version per request.
 *
 * @internal
 */
import type { AnyApi } from "../../Protocol/Api.ts"

export interface VersionRange {
  readonly min: number
  readonly max: number
}

export interface ApiVersionEntry {
  readonly apiKey: number
  readonly minVersion: number
  readonly maxVersion: number
}

/** Outcome of a version choice: a version ≥ 0, or -1 when there is none in common. */
export class VersionTable {
  readonly ranges: ReadonlyMap<number, VersionRange>

  constructor(entries: Iterable<ApiVersionEntry>) {
    const ranges = new Map<number, VersionRange>()
    for (const e of entries) ranges.set(e.apiKey, { min: e.minVersion, max: e.maxVersion })
    this.ranges = ranges
  }

  /** Highest version both sides support, or `forced` if both sides accept it; -1 if none. */
  pick(api: AnyApi, forced?: number): number {
    const range = this.ranges.get(api.key)
    if (range === undefined) return -1
    const lo = Math.max(api.minVersion, range.min)
    const hi = Math.min(api.maxVersion, range.max)
    if (forced !== undefined) return forced >= lo && forced <= hi ? forced : -1
    return hi >= lo ? hi : -1
  }
}
