import { AvroDeserializer, AvroSerializer, JsonDeserializer, JsonSerializer, SchemaRegistryClient, SerdeType } from "@confluentinc/schemaregistry"
import { COMPATIBILITY, SchemaType } from "@kafkajs/confluent-schema-registry"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Avro from "../../src/SchemaRegistry/Avro.ts"
import * as JsonSchema from "../../src/SchemaRegistry/JsonSchema.ts"
import * as Protobuf from "../../src/SchemaRegistry/Protobuf.ts"
import * as Serde from "../../src/SchemaRegistry/Serde.ts"
import { registryUrl } from "../registry/env.ts"
import { ok, peer, unique, userAvro, userJson, userProto, withRegistry } from "./fixtures.ts"

const ada = { name: "Ada", age: 36 }

describe("registry serdes: interop with @kafkajs/confluent-schema-registry (real registry)", () => {
  it.live("Avro: same bytes both ways, each decodes the other's", () =>
    withRegistry(Effect.gen(function*() {
      const topic = unique("avro")
      const schema = userAvro(topic)
      const ser = yield* Serde.serializer({ format: Avro.format(schema), topic })
      const mine = Buffer.from(ok(ser.encode(ada)))
      const registry = peer()
      const { id } = yield* Effect.promise(() => registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: `${topic}-value`, compatibility: COMPATIBILITY.NONE }))
      assert.strictEqual(id, ser.schemaId)
      const theirs = yield* Effect.promise(() => registry.encode(id, ada))
      assert.deepStrictEqual(mine, theirs)
      assert.deepStrictEqual({ ...(yield* Effect.promise(() => registry.decode(mine))) }, ada)
      const de = yield* Serde.deserializer({ format: Avro.format() })
      assert.deepStrictEqual(JSON.parse(JSON.stringify(yield* de.deserialize(theirs))), ada)
    })))

  it.live("JSON Schema: same bytes both ways, each decodes the other's", () =>
    withRegistry(Effect.gen(function*() {
      const topic = unique("json")
      const ser = yield* Serde.serializer({ format: JsonSchema.format(userJson), topic })
      const mine = Buffer.from(ok(ser.encode(ada)))
      const registry = peer()
      const { id } = yield* Effect.promise(() => registry.register({ type: SchemaType.JSON, schema: JSON.stringify(userJson) }, { subject: `${topic}-value`, compatibility: COMPATIBILITY.NONE }))
      assert.strictEqual(id, ser.schemaId)
      const theirs = yield* Effect.promise(() => registry.encode(id, ada))
      assert.deepStrictEqual(mine, theirs)
      assert.deepStrictEqual(yield* Effect.promise(() => registry.decode(mine)), ada)
      const de = yield* Serde.deserializer({ format: JsonSchema.format() })
      assert.deepStrictEqual(yield* de.deserialize(theirs), ada)
    })))

  it.live("Protobuf: kpax writes the message-index path, the peer (which writes none) still reads it; kpax reads the peer's with protobufMessageIndexes: false", () =>
    withRegistry(Effect.gen(function*() {
      const topic = unique("proto")
      const proto = userProto(topic)
      const ser = yield* Serde.serializer({ format: Protobuf.format(proto), topic })
      const mine = Buffer.from(ok(ser.encode(ada)))
      const registry = peer()
      const { id } = yield* Effect.promise(() => registry.register({ type: SchemaType.PROTOBUF, schema: proto }, { subject: `${topic}-value`, compatibility: COMPATIBILITY.NONE }))
      assert.strictEqual(id, ser.schemaId)
      const theirs = yield* Effect.promise(() => registry.encode(id, ada))
      // Same header and payload; kpax adds the single 0 byte naming the file's first message.
      assert.deepStrictEqual(mine, Buffer.concat([theirs.subarray(0, 5), Buffer.from([0]), theirs.subarray(5)]))
      const decoded = yield* Effect.promise(() => registry.decode(mine))
      assert.deepStrictEqual({ name: decoded.name, age: decoded.age }, ada)
      const legacy = yield* Serde.deserializer({ format: Protobuf.format(), protobufMessageIndexes: false })
      assert.deepStrictEqual(yield* legacy.deserialize(theirs), ada)
      const de = yield* Serde.deserializer({ format: Protobuf.format() })
      assert.deepStrictEqual(yield* de.deserialize(mine), ada)
    })))

  it.live("Protobuf: a second message of the file is named by its index path", () =>
    withRegistry(Effect.gen(function*() {
      const topic = unique("proto2")
      const ser = yield* Serde.serializer({ format: Protobuf.format(userProto(topic), { messageName: "Other" }), topic })
      const bytes = ok(ser.encode({ note: "hi" }))
      assert.deepStrictEqual([...bytes.subarray(5, 7)], [2, 2]) // count 1, index 1, zigzag
      const de = yield* Serde.deserializer({ format: Protobuf.format() })
      assert.deepStrictEqual(yield* de.deserialize(bytes), { note: "hi" })
    })))

  it.live("@confluentinc/schemaregistry: Avro and JSON Schema, same bytes both ways, each decodes the other's", () =>
    withRegistry(Effect.gen(function*() {
      const client = new SchemaRegistryClient({ baseURLs: [registryUrl()] })
      for (const kind of ["avro", "json"] as const) {
        const topic = unique(`confluent-${kind}`)
        const format = kind === "avro" ? Avro.format(userAvro(topic)) : JsonSchema.format(userJson)
        const ser = yield* Serde.serializer({ format, topic })
        const mine = Buffer.from(ok(ser.encode(ada)))
        const theirSer = kind === "avro"
          ? new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true })
          : new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true })
        const theirDe = kind === "avro" ? new AvroDeserializer(client, SerdeType.VALUE, {}) : new JsonDeserializer(client, SerdeType.VALUE, {})
        const theirs = yield* Effect.promise(() => theirSer.serialize(topic, ada))
        assert.deepStrictEqual(mine, theirs, kind)
        assert.deepStrictEqual(JSON.parse(JSON.stringify(yield* Effect.promise(() => theirDe.deserialize(topic, mine)))), ada)
        const de = yield* Serde.deserializer({ format: kind === "avro" ? Avro.format() : JsonSchema.format() })
        assert.deepStrictEqual(JSON.parse(JSON.stringify(yield* de.deserialize(theirs))), ada)
      }
    })))
})
