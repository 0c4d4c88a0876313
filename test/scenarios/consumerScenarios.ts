/**
 * PartitionConsumer scenarios, run unchanged on the in-memory cluster and the real broker.
 */
import { assert } from "@effect/vitest"
import { Effect, Exit, Fiber, Latch, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { DeleteRecords } from "../../src/Protocol/generated/DeleteRecords.ts"
import { awaitStable, createTopic, endOffset, readAll, scenario, str, uniqueTopic, utf8 } from "./support.ts"
import type { Scenario } from "./support.ts"

const opts = { maxWait: "100 millis" } as const

const waitFor = (cond: () => boolean, what: string) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("10 millis")
  }).pipe(Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

export const consumerScenarios: ReadonlyArray<Scenario> = [
  scenario("consumer: from earliest, every record of every partition with keys, values, headers and exact offsets", Effect.gen(function*() {
    const topic = uniqueTopic("c-earliest")
    yield* createTopic(topic, { partitions: 3 })
    const producer = yield* Producer.make()
    const metas = yield* producer.sendAll(Array.from({ length: 300 }, (_, i) => ({
      topic, key: utf8(`k${i}`), value: utf8(`v${i}`), headers: [{ key: "i", value: utf8(String(i)) }]
    })))
    const records = yield* PartitionConsumer.stream([0, 1, 2].map((partition) => ({ topic, partition, from: "earliest" as const })), opts).pipe(
      Stream.take(300),
      Stream.runCollect
    )
    const expected = new Map(metas.map((m, i) => [`${m.partition}@${m.offset}`, i]))
    for (const r of records) {
      const i = expected.get(`${r.partition}@${r.offset}`)!
      assert.strictEqual(str(r.value), `v${i}`)
      assert.strictEqual(str(r.key), `k${i}`)
      assert.strictEqual(str(r.headers[0].value), String(i))
      assert.isTrue(r.leaderEpoch >= 0)
    }
    assert.strictEqual(new Set(records.map((r) => `${r.partition}@${r.offset}`)).size, 300)
  })),

  scenario("consumer: from latest only sees what is produced after; from a timestamp starts at the first record at or after it", Effect.gen(function*() {
    const topic = uniqueTopic("c-positions")
    yield* createTopic(topic, { partitions: 1 })
    const producer = yield* Producer.make()
    const t0 = Date.now() - 100_000
    yield* producer.sendAll(Array.from({ length: 10 }, (_, i) => ({ topic, value: utf8(`old${i}`), timestamp: t0 + i * 1000 })))
    const fromTs = yield* PartitionConsumer.stream([{ topic, partition: 0, from: { timestamp: t0 + 6500 } }], opts).pipe(Stream.take(3), Stream.runCollect)
    assert.deepStrictEqual(fromTs.map((r) => r.offset), [7n, 8n, 9n])
    const consumer = yield* PartitionConsumer.make(opts)
    const tp = { topic, partition: 0 }
    yield* consumer.assign([{ ...tp, from: "latest" }])
    yield* waitFor(() => consumer.position(tp) !== undefined, "the latest offset")
    assert.strictEqual(consumer.position(tp), 10n)
    const fiber = yield* consumer.records.pipe(Stream.take(2), Stream.runCollect, Effect.forkScoped)
    yield* producer.sendAll(["new0", "new1"].map((v) => ({ topic, value: utf8(v) })))
    const fresh = yield* Fiber.join(fiber)
    assert.deepStrictEqual(fresh.map((r) => [r.offset, str(r.value)]), [[10n, "new0"], [11n, "new1"]])
  })),

  scenario("consumer: read_committed stops at an open transaction and never shows aborted records", Effect.gen(function*() {
    const topic = uniqueTopic("c-txn")
    yield* createTopic(topic, { partitions: 1 })
    const plain = yield* Producer.make()
    yield* plain.send({ topic, value: utf8("before") })
    const txp = yield* Producer.make({ transactionalId: uniqueTopic("c-tx") })
    yield* Effect.exit(txp.transaction(Effect.andThen(txp.send({ topic, value: utf8("aborted") }), Effect.fail("no" as const))))
    // a transaction left open while we read
    const gate = yield* Latch.make()
    const open = yield* txp.transaction(Effect.andThen(txp.send({ topic, value: utf8("pending") }), gate.await)).pipe(Effect.forkScoped)
    let lso = -1n
    for (let i = 0; i < 200 && lso < 0n; i++) {
      const hw = yield* endOffset(topic, 0)
      if (hw >= 4n) lso = yield* endOffset(topic, 0, "read_committed")
      else yield* Effect.sleep("10 millis")
    }
    assert.strictEqual(lso, 3n, "the last stable offset stops at the open transaction's first record")
    const committedSoFar = yield* readAll(topic, [0], { isolation: "read_committed" })
    assert.deepStrictEqual(committedSoFar.map((r) => str(r.value)), ["before"])
    yield* gate.open
    yield* Fiber.join(open)
    yield* plain.send({ topic, value: utf8("after") })
    yield* awaitStable(topic, [0])
    const committed = yield* readAll(topic, [0], { isolation: "read_committed" })
    assert.deepStrictEqual(committed.map((r) => str(r.value)), ["before", "pending", "after"])
    const all = yield* readAll(topic, [0])
    assert.deepStrictEqual(all.map((r) => str(r.value)), ["before", "aborted", "pending", "after"])
  })),

  scenario("consumer: OFFSET_OUT_OF_RANGE after deleted records: 'earliest' resumes at the new start, 'none' fails typed", Effect.gen(function*() {
    const topic = uniqueTopic("c-range")
    yield* createTopic(topic, { partitions: 1 })
    const producer = yield* Producer.make({ linger: "0 millis" })
    for (let i = 0; i < 6; i++) yield* producer.send({ topic, value: utf8(`r${i}`) })
    const cluster = yield* Cluster.Cluster
    yield* cluster.withLeader(topic, 0, (l) => l.broker.request(DeleteRecords, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 4n }] }], timeoutMs: 5000 }))
    const resumed = yield* PartitionConsumer.stream([{ topic, partition: 0, from: 1n }], { ...opts, offsetReset: "earliest" }).pipe(Stream.take(2), Stream.runCollect)
    assert.deepStrictEqual(resumed.map((r) => [r.offset, str(r.value)]), [[4n, "r4"], [5n, "r5"]])
    const failed = yield* PartitionConsumer.stream([{ topic, partition: 0, from: 1n }], { ...opts, offsetReset: "none" }).pipe(Stream.take(1), Stream.runCollect, Effect.exit)
    assert.isTrue(Exit.isFailure(failed))
    if (Exit.isFailure(failed)) assert.include(String(failed.cause), "OffsetOutOfRange")
  })),

  scenario("consumer: an explicit offset inside a compressed batch skips the records before it; lag follows the high watermark", Effect.gen(function*() {
    const topic = uniqueTopic("c-mid")
    yield* createTopic(topic, { partitions: 1 })
    const producer = yield* Producer.make({ compression: "lz4", linger: "50 millis" })
    yield* producer.sendAll(Array.from({ length: 20 }, (_, i) => ({ topic, value: utf8(`m${i}`) })))
    const consumer = yield* PartitionConsumer.make(opts)
    const tp = { topic, partition: 0 }
    yield* consumer.assign([{ ...tp, from: 15n }])
    const got = yield* consumer.records.pipe(Stream.take(5), Stream.runCollect)
    assert.deepStrictEqual(got.map((r) => str(r.value)), ["m15", "m16", "m17", "m18", "m19"])
    yield* waitFor(() => consumer.lag(tp) === 0n, "lag 0")
    assert.strictEqual(consumer.highWatermark(tp), 20n)
  }))
]
