import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as Topic from "../../src/Topic.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b))

const Order = Schema.Struct({ id: Schema.String, total: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)) })

describe("Topic", () => {
  it("validates names by Kafka's rules", () => {
    for (const ok of ["orders", "a", "A.b_c-9", "x".repeat(249)]) assert.isTrue(Result.isSuccess(Topic.validateName(ok)), ok)
    for (const bad of ["", ".", "..", "with space", "ümlaut", "a/b", "x".repeat(250)]) {
      const r = Topic.validateName(bad)
      assert.isTrue(Result.isFailure(r), bad)
      if (Result.isFailure(r)) assert.strictEqual(r.failure._tag, "InvalidTopicName")
    }
    assert.throws(() => Topic.make({ name: "no spaces please" }), /invalid topic name/)
  })

  it("carries plain schemas as JSON and decodes them back", () => {
    const orders = Topic.make({ name: "orders", key: Schema.String, value: Order })
    const k = orders.encodeKey("o-1")
    const v = orders.encodeValue({ id: "o-1", total: 12.5 })
    assert.isTrue(Result.isSuccess(k) && Result.isSuccess(v))
    if (!Result.isSuccess(k) || !Result.isSuccess(v)) return
    assert.strictEqual(text(k.success), "\"o-1\"")
    assert.deepStrictEqual(JSON.parse(text(v.success)!), { id: "o-1", total: 12.5 })
    const back = orders.decodeValue(v.success, 3, 42n)
    assert.deepStrictEqual(back, Result.succeed({ id: "o-1", total: 12.5 }))
    assert.deepStrictEqual(orders.decodeKey(k.success, 3, 42n), Result.succeed("o-1"))
    assert.deepStrictEqual(orders.encodeKey(null), Result.succeed(null))
  })

  it("uses bytes-encoded schemas as they are", () => {
    const logs = Topic.make({ name: "logs", key: Topic.Utf8, value: Topic.Utf8 })
    const v = logs.encodeValue("hello")
    assert.deepStrictEqual(v, Result.succeed(utf8("hello")))
    const raw = Topic.make({ name: "raw" })
    assert.deepStrictEqual(raw.encodeValue(utf8("x")), Result.succeed(utf8("x")))
  })

  it("a record that fails to decode is a typed error with topic, partition and offset", () => {
    const orders = Topic.make({ name: "orders", value: Order })
    const bad = orders.decodeValue(utf8("{\"id\":1}"), 2, 9007199254740993n)
    assert.isTrue(Result.isFailure(bad))
    if (Result.isFailure(bad)) {
      assert.strictEqual(bad.failure._tag, "RecordDecodeError")
      assert.strictEqual(bad.failure.topic, "orders")
      assert.strictEqual(bad.failure.partition, 2)
      assert.strictEqual(bad.failure.offset, 9007199254740993n)
      assert.strictEqual(bad.failure.part, "value")
    }
    const garbage = orders.decodeValue(utf8("not json"), 0, 1n)
    assert.isTrue(Result.isFailure(garbage))
    const tombstone = orders.decodeValue(null, 0, 2n)
    assert.isTrue(Result.isFailure(tombstone))
  })

  it("a value the schema rejects is a typed encode error", () => {
    const orders = Topic.make({ name: "orders", value: Order })
    const r = orders.encodeValue({ id: "x", total: -1 })
    assert.isTrue(Result.isFailure(r))
    if (Result.isFailure(r)) {
      assert.strictEqual(r.failure._tag, "RecordEncodeError")
      assert.strictEqual(r.failure.part, "value")
    }
  })
})
