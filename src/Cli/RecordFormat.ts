/**
 * How `consume` and `tail` print records. Plain TypeScript: runs per record.
 *
 * - `raw` (default): the value, preceded by the fields toggled on (`--partition`, `--offset`,
 *   `--timestamp`, `--key`, `--headers`, in that order), separated by a tab;
 * - `json`: one object per line: `value` and the toggled fields, or every field
 *   (`topic partition offset timestamp key headers value`, and `deliveryCount` for share-group
 *   records) when none is toggled;
 * - a template (`--template '{{partition}}/{{offset}} {{key}}={{value}}'`): placeholders `topic`,
 *   `partition`, `offset`, `timestamp` (epoch ms), `time` (RFC 3339), `key`, `value`, `headers`,
 *   `header.<name>`, `deliveryCount` (share groups; empty otherwise); `\n` and `\t` are newline and tab.
 *
 * Keys, values and header values are written as UTF-8 text, or `--encoding base64|hex`.
 * A missing key or value (null) is empty in `raw` and templates, `null` in `json`.
 *
 * @since 0.1.0
 */
import type { ConsumerRecord } from "../Consumer/Record.ts"
import { toJsonLine } from "./Output.ts"
import { formatTime } from "./Time.ts"

export type Encoding = "utf8" | "base64" | "hex"

export interface FormatOptions {
  readonly format: "raw" | "json"
  readonly template: string | undefined
  readonly encoding: Encoding
  readonly key: boolean
  readonly headers: boolean
  readonly timestamp: boolean
  readonly partition: boolean
  readonly offset: boolean
}

const text = (bytes: Uint8Array | null, encoding: Encoding): string | null =>
  bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding)

const headersText = (r: ConsumerRecord, encoding: Encoding): string => {
  let out = ""
  for (const h of r.headers) out += (out === "" ? "" : ",") + h.key + "=" + (text(h.value, encoding) ?? "")
  return out
}

type Part = string | ((r: ConsumerRecord) => string)

const FIELDS = new Set(["topic", "partition", "offset", "timestamp", "time", "key", "value", "headers", "deliveryCount"])

/** A share-group record's delivery count (`consume --share-group`), else `undefined`. */
const deliveryCount = (r: ConsumerRecord): number | undefined => (r as { readonly deliveryCount?: number }).deliveryCount

/** A template's parts; an unknown placeholder is an error message. */
export const compileTemplate = (template: string, encoding: Encoding): ReadonlyArray<Part> | string => {
  const unescaped = template.replace(/\\([nt\\])/g, (_m, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\"))
  const parts: Array<Part> = []
  let last = 0
  for (const m of unescaped.matchAll(/\{\{\s*([\w.-]+)\s*\}\}/g)) {
    parts.push(unescaped.slice(last, m.index))
    last = m.index + m[0].length
    const name = m[1]!
    if (name.startsWith("header.")) {
      const key = name.slice("header.".length)
      parts.push((r) => {
        const h = r.headers.find((x) => x.key === key)
        return h === undefined ? "" : text(h.value, encoding) ?? ""
      })
      continue
    }
    if (!FIELDS.has(name)) return `unknown template field {{${name}}} (known: ${[...FIELDS].join(", ")}, header.<name>)`
    parts.push(
      name === "topic" ? (r) => r.topic
        : name === "partition" ? (r) => String(r.partition)
        : name === "offset" ? (r) => String(r.offset)
        : name === "timestamp" ? (r) => String(r.timestamp)
        : name === "time" ? (r) => formatTime(r.timestamp)
        : name === "key" ? (r) => text(r.key, encoding) ?? ""
        : name === "value" ? (r) => text(r.value, encoding) ?? ""
        : name === "deliveryCount" ? (r) => String(deliveryCount(r) ?? "")
        : (r) => headersText(r, encoding)
    )
  }
  parts.push(unescaped.slice(last))
  return parts.filter((p) => p !== "")
}

/**
 * The line printer for records (without the newline); an error message for a bad template.
 *
 * @example
 * ```ts
 * const print = formatter({ format: "raw", template: undefined, encoding: "utf8", key: true, … })
 * ```
 */
export const formatter = (o: FormatOptions): ((r: ConsumerRecord) => string) | string => {
  if (o.template !== undefined) {
    const parts = compileTemplate(o.template, o.encoding)
    if (typeof parts === "string") return parts
    return (r) => {
      let out = ""
      for (const p of parts) out += typeof p === "string" ? p : p(r)
      return out
    }
  }
  const enc = o.encoding
  if (o.format === "json") {
    const all = !o.key && !o.headers && !o.timestamp && !o.partition && !o.offset
    return (r) => {
      const j: Record<string, unknown> = {}
      if (all) j.topic = r.topic
      if (all || o.partition) j.partition = r.partition
      if (all || o.offset) j.offset = r.offset
      if (all || o.timestamp) j.timestamp = r.timestamp
      if (all || o.key) j.key = text(r.key, enc)
      if (all || o.headers) j.headers = r.headers.map((h) => ({ key: h.key, value: text(h.value, enc) }))
      if (all && deliveryCount(r) !== undefined) j.deliveryCount = deliveryCount(r)
      j.value = text(r.value, enc)
      return toJsonLine(j)
    }
  }
  return (r) => {
    let out = ""
    if (o.partition) out += r.partition + "\t"
    if (o.offset) out += r.offset + "\t"
    if (o.timestamp) out += formatTime(r.timestamp) + "\t"
    if (o.key) out += (text(r.key, enc) ?? "") + "\t"
    if (o.headers) out += headersText(r, enc) + "\t"
    return out + (text(r.value, enc) ?? "")
  }
}
