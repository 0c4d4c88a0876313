/**
 * The values the Schema Registry client works with and the client's operations
 * (`SchemaRegistryClient`): `SchemaRegistry.ts` (the service) and `internal/client.ts` (its
 * implementation) both import them from here; users import them from `kpax/SchemaRegistry`.
 */
import type * as Effect from "effect/Effect"
import type { SchemaRegistryError } from "../Errors.ts"

/**
 * The schema languages of the registry (`AVRO` when the registry names none).
 *
 * @since 0.1.0
 */
export type SchemaType = "AVRO" | "PROTOBUF" | "JSON"

/**
 * A reference from a schema to another registered one (an Avro named type, a Protobuf import, a
 * JSON Schema `$ref`), by the name the referring schema uses.
 *
 * @since 0.1.0
 */
export interface SchemaReference {
  readonly name: string
  readonly subject: string
  readonly version: number
}

/**
 * A schema as the registry stores it.
 *
 * @example
 * ```ts
 * const user: SchemaRegistry.SchemaDefinition = {
 *   schemaType: "AVRO",
 *   schema: JSON.stringify({ type: "record", name: "User", fields: [{ name: "name", type: "string" }] })
 * }
 * ```
 *
 * @since 0.1.0
 */
export interface SchemaDefinition {
  readonly schemaType: SchemaType
  readonly schema: string
  readonly references?: ReadonlyArray<SchemaReference> | undefined
}

/**
 * A schema registered under a subject.
 *
 * @since 0.1.0
 */
export interface RegisteredSchema extends SchemaDefinition {
  readonly subject: string
  readonly id: number
  readonly version: number
}

/**
 * The registry's compatibility levels.
 *
 * @since 0.1.0
 */
export type CompatibilityLevel =
  | "NONE"
  | "BACKWARD"
  | "BACKWARD_TRANSITIVE"
  | "FORWARD"
  | "FORWARD_TRANSITIVE"
  | "FULL"
  | "FULL_TRANSITIVE"

/**
 * The answer of a compatibility check; `messages` says why not (when the registry tells).
 *
 * @since 0.1.0
 */
export interface CompatibilityResult {
  readonly isCompatible: boolean
  readonly messages: ReadonlyArray<string>
}

/**
 * The operations of the client.
 *
 * @since 0.1.0
 */
export interface SchemaRegistryClient {
  /** The registry's base URL. */
  readonly url: string
  /** Registers a schema under a subject (or finds it registered) and returns its id. Cached. */
  readonly register: (subject: string, schema: SchemaDefinition, options?: { readonly normalize?: boolean }) => Effect.Effect<number, SchemaRegistryError>
  /** Finds a schema already registered under a subject (40401/40403 when it is not). Cached. */
  readonly lookup: (subject: string, schema: SchemaDefinition) => Effect.Effect<RegisteredSchema, SchemaRegistryError>
  /** The schema of an id (40403 when unknown). Cached forever: ids are immutable. */
  readonly getById: (id: number) => Effect.Effect<SchemaDefinition, SchemaRegistryError>
  /** The schema of an id if it is cached already (synchronous). */
  readonly peekById: (id: number) => SchemaDefinition | undefined
  /** A subject's version; `"latest"` is asked every time, a number is cached. */
  readonly getVersion: (subject: string, version: number | "latest") => Effect.Effect<RegisteredSchema, SchemaRegistryError>
  /** The versions registered under a subject. */
  readonly versions: (subject: string) => Effect.Effect<ReadonlyArray<number>, SchemaRegistryError>
  /** Every subject. */
  readonly subjects: Effect.Effect<ReadonlyArray<string>, SchemaRegistryError>
  /** Whether a schema could be registered under a subject (against `version`, default latest). */
  readonly checkCompatibility: (
    subject: string,
    schema: SchemaDefinition,
    version?: number | "latest"
  ) => Effect.Effect<CompatibilityResult, SchemaRegistryError>
  /** The compatibility level of a subject, or the global one. */
  readonly getConfig: (subject?: string) => Effect.Effect<CompatibilityLevel, SchemaRegistryError>
  /** Sets the compatibility level of a subject, or the global one. */
  readonly setConfig: (level: CompatibilityLevel, subject?: string) => Effect.Effect<CompatibilityLevel, SchemaRegistryError>
  /** Deletes a subject (soft delete); returns its versions. */
  readonly deleteSubject: (subject: string) => Effect.Effect<ReadonlyArray<number>, SchemaRegistryError>
}
