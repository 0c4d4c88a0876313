/**
 * What a serde needs from a schema language (Avro, JSON Schema, Protobuf): compile a registry
 * schema, with its references already fetched, into a codec of plain functions — compiled once per
 * schema id, called per record.
 */
import type { SchemaDefinition, SchemaReference, SchemaType } from "../SchemaRegistry.ts"

/** A referenced schema, by the name the referring schema uses for it (dependencies first). */
export interface ResolvedReference {
  readonly name: string
  readonly subject: string
  readonly version: number
  readonly definition: SchemaDefinition
}

/** A compiled schema. `encode`/`decode` throw on a value or payload that does not match. */
export interface Codec {
  readonly encode: (value: unknown) => Uint8Array
  /** Decodes a payload; `indexes` is the Protobuf message-index path of the record. */
  readonly decode: (payload: Buffer, indexes: ReadonlyArray<number> | undefined) => unknown
  /** The encoded message-index path to write after the schema id (Protobuf only). */
  readonly indexBytes?: Uint8Array | undefined
}

/**
 * A schema language together with the user's own schema: the writer schema when serializing, the
 * reader schema (Avro) when deserializing; `undefined` reads records with whatever schema wrote them.
 */
export interface Format<A> {
  readonly schemaType: SchemaType
  readonly definition: SchemaDefinition | undefined
  /** The fully-qualified record name of a schema (record and topic-record subject strategies). */
  readonly recordName: (definition: SchemaDefinition) => string | undefined
  /** Compiles a writer's schema (throws on an invalid one). */
  readonly compile: (definition: SchemaDefinition, references: ReadonlyArray<ResolvedReference>) => Codec
  /** Phantom: the decoded value type. */
  readonly "~value"?: A
}

/** The value type of a format. */
export type ValueOf<F> = F extends Format<infer A> ? A : never

/** The registry definition of a user's schema (an object is sent as its JSON text). */
export const definitionOf = (
  schemaType: SchemaType,
  schema: string | object | undefined,
  references: ReadonlyArray<SchemaReference> | undefined
): SchemaDefinition | undefined =>
  schema === undefined
    ? undefined
    : { schemaType, schema: typeof schema === "string" ? schema : JSON.stringify(schema), references: references ?? [] }
