/**
 * Protobuf for registry serdes (protobufjs: it parses the `.proto` text the registry stores at
 * run time). The record names its message by the Confluent message-index path after the schema
 * id; imports of other subjects come in as references (by their import path).
 *
 * Compiled per schema id once; per record one protobufjs `encode` / `decode` + `toObject`.
 *
 * @since 0.1.0
 */
import protobuf from "protobufjs"
import { type Codec, definitionOf, type Format, type ResolvedReference } from "./internal/format.ts"
import { encodeIndexes } from "./internal/wire.ts"
import type { SchemaReference } from "./SchemaRegistry.ts"

/**
 * A Protobuf format.
 *
 * @since 0.1.0
 */
export interface ProtobufFormat<A> extends Format<A> {
  readonly schemaType: "PROTOBUF"
}

/**
 * How decoded messages become plain objects (protobufjs `toObject` options); by default int64
 * as strings, enums as names, default values filled in.
 *
 * @since 0.1.0
 */
export type ToObjectOptions = protobuf.IConversionOptions

const defaultToObject: ToObjectOptions = { longs: String, enums: String, defaults: true }

/** The messages a file declares, in order, with their full names: index paths name them. */
const fileMessages = (schema: string) => {
  const parsed = protobuf.parse(schema, { keepCase: true })
  const top = parsed.package === undefined ? parsed.root : parsed.root.lookup(parsed.package)
  const messages = (ns: protobuf.ReflectionObject | null): Array<protobuf.Type> =>
    ns instanceof protobuf.Namespace ? ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type) : []
  return { parsed, top: messages(top), nested: (t: protobuf.Type) => messages(t) }
}

const LONGS = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"])

/**
 * Accepts the plain-object forms `toObject` produces — int64 as decimal strings, enums by name —
 * by converting exactly those (a string that is not an integer, or not a name of the enum, is left
 * for `verify` to reject); everything else is checked by `verify` as it is. Copies only what it changes.
 */
const normalize = (type: protobuf.Type, value: unknown): unknown => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value
  const record = value as Record<string, unknown>
  let out = record
  for (const field of type.fieldsArray) {
    const v = record[field.name]
    if (v === undefined || v === null) continue
    const one = (x: unknown): unknown => {
      const resolved = field.resolve().resolvedType
      if (resolved instanceof protobuf.Type) return normalize(resolved, x)
      if (resolved instanceof protobuf.Enum) return typeof x === "string" && x in resolved.values ? resolved.values[x] : x
      if (LONGS.has(field.type) && typeof x === "string" && /^-?\d+$/.test(x)) {
        return (protobuf.util.Long as unknown as { fromString: (s: string, unsigned: boolean) => unknown }).fromString(x, field.type === "uint64" || field.type === "fixed64")
      }
      return x
    }
    const next = field.map && typeof v === "object"
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, one(x)]))
      : field.repeated && Array.isArray(v) ? v.map(one) : one(v)
    if (next !== v) {
      if (out === record) out = { ...record }
      out[field.name] = next
    }
  }
  return out
}

const fullName = (t: protobuf.Type) => t.fullName.replace(/^\./, "")

const pathOf = (schema: string, messageName: string | undefined): { readonly name: string; readonly indexes: Array<number> } => {
  const { top, nested } = fileMessages(schema)
  if (top.length === 0) throw new Error("the Protobuf schema declares no message")
  if (messageName === undefined) return { name: fullName(top[0]!), indexes: [0] }
  const search = (list: Array<protobuf.Type>, prefix: Array<number>): { name: string; indexes: Array<number> } | undefined => {
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!
      if (fullName(t) === messageName || t.name === messageName) return { name: fullName(t), indexes: [...prefix, i] }
      const inner = search(nested(t), [...prefix, i])
      if (inner !== undefined) return inner
    }
    return undefined
  }
  const found = search(top, [])
  if (found === undefined) throw new Error(`the Protobuf schema has no message ${messageName}`)
  return found
}

const nameAt = (schema: string, indexes: ReadonlyArray<number>): string => {
  const { top, nested } = fileMessages(schema)
  let list = top
  let t: protobuf.Type | undefined
  for (const i of indexes) {
    t = list[i]
    if (t === undefined) throw new Error(`no message at index path [${indexes.join(", ")}]`)
    list = nested(t)
  }
  if (t === undefined) throw new Error("an empty message index path")
  return fullName(t)
}

const rootOf = (schema: string, references: ReadonlyArray<ResolvedReference>): protobuf.Root => {
  const root = new protobuf.Root()
  for (const r of references) protobuf.parse(r.definition.schema, root, { keepCase: true })
  protobuf.parse(schema, root, { keepCase: true })
  root.resolveAll()
  return root
}

/**
 * A Protobuf format from `.proto` text; `messageName` picks the message (default: the file's
 * first). Without a schema it reads any Protobuf record with its writer's schema.
 *
 * @example
 * ```ts
 * import * as Protobuf from "kpax/SchemaRegistry/Protobuf"
 *
 * const User = Protobuf.format<{ name: string }>(
 *   `syntax = "proto3"; package example; message User { string name = 1; }`
 * )
 * ```
 *
 * @since 0.1.0
 */
export const format = <A = unknown>(
  schema?: string | undefined,
  options: {
    readonly messageName?: string | undefined
    readonly references?: ReadonlyArray<SchemaReference> | undefined
    readonly toObject?: ToObjectOptions | undefined
  } = {}
): ProtobufFormat<A> => {
  const definition = definitionOf("PROTOBUF", schema, options.references)
  const conversion = options.toObject ?? defaultToObject
  return {
    schemaType: "PROTOBUF",
    definition,
    recordName: (d) => pathOf(d.schema, d.schema === definition?.schema ? options.messageName : undefined).name,
    compile: (d, references): Codec => {
      const root = rootOf(d.schema, references)
      const writer = pathOf(d.schema, d.schema === definition?.schema ? options.messageName : undefined)
      const writerType = root.lookupType(writer.name)
      const byPath = new Map<string, protobuf.Type>([[writer.indexes.join(","), writerType]])
      const typeAt = (indexes: ReadonlyArray<number>): protobuf.Type => {
        const key = indexes.join(",")
        let t = byPath.get(key)
        if (t === undefined) {
          t = root.lookupType(nameAt(d.schema, indexes))
          byPath.set(key, t)
        }
        return t
      }
      return {
        indexBytes: encodeIndexes(writer.indexes),
        encode: (value) => {
          const message = normalize(writerType, value)
          const problem = writerType.verify(message as Record<string, unknown>)
          if (problem !== null) throw new Error(`the value does not match ${writer.name}: ${problem}`)
          return writerType.encode(writerType.fromObject(message as Record<string, unknown>)).finish()
        },
        decode: (payload, indexes) => {
          const type = typeAt(indexes ?? [0])
          return type.toObject(type.decode(payload), conversion)
        }
      }
    }
  }
}
