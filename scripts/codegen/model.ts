// Reads Kafka's JSON message definitions into a small model the emitter works from.
// See messages/README.md in the definitions folder for the format.
import * as fs from "node:fs"
import * as path from "node:path"

/** Highest version number a "N+" range can reach (Kafka versions are int16). */
export const MAX_VERSION = 0x7fff

/** An inclusive version range; empty when `lo > hi`. */
export interface Range {
  readonly lo: number
  readonly hi: number
}
export const EMPTY: Range = { lo: 1, hi: 0 }
export const isEmpty = (r: Range): boolean => r.lo > r.hi
export const intersect = (a: Range, b: Range): Range =>
  isEmpty(a) || isEmpty(b) ? EMPTY : { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) }
export const hull = (a: Range, b: Range): Range =>
  isEmpty(a) ? b : isEmpty(b) ? a : { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) }
export const covers = (outer: Range, inner: Range): boolean =>
  isEmpty(inner) || (!isEmpty(outer) && outer.lo <= inner.lo && outer.hi >= inner.hi)
export const contains = (r: Range, v: number): boolean => r.lo <= v && v <= r.hi

export const parseRange = (s: string | undefined, what: string): Range => {
  if (s === undefined || s === "none") return EMPTY
  let m = /^(\d+)\+$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: MAX_VERSION }
  m = /^(\d+)-(\d+)$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) }
  m = /^(\d+)$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) }
  throw new Error(`${what}: bad version range ${JSON.stringify(s)}`)
}

export type Prim =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "string"
  | "bytes"
  | "uuid"
  | "records"

const PRIMS: ReadonlySet<string> = new Set([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "bytes",
  "uuid",
  "records"
])

export type Type =
  | { readonly kind: "prim"; readonly prim: Prim }
  | { readonly kind: "struct"; readonly struct: string }
  | { readonly kind: "array"; readonly elem: Type }

/** A field's default, already parsed for its type. */
export type Default =
  | { readonly kind: "null" }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "bigint"; readonly value: bigint }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "bytes" } // empty
  | { readonly kind: "uuid" } // zero uuid
  | { readonly kind: "array" } // empty
  | { readonly kind: "struct"; readonly struct: string } // every field at its default

export interface Field {
  /** Kafka's name, e.g. `TopicId`. */
  readonly name: string
  /** The TypeScript property name, e.g. `topicId`. */
  readonly prop: string
  readonly type: Type
  readonly versions: Range
  readonly nullable: Range
  readonly tag: number | undefined
  readonly tagged: Range
  readonly ignorable: boolean
  readonly explicitDefault: boolean
  readonly default: Default
  /** A field-level `flexibleVersions` override (only the request header's ClientId has one). */
  readonly flexible: Range | undefined
}

export interface Struct {
  /** Kafka's struct name (`MetadataResponseTopic`) or the message name for the root. */
  readonly name: string
  /** The exported TypeScript identifier, unique across all generated files. */
  id: string
  readonly fields: Array<Field>
  /** The hull of the versions in which this struct can appear on the wire. */
  reach: Range
}

export interface Message {
  /** `MetadataRequest`, `ConsumerProtocolSubscription`, ... */
  readonly name: string
  readonly apiKey: number | undefined
  /** The highest valid version is still being defined (`latestVersionUnstable`): never offered to brokers. */
  readonly latestVersionUnstable: boolean
  readonly type: "request" | "response" | "data" | "header"
  readonly valid: Range
  readonly flexible: Range
  readonly root: Struct
  /** Every struct, the root included, children before parents. */
  readonly structs: Array<Struct>
  /** Fields are optional in the TypeScript type (encoded by the client: requests and data). */
  readonly optionalFields: boolean
}

