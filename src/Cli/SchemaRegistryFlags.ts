/**
 * Schema Registry flags of `kpax consume` and `kpax produce`: `--schema-registry URL` (else
 * `KAFKA_SCHEMA_REGISTRY_URL`), `--value-format` / `--key-format` `avro|protobuf|json-schema`,
 * and for produce `--value-schema` / `--key-schema` (a file, or the schema's text; without it the
 * subject's latest schema is used). Consume prints the decoded value as JSON (a record that does
 * not decode prints its error in its place: nothing is skipped silently); produce reads each
 * value (key) as JSON and writes it registry-framed, registering its schema under
 * `<topic>-value` (`-key`).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { Effect, Layer, Option, Result, Schedule } from "effect"
import { Flag } from "effect/cli"
import type { ConsumerRecord } from "../Consumer/Record.ts"
import type { ProducerRecord } from "../Producer/Producer.ts"
import * as Avro from "../SchemaRegistry/Avro.ts"
import type { Format } from "../SchemaRegistry/internal/format.ts"
import * as JsonSchema from "../SchemaRegistry/JsonSchema.ts"
import * as Protobuf from "../SchemaRegistry/Protobuf.ts"
import * as SchemaRegistry from "../SchemaRegistry/SchemaRegistry.ts"
import * as Serde from "../SchemaRegistry/Serde.ts"
import { CommandFailed, UsageError } from "./Errors.ts"
import { settings } from "./Kafka.ts"

const FORMATS = ["avro", "protobuf", "json-schema"] as const
type FormatName = typeof FORMATS[number]

const common = {
  schemaRegistry: Flag.String("schema-registry").pipe(
    Flag.withDescription("Schema Registry URL (default: KAFKA_SCHEMA_REGISTRY_URL) for --key-format / --value-format"),
    Flag.optional
  ),
  keyFormat: Flag.Literals("key-format", FORMATS).pipe(Flag.withDescription("keys are registry-framed in this format"), Flag.optional),
  valueFormat: Flag.Literals("value-format", FORMATS).pipe(Flag.withDescription("values are registry-framed in this format"), Flag.optional)
}

/** The flags `consume` adds. */
export const consumeFlags = common

/** The flags `produce` adds. */
export const produceFlags = {
  ...common,
  keySchema: Flag.String("key-schema").pipe(Flag.withDescription("the key schema: a file or its text (default: the subject's latest)"), Flag.optional),
  valueSchema: Flag.String("value-schema").pipe(Flag.withDescription("the value schema: a file or its text (default: the subject's latest)"), Flag.optional)
}

interface CommonInput {
  readonly schemaRegistry: Option.Option<string>
  readonly keyFormat: Option.Option<FormatName>
  readonly valueFormat: Option.Option<FormatName>
}

const formatOf = (name: FormatName, schema: string | undefined): Format<unknown> =>
  name === "avro" ? Avro.format(schema) : name === "protobuf" ? Protobuf.format(schema) : JsonSchema.format(schema)

const registryLayer = (input: CommonInput) =>
  Effect.gen(function*() {
    const url = Option.getOrUndefined(input.schemaRegistry) ?? (yield* settings).get("KAFKA_SCHEMA_REGISTRY_URL")?.value
    if (url === undefined || url === "") {
      return yield* new UsageError({ message: "--key-format/--value-format need --schema-registry URL (or KAFKA_SCHEMA_REGISTRY_URL, or schema-registry in the profile)" })
    }
    // CLI-sized: a registry that does not answer ends the command within seconds, not the library's minute of retries.
    return SchemaRegistry.layer({ url, requestTimeout: "10 seconds", retry: Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 3 })) })
  })

const used = (input: CommonInput) => Option.isSome(input.keyFormat) || Option.isSome(input.valueFormat)

const json = (value: unknown) => Buffer.from(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)), "utf8")

/**
 * What consume prints through: `prepare` loads a batch's schemas, `decode` turns a record's
 * framed key/value into JSON text. `undefined` when no format flag is given.
 */
export const reader = (input: CommonInput) =>
  Effect.gen(function*() {
    if (!used(input)) return undefined
    const layer = yield* registryLayer(input)
    const context = yield* Layer.build(layer)
    const make = (name: Option.Option<FormatName>) =>
      Option.isNone(name) ? Effect.succeed(undefined) : Effect.provide(Serde.deserializer({ format: formatOf(name.value, undefined) }), context)
    const key = yield* make(input.keyFormat)
    const value = yield* make(input.valueFormat)
    const part = (d: Serde.Deserializer<unknown> | undefined, bytes: Uint8Array | null, what: string) => {
      if (d === undefined || bytes === null) return bytes
      const r = d.decode(bytes)
      return Result.isSuccess(r) ? json(r.success) : Buffer.from(`!! cannot decode the ${what}: ${r.failure.message}`, "utf8")
    }
    return {
      prepare: (records: ReadonlyArray<ConsumerRecord>) =>
        Effect.andThen(
          key === undefined ? Effect.void : key.prepare(records.map((r) => r.key)),
          value === undefined ? Effect.void : value.prepare(records.map((r) => r.value))
        ),
      decode: (r: ConsumerRecord): ConsumerRecord => ({
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        timestampType: r.timestampType,
        leaderEpoch: r.leaderEpoch,
        headers: r.headers,
        key: part(key, r.key, "key"),
        value: part(value, r.value, "value")
      })
    }
  })

const schemaText = (flag: string, spec: Option.Option<string>) =>
  Effect.try({
    try: () => (Option.isNone(spec) ? undefined : fs.existsSync(spec.value) ? fs.readFileSync(spec.value, "utf8") : spec.value),
    catch: (e) => new UsageError({ message: `${flag}: ${(e as Error).message}` })
  })

/**
 * What produce encodes through: turns a record whose key/value is JSON text into a
 * registry-framed one (throws `CommandFailed` for a line that is not JSON or does not match).
 * `undefined` when no format flag is given.
 */
export const writer = (input: CommonInput & { readonly keySchema: Option.Option<string>; readonly valueSchema: Option.Option<string> }, topic: string) =>
  Effect.gen(function*() {
    if (!used(input)) return undefined
    const layer = yield* registryLayer(input)
    const context = yield* Layer.build(layer)
    const make = (name: Option.Option<FormatName>, part: "key" | "value", spec: Option.Option<string>) =>
      Effect.gen(function*() {
        if (Option.isNone(name)) return undefined
        const schema = yield* schemaText(`--${part}-schema`, spec)
        return yield* Serde.serializer({ format: formatOf(name.value, schema), topic, part, useLatest: schema === undefined }).pipe(
          Effect.provide(context),
          Effect.mapError((e) => new CommandFailed({ message: e.message }))
        )
      })
    const key = yield* make(input.keyFormat, "key", input.keySchema)
    const value = yield* make(input.valueFormat, "value", input.valueSchema)
    const part = (s: Serde.Serializer<unknown> | undefined, bytes: Uint8Array | null, what: string) => {
      if (s === undefined || bytes === null) return bytes
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(bytes).toString("utf8"))
      } catch (e) {
        throw new CommandFailed({ message: `the ${what} is not JSON: ${(e as Error).message}` })
      }
      const r = s.encode(parsed)
      if (Result.isFailure(r)) throw new CommandFailed({ message: r.failure.message })
      return r.success
    }
    return (r: ProducerRecord): ProducerRecord => ({ ...r, key: part(key, r.key ?? null, "key"), value: part(value, r.value, "value") })
  })
