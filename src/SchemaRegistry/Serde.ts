/**
 * Registry serdes in the Confluent wire format (magic byte 0, 4-byte schema id, Protobuf message
 * indexes, payload) for any format (`Avro`, `JsonSchema`, `Protobuf`).
 *
 * - `serializer` resolves its subject and schema id once — registering the schema
 *   (`autoRegister`, the default), looking it up, or taking the subject's latest version
 *   (`useLatest`) — then `encode` is one codec call and a copy into the framed buffer;
 * - `deserializer` reads the id from each record, compiles each writer schema once (fetching it
 *   and its references on first sight) and decodes. `decode` is synchronous for ids already
 *   loaded; `prepare` loads the ids of a batch (one registry round trip per new id, concurrent
 *   misses coalesced) so a stream pays for the registry once per batch at most; `deserialize`
 *   does both for one record.
 *
 * Every failure is a typed error for that record (`SerializationError`, `DeserializationError`
 * with a `reason`), so a stream can skip the record or stop.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { DeserializationError, InvalidSchema, type SchemaRegistryError, SerializationError } from "./Errors.ts"
import type { Codec, Format, ValueOf } from "./internal/format.ts"
import * as References from "./internal/references.ts"
import * as Wire from "./internal/wire.ts"
import { SchemaRegistry, type SchemaRegistryClient } from "./SchemaRegistry.ts"

/**
 * How a serializer names its subject: `topic` → `<topic>-key` / `<topic>-value` (the default),
 * `record` → the record's full name, `topic-record` → `<topic>-<record name>`, or a function.
 *
 * @since 0.1.0
 */
export type SubjectNameStrategy =
  | "topic"
  | "record"
  | "topic-record"
  | ((context: { readonly topic: string; readonly part: "key" | "value"; readonly recordName: string | undefined }) => string)

/**
 * Options of a serializer.
 *
 * @since 0.1.0
 */
export interface SerializerOptions<F extends Format<any>> {
  readonly format: F
  readonly topic: string
  readonly part?: "key" | "value" | undefined
  readonly subjectNameStrategy?: SubjectNameStrategy | undefined
  /** Register the schema under the subject if it is not there (default true); off: look it up. */
  readonly autoRegister?: boolean | undefined
  /** Write with the subject's latest schema (whatever it is) instead of the format's own. */
  readonly useLatest?: boolean | undefined
  /** Ask the registry to normalize the schema when registering. */
  readonly normalize?: boolean | undefined
}

/**
 * A serializer bound to one subject and schema id.
 *
 * @since 0.1.0
 */
export interface Serializer<A> {
  readonly subject: string
  readonly schemaId: number
  /** Encodes and frames a value (synchronous). */
  readonly encode: (value: A) => Result.Result<Uint8Array, SerializationError>
}

/**
 * The subject a strategy names.
 *
 * @example
 * ```ts
 * Serde.subjectName("topic", { topic: "orders", part: "value", recordName: "shop.Order" }) // "orders-value"
 * ```
 *
 * @since 0.1.0
 */
export const subjectName = (
  strategy: SubjectNameStrategy,
  context: { readonly topic: string; readonly part: "key" | "value"; readonly recordName: string | undefined }
): string => {
  if (typeof strategy === "function") return strategy(context)
  if (strategy === "topic") return `${context.topic}-${context.part}`
  if (context.recordName === undefined) {
    throw new Error(`the ${strategy} subject name strategy needs a named record (an Avro record name, a Protobuf message, a JSON Schema title)`)
  }
  return strategy === "record" ? context.recordName : `${context.topic}-${context.recordName}`
}

const compile = <A>(format: Format<A>, client: SchemaRegistryClient, definition: Parameters<Format<A>["compile"]>[0], id?: number, subject?: string) =>
  Effect.flatMap(References.resolve(client, definition), (refs) =>
    Effect.try({
      try: () => format.compile(definition, refs),
      catch: (e) => new InvalidSchema({ schemaType: definition.schemaType, reason: (e as Error).message, id, subject })
    }))

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Makes a serializer: resolves the subject and the schema id (one registry call, cached), then
 * encodes without the registry.
 *
 * @example
 * ```ts
 * const users = yield* Serde.serializer({ format: User, topic: "users" })
 * const bytes = users.encode({ name: "Ada", age: 36 }) // Result<Uint8Array, SerializationError>
 * ```
 *
 * @since 0.1.0
 */
export const serializer = <F extends Format<any>>(options: SerializerOptions<F>): Effect.Effect<Serializer<ValueOf<F>>, SerializationError, SchemaRegistry> =>
  Effect.gen(function*() {
    const client = yield* SchemaRegistry
    const format = options.format
    const part = options.part ?? "value"
    const own = format.definition
    let subject = `${options.topic}-${part}`
    const fail = (reason: string, cause?: SchemaRegistryError | InvalidSchema) => new SerializationError({ subject, reason, cause })
    if (own === undefined && options.useLatest !== true) {
      return yield* Effect.fail(fail("a serializer needs a schema (or useLatest)"))
    }
    subject = yield* Effect.try({
      try: () => subjectName(options.subjectNameStrategy ?? "topic", { topic: options.topic, part, recordName: own === undefined ? undefined : format.recordName(own) }),
      catch: (e) => fail(errorText(e))
    })
    const resolved = yield* (options.useLatest === true
      ? Effect.map(client.getVersion(subject, "latest"), (r) => ({ id: r.id, definition: r as typeof own & object }))
      : options.autoRegister === false
      ? Effect.map(client.lookup(subject, own!), (r) => ({ id: r.id, definition: own! }))
      : Effect.map(client.register(subject, own!, { normalize: options.normalize === true }), (id) => ({ id, definition: own! }))
    ).pipe(Effect.mapError((e) => fail(e._tag === "RegistryResponseError" ? e.registryMessage : e.message, e)))
    const codec: Codec = yield* compile(format, client, resolved.definition, resolved.id, subject).pipe(
      Effect.mapError((e) => fail(e.message, e))
    )
    const id = resolved.id
    const indexBytes = codec.indexBytes
    return {
      subject,
      schemaId: id,
      encode: (value: ValueOf<F>) => {
        try {
          return Result.succeed(Wire.frame(id, codec.encode(value), indexBytes))
        } catch (e) {
          return Result.fail(fail(errorText(e)))
        }
      }
    }
  })

