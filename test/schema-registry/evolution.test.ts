import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import * as Avro from "../../src/SchemaRegistry/Avro.ts"
import * as JsonSchema from "../../src/SchemaRegistry/JsonSchema.ts"
import * as Protobuf from "../../src/SchemaRegistry/Protobuf.ts"
import * as SchemaRegistry from "../../src/SchemaRegistry/SchemaRegistry.ts"
import * as Serde from "../../src/SchemaRegistry/Serde.ts"
import * as Wire from "../../src/SchemaRegistry/internal/wire.ts"
import { ok, unique, userAvro, userJson, withRegistry } from "./fixtures.ts"

const plain = (v: unknown) => JSON.parse(JSON.stringify(v))

describe("schema evolution and subjects (real registry)", () => {
  it.live("a compatible change registers, old readers decode new records; an incompatible one is a typed error naming the subject and the registry's message", () =>
    withRegistry(Effect.gen(function*() {
      const sr = yield* SchemaRegistry.SchemaRegistry
      const topic = unique("evolve")
      const subject = `${topic}-value`
      const v1 = userAvro(topic)
      const v2 = userAvro(topic, [{ name: "email", type: ["null", "string"], default: null }])
      const w1 = yield* Serde.serializer({ format: Avro.format(v1), topic })
      assert.strictEqual(yield* sr.setConfig("BACKWARD", subject), "BACKWARD")
      assert.strictEqual(yield* sr.getConfig(subject), "BACKWARD")
      assert.isTrue((yield* sr.checkCompatibility(subject, { schemaType: "AVRO", schema: JSON.stringify(v2) })).isCompatible)
      const w2 = yield* Serde.serializer({ format: Avro.format(v2), topic })
      assert.notStrictEqual(w2.schemaId, w1.schemaId)
      assert.deepStrictEqual(yield* sr.versions(subject), [1, 2])
      const newRecord = ok(w2.encode({ name: "Ada", age: 36, email: "ada@example.com" }))
      const oldRecord = ok(w1.encode({ name: "Bob", age: 40 }))
      // the old reader resolves the new writer's schema into its own
      const oldReader = yield* Serde.deserializer({ format: Avro.format(v1) })
      assert.deepStrictEqual(plain(yield* oldReader.deserialize(newRecord)), { name: "Ada", age: 36 })
      const newReader = yield* Serde.deserializer({ format: Avro.format(v2) })
      assert.deepStrictEqual(plain(yield* newReader.deserialize(oldRecord)), { name: "Bob", age: 40, email: null })

      const bad = userAvro(topic).fields.map((f) => (f.name === "age" ? { name: "age", type: "string" } : f))
      const check = yield* sr.checkCompatibility(subject, { schemaType: "AVRO", schema: JSON.stringify({ ...v1, fields: bad }) })
      assert.isFalse(check.isCompatible)
      const failure = yield* Effect.flip(Serde.serializer({ format: Avro.format({ ...v1, fields: bad }), topic }))
      assert.strictEqual(failure._tag, "SerializationError")
      assert.strictEqual(failure.subject, subject)
      assert.include(failure.message, subject)
      assert.strictEqual(failure.cause?._tag, "RegistryResponseError")
      if (failure.cause?._tag === "RegistryResponseError") {
        assert.strictEqual(failure.cause.status, 409)
        assert.strictEqual(failure.cause.errorCode, 409)
        assert.include(failure.cause.registryMessage, "ncompatible")
        assert.include(failure.reason, failure.cause.registryMessage)
      }
    })))

  it.live("subject name strategies, auto-register off, use-latest", () =>
    withRegistry(Effect.gen(function*() {
      const sr = yield* SchemaRegistry.SchemaRegistry
      const topic = unique("strategy")
      const schema = userAvro(topic)
      const recordName = `${schema.namespace}.User`
      const byRecord = yield* Serde.serializer({ format: Avro.format(schema), topic, subjectNameStrategy: "record" })
      assert.strictEqual(byRecord.subject, recordName)
      const byTopicRecord = yield* Serde.serializer({ format: Avro.format(schema), topic, part: "key", subjectNameStrategy: "topic-record" })
      assert.strictEqual(byTopicRecord.subject, `${topic}-${recordName}`)
      const json = yield* Serde.serializer({ format: JsonSchema.format(userJson), topic, subjectNameStrategy: "topic-record" })
      assert.strictEqual(json.subject, `${topic}-User`)
      const subjects = yield* sr.subjects
      for (const s of [recordName, `${topic}-${recordName}`, `${topic}-User`]) assert.include(subjects, s)

      // auto-register off: an unregistered schema is the registry's "not found", typed
      const missing = yield* Effect.flip(Serde.serializer({ format: Avro.format(schema), topic, autoRegister: false }))
      assert.strictEqual(missing.subject, `${topic}-value`)
      assert.strictEqual(missing.cause?._tag, "RegistryResponseError")
      if (missing.cause?._tag === "RegistryResponseError") assert.include([40401, 40403], missing.cause.errorCode)
      // registered already: found by lookup, same id
      const found = yield* Serde.serializer({ format: Avro.format(schema), topic, subjectNameStrategy: "record", autoRegister: false })
      assert.strictEqual(found.schemaId, byRecord.schemaId)

      // use-latest writes with whatever the subject's latest schema is
      const v2 = userAvro(topic, [{ name: "email", type: ["null", "string"], default: null }])
      const latestId = yield* sr.register(`${topic}-value`, { schemaType: "AVRO", schema: JSON.stringify(v2) })
      const latest = yield* Serde.serializer({ format: Avro.format(), topic, useLatest: true })
      assert.strictEqual(latest.schemaId, latestId)
      const bytes = ok(latest.encode({ name: "Ada", age: 1, email: null }))
      assert.strictEqual(Wire.schemaId(bytes), latestId)
    })))

  it.live("schema references: an Avro record using a named type of another subject", () =>
    withRegistry(Effect.gen(function*() {
      const sr = yield* SchemaRegistry.SchemaRegistry
      const topic = unique("refs")
      const ns = topic.replace(/[^A-Za-z0-9_]/g, "_")
      const address = { type: "record", name: "Address", namespace: ns, fields: [{ name: "city", type: "string" }] }
      yield* sr.register(`${topic}-address`, { schemaType: "AVRO", schema: JSON.stringify(address) })
      const person = { type: "record", name: "Person", namespace: ns, fields: [{ name: "name", type: "string" }, { name: "home", type: `${ns}.Address` }] }
      const format = Avro.format(person, { references: [{ name: `${ns}.Address`, subject: `${topic}-address`, version: 1 }] })
      const ser = yield* Serde.serializer({ format, topic })
      const registered = yield* sr.getById(ser.schemaId)
      assert.deepStrictEqual(registered.references, [{ name: `${ns}.Address`, subject: `${topic}-address`, version: 1 }])
      const value = { name: "Ada", home: { city: "London" } }
      const de = yield* Serde.deserializer({ format: Avro.format() })
      assert.deepStrictEqual(plain(yield* de.deserialize(ok(ser.encode(value)))), value)
    })))

  it.live("schema references: a Protobuf import and a JSON Schema $ref of other subjects", () =>
    withRegistry(Effect.gen(function*() {
      const sr = yield* SchemaRegistry.SchemaRegistry
      const topic = unique("refs2")
      const pkg = topic.replace(/[^A-Za-z0-9_]/g, "_")
      const money = `syntax = "proto3";\npackage ${pkg};\nmessage Money {\n  string currency = 1;\n  int64 cents = 2;\n}\n`
      yield* sr.register(`${topic}-money`, { schemaType: "PROTOBUF", schema: money })
      const order = `syntax = "proto3";\npackage ${pkg};\nimport "money.proto";\nmessage Order {\n  string id = 1;\n  Money total = 2;\n}\n`
      const proto = Protobuf.format(order, { references: [{ name: "money.proto", subject: `${topic}-money`, version: 1 }] })
      const pser = yield* Serde.serializer({ format: proto, topic })
      const pvalue = { id: "o-1", total: { currency: "EUR", cents: "1250" } }
      const pde = yield* Serde.deserializer({ format: Protobuf.format() })
      assert.deepStrictEqual(yield* pde.deserialize(ok(pser.encode(pvalue))), pvalue)
      assert.strictEqual(pser.encode({ id: 5, total: { currency: "EUR", cents: "1" } })._tag, "Failure")
      assert.strictEqual(pser.encode({ id: "o", total: { currency: "EUR", cents: "many" } })._tag, "Failure")

      const address = { $id: "address.json", type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      yield* sr.register(`${topic}-address`, { schemaType: "JSON", schema: JSON.stringify(address) })
      const person = { title: "Person", type: "object", properties: { name: { type: "string" }, home: { $ref: "address.json" } }, required: ["name", "home"] }
      const json = JsonSchema.format(person, { references: [{ name: "address.json", subject: `${topic}-address`, version: 1 }] })
      const jser = yield* Serde.serializer({ format: json, topic: `${topic}-j` })
      const jde = yield* Serde.deserializer({ format: JsonSchema.format() })
      const jvalue = { name: "Ada", home: { city: "London" } }
      assert.deepStrictEqual(yield* jde.deserialize(ok(jser.encode(jvalue))), jvalue)
      // the referenced schema is enforced too
      const wrong = jser.encode({ name: "Ada", home: { city: 5 } })
      assert.strictEqual(wrong._tag, "Failure")
    })))

  it.live("bad input: magic byte, unknown id, payload not matching, unreachable registry — each a typed error for that record", () =>
    Effect.gen(function*() {
      const topic = unique("bad")
      const { good, de } = yield* withRegistry(Effect.gen(function*() {
        const ser = yield* Serde.serializer({ format: Avro.format(userAvro(topic)), topic })
        return { good: ok(ser.encode({ name: "Ada", age: 36 })), de: yield* Serde.deserializer({ format: Avro.format() }), ser }
      }))
      const reason = (bytes: Uint8Array) => Effect.map(Effect.flip(de.deserialize(bytes)), (e) => e.reason)
      const wrongMagic = Uint8Array.from(good)
      wrongMagic[0] = 1
      assert.strictEqual(yield* reason(wrongMagic), "MagicByte")
      assert.strictEqual(yield* reason(Uint8Array.of(0, 0)), "MagicByte")
      const unknown = Uint8Array.from(good)
      unknown.set([0x7f, 0xff, 0xff, 0xf0], 1)
      const e = yield* Effect.flip(de.deserialize(unknown))
      assert.strictEqual(e.reason, "UnknownSchema")
      assert.strictEqual(e.schemaId, 0x7ffffff0)
      assert.strictEqual(e.cause?._tag, "RegistryResponseError")
      const truncated = good.subarray(0, good.length - 2)
      assert.strictEqual(yield* reason(truncated), "Payload")
      // the good record still decodes after all that
      assert.deepStrictEqual(plain(yield* de.deserialize(good)), { name: "Ada", age: 36 })

      // a registry nobody listens on: typed, after the (short) retry schedule
      const nowhere = SchemaRegistry.layer({ url: "http://127.0.0.1:1", retry: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 2 })) })
      const offline = yield* Serde.deserializer({ format: Avro.format() }).pipe(Effect.provide(nowhere))
      const down = yield* Effect.flip(offline.deserialize(good))
      assert.strictEqual(down.reason, "Registry")
      assert.strictEqual(down.cause?._tag, "RegistryUnavailable")
      const noWriter = yield* Effect.flip(Serde.serializer({ format: Avro.format(userAvro(topic)), topic }).pipe(Effect.provide(nowhere)))
      assert.strictEqual(noWriter.cause?._tag, "RegistryUnavailable")
    }))
})
