/**
 * Times written inside record payloads, for `kpax rollback --time-field`: the value is parsed
 * as JSON, URL-encoded form data (`a=1&ts=…`) or MessagePack, the field found by a dotted path
 * (`meta.createdAt`, `items.0.ts`; URL-encoded: the parameter name), and read as a time:
 *
 * - a number, or a string of digits: epoch seconds, milliseconds, microseconds or nanoseconds
 *   (`--time-unit`; `auto` picks by magnitude: below 1e11 seconds, below 1e14 milliseconds,
 *   below 1e17 microseconds, else nanoseconds);
 * - a string: RFC 3339 (`2024-05-01T10:00:00Z`), or anything `Date.parse` reads;
 * - a MessagePack timestamp.
 *
 * Plain TypeScript: runs per probed record.
 *
 * @since 0.1.0
 */
import { decodeMsgpack } from "./internal/msgpack.ts"
import { parseTime } from "./Time.ts"

export type PayloadFormat = "json" | "url" | "msgpack"
export type TimeUnit = "auto" | "s" | "ms" | "us" | "ns"

const SCALE: Record<Exclude<TimeUnit, "auto">, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 }

const fromNumber = (n: number, unit: TimeUnit): number | undefined => {
  if (!Number.isFinite(n)) return undefined
  const u = unit !== "auto" ? unit : Math.abs(n) < 1e11 ? "s" : Math.abs(n) < 1e14 ? "ms" : Math.abs(n) < 1e17 ? "us" : "ns"
  return Math.floor(n * SCALE[u])
}

/** Epoch milliseconds of a field value; `undefined` when it is not a time. */
export const timeOf = (v: unknown, unit: TimeUnit): number | undefined => {
  if (typeof v === "number") return fromNumber(v, unit)
  if (typeof v === "bigint") return fromNumber(Number(v), unit)
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime()
  if (typeof v === "string") {
    const s = v.trim()
    if (/^-?\d+(\.\d+)?$/.test(s)) return fromNumber(Number(s), unit)
    const t = parseTime(s, 0)
    if (t !== undefined && !/^[+-]/.test(s)) return t
    const d = Date.parse(s)
    return Number.isNaN(d) ? undefined : d
  }
  return undefined
}

const walk = (root: unknown, path: ReadonlyArray<string>): unknown => {
  let v = root
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined
    if (!Object.prototype.hasOwnProperty.call(v, k)) return undefined
    v = (v as Record<string, unknown>)[k]
  }
  return v
}

/** Reads a time field out of payloads. */
export interface TimeExtractor {
  /** Epoch milliseconds, or a message saying why there is none. */
  readonly extract: (value: Uint8Array | null) => number | string
}

/**
 * @example
 * ```ts
 * const t = extractor("json", "meta.ts", "auto")
 * t.extract(Buffer.from('{"meta":{"ts":1714557600}}')) // 1714557600000
 * ```
 */
export const extractor = (format: PayloadFormat, field: string, unit: TimeUnit): TimeExtractor => {
  const path = field.split(".")
  const parse = (bytes: Uint8Array): unknown => {
    if (format === "msgpack") return decodeMsgpack(bytes)
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
    if (format === "json") return JSON.parse(text)
    return new URLSearchParams(text).get(field) ?? undefined
  }
  return {
    extract: (value) => {
      if (value === null) return "the record has no value"
      let root: unknown
      try {
        root = parse(value)
      } catch (e) {
        return `the value is not ${format === "url" ? "URL-encoded" : format === "json" ? "JSON" : "MessagePack"}: ${(e as Error).message}`
      }
      const v = format === "url" ? root : walk(root, path)
      if (v === undefined) return `the value has no field ${field}`
      const t = timeOf(v, unit)
      return t === undefined ? `field ${field} (${JSON.stringify(typeof v === "bigint" ? String(v) : v)?.slice(0, 80)}) is not a time` : t
    }
  }
}