/**
 * A deserializer.
 *
 * @since 0.1.0
 */
export interface Deserializer<A> {
  /** Decodes a framed record whose schema id is loaded (synchronous); an id not loaded yet fails with reason `UnknownSchema`. */
  readonly decode: (bytes: Uint8Array) => Result.Result<A, DeserializationError>
  /** Loads the schema ids of these records that are not loaded yet (never fails: a failure is remembered for its records). */
  readonly prepare: (records: ReadonlyArray<Uint8Array | null>) => Effect.Effect<void>
  /** `prepare` then `decode`, for one record. */
  readonly deserialize: (bytes: Uint8Array) => Effect.Effect<A, DeserializationError>
}

type Entry = Codec | DeserializationError

/**
 * Makes a deserializer; the format's schema, if any, is the reader schema (Avro resolves writer
 * schemas into it).
 *
 * @example
 * ```ts
 * const users = yield* Serde.deserializer({ format: User })
 * const user = yield* users.deserialize(record.value)
 * ```
 *
 * @since 0.1.0
 */
export const deserializer = <F extends Format<any>>(options: {
  readonly format: F
  /** Protobuf records written without message indexes (older @kafkajs/confluent-schema-registry). */
  readonly protobufMessageIndexes?: boolean | undefined
}): Effect.Effect<Deserializer<ValueOf<F>>, never, SchemaRegistry> =>
  Effect.gen(function*() {
    const client = yield* SchemaRegistry
    const format = options.format
    const protobuf = format.schemaType === "PROTOBUF" && options.protobufMessageIndexes !== false
    const entries = new Map<number, Entry>()

    const load = (id: number): Effect.Effect<void> =>
      client.getById(id).pipe(
        Effect.flatMap((definition) =>
          definition.schemaType !== format.schemaType
            ? Effect.fail(new InvalidSchema({ schemaType: definition.schemaType, reason: `schema ${id} is ${definition.schemaType}, this deserializer reads ${format.schemaType}`, id }))
            : compile(format, client, definition, id)
        ),
        Effect.match({
          onSuccess: (codec) => void entries.set(id, codec),
          onFailure: (e) => {
            const reason = e._tag === "InvalidSchema"
              ? "InvalidSchema"
              : e._tag === "RegistryResponseError" && (e.errorCode === 40403 || e.status === 404)
              ? "UnknownSchema"
              : "Registry"
            // An unknown id or a bad schema stays so; a registry failure is tried again by the next prepare.
            entries.set(id, new DeserializationError({ reason, detail: e.message, schemaId: id, cause: e }))
          }
        })
      )

    const needs = (id: number) => {
      const e = entries.get(id)
      return e === undefined || (e instanceof DeserializationError && e.reason === "Registry")
    }

    const prepare = (records: ReadonlyArray<Uint8Array | null>): Effect.Effect<void> => {
      let missing: Set<number> | undefined
      for (let i = 0; i < records.length; i++) {
        const r = records[i]
        if (r === null || r === undefined) continue
        const id = Wire.schemaId(r)
        if (id >= 0 && needs(id)) (missing ??= new Set()).add(id)
      }
      return missing === undefined ? Effect.void : Effect.forEach(missing, load, { concurrency: "unbounded", discard: true })
    }

    type A = ValueOf<F>
    const decode = (bytes: Uint8Array): Result.Result<A, DeserializationError> => {
      const id = Wire.schemaId(bytes)
      if (id < 0) {
        return Result.fail(new DeserializationError({
          reason: "MagicByte",
          detail: bytes.length < 5 ? `${bytes.length} bytes is shorter than the 5-byte header` : `magic byte ${bytes[0]}, expected 0`
        }))
      }
      const entry = entries.get(id)
      if (entry === undefined) {
        return Result.fail(new DeserializationError({ reason: "UnknownSchema", detail: `schema id ${id} is not loaded (prepare the record first)`, schemaId: id }))
      }
      if (entry instanceof DeserializationError) return Result.fail(entry)
      let offset = 5
      let indexes: ReadonlyArray<number> | undefined
      if (protobuf) {
        const read = Wire.readIndexes(bytes, 5)
        if (read === undefined) return Result.fail(new DeserializationError({ reason: "Payload", detail: "truncated Protobuf message indexes", schemaId: id }))
        indexes = read.indexes
        offset = read.end
      }
      try {
        return Result.succeed(entry.decode(Wire.view(bytes, offset), indexes) as A)
      } catch (e) {
        return Result.fail(new DeserializationError({ reason: "Payload", detail: errorText(e), schemaId: id }))
      }
    }

    return {
      decode,
      prepare,
      deserialize: (bytes) => {
        const id = Wire.schemaId(bytes)
        return id >= 0 && needs(id)
          ? Effect.flatMap(load(id), () => Effect.fromResult(decode(bytes)))
          : Effect.fromResult(decode(bytes))
      }
    }
  })
