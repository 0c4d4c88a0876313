/**
 * Derives an Avro schema from an Effect Schema's encoded side, once, at definition time:
 * structs → records (named by the `identifier` or `title` annotation, else `Record<n>`), strings,
 * booleans, numbers (`double`; integers → `long`), bigints → `long`, literals → enums (all
 * strings) or their base type, arrays, string-keyed records → maps, `Uint8Array` → bytes,
 * `NullOr`/optional → `["null", T]` with default null, other unions → Avro unions.
 */
import * as SchemaAST from "effect/SchemaAST"

export type AvroSchema = string | ReadonlyArray<AvroSchema> | { readonly [k: string]: unknown }

const isInt = (ast: SchemaAST.AST): boolean =>
  (ast.checks ?? []).some((c: any) => c.annotations?.representation?.id === "effect/schema/isInt" || c.annotations?.arbitraryConstraint?.number === "integer")

const named = (ast: SchemaAST.AST): string | undefined => {
  const a = ast.annotations as { identifier?: unknown; title?: unknown } | undefined
  const n = typeof a?.identifier === "string" ? a.identifier : typeof a?.title === "string" ? a.title : undefined
  return n?.replace(/[^A-Za-z0-9_.]/g, "_")
}

export const fromAst = (root: SchemaAST.AST, options: { readonly namespace?: string | undefined } = {}): AvroSchema => {
  let counter = 0
  const seen = new Map<SchemaAST.AST, string>()
  const nullable = (t: AvroSchema): AvroSchema => (Array.isArray(t) ? (t.includes("null") ? t : ["null", ...t]) : ["null", t])
  const go = (input: SchemaAST.AST, hint: string): AvroSchema => {
    const ast = SchemaAST.toEncoded(input)
    const done = seen.get(ast)
    if (done !== undefined) return done
    switch (ast._tag) {
      case "String":
        return "string"
      case "Boolean":
        return "boolean"
      case "Number":
        return isInt(ast) ? "long" : "double"
      case "BigInt":
        return "long"
      case "Null":
        return "null"
      case "Literal":
        return typeof ast.literal === "string"
          ? { type: "enum", name: named(ast) ?? `${hint}Enum`, symbols: [ast.literal] }
          : typeof ast.literal === "number" ? "double" : typeof ast.literal === "boolean" ? "boolean" : "long"
      case "Declaration": {
        const id = (ast.annotations as any)?.representation?.id
        if (id === "effect/schema/Uint8Array") return "bytes"
        throw new Error(`no Avro type for ${id ?? "a declared type"}`)
      }
      case "Arrays":
        if (ast.elements.length > 0 || ast.rest.length !== 1) throw new Error("tuples have no Avro type")
        return { type: "array", items: go(ast.rest[0]!, `${hint}Item`) }
      case "Objects": {
        if (ast.propertySignatures.length === 0 && ast.indexSignatures.length === 1) {
          return { type: "map", values: go(ast.indexSignatures[0]!.type, `${hint}Value`) }
        }
        const name = named(ast) ?? `Record${++counter}`
        const full = options.namespace === undefined || name.includes(".") ? name : `${options.namespace}.${name}`
        seen.set(ast, full)
        const fields = ast.propertySignatures.map((p) => {
          const optional = p.type.context?.isOptional === true
          const t = go(p.type, name + String(p.name).replace(/^./, (c) => c.toUpperCase()))
          return optional
            ? { name: String(p.name), type: nullable(t), default: null }
            : { name: String(p.name), type: t }
        })
        return { type: "record", name, ...(options.namespace === undefined || name.includes(".") ? {} : { namespace: options.namespace }), fields }
      }
      case "Union": {
        const members = ast.types.map((t) => SchemaAST.toEncoded(t))
        if (members.length > 0 && members.every((t) => t._tag === "Literal" && typeof t.literal === "string")) {
          return { type: "enum", name: named(ast) ?? `${hint}Enum`, symbols: members.map((t) => (t as SchemaAST.Literal).literal as string) }
        }
        const hasNull = members.some((t) => t._tag === "Null" || t._tag === "Undefined")
        const rest = members.filter((t) => t._tag !== "Null" && t._tag !== "Undefined").map((t, i) => go(t, `${hint}${i}`))
        const flat = rest.length === 1 ? rest[0]! : rest
        return hasNull ? nullable(flat) : flat
      }
      case "Suspend":
        return go(ast.thunk(), hint)
      default:
        throw new Error(`no Avro type for ${ast._tag}`)
    }
  }
  return go(root, named(root) ?? "Value")
}
