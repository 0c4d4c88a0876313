import * as http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Result, Schema } from "effect"
import * as Avro from "../../src/SchemaRegistry/Avro.ts"
import * as JsonSchema from "../../src/SchemaRegistry/JsonSchema.ts"
import * as RegistryTopic from "../../src/SchemaRegistry/RegistryTopic.ts"
import * as SchemaRegistry from "../../src/SchemaRegistry/SchemaRegistry.ts"
import * as Serde from "../../src/SchemaRegistry/Serde.ts"
import { registryUrl } from "../registry/env.ts"
import { unique, userAvro } from "./fixtures.ts"

/** A pass-through proxy in front of the real registry that records each request (method, path, authorization). */
const countingProxy = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly seen: Array<string>; readonly auth: Array<string | undefined>; readonly server: http.Server }>((resume) => {
    const target = new URL(registryUrl())
    const seen: Array<string> = []
    const auth: Array<string | undefined> = []
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      auth.push(req.headers.authorization)
      const { authorization: _, host: __, ...headers } = req.headers
      const upstream = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      })
      req.pipe(upstream)
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}${target.pathname}`, seen, auth, server }))
    })
  }),
  (p) => Effect.callback<void>((resume) => void p.server.close(() => resume(Effect.void)))
)

describe("SchemaRegistry client (real registry)", () => {
  it.live("caches by id and by (subject, schema); concurrent misses for one key are one request", () =>
    Effect.gen(function*() {
      const proxy = yield* countingProxy
      yield* Effect.gen(function*() {
        const sr = yield* SchemaRegistry.SchemaRegistry
        const subject = unique("cache")
        const def = { schemaType: "AVRO" as const, schema: JSON.stringify(userAvro(subject)) }
        const ids = yield* Effect.all(Array.from({ length: 20 }, () => sr.register(subject, def)), { concurrency: "unbounded" })
        assert.strictEqual(new Set(ids).size, 1)
        assert.strictEqual(proxy.seen.filter((s) => s.startsWith(`POST /`) && s.includes(subject)).length, 1)
        // the schema of a registered id is known without asking
        assert.deepStrictEqual((yield* sr.getById(ids[0]!)).schema, def.schema)
        assert.isTrue(proxy.seen.every((s) => !s.includes("/schemas/ids/")))
        // an id this client has not seen: 20 concurrent callers, one request
        const other = unique("cache2")
        const otherId = yield* Effect.promise(() =>
          fetch(`${registryUrl()}/subjects/${other}/versions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ schema: JSON.stringify(userAvro(other)) })
          }).then((r) => r.json() as Promise<{ id: number }>)
        )
        const got = yield* Effect.all(Array.from({ length: 20 }, () => sr.getById(otherId.id)), { concurrency: "unbounded" })
        assert.strictEqual(new Set(got.map((g) => g.schema)).size, 1)
        assert.strictEqual(proxy.seen.filter((s) => s.includes(`/schemas/ids/${otherId.id}`)).length, 1)
        // a failure is not cached: two calls, two requests, each a typed 40403
        for (let i = 0; i < 2; i++) {
          const e = yield* Effect.flip(sr.getById(0x7ffffff2))
          assert.strictEqual(e._tag, "RegistryResponseError")
          if (e._tag === "RegistryResponseError") assert.strictEqual(e.errorCode, 40403)
        }
        assert.strictEqual(proxy.seen.filter((s) => s.includes(`/schemas/ids/${0x7ffffff2}`)).length, 2)
        // a subject that does not exist
        const none = yield* Effect.flip(sr.versions(unique("none")))
        assert.strictEqual(none._tag === "RegistryResponseError" ? none.errorCode : 0, 40401)
      }).pipe(Effect.provide(SchemaRegistry.layer({ url: proxy.url })))
    }).pipe(Effect.scoped))

  it.live("layerConfig: KAFKA_SCHEMA_REGISTRY_URL with basic auth or a bearer token on every request", () =>
    Effect.gen(function*() {
      const proxy = yield* countingProxy
      const fromEnv = (env: Record<string, string>) =>
        SchemaRegistry.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ KAFKA: { SCHEMA_REGISTRY: env } }))))
      yield* Effect.gen(function*() { return yield* (yield* SchemaRegistry.SchemaRegistry).subjects }).pipe(
        Effect.provide(fromEnv({ URL: proxy.url, USERNAME: "ada", PASSWORD: "s3cret" }))
      )
      yield* Effect.gen(function*() { return yield* (yield* SchemaRegistry.SchemaRegistry).getConfig() }).pipe(
        Effect.provide(fromEnv({ URL: proxy.url, BEARER_TOKEN: "tok" }))
      )
      assert.deepStrictEqual(proxy.auth, [`Basic ${Buffer.from("ada:s3cret").toString("base64")}`, "Bearer tok"])
      const bad = yield* Effect.flip(Effect.gen(function*() { return yield* (yield* SchemaRegistry.SchemaRegistry).subjects }).pipe(
        Effect.provide(fromEnv({ URL: proxy.url, TLS_CA_FILE: "/nonexistent/ca.pem" }))
      ))
      assert.strictEqual(bad._tag, "InvalidSchemaRegistryConfig")
    }).pipe(Effect.scoped))

  it.live("JSON Schema derived from an Effect Schema registers and validates", () =>
    Effect.gen(function*() {
      const Order = Schema.Struct({ id: Schema.String, qty: Schema.Int, tags: Schema.Array(Schema.String) }).annotate({ identifier: "Order" })
      const format = JsonSchema.fromSchema(Order)
      const topic = unique("derived")
      const ser = yield* Serde.serializer({ format, topic, subjectNameStrategy: "topic-record" })
      assert.strictEqual(ser.subject, `${topic}-Order`)
      const bytes = ser.encode({ id: "a", qty: 2, tags: ["x"] })
      assert.isTrue(Result.isSuccess(bytes))
      const wrong = ser.encode({ id: "a", qty: 2.5, tags: [] } as any)
      assert.isTrue(Result.isFailure(wrong))
      if (Result.isFailure(wrong)) assert.include(wrong.failure.message, "/qty")
      const de = yield* Serde.deserializer({ format: JsonSchema.format() })
      if (Result.isSuccess(bytes)) assert.deepStrictEqual(yield* de.deserialize(bytes.success), { id: "a", qty: 2, tags: ["x"] })
    }).pipe(Effect.provide(SchemaRegistry.layer({ url: registryUrl() }))))

  it.live("Avro derived from an Effect Schema: the mapping, and a transforming schema typed both ways through a RegistryTopic", () =>
    Effect.gen(function*() {
      const Line = Schema.Struct({ sku: Schema.String, qty: Schema.Int }).annotate({ identifier: "Line" })
      const Order = Schema.Struct({
        id: Schema.String,
        placed: Schema.NumberFromString,
        paid: Schema.Boolean,
        status: Schema.Literals(["new", "shipped"]),
        lines: Schema.Array(Line),
        attrs: Schema.Record(Schema.String, Schema.String),
        note: Schema.optional(Schema.NullOr(Schema.String))
      }).annotate({ identifier: "Order" })
      assert.deepStrictEqual(Avro.toAvroSchema(Order, { namespace: "shop" }), {
        type: "record", name: "Order", namespace: "shop",
        fields: [
          { name: "id", type: "string" },
          { name: "placed", type: "string" },
          { name: "paid", type: "boolean" },
          { name: "status", type: { type: "enum", name: "OrderStatusEnum", symbols: ["new", "shipped"] } },
          { name: "lines", type: { type: "array", items: { type: "record", name: "Line", namespace: "shop", fields: [{ name: "sku", type: "string" }, { name: "qty", type: "long" }] } } },
          { name: "attrs", type: { type: "map", values: "string" } },
          { name: "note", type: ["null", "string"], default: null }
        ]
      })
      assert.throws(() => Avro.toAvroSchema(Schema.Struct({ at: Schema.Date })), /no Avro type/)
      const name = unique("derived-avro")
      const Orders = yield* RegistryTopic.make({ name, value: { format: Avro.fromSchema(Order, { namespace: "shop" }) } })
      const order = { id: "o", placed: 1700000000, paid: true, status: "new" as const, lines: [{ sku: "a", qty: 2 }], attrs: { gift: "yes" }, note: null }
      const bytes = Result.getOrThrow(Orders.encodeValue(order))
      yield* Orders.prepare!([{ key: null, value: bytes }])
      const back = Result.getOrThrow(Orders.decodeValue(bytes, 0, 0n))
      assert.deepStrictEqual(JSON.parse(JSON.stringify(back)), order)
      assert.strictEqual(typeof back.placed, "number") // decoded through the Effect Schema: "1700000000" → 1700000000
      const bad = Orders.encodeValue({ ...order, placed: "soon" as unknown as number })
      assert.isTrue(Result.isFailure(Orders.encodeValue({ ...order, status: "lost" as "new" })))
      assert.isTrue(Result.isFailure(bad))
    }).pipe(Effect.provide(SchemaRegistry.layer({ url: registryUrl() }))))
})
