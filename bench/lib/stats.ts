/** Small statistics over repetitions and latency samples. */

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const min = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? NaN : Math.min(...xs))
export const max = (xs: ReadonlyArray<number>): number => (xs.length === 0 ? NaN : Math.max(...xs))

/** The `q`-quantile (0..1) of sorted samples, nearest rank (as HdrHistogram / Java's perf tool). */
export const quantileSorted = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]
}

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const spread = (xs: ReadonlyArray<number>): Spread => ({ median: median(xs), min: min(xs), max: max(xs) })

/** `1,234,567` */
export const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–")

/** 3 significant digits: 1.23, 12.3, 123, 1,234 */
export const fmt3 = (n: number): string => {
  if (!Number.isFinite(n)) return "–"
  const a = Math.abs(n)
  if (a >= 1000) return fmtInt(n)
  if (a >= 100) return n.toFixed(0)
  if (a >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** `123,456 (120,000–125,000)` */
export const fmtSpread = (s: Spread, f: (n: number) => string = fmtInt): string =>
  s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`
