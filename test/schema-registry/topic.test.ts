import { COMPATIBILITY, SchemaType } from "@kafkajs/confluent-schema-registry"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schedule, Schema, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import * as Record from "../../src/Consumer/Record.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import * as Avro from "../../src/SchemaRegistry/Avro.ts"
import * as JsonSchema from "../../src/SchemaRegistry/JsonSchema.ts"
import * as Protobuf from "../../src/SchemaRegistry/Protobuf.ts"
import * as RegistryTopic from "../../src/SchemaRegistry/RegistryTopic.ts"
import * as SchemaRegistry from "../../src/SchemaRegistry/SchemaRegistry.ts"
import * as Topic from "../../src/Topic.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"
import { peer, registryLayer, userJson, userProto } from "./fixtures.ts"

const withKafka = <A, E>(f: (topic: string) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster | SchemaRegistry.SchemaRegistry>, prefix: string) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-registry-test" })
      const topic = uniqueTopic(prefix)
      yield* createTopic(cluster, topic, { partitions: 1 })
      return yield* f(topic).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  ).pipe(Effect.provide(registryLayer()))

const plain = (v: unknown) => JSON.parse(JSON.stringify(v))
const read = (topic: string, n: number) => PartitionConsumer.stream([{ topic, partition: 0, from: "earliest" }]).pipe(Stream.take(n))

const Order = Schema.Struct({
  id: Schema.String,
  total: Schema.Number,
  items: Schema.Array(Schema.Struct({ sku: Schema.String, qty: Schema.Int }).annotate({ identifier: "Item" })),
  note: Schema.optional(Schema.NullOr(Schema.String))
}).annotate({ identifier: "Order" })

