/**
 * Typed topics whose keys and/or values are registry-framed (Avro, JSON Schema, Protobuf): a
 * `Topic` like any other, so `producer.sendTyped` and `Record.decode` / `decodeResult` /
 * `decodeSkipping` work unchanged.
 *
 * Making the topic resolves each serializer's subject and schema id (register, look up or take
 * the latest: one registry call each, at start). Reading, the record decoders call the topic's
 * `prepare` once per batch, which loads the writer schemas of ids not seen yet; then each record
 * is a cached id lookup and one codec call. A record that cannot be read is a `RecordDecodeError`
 * whose `cause` is the serde's `DeserializationError` (bad magic byte, unknown schema id, payload
 * not matching, registry unreachable), so the stream can skip it or stop.
 *
 * The topic's `key`/`value` Schema fields are the raw byte codecs: the registry framing lives in
 * `encodeKey`/`encodeValue`/`decodeKey`/`decodeValue` (and `prepare`), which is what kpax uses.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Topic from "../Topic.ts"
import type { DeserializationError, SerializationError } from "./Errors.ts"
import type { Format } from "./internal/format.ts"
import type { SchemaRegistry } from "./SchemaRegistry.ts"
import * as Serde from "./Serde.ts"

/**
 * How one part (key or value) of a topic is framed.
 *
 * @since 0.1.0
 */
export interface PartOptions<A> {
  readonly format: Format<A> & { readonly effectSchema?: Schema.Top | undefined }
  readonly subjectNameStrategy?: Serde.SubjectNameStrategy | undefined
  readonly autoRegister?: boolean | undefined
  readonly useLatest?: boolean | undefined
  readonly normalize?: boolean | undefined
  /** false: Protobuf records carry no message indexes (older @kafkajs/confluent-schema-registry). */
  readonly protobufMessageIndexes?: boolean | undefined
}

interface Part<A> {
  readonly encode: (value: A) => Result.Result<Uint8Array, SerializationError | string>
  readonly decode: (bytes: Uint8Array) => Result.Result<A, DeserializationError | string>
  readonly prepare: (records: ReadonlyArray<Uint8Array | null>) => Effect.Effect<void>
}

const makePart = <A>(topic: string, part: "key" | "value", options: PartOptions<A>): Effect.Effect<Part<A>, SerializationError, SchemaRegistry> =>
  Effect.gen(function*() {
    const format = options.format
    const writes = format.definition !== undefined || options.useLatest === true
    const serializer = writes
      ? yield* Serde.serializer({
        format,
        topic,
        part,
        subjectNameStrategy: options.subjectNameStrategy,
        autoRegister: options.autoRegister,
        useLatest: options.useLatest,
        normalize: options.normalize
      })
      : undefined
    const deserializer = yield* Serde.deserializer({ format, protobufMessageIndexes: options.protobufMessageIndexes })
    const effect = format.effectSchema
    // Only a transforming Effect Schema runs per record (the format's own codec checks the rest).
    const toEncoded = effect === undefined ? undefined : Schema.encodeUnknownResult(effect as Schema.Codec<unknown, unknown>)
    const toType = effect === undefined ? undefined : Schema.decodeUnknownResult(effect as Schema.Codec<unknown, unknown>)
    return {
      encode: (value: A) => {
        if (serializer === undefined) return Result.fail("this topic has no writer schema for its " + part)
        if (toEncoded === undefined) return serializer.encode(value)
        const e = toEncoded(value)
        return Result.isFailure(e) ? Result.fail(e.failure.message) : serializer.encode(e.success as A)
      },
      decode: (bytes: Uint8Array) => {
        const r = deserializer.decode(bytes)
        if (toType === undefined || Result.isFailure(r)) return r
        const t = toType(r.success)
        return Result.isFailure(t) ? Result.fail(t.failure.message) : Result.succeed(t.success as A)
      },
      prepare: deserializer.prepare
    }
  })

const reasonOf = (e: { readonly message: string } | string) => (typeof e === "string" ? e : e.message)
const causeOf = (e: unknown) => (typeof e === "string" ? undefined : e)

/**
 * Makes a registry-backed typed topic. A part given as `PartOptions` is registry-framed; a key
 * given as an Effect Schema is carried as plain `Topic` keys are (bytes, or JSON).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import * as Avro from "kpax/SchemaRegistry/Avro"
 * import * as RegistryTopic from "kpax/SchemaRegistry/RegistryTopic"
 *
 * const Order = Schema.Struct({ id: Schema.String, total: Schema.Number }).annotate({ identifier: "Order" })
 * const program = Effect.gen(function*() {
 *   const Orders = yield* RegistryTopic.make({ name: "orders", key: Topic.Utf8, value: { format: Avro.fromSchema(Order) } })
 *   yield* producer.sendTyped(Orders, { key: "o-1", value: { id: "o-1", total: 12.5 } })
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = <V, K = Uint8Array>(options: {
  readonly name: string
  readonly key?: PartOptions<K> | Schema.Codec<K, any, never, never> | undefined
  readonly value: PartOptions<V>
}): Effect.Effect<Topic.Topic<K, V>, SerializationError, SchemaRegistry> =>
  Effect.gen(function*() {
    const name = options.name
    const keyIsSchema = options.key === undefined || Schema.isSchema(options.key)
    const base = Topic.make({ name, key: keyIsSchema ? options.key as Schema.Codec<K, any, never, never> | undefined : undefined })
    const value = yield* makePart(name, "value", options.value)
    const key = keyIsSchema ? undefined : yield* makePart(name, "key", options.key as PartOptions<K>)
    const encodeError = (part: "key" | "value", e: SerializationError | string) =>
      new Topic.RecordEncodeError({ topic: name, part, reason: reasonOf(e), cause: causeOf(e) })
    const decodeError = (part: "key" | "value", partition: number, offset: bigint, e: DeserializationError | string) =>
      new Topic.RecordDecodeError({ topic: name, partition, offset, part, reason: reasonOf(e), cause: causeOf(e) })
    const topic: Topic.Topic<K, V> = {
      name,
      key: base.key,
      value: base.value as unknown as Schema.Codec<V, Uint8Array>,
      encodeKey: key === undefined
        ? base.encodeKey
        : (k) => (k === null ? Result.succeed(null) : Result.mapError(key.encode(k), (e) => encodeError("key", e))),
      encodeValue: (v) => Result.mapError(value.encode(v), (e) => encodeError("value", e)),
      decodeKey: key === undefined
        ? base.decodeKey
        : (k, partition, offset) => (k === null ? Result.succeed(null) : Result.mapError(key.decode(k), (e) => decodeError("key", partition, offset, e))),
      decodeValue: (v, partition, offset) =>
        v === null
          ? Result.fail(new Topic.RecordDecodeError({ topic: name, partition, offset, part: "value", reason: "the record has no value (a tombstone)" }))
          : Result.mapError(value.decode(v), (e) => decodeError("value", partition, offset, e)),
      prepare: (records) => {
        const values = records.map((r) => r.value)
        const prep = value.prepare(values)
        return key === undefined ? prep : Effect.andThen(prep, key.prepare(records.map((r) => r.key)))
      }
    }
    return topic
  })