/** Strips `//` comments (outside strings) from Kafka's commented JSON. */
export const stripComments = (text: string): string =>
  text
    .split("\n")
    .map((line) => {
      let inString = false
      for (let i = 0; i < line.length; i++) {
        const c = line[i]
        if (c === "\\" && inString) {
          i++
          continue
        }
        if (c === "\"") inString = !inString
        else if (!inString && c === "/" && line[i + 1] === "/") return line.slice(0, i)
      }
      return line
    })
    .join("\n")

export const readDefinition = (dir: string, file: string): any =>
  JSON.parse(stripComments(fs.readFileSync(path.join(dir, file), "utf8")))

export const camel = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1)

const parseType = (t: string): Type => {
  if (t.startsWith("[]")) return { kind: "array", elem: parseType(t.slice(2)) }
  if (PRIMS.has(t)) return { kind: "prim", prim: t as Prim }
  return { kind: "struct", struct: t }
}

const parseIntDefault = (raw: unknown, what: string): number => {
  const s = String(raw).trim()
  const v = /^-?0x[0-9a-f]+$/i.test(s)
    ? (s.startsWith("-") ? -parseInt(s.slice(3), 16) : parseInt(s.slice(2), 16))
    : Number(s)
  if (!Number.isFinite(v)) throw new Error(`${what}: bad numeric default ${JSON.stringify(raw)}`)
  return v
}

const parseDefault = (raw: unknown, type: Type, what: string): Default => {
  if (raw === "null") return { kind: "null" }
  if (type.kind === "array") {
    if (raw !== undefined) throw new Error(`${what}: arrays only take a "null" default`)
    return { kind: "array" }
  }
  if (type.kind === "struct") {
    if (raw !== undefined) throw new Error(`${what}: structs only take a "null" default`)
    return { kind: "struct", struct: type.struct }
  }
  switch (type.prim) {
    case "bool":
      return { kind: "bool", value: raw === undefined ? false : raw === true || raw === "true" }
    case "int8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32":
    case "float64":
      return { kind: "number", value: raw === undefined ? 0 : parseIntDefault(raw, what) }
    case "int64":
      // decimal int64 defaults exactly (Long.MAX_VALUE does not survive a trip through a double)
      return {
        kind: "bigint",
        value: raw === undefined ? 0n : /^-?[0-9]+$/.test(String(raw).trim()) ? BigInt(String(raw).trim()) : BigInt(parseIntDefault(raw, what))
      }
    case "string":
      return { kind: "string", value: raw === undefined ? "" : String(raw) }
    case "bytes":
      if (raw !== undefined) throw new Error(`${what}: bytes only take a "null" default`)
      return { kind: "bytes" }
    case "uuid":
      if (raw !== undefined) throw new Error(`${what}: uuids take no default`)
      return { kind: "uuid" }
    case "records":
      return { kind: "null" }
  }
}

