/**
 * `sendAll` over the in-memory cluster: metadata in record order across interleaved partitions,
 * topics and batches (records are grouped in runs per batch internally), errors at their place,
 * lz4 batches compressed on the thread pool land in order.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Producer from "../../src/Producer/Producer.ts"
import { runWithClock, utf8, withKafka } from "../testing/inMemoryHelpers.ts"

describe("sendAll", () => {
  it.effect("metadata in record order: offsets per partition count up across interleaved partitions, topics and batches", () =>
    withKafka({ brokers: 1, topics: [{ name: "a", partitions: 3 }, { name: "b", partitions: 2 }] }, () =>
      Effect.gen(function*() {
        // small batches: a partition's records span several batches, and runs break at each
        const producer = yield* Producer.make({ linger: "0 millis", batchSize: 200 })
        const records = Array.from({ length: 120 }, (_, i) => ({
          topic: i % 5 === 4 ? "b" : "a",
          partition: i % 5 === 4 ? (i >> 3) % 2 : (i >> 2) % 3,
          value: utf8(`v${i}`)
        }))
        const metas = yield* runWithClock(producer.sendAll(records))
        assert.strictEqual(metas.length, records.length)
        const next = new Map<string, bigint>()
        for (let i = 0; i < records.length; i++) {
          const r = records[i]
          const m = metas[i]
          assert.strictEqual(m.topic, r.topic)
          assert.strictEqual(m.partition, r.partition)
          const key = `${r.topic}-${r.partition}`
          const expected = next.get(key) ?? 0n
          assert.strictEqual(m.offset, expected, `record ${i}`)
          next.set(key, expected + 1n)
          assert.isAtLeast(m.timestamp, 0) // the TestClock starts at 0
        }
      })))

  it.effect("any iterable: records from a generator, including one for a topic whose metadata is fetched on the way", () =>
    withKafka({ brokers: 1, topics: [{ name: "a", partitions: 1 }, { name: "late", partitions: 1 }] }, () =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        function* records() {
          for (let i = 0; i < 5; i++) yield { topic: "a", value: utf8(`a${i}`) }
          yield { topic: "late", value: utf8("first of late") } // not in the metadata yet: the slow path
          for (let i = 5; i < 8; i++) yield { topic: "a", value: utf8(`a${i}`) }
        }
        const metas = yield* runWithClock(producer.sendAll(records()))
        assert.deepStrictEqual(metas.map((m) => `${m.topic}@${m.offset}`), ["a@0", "a@1", "a@2", "a@3", "a@4", "late@0", "a@5", "a@6", "a@7"])
      })))

  it.effect("a bad record fails the call with its error; the records around it are still sent", () =>
    withKafka({ brokers: 1, topics: [{ name: "a", partitions: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        const records = [
          { topic: "a", value: utf8("1") },
          { topic: "a", value: "not bytes" as unknown as Uint8Array },
          { topic: "a", value: utf8("3") }
        ]
        const exit = yield* runWithClock(Effect.exit(producer.sendAll(records)))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), "InvalidRecord")
        const metas = yield* runWithClock(producer.sendAll([{ topic: "a", value: utf8("4") }]))
        assert.strictEqual(metas[0].offset, 2n) // "1" and "3" landed at 0 and 1
        const produced = yield* kafka.requests({ api: "Produce" })
        assert.isAbove(produced.length, 0)
      })))

  it.effect("lz4, idempotent, batches large enough to compress on the thread pool: offsets in order on every partition", () =>
    withKafka({ brokers: 1, topics: [{ name: "z", partitions: 3 }] }, () =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ compression: "lz4", linger: "0 millis", batchSize: 128 * 1024 })
        const value = (i: number) => {
          const b = new Uint8Array(1024)
          for (let j = 0; j < b.length; j++) b[j] = 65 + ((i * 7 + j * 13) % 26)
          return b
        }
        const records = Array.from({ length: 600 }, (_, i) => ({ topic: "z", partition: i % 3, value: value(i) }))
        const metas = yield* runWithClock(producer.sendAll(records), { step: 1 })
        for (let i = 0; i < records.length; i++) assert.strictEqual(metas[i].offset, BigInt(Math.floor(i / 3)), `record ${i}`)
      })))
})
