/**
 * Registry serde throughput: kpax's serdes against @kafkajs/confluent-schema-registry and
 * @confluentinc/schemaregistry on the same registry, values and schema, in one process, rounds
 * alternating between clients. Each client with its defaults (serdes have no tuning knobs that
 * matter here: every client caches the schema after the first record). Encode and decode of a
 * 6-field record, after a warm-up that fills every cache (so the registry is out of the loop).
 *
 *   npm run bench:serde                      # starts a registry (test/registry/harness.ts)
 *   KAFKA_SCHEMA_REGISTRY_URL=http://127.0.0.1:PORT/apis/ccompat/v7 npm run bench:serde -- --records 50000 --rounds 5
 *
 * kpax encodes/decodes synchronously once the serde is made; the peers return a promise per record.
 * Confluent's Protobuf serde needs @bufbuild generated message classes, so its Protobuf row is absent.
 */
import * as os from "node:os"
import { AvroDeserializer, AvroSerializer, JsonDeserializer, JsonSerializer, SchemaRegistryClient, SerdeType } from "@confluentinc/schemaregistry"
import { COMPATIBILITY, SchemaRegistry as KafkajsRegistry, SchemaType } from "@kafkajs/confluent-schema-registry"
import { Effect, Result } from "effect"
import * as Avro from "../../src/SchemaRegistry/Avro.ts"
import * as JsonSchema from "../../src/SchemaRegistry/JsonSchema.ts"
import * as Protobuf from "../../src/SchemaRegistry/Protobuf.ts"
import * as SchemaRegistry from "../../src/SchemaRegistry/SchemaRegistry.ts"
import * as Serde from "../../src/SchemaRegistry/Serde.ts"
import { startRegistry } from "../../test/registry/harness.ts"

const args = process.argv.slice(2)
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}
const RECORDS = opt("records", 30_000)
const ROUNDS = opt("rounds", 5)

const value = { id: "order-000123", customer: "Ada Lovelace", total: 1234.5, quantity: 7, paid: true, note: "leave at the door" }
const avro = {
  type: "record", name: "Order", namespace: "bench",
  fields: [
    { name: "id", type: "string" }, { name: "customer", type: "string" }, { name: "total", type: "double" },
    { name: "quantity", type: "int" }, { name: "paid", type: "boolean" }, { name: "note", type: "string" }
  ]
}
const json = {
  title: "Order", type: "object",
  properties: { id: { type: "string" }, customer: { type: "string" }, total: { type: "number" }, quantity: { type: "integer" }, paid: { type: "boolean" }, note: { type: "string" } },
  required: ["id", "customer", "total", "quantity", "paid", "note"]
}
const proto = `syntax = "proto3";\npackage bench;\nmessage Order {\n  string id = 1;\n  string customer = 2;\n  double total = 3;\n  int32 quantity = 4;\n  bool paid = 5;\n  string note = 6;\n}\n`

type Codec = { readonly encode: (v: unknown) => Promise<Uint8Array> | Uint8Array; readonly decode: (b: Buffer) => Promise<unknown> | unknown }

const timeIt = async (codec: Codec, bytes: Buffer) => {
  let t = process.hrtime.bigint()
  for (let i = 0; i < RECORDS; i++) await codec.encode(value)
  const enc = Number(process.hrtime.bigint() - t) / 1e9
  t = process.hrtime.bigint()
  for (let i = 0; i < RECORDS; i++) await codec.decode(bytes)
  const dec = Number(process.hrtime.bigint() - t) / 1e9
  return { enc: RECORDS / enc, dec: RECORDS / dec }
}