describe("registry-backed typed topics (real broker + real registry)", () => {
  it.live("Avro derived from an Effect Schema: sendTyped and Record.decode unchanged; @kafkajs decodes the records", () =>
    withKafka((name) =>
      Effect.gen(function*() {
        const Orders = yield* RegistryTopic.make({ name, key: Topic.Utf8, value: { format: Avro.fromSchema(Order, { namespace: "shop" }) } })
        const producer = yield* Producer.make()
        const orders = [
          { id: "o-1", total: 12.5, items: [{ sku: "a", qty: 1 }], note: null },
          { id: "o-2", total: 3, items: [], note: "gift" }
        ]
        for (const o of orders) yield* producer.sendTyped(Orders, { key: o.id, value: o })
        const typed = yield* read(name, 2).pipe(Record.decode(Orders), Stream.runCollect)
        assert.deepStrictEqual(typed.map((r) => [r.key, plain(r.value)]), orders.map((o) => [o.id, o]))
        const registry = peer()
        for (const r of typed) {
          assert.deepStrictEqual(plain(yield* Effect.promise(() => registry.decode(Buffer.from(r.raw.value!)))), plain(r.value))
        }
      }), "sr-avro"))

  it.live("JSON Schema and Protobuf topics read what @kafkajs/confluent-schema-registry produced, and it reads theirs", () =>
    withKafka((name) =>
      Effect.gen(function*() {
        const registry = peer()
        const proto = userProto(name)
        const jsonId = (yield* Effect.promise(() =>
          registry.register({ type: SchemaType.JSON, schema: JSON.stringify(userJson) }, { subject: `${name}-value`, compatibility: COMPATIBILITY.NONE })
        )).id
        const protoId = (yield* Effect.promise(() =>
          registry.register({ type: SchemaType.PROTOBUF, schema: proto }, { subject: `${name}-key`, compatibility: COMPATIBILITY.NONE })
        )).id
        const Users = yield* RegistryTopic.make({
          name,
          key: { format: Protobuf.format<{ name: string; age: number }>(proto), protobufMessageIndexes: false },
          value: { format: JsonSchema.format<{ name: string; age: number }>(userJson) }
        })
        const producer = yield* Producer.make()
        const peerKey = yield* Effect.promise(() => registry.encode(protoId, { name: "Ada", age: 1 }))
        const peerValue = yield* Effect.promise(() => registry.encode(jsonId, { name: "Ada", age: 36 }))
        yield* producer.send({ topic: name, key: peerKey, value: peerValue })
        const [r] = yield* read(name, 1).pipe(Record.decode(Users), Stream.runCollect)
        assert.deepStrictEqual(r!.key, { name: "Ada", age: 1 })
        assert.deepStrictEqual(r!.value, { name: "Ada", age: 36 })
        // and kpax's value bytes are the peer's bytes
        assert.deepStrictEqual(Buffer.from(Result.getOrThrow(Users.encodeValue({ name: "Ada", age: 36 }))), peerValue)
        const key = Buffer.from(Result.getOrThrow(Users.encodeKey({ name: "Grace", age: 2 }))!)
        const back = yield* Effect.promise(() => registry.decode(key))
        assert.deepStrictEqual({ name: back.name, age: back.age }, { name: "Grace", age: 2 })
      }), "sr-mixed"))

  it.live("bad records in a stream: decode stops at the first with its offset and cause, decodeSkipping and decodeResult lose nothing else", () =>
    withKafka((name) =>
      Effect.gen(function*() {
        const Users = yield* RegistryTopic.make({ name, value: { format: JsonSchema.fromSchema(Schema.Struct({ name: Schema.String }).annotate({ identifier: "U" })) } })
        const producer = yield* Producer.make()
        const good = Result.getOrThrow(Users.encodeValue({ name: "a" }))
        const notMatching = Uint8Array.from(Buffer.concat([Buffer.from(good.subarray(0, 5)), Buffer.from(JSON.stringify({ name: 5 }))]))
        const unknownId = Uint8Array.from(good)
        unknownId.set([0x7f, 0xff, 0xff, 0xf1], 1)
        const badMagic = Uint8Array.from(good)
        badMagic[0] = 7
        yield* producer.send({ topic: name, value: good })
        yield* producer.send({ topic: name, value: badMagic })
        yield* producer.send({ topic: name, value: unknownId })
        yield* producer.send({ topic: name, value: notMatching })
        yield* producer.sendTyped(Users, { value: { name: "e" } })
        const records = read(name, 5)

        const failed = yield* records.pipe(Record.decode(Users), Stream.runCollect, Effect.flip)
        assert.strictEqual(failed._tag, "RecordDecodeError")
        if (failed._tag === "RecordDecodeError") {
          assert.strictEqual(failed.offset, 1n)
          assert.strictEqual((failed.cause as any)?.reason, "MagicByte")
        }
        const skipped: Array<[bigint, string]> = []
        const kept = yield* records.pipe(
          Record.decodeSkipping(Users, (e) => Effect.sync(() => skipped.push([e.offset, (e.cause as any)?.reason]))),
          Stream.runCollect
        )
        assert.deepStrictEqual(kept.map((r) => [r.offset, r.value]), [[0n, { name: "a" }], [4n, { name: "e" }]])
        assert.deepStrictEqual(skipped, [[1n, "MagicByte"], [2n, "UnknownSchema"], [3n, "Payload"]])
        const results = yield* records.pipe(Record.decodeResult(Users), Stream.runCollect)
        assert.deepStrictEqual(results.map((r) => r._tag), ["Success", "Failure", "Failure", "Failure", "Success"])

        // the registry unreachable: a reader topic (no writer schema) still makes, each record fails typed
        const nowhere = SchemaRegistry.layer({ url: "http://127.0.0.1:1", retry: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 1 })) })
        const Offline = yield* RegistryTopic.make({ name, value: { format: JsonSchema.format() } }).pipe(Effect.provide(nowhere))
        const lost: Array<string> = []
        const none = yield* records.pipe(
          Record.decodeSkipping(Offline, (e) => Effect.sync(() => lost.push((e.cause as any)?.reason))),
          Stream.runCollect
        )
        assert.strictEqual(none.length, 0)
        assert.deepStrictEqual(lost, ["Registry", "MagicByte", "Registry", "Registry", "Registry"])
      }), "sr-bad"))
})
