/**
 * JSON Schema for registry serdes: values are JSON text, validated with ajv against the writer's
 * schema (compiled once per schema id) when written and when read. `JsonSchema.fromSchema` derives
 * the JSON Schema from an Effect Schema (Effect's own `toJsonSchemaDocument`, as draft-07, which
 * registries understand).
 *
 * @since 0.1.0
 */
import { Ajv, type ErrorObject } from "ajv"
import * as JsonSchemaDoc from "effect/JsonSchema"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { type Codec, definitionOf, type Format, type ResolvedReference } from "./internal/format.ts"
import type { SchemaReference } from "./SchemaRegistry.ts"

/**
 * A JSON Schema format; `effectSchema` is set when it was derived from an Effect Schema that transforms.
 *
 * @since 0.1.0
 */
export interface JsonSchemaFormat<A> extends Format<A> {
  readonly schemaType: "JSON"
  readonly effectSchema?: Schema.Top | undefined
}

const describe = (errors: ReadonlyArray<ErrorObject> | null | undefined): string =>
  (errors ?? []).slice(0, 5).map((e) => `${e.instancePath === "" ? "(root)" : e.instancePath} ${e.message ?? "is invalid"}`).join(", ")

const compileValidator = (schema: string, references: ReadonlyArray<ResolvedReference>) => {
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false })
  for (const r of references) {
    const parsed = JSON.parse(r.definition.schema)
    ajv.addSchema(parsed, r.name)
    if (typeof parsed.$id === "string" && parsed.$id !== r.name) ajv.addSchema(parsed, parsed.$id)
  }
  const parsed = JSON.parse(schema)
  delete parsed.$schema
  return ajv.compile(parsed)
}

/**
 * A JSON Schema format from a JSON Schema (an object or its text); `$ref`s to other subjects come
 * in as `references` (by the `$ref` they are named with). Without a schema it reads any record
 * and validates it against its writer's schema.
 *
 * @example
 * ```ts
 * import * as JsonSchema from "kpax/SchemaRegistry/JsonSchema"
 *
 * const User = JsonSchema.format<{ name: string }>({
 *   title: "User", type: "object", properties: { name: { type: "string" } }, required: ["name"]
 * })
 * ```
 *
 * @since 0.1.0
 */
export const format = <A = unknown>(
  schema?: string | object | undefined,
  options: { readonly references?: ReadonlyArray<SchemaReference> | undefined; readonly effectSchema?: Schema.Top | undefined } = {}
): JsonSchemaFormat<A> => {
  const definition = definitionOf("JSON", schema, options.references)
  return {
    schemaType: "JSON",
    definition,
    effectSchema: options.effectSchema,
    recordName: (d) => {
      const parsed = JSON.parse(d.schema)
      return typeof parsed.title === "string" ? parsed.title : undefined
    },
    compile: (d, references): Codec => {
      const validate = compileValidator(d.schema, references)
      return {
        encode: (value) => {
          if (!validate(value)) throw new Error(`the value does not match the JSON Schema: ${describe(validate.errors)}`)
          return Buffer.from(JSON.stringify(value), "utf8")
        },
        decode: (payload) => {
          const value = JSON.parse(payload.toString("utf8"))
          if (!validate(value)) throw new Error(`the payload does not match the JSON Schema: ${describe(validate.errors)}`)
          return value
        }
      }
    }
  }
}

/**
 * The JSON Schema (draft-07, one document with its `definitions`) of an Effect Schema's encoded side.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import * as JsonSchema from "kpax/SchemaRegistry/JsonSchema"
 *
 * JsonSchema.toJsonSchema(Schema.Struct({ id: Schema.String }).annotate({ identifier: "Order" }))
 * ```
 *
 * @since 0.1.0
 */
export const toJsonSchema = (schema: Schema.Top): Record<string, unknown> => {
  const doc = JsonSchemaDoc.toDocumentDraft07(Schema.toJsonSchemaDocument(schema))
  const a = schema.ast.annotations as { identifier?: unknown; title?: unknown } | undefined
  const title = typeof a?.title === "string" ? a.title : typeof a?.identifier === "string" ? a.identifier : undefined
  return {
    $schema: JsonSchemaDoc.META_SCHEMA_URI_DRAFT_07,
    ...(title === undefined ? {} : { title }),
    ...(doc.schema as object),
    ...(Object.keys(doc.definitions ?? {}).length === 0 ? {} : { definitions: doc.definitions })
  }
}

/**
 * A JSON Schema format derived from an Effect Schema (see `toJsonSchema`); values go through the
 * Effect Schema only when it transforms.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import * as JsonSchema from "kpax/SchemaRegistry/JsonSchema"
 *
 * const OrderJson = JsonSchema.fromSchema(Schema.Struct({ id: Schema.String }).annotate({ identifier: "Order" }))
 * ```
 *
 * @since 0.1.0
 */
export const fromSchema = <S extends Schema.Top>(schema: S): JsonSchemaFormat<S["Type"]> =>
  format<S["Type"]>(toJsonSchema(schema), { effectSchema: SchemaAST.toEncoded(schema.ast) === schema.ast ? undefined : schema })