/** Parses one message definition (already comment-stripped JSON). */
export const parseMessage = (json: any): Message => {
  const name: string = json.name
  const valid = parseRange(json.validVersions, name)
  const flexible = intersect(parseRange(json.flexibleVersions, `${name}.flexibleVersions`), valid)
  const byName = new Map<string, Struct>()
  const order: Array<Struct> = []

  const parseStruct = (sname: string, fieldsJson: Array<any>): Struct => {
    if (byName.has(sname)) throw new Error(`${name}: duplicate struct ${sname}`)
    const s: Struct = { name: sname, id: sname, fields: [], reach: EMPTY }
    byName.set(sname, s)
    for (const fj of fieldsJson) {
      const what = `${name}.${sname}.${fj.name}`
      const type = parseType(fj.type)
      const base = type.kind === "array" ? type.elem : type
      if (base.kind === "struct" && fj.fields !== undefined) parseStruct(base.struct, fj.fields)
      const versions = parseRange(fj.versions, what)
      const tagged = parseRange(fj.taggedVersions, what)
      if (fj.tag !== undefined && isEmpty(tagged)) throw new Error(`${what}: tag without taggedVersions`)
      if (fj.tag === undefined && !isEmpty(tagged)) throw new Error(`${what}: taggedVersions without tag`)
      if (fj.tag !== undefined && (tagged.lo !== versions.lo || tagged.hi !== versions.hi)) {
        throw new Error(`${what}: tagged versions differing from versions are not supported`)
      }
      const nullable = parseRange(fj.nullableVersions, what)
      if (!isEmpty(nullable) && base.kind === "prim" && type.kind !== "array") {
        if (!["string", "bytes", "records"].includes(base.prim)) {
          throw new Error(`${what}: nullable ${base.prim} is not supported`)
        }
      }
      const field: Field = {
        name: fj.name,
        prop: camel(fj.name),
        type,
        versions,
        nullable: type.kind === "prim" && type.prim === "records" && isEmpty(nullable) ? versions : nullable,
        tag: fj.tag,
        tagged,
        ignorable: fj.ignorable === true,
        explicitDefault: fj.default !== undefined,
        default: parseDefault(fj.default, type, what),
        flexible: fj.flexibleVersions === undefined ? undefined : parseRange(fj.flexibleVersions, what)
      }
      if (field.default.kind === "null" && isEmpty(intersect(nullable, versions)) && !isEmpty(versions)) {
        if (!(type.kind === "prim" && type.prim === "records")) {
          throw new Error(`${what}: null default on a field that is never nullable`)
        }
      }
      s.fields.push(field)
    }
    order.push(s)
    return s
  }

  // commonStructs first (they may be referenced by name from anywhere in the message)
  for (const cs of json.commonStructs ?? []) parseStruct(cs.name, cs.fields)
  const root = parseStruct(name, json.fields ?? [])

  // reachability: the versions in which each struct can appear
  root.reach = valid
  for (let changed = true; changed;) {
    changed = false
    for (const s of order) {
      for (const f of s.fields) {
        const base = f.type.kind === "array" ? f.type.elem : f.type
        if (base.kind !== "struct") continue
        const child = byName.get(base.struct)
        if (child === undefined) throw new Error(`${name}: unknown struct ${base.struct}`)
        const next = hull(child.reach, intersect(f.versions, s.reach))
        if (next.lo !== child.reach.lo || next.hi !== child.reach.hi) {
          child.reach = next
          changed = true
        }
      }
    }
  }

  // topological order: children before parents
  const sorted: Array<Struct> = []
  const seen = new Set<string>()
  const visit = (s: Struct) => {
    if (seen.has(s.name)) return
    seen.add(s.name)
    for (const f of s.fields) {
      const base = f.type.kind === "array" ? f.type.elem : f.type
      if (base.kind === "struct") visit(byName.get(base.struct)!)
    }
    sorted.push(s)
  }
  visit(root)
  for (const s of order) visit(s) // unreferenced common structs, if any

  // identifiers: keep names that already start with the message name (MetadataResponseTopic);
  // ListOffsetsPartition in ListOffsetsRequest becomes ListOffsetsRequestPartition; others are
  // prefixed with the message name (TopicPartition → ConsumerProtocolSubscriptionTopicPartition)
  const apiName = name.replace(/(Request|Response)$/, "")
  for (const s of sorted) {
    s.id = s === root || s.name.startsWith(name)
      ? s.name
      : apiName !== name && s.name.startsWith(apiName) && s.name !== apiName
      ? name + s.name.slice(apiName.length)
      : name + s.name
  }

  const type = json.type as Message["type"]
  return {
    name,
    apiKey: json.apiKey,
    latestVersionUnstable: json.latestVersionUnstable === true,
    type,
    valid,
    flexible,
    root,
    structs: sorted,
    optionalFields: type === "request" || type === "data" || type === "header"
  }
}

export const structOf = (m: Message, name: string): Struct => {
  const s = m.structs.find((x) => x.name === name)
  if (s === undefined) throw new Error(`${m.name}: unknown struct ${name}`)
  return s
}
