/**
 * Avro for registry serdes (avsc). `Avro.format(schema)` is the writer schema when serializing
 * and the reader schema when deserializing (records written with an older or newer compatible
 * schema are resolved into it); `Avro.fromSchema(EffectSchema)` derives the Avro schema from an
 * Effect Schema, so a type is written once.
 *
 * Compiled per schema id once; per record one avsc `toBuffer` / `fromBuffer`.
 *
 * @since 0.1.0
 */
import avro from "avsc"
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as AvroSchema from "./internal/avroSchema.ts"
import { type Codec, definitionOf, type Format, type ResolvedReference } from "./internal/format.ts"
import type { SchemaReference } from "./SchemaRegistry.ts"

/**
 * An Avro format; `effectSchema` is set when it was derived from an Effect Schema.
 *
 * @since 0.1.0
 */
export interface AvroFormat<A> extends Format<A> {
  readonly schemaType: "AVRO"
  readonly effectSchema?: Schema.Top | undefined
}

const fullName = (parsed: any): string | undefined => {
  if (typeof parsed !== "object" || parsed === null || typeof parsed.name !== "string") return undefined
  return parsed.name.includes(".") || typeof parsed.namespace !== "string" || parsed.namespace === ""
    ? parsed.name
    : `${parsed.namespace}.${parsed.name}`
}

const typeOf = (schema: string, references: ReadonlyArray<ResolvedReference>) => {
  const registry: Record<string, avro.Type> = {}
  for (const r of references) avro.Type.forSchema(JSON.parse(r.definition.schema), { registry })
  return avro.Type.forSchema(JSON.parse(schema), { registry })
}

const describeInvalid = (type: avro.Type, value: unknown): string => {
  const paths: Array<string> = []
  type.isValid(value, { errorHook: (path, v) => paths.push(`${path.join(".") || "(root)"}: ${JSON.stringify(v) ?? String(v)}`) })
  return paths.length === 0 ? "the value does not match the Avro schema" : `the value does not match the Avro schema at ${paths.slice(0, 5).join(", ")}`
}

/**
 * An Avro format from an Avro schema (an object or its JSON text); named types of other subjects
 * come in as `references`. Without a schema it reads any Avro record as its writer wrote it.
 *
 * @example
 * ```ts
 * import * as Avro from "kpax/SchemaRegistry/Avro"
 *
 * const User = Avro.format<{ name: string; age: number }>({
 *   type: "record", name: "User", namespace: "example",
 *   fields: [{ name: "name", type: "string" }, { name: "age", type: "int" }]
 * })
 * ```
 *
 * @since 0.1.0
 */
export const format = <A = unknown>(
  schema?: string | object | undefined,
  options: { readonly references?: ReadonlyArray<SchemaReference> | undefined; readonly effectSchema?: Schema.Top | undefined } = {}
): AvroFormat<A> => {
  const definition = definitionOf("AVRO", schema, options.references)
  let reader: avro.Type | undefined
  return {
    schemaType: "AVRO",
    definition,
    effectSchema: options.effectSchema,
    recordName: (d) => fullName(JSON.parse(d.schema)),
    compile: (d, references): Codec => {
      const writer = typeOf(d.schema, references)
      if (definition !== undefined && reader === undefined) reader = typeOf(definition.schema, references)
      const resolver = reader === undefined || d.schema === definition?.schema ? undefined : reader.createResolver(writer)
      const target = resolver === undefined ? writer : reader!
      return {
        encode: (value) => {
          try {
            return writer.toBuffer(value)
          } catch {
            throw new Error(describeInvalid(writer, value))
          }
        },
        decode: resolver === undefined ? (payload) => writer.fromBuffer(payload) : (payload) => target.fromBuffer(payload, resolver)
      }
    }
  }
}

/**
 * The Avro schema of an Effect Schema's encoded side (see the module's mapping). Structs need an
 * `identifier` annotation to get their record name.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import * as Avro from "kpax/SchemaRegistry/Avro"
 *
 * const Order = Schema.Struct({ id: Schema.String, total: Schema.Number }).annotate({ identifier: "Order" })
 * Avro.toAvroSchema(Order, { namespace: "shop" })
 * // { type: "record", name: "Order", namespace: "shop", fields: [{ name: "id", type: "string" }, { name: "total", type: "double" }] }
 * ```
 *
 * @since 0.1.0
 */
export const toAvroSchema = (schema: Schema.Top, options: { readonly namespace?: string } = {}): AvroSchema.AvroSchema =>
  AvroSchema.fromAst(schema.ast, options)

/**
 * An Avro format derived from an Effect Schema: the Avro schema is `toAvroSchema(schema)`. When
 * the Effect Schema transforms (its type differs from its encoded side), values go through it
 * on the way in and out; otherwise avsc's own checks are the only ones per record.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import * as Avro from "kpax/SchemaRegistry/Avro"
 *
 * const Order = Schema.Struct({ id: Schema.String, total: Schema.Number }).annotate({ identifier: "Order" })
 * const OrderAvro = Avro.fromSchema(Order, { namespace: "shop" })
 * ```
 *
 * @since 0.1.0
 */
export const fromSchema = <S extends Schema.Top>(schema: S, options: { readonly namespace?: string } = {}): AvroFormat<S["Type"]> =>
  format<S["Type"]>(toAvroSchema(schema, options), {
    effectSchema: SchemaAST.toEncoded(schema.ast) === schema.ast ? undefined : schema
  })
