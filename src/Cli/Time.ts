/**
 * Times and durations as operators type them.
 *
 * - durations: `500ms`, `10s`, `5m`, `1h30m`, `2d`, `1w` (units `ms s m h d w`, combinable);
 * - positions (`--start`, `--end`, `--to`):
 *   `earliest`, `latest`, `now`,
 *   a time relative to now: `-1h`, `-30m`, `+10s`, `-1d12h`,
 *   an RFC 3339 time: `2024-05-01T10:00:00Z`, `2024-05-01T12:00:00.250+02:00`, `2024-05-01`
 *   (midnight UTC), `2024-05-01 10:00:00` (UTC),
 *   epoch milliseconds: `@1714557600000`,
 *   an offset: a bare integer `42` (same offset in every partition).
 *
 * @since 0.1.0
 */

/** Where to start or stop reading a partition. */
export type Position =
  | { readonly _tag: "earliest" }
  | { readonly _tag: "latest" }
  | { readonly _tag: "time"; readonly ms: number }
  | { readonly _tag: "offset"; readonly offset: bigint }

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g

/**
 * Milliseconds of a duration such as `10s` or `1h30m`; `undefined` when it does not parse.
 *
 * @example
 * ```ts
 * parseDuration("1h30m") // 5_400_000
 * ```
 */
export const parseDuration = (text: string): number | undefined => {
  const s = text.trim()
  if (!DURATION.test(s)) return undefined
  let total = 0
  for (const m of s.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!
  return Math.round(total)
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|z|[+-]\d{2}:?\d{2})?)?$/

/**
 * Epoch milliseconds of an absolute or relative time (`now`, `-1h`, RFC 3339, `@ms`);
 * `undefined` when it does not parse.
 *
 * @example
 * ```ts
 * parseTime("2024-05-01T10:00:00Z", Date.now()) // 1714557600000
 * parseTime("-1h", now)                         // now - 3_600_000
 * ```
 */
export const parseTime = (text: string, now: number): number | undefined => {
  const s = text.trim()
  if (s === "now") return now
  if (s.startsWith("@")) {
    const ms = s.slice(1)
    return /^\d+$/.test(ms) ? Number(ms) : undefined
  }
  const rel = /^(now)?([+-])(.+)$/.exec(s)
  if (rel !== null && !RFC3339.test(s)) {
    const d = parseDuration(rel[3]!)
    if (d === undefined) return undefined
    return rel[2] === "-" ? now - d : now + d
  }
  if (!RFC3339.test(s)) return undefined
  let iso = s.replace(" ", "T")
  // Date-only and zone-less times are UTC (Date.parse would take zone-less date-times as local).
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += "T00:00:00Z"
  else if (!/(?:Z|z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += "Z"
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * A reading position: `earliest`, `latest`, an offset (bare integer) or a time.
 *
 * @example
 * ```ts
 * parsePosition("-1h", Date.now()) // { _tag: "time", ms: … }
 * ```
 */
export const parsePosition = (text: string, now: number): Position | undefined => {
  const s = text.trim().toLowerCase()
  if (s === "earliest" || s === "oldest" || s === "beginning") return { _tag: "earliest" }
  if (s === "latest" || s === "newest" || s === "end") return { _tag: "latest" }
  if (/^\d+$/.test(s)) return { _tag: "offset", offset: BigInt(s) }
  const ms = parseTime(text, now)
  return ms === undefined ? undefined : { _tag: "time", ms }
}

/** RFC 3339 in UTC with milliseconds. */
export const formatTime = (ms: number): string => (Number.isFinite(ms) && ms >= 0 ? new Date(ms).toISOString() : String(ms))
