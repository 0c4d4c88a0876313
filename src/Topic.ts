/**
 * Typed topics: a topic name with Effect Schemas for its keys and values.
 *
 * A producer sending to a `Topic` encodes keys and values through the schemas; a consumer reading
 * it decodes them, and a record that fails to decode is a `RecordDecodeError` carrying the topic,
 * partition and offset — never a crash. Schemas whose encoded side is not bytes are carried as
 * JSON (UTF-8), so `Topic.make({ name, value: Order })` just works; a `Schema.Codec<A, Uint8Array>`
 * (Avro, Protobuf, your own framing) is used as it is.
 *
 * The codecs are compiled once per topic. Typed encoding runs per record by nature; untyped
 * producers and consumers never touch Schema on the record path.
 *
 * Layer: beside Protocol at the bottom (checked by `npm run lint:cycles`): imports no other kpax
 * module; the clients and SchemaRegistry import it.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

/**
 * A topic name that is not legal in Kafka.
 *
 * @since 0.1.0
 */
export class InvalidTopicName extends Schema.TaggedError<InvalidTopicName>()("InvalidTopicName", {
  topic: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid topic name ${JSON.stringify(this.topic)}: ${this.reason}`
  }
}

/**
 * A key or value that its topic's schema could not encode.
 *
 * @since 0.1.0
 */
export class RecordEncodeError extends Schema.TaggedError<RecordEncodeError>()("RecordEncodeError", {
  topic: Schema.String,
  part: Schema.Literals(["key", "value"]),
  reason: Schema.String,
  /** The serde's own error, when there is one (a registry-backed topic's `SerializationError`). */
  cause: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    return `cannot encode the ${this.part} of a record for topic ${this.topic}: ${this.reason}`
  }
}

/**
 * A record whose key or value its topic's schema could not decode.
 *
 * @since 0.1.0
 */
export class RecordDecodeError extends Schema.TaggedError<RecordDecodeError>()("RecordDecodeError", {
  topic: Schema.String,
  partition: Schema.Number,
  offset: Schema.BigInt,
  part: Schema.Literals(["key", "value"]),
  reason: Schema.String,
  /** The serde's own error, when there is one (a registry-backed topic's `DeserializationError`). */
  cause: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    return `cannot decode the ${this.part} of ${this.topic}-${this.partition}@${this.offset}: ${this.reason}`
  }
}

const LEGAL = /^[a-zA-Z0-9._-]+$/

/**
 * Checks a topic name by Kafka's rules: 1 to 249 characters of `a-z A-Z 0-9 . _ -`, and not
 * `.` or `..`.
 *
 * @example
 * ```ts
 * import * as Topic from "kpax/Topic"
 *
 * Topic.validateName("orders")     // Result.succeed("orders")
 * Topic.validateName("bad name!")  // Result.fail(InvalidTopicName)
 * ```
 *
 * @since 0.1.0
 */
export const validateName = (topic: string): Result.Result<string, InvalidTopicName> => {
  if (topic.length === 0) return Result.fail(new InvalidTopicName({ topic, reason: "it is empty" }))
  if (topic === "." || topic === "..") return Result.fail(new InvalidTopicName({ topic, reason: "'.' and '..' are reserved" }))
  if (topic.length > 249) return Result.fail(new InvalidTopicName({ topic, reason: `it has ${topic.length} characters, at most 249 are allowed` }))
  if (!LEGAL.test(topic)) return Result.fail(new InvalidTopicName({ topic, reason: "only ASCII letters, digits, '.', '_' and '-' are allowed" }))
  return Result.succeed(topic)
}

/**
 * A schema for bytes carried as UTF-8 text.
 *
 * @since 0.1.0
 */
export const Utf8: Schema.Codec<string, Uint8Array> = Schema.Uint8Array.pipe(
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transform({
      decode: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
      encode: (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"))
    })
  )
)

/**
 * A string as UTF-8 bytes, for the `key` and `value` of an untyped record.
 *
 * @example
 * ```ts
 * import * as Topic from "kpax/Topic"
 *
 * yield* producer.send({ topic: "orders", key: Topic.utf8("o-1"), value: Topic.utf8("{\"total\":12.5}") })
 * ```
 *
 * @since 0.1.0
 */
export const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "utf8"))

/**
 * UTF-8 bytes as a string (`null`, a record without key or value, as `""`).
 *
 * @example
 * ```ts
 * import * as Topic from "kpax/Topic"
 *
 * Stream.runForEach((record) => Effect.log(Topic.text(record.value)))
 * ```
 *
 * @since 0.1.0
 */
export const text = (bytes: Uint8Array | null): string =>
  bytes === null ? "" : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")

/**
 * Carries any schema as JSON in UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import * as Topic from "kpax/Topic"
 *
 * const OrderJson = Topic.json(Schema.Struct({ id: Schema.String, total: Schema.Number }))
 * ```
 *
 * @since 0.1.0
 */
export const json = <S extends Schema.Top>(schema: S): Schema.Codec<S["Type"], Uint8Array, S["DecodingServices"], S["EncodingServices"]> =>
  Utf8.pipe(Schema.decodeTo(Schema.fromJsonString(schema))) as any

/** The codec a topic uses for a schema: bytes-encoded schemas as they are, others as JSON. */
export type CodecOf<S> = S extends Schema.Codec<infer A, Uint8Array, never, never> ? Schema.Codec<A, Uint8Array>
  : S extends Schema.Codec<infer A, unknown, never, never> ? Schema.Codec<A, Uint8Array>
  : never

const isBytesEncoded = (schema: Schema.Top): boolean => {
  const is = Schema.is(Schema.toEncoded(schema) as Schema.Top)
  return is(new Uint8Array(0)) && !is("") && !is({}) && !is(0)
}

const toCodec = (schema: Schema.Top): Schema.Codec<unknown, Uint8Array> =>
  (isBytesEncoded(schema) ? schema : json(schema)) as Schema.Codec<unknown, Uint8Array>

/**
 * A typed topic.
 *
 * @since 0.1.0
 */
export interface Topic<K, V> {
  readonly name: string
  readonly key: Schema.Codec<K, Uint8Array>
  readonly value: Schema.Codec<V, Uint8Array>
  /** Encodes a key; `null` stays `null` (a record without key). */
  readonly encodeKey: (key: K | null) => Result.Result<Uint8Array | null, RecordEncodeError>
  readonly encodeValue: (value: V) => Result.Result<Uint8Array, RecordEncodeError>
  readonly decodeKey: (key: Uint8Array | null, partition: number, offset: bigint) => Result.Result<K | null, RecordDecodeError>
  readonly decodeValue: (value: Uint8Array | null, partition: number, offset: bigint) => Result.Result<V, RecordDecodeError>
  /**
   * Loads what decoding these records needs before `decodeKey`/`decodeValue` run (a
   * registry-backed topic fetches the schemas of ids it has not seen); the record-stream decoders
   * (`Record.decode`, `decodeResult`, `decodeSkipping`) run it once per batch. Never fails: what
   * could not be loaded fails the records that need it. Plain topics have none.
   */
  readonly prepare?: ((records: ReadonlyArray<PreparableRecord>) => Effect.Effect<void>) | undefined
}

/**
 * The part of a record `Topic.prepare` looks at.
 *
 * @since 0.1.0
 */
export interface PreparableRecord {
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
}

/**
 * Makes a typed topic. The name is checked by Kafka's rules (`InvalidTopicName` is thrown at
 * definition time: a topic is a constant of the program). Keys default to raw bytes.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import * as Topic from "kpax/Topic"
 *
 * const Order = Schema.Struct({ id: Schema.String, total: Schema.Number })
 * const Orders = Topic.make({ name: "orders", key: Schema.String, value: Order })
 * ```
 *
 * @since 0.1.0
 */
export const make = <
  KS extends Schema.Codec<any, any, never, never> = Schema.Codec<Uint8Array, Uint8Array>,
  VS extends Schema.Codec<any, any, never, never> = Schema.Codec<Uint8Array, Uint8Array>
>(options: {
  readonly name: string
  readonly key?: KS | undefined
  readonly value?: VS | undefined
}): Topic<KS["Type"], VS["Type"]> => {
  const name = options.name
  const checked = validateName(name)
  if (Result.isFailure(checked)) throw checked.failure
  const key = toCodec(options.key ?? Schema.Uint8Array)
  const value = toCodec(options.value ?? Schema.Uint8Array)
  const encK = Schema.encodeResult(key)
  const encV = Schema.encodeResult(value)
  const decK = Schema.decodeResult(key)
  const decV = Schema.decodeResult(value)
  return {
    name,
    key,
    value,
    encodeKey: (k) =>
      k === null ? Result.succeed(null) : Result.mapError(encK(k), (e) => new RecordEncodeError({ topic: name, part: "key", reason: e.message })),
    encodeValue: (v) => Result.mapError(encV(v), (e) => new RecordEncodeError({ topic: name, part: "value", reason: e.message })),
    decodeKey: (k, partition, offset) =>
      k === null
        ? Result.succeed(null)
        : Result.mapError(decK(k), (e) => new RecordDecodeError({ topic: name, partition, offset, part: "key", reason: e.message })),
    decodeValue: (v, partition, offset) =>
      v === null
        ? Result.fail(new RecordDecodeError({ topic: name, partition, offset, part: "value", reason: "the record has no value (a tombstone)" }))
        : Result.mapError(decV(v), (e) => new RecordDecodeError({ topic: name, partition, offset, part: "value", reason: e.message }))
  } as Topic<KS["Type"], VS["Type"]>
}