const main = async () => {
  const external = process.env.KAFKA_SCHEMA_REGISTRY_URL
  const registry = external === undefined || external === "" ? await startRegistry({ log: () => {} }) : undefined
  const url = external !== undefined && external !== "" ? external : registry!.url
  const run = <A, E>(e: Effect.Effect<A, E, SchemaRegistry.SchemaRegistry>) =>
    Effect.runPromise(Effect.provide(e, SchemaRegistry.layer({ url })) as Effect.Effect<A, E>)
  const stamp = Date.now().toString(36)
  const kafkajs = new KafkajsRegistry({ host: url })
  const confluent = new SchemaRegistryClient({ baseURLs: [url] })

  const kpaxCodec = async (format: Parameters<typeof Serde.serializer>[0]["format"], topic: string): Promise<Codec> => {
    const ser = await run(Serde.serializer({ format, topic }))
    const de = await run(Serde.deserializer({ format }))
    await Effect.runPromise(de.prepare([Result.getOrThrow(ser.encode(value))]))
    return {
      encode: (v) => Result.getOrThrow(ser.encode(v)),
      decode: (b) => Result.getOrThrow(de.decode(b))
    }
  }
  const kafkajsCodec = async (type: SchemaType, schema: string, subject: string): Promise<Codec> => {
    const { id } = await kafkajs.register({ type, schema } as any, { subject, compatibility: COMPATIBILITY.NONE })
    return { encode: (v) => kafkajs.encode(id, v), decode: (b) => kafkajs.decode(b) }
  }
  const confluentCodec = (kind: "avro" | "json", topic: string): Codec => {
    const ser = kind === "avro"
      ? new AvroSerializer(confluent, SerdeType.VALUE, { useLatestVersion: true })
      : new JsonSerializer(confluent, SerdeType.VALUE, { useLatestVersion: true })
    const de = kind === "avro" ? new AvroDeserializer(confluent, SerdeType.VALUE, {}) : new JsonDeserializer(confluent, SerdeType.VALUE, {})
    return { encode: (v) => ser.serialize(topic, v), decode: (b) => de.deserialize(topic, b) }
  }

  const formats: Array<{ name: string; clients: Array<[string, Codec]> }> = []
  {
    const topic = `bench-avro-${stamp}`
    const k = await kpaxCodec(Avro.format(avro), topic)
    formats.push({ name: "Avro", clients: [["kpax", k], ["@kafkajs/confluent-schema-registry", await kafkajsCodec(SchemaType.AVRO, JSON.stringify(avro), `${topic}-value`)], ["@confluentinc/schemaregistry", confluentCodec("avro", topic)]] })
  }
  {
    const topic = `bench-json-${stamp}`
    const k = await kpaxCodec(JsonSchema.format(json), topic)
    formats.push({ name: "JSON Schema", clients: [["kpax", k], ["@kafkajs/confluent-schema-registry", await kafkajsCodec(SchemaType.JSON, JSON.stringify(json), `${topic}-value`)], ["@confluentinc/schemaregistry", confluentCodec("json", topic)]] })
  }
  {
    const topic = `bench-proto-${stamp}`
    const k = await kpaxCodec(Protobuf.format(proto), topic)
    formats.push({ name: "Protobuf", clients: [["kpax", k], ["@kafkajs/confluent-schema-registry", await kafkajsCodec(SchemaType.PROTOBUF, proto, `${topic}-value`)]] })
  }

  process.stdout.write(`# serde bench: ${RECORDS} records x ${ROUNDS} rounds, Node ${process.version}, ${os.cpus().length} cpus, load before ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n`)
  for (const f of formats) {
    // every client's bytes for the same value (the peers' decoders read kpax's, and the other way around, for Avro/JSON)
    const bytes = Buffer.from(await f.clients[0]![1].encode(value))
    for (const [, c] of f.clients) await timeIt(c, f.name === "Protobuf" && c !== f.clients[0]![1] ? Buffer.from(await c.encode(value)) : bytes) // warm-up
    const results = new Map<string, Array<{ enc: number; dec: number }>>()
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? f.clients : [...f.clients].reverse()
      for (const [name, c] of order) {
        const input = f.name === "Protobuf" && name !== "kpax" ? Buffer.from(await c.encode(value)) : bytes
        const got = await timeIt(c, input)
        results.set(name, [...(results.get(name) ?? []), got])
      }
    }
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const base = results.get("kpax")!
    const kEnc = median(base.map((x) => x.enc))
    const kDec = median(base.map((x) => x.dec))
    process.stdout.write(`\n| ${f.name} | encode rec/s | kpax ÷ it | decode rec/s | kpax ÷ it |\n| --- | ---: | ---: | ---: | ---: |\n`)
    for (const [name] of f.clients) {
      const rs = results.get(name)!
      const e = median(rs.map((x) => x.enc))
      const d = median(rs.map((x) => x.dec))
      process.stdout.write(`| ${name} | ${Math.round(e).toLocaleString("en")} | ${(kEnc / e).toFixed(2)} | ${Math.round(d).toLocaleString("en")} | ${(kDec / d).toFixed(2)} |\n`)
    }
  }
  process.stdout.write(`\nload after ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n`)
  await registry?.stop()
}

await main()
