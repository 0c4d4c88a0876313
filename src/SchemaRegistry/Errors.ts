/**
 * Typed errors of the Schema Registry client and of the registry serdes.
 *
 * - `RegistryResponseError` — the registry answered with an error: carries the HTTP status, the
 *   registry's `error_code` (e.g. 40401 subject not found, 40403 schema not found, 409
 *   incompatible, 42201 invalid schema) and its message, and the subject when there is one;
 * - `RegistryUnavailable` — no answer: connection refused, reset, time-out, or a body that is not
 *   the registry's JSON;
 * - `SerializationError` / `DeserializationError` — one record's key or value could not be
 *   written or read (bad magic byte, unknown schema id, a payload that does not match its schema,
 *   or the registry failing underneath), naming the subject or schema id.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * The registry answered with an error.
 *
 * @example
 * ```ts
 * Effect.catchTag("RegistryResponseError", (e) =>
 *   e.errorCode === 40401 ? Effect.succeed([]) : Effect.fail(e))
 * ```
 *
 * @since 0.1.0
 */
export class RegistryResponseError extends Data.TaggedError("RegistryResponseError")<{
  readonly status: number
  /** The registry's `error_code` (the HTTP status when the body carried none). */
  readonly errorCode: number
  /** The registry's own message. */
  readonly registryMessage: string
  readonly method: string
  readonly path: string
  readonly subject?: string | undefined
}> {
  /** 5xx answers are worth retrying; 4xx answers will not change. */
  get retriable(): boolean {
    return this.status >= 500
  }
  override get message(): string {
    return `schema registry ${this.method} ${this.path}${this.subject === undefined ? "" : ` (subject ${this.subject})`}: ` +
      `${this.status} error_code ${this.errorCode}: ${this.registryMessage}`
  }
}

/**
 * The registry could not be reached (or did not answer in its own language).
 *
 * @since 0.1.0
 */
export class RegistryUnavailable extends Data.TaggedError("RegistryUnavailable")<{
  readonly url: string
  readonly reason: string
}> {
  get retriable(): boolean {
    return true
  }
  override get message(): string {
    return `schema registry ${this.url} unavailable: ${this.reason}`
  }
}

/**
 * Any failure of a registry request.
 *
 * @since 0.1.0
 */
export type SchemaRegistryError = RegistryResponseError | RegistryUnavailable

/**
 * A schema that the serde's format cannot compile (a malformed Avro, Protobuf or JSON schema, a
 * missing reference).
 *
 * @since 0.1.0
 */
export class InvalidSchema extends Data.TaggedError("InvalidSchema")<{
  readonly schemaType: string
  readonly reason: string
  readonly id?: number | undefined
  readonly subject?: string | undefined
}> {
  override get message(): string {
    return `invalid ${this.schemaType} schema${this.id === undefined ? "" : ` ${this.id}`}` +
      `${this.subject === undefined ? "" : ` (subject ${this.subject})`}: ${this.reason}`
  }
}

/**
 * A value that could not be written: it does not match the schema, or its schema could not be
 * registered or found (`cause` holds the registry's error).
 *
 * @example
 * ```ts
 * Serde.serializer({ format, topic: "orders" }).pipe(
 *   Effect.catchTag("SerializationError", (e) =>
 *     Effect.die(`${e.subject}: ${e.reason}`))) // "orders-value: Incompatible artifact: …"
 * ```
 *
 * @since 0.1.0
 */
export class SerializationError extends Data.TaggedError("SerializationError")<{
  readonly subject: string
  readonly reason: string
  readonly cause?: SchemaRegistryError | InvalidSchema | undefined
}> {
  override get message(): string {
    return `cannot serialize for subject ${this.subject}: ${this.reason}`
  }
}

/**
 * Why a registry-framed record could not be read.
 *
 * @since 0.1.0
 */
export type DeserializationReason =
  | "MagicByte" // the first byte is not 0 (or the record is shorter than the 5-byte header)
  | "UnknownSchema" // the registry does not know the schema id
  | "Registry" // the registry failed or could not be reached
  | "InvalidSchema" // the writer's schema does not compile
  | "Payload" // the bytes do not match the writer's schema

/**
 * A record that could not be read. `reason` says which step failed; `schemaId` is set once the
 * header was read.
 *
 * @example
 * ```ts
 * deserializer.deserialize(bytes).pipe(
 *   Effect.catchTag("DeserializationError", (e) =>
 *     e.reason === "Registry" ? Effect.fail(e) : Effect.succeed(undefined))) // skip bad records, stop on outages
 * ```
 *
 * @since 0.1.0
 */
export class DeserializationError extends Data.TaggedError("DeserializationError")<{
  readonly reason: DeserializationReason
  readonly detail: string
  readonly schemaId?: number | undefined
  readonly cause?: SchemaRegistryError | InvalidSchema | undefined
}> {
  override get message(): string {
    return `cannot deserialize${this.schemaId === undefined ? "" : ` (schema id ${this.schemaId})`}: ${this.detail}`
  }
}
