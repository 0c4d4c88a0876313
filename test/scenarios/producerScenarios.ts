/**
 * Producer scenarios, written once and run unchanged against the in-memory cluster
 * (`inMemory.test.ts`) and the real test broker (`realBroker.test.ts`). Records are read back
 * with kpax's own PartitionConsumer, and with raw Fetch requests for batch-level facts.
 */
import { assert } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import { partitionForKey } from "../../src/Producer/Partitioner.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { controlRecordType } from "../../src/Protocol/RecordBatch.ts"
import { awaitStable, committedOffsets, createTopic, fetchBatches, readAll, scenario, str, uniqueTopic, utf8 } from "./support.ts"
import type { Scenario } from "./support.ts"

export const producerScenarios: ReadonlyArray<Scenario> = [
  scenario("producer: acks=all records read back in send order, contiguous offsets, keys on their murmur2 partitions", Effect.gen(function*() {
    const topic = uniqueTopic("order")
    yield* createTopic(topic, { partitions: 3 })
    const producer = yield* Producer.make({ acks: "all" })
    const n = 600
    const records = Array.from({ length: n }, (_, i) => ({ topic, key: utf8(`k${i % 7}`), value: utf8(`v${i}`) }))
    const metas = yield* producer.sendAll(records)
    const next = new Map<number, bigint>()
    metas.forEach((m, i) => {
      assert.strictEqual(m.partition, partitionForKey(utf8(`k${i % 7}`), 3))
      assert.strictEqual(m.offset, next.get(m.partition) ?? 0n)
      next.set(m.partition, m.offset + 1n)
    })
    const read = yield* readAll(topic, [0, 1, 2])
    assert.strictEqual(read.length, n)
    for (const p of [0, 1, 2]) {
      const sent = records.filter((_, i) => metas[i].partition === p).map((r) => str(r.value))
      assert.deepStrictEqual(read.filter((r) => r.partition === p).map((r) => str(r.value)), sent)
    }
  })),

  scenario("producer: acks=1 acknowledges offsets; acks=0 gives offset -1 and the records still land", Effect.gen(function*() {
    const topic = uniqueTopic("acks")
    yield* createTopic(topic, { partitions: 1 })
    const one = yield* Producer.make({ acks: 1, idempotent: false })
    const m1 = yield* one.sendAll(["a", "b"].map((v) => ({ topic, value: utf8(v) })))
    assert.deepStrictEqual(m1.map((m) => m.offset), [0n, 1n])
    const zero = yield* Producer.make({ acks: 0, idempotent: false })
    const m0 = yield* zero.sendAll(["c", "d"].map((v) => ({ topic, value: utf8(v) })))
    assert.deepStrictEqual(m0.map((m) => m.offset), [-1n, -1n])
    // acks=0 has no answer to wait for: poll until the records show up
    let read: ReadonlyArray<{ readonly value: Uint8Array | null }> = []
    for (let i = 0; i < 100 && read.length < 4; i++) {
      read = yield* readAll(topic, [0])
      if (read.length < 4) yield* Effect.sleep("20 millis")
    }
    assert.deepStrictEqual(read.map((r) => str(r.value)), ["a", "b", "c", "d"])
  })),

  scenario("producer: idempotent batches carry the producer id and sequences from 0; the broker stamps offsets and leader epoch", Effect.gen(function*() {
    const topic = uniqueTopic("idem")
    yield* createTopic(topic, { partitions: 1 })
    const producer = yield* Producer.make({ linger: "0 millis" })
    const { producerId, producerEpoch } = producer.identity()
    assert.isTrue(producerId >= 0n)
    for (let i = 0; i < 3; i++) yield* producer.send({ topic, value: utf8(`x${i}`) })
    const { batches } = yield* fetchBatches(topic, 0)
    assert.deepStrictEqual(batches.map((b) => b.baseOffset), [0n, 1n, 2n])
    assert.deepStrictEqual(batches.map((b) => b.baseSequence), [0, 1, 2])
    for (const b of batches) {
      assert.strictEqual(b.producerId, producerId)
      assert.strictEqual(b.producerEpoch, producerEpoch)
      assert.isTrue(b.partitionLeaderEpoch >= 0)
      assert.isFalse(b.isTransactional)
    }
  })),

  scenario("producer: headers, null keys and null values round-trip", Effect.gen(function*() {
    const topic = uniqueTopic("headers")
    yield* createTopic(topic, { partitions: 1 })
    const producer = yield* Producer.make()
    yield* producer.sendAll([
      { topic, key: null, value: utf8("no key"), headers: [{ key: "a", value: utf8("1") }, { key: "b", value: null }] },
      { topic, key: utf8("tombstone"), value: null },
      { topic, value: utf8(""), headers: [{ key: "ü", value: utf8("ünïcode") }] }
    ])
    const read = yield* readAll(topic, [0])
    assert.deepStrictEqual(read.map((r) => [str(r.key), str(r.value)]), [[null, "no key"], ["tombstone", null], [null, ""]])
    assert.deepStrictEqual(read[0].headers.map((h) => [h.key, str(h.value)]), [["a", "1"], ["b", null]])
    assert.deepStrictEqual(read[2].headers.map((h) => [h.key, str(h.value)]), [["ü", "ünïcode"]])
  })),

  ...(["gzip", "snappy", "lz4", "zstd"] as const).map((compression) =>
    scenario(`producer: ${compression} batches round-trip`, Effect.gen(function*() {
      const topic = uniqueTopic(`codec-${compression}`)
      yield* createTopic(topic, { partitions: 1 })
      const producer = yield* Producer.make({ compression, linger: "20 millis" })
      const values = Array.from({ length: 300 }, (_, i) => `${compression} ${i} ${"x".repeat(i % 40)}`)
      yield* producer.sendAll(values.map((v) => ({ topic, value: utf8(v) })))
      const read = yield* readAll(topic, [0])
      assert.deepStrictEqual(read.map((r) => str(r.value)), values)
      const { batches } = yield* fetchBatches(topic, 0)
      assert.isTrue(batches.every((b) => b.compression === { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[compression]))
    }))),

  scenario("producer: an unknown topic is a typed MaxBlockTimeout waiting for metadata, a bad name an InvalidTopicName", Effect.gen(function*() {
    const producer = yield* Producer.make({ maxBlock: "2 seconds" })
    const topic = uniqueTopic("missing")
    const e = yield* Effect.flip(producer.send({ topic, value: utf8("x") }))
    assert.strictEqual(e._tag, "MaxBlockTimeout")
    if (e._tag === "MaxBlockTimeout") {
      assert.strictEqual(e.waitedFor, "metadata")
      assert.strictEqual(e.topic, topic)
    }
    const bad = yield* Effect.flip(producer.send({ topic: "not a topic!", value: utf8("x") }))
    assert.strictEqual(bad._tag, "InvalidTopicName")
  })),

  scenario("producer: the broker's max.message.bytes refuses one record; the others of its batch land", Effect.gen(function*() {
    const topic = uniqueTopic("limit")
    yield* createTopic(topic, { partitions: 1, configs: { "max.message.bytes": "2000" } })
    const producer = yield* Producer.make({ linger: "50 millis", batchSize: 100_000 })
    const values = ["a", "b".repeat(5000), "c", "d"]
    const results = yield* Effect.forEach(values, (v) => Effect.result(producer.send({ topic, value: utf8(v) })), { concurrency: "unbounded" })
    assert.deepStrictEqual(results.map((r) => r._tag), ["Success", "Failure", "Success", "Success"])
    const read = yield* readAll(topic, [0])
    assert.deepStrictEqual(read.map((r) => str(r.value)), ["a", "c", "d"])
  })),

  scenario("producer: a compacted topic refuses records without a key (INVALID_RECORD), keyed ones land", Effect.gen(function*() {
    const topic = uniqueTopic("compact")
    yield* createTopic(topic, { partitions: 1, configs: { "cleanup.policy": "compact" } })
    const producer = yield* Producer.make({ linger: "0 millis" })
    const ok = yield* producer.send({ topic, key: utf8("k"), value: utf8("keyed") })
    assert.strictEqual(ok.offset, 0n)
    const e = yield* Effect.flip(producer.send({ topic, value: utf8("keyless") }))
    assert.strictEqual(e._tag, "KafkaError")
    if (e._tag === "KafkaError") assert.strictEqual(e.name, "INVALID_RECORD")
    yield* producer.send({ topic, key: utf8("k2"), value: utf8("keyed too") })
    const read = yield* readAll(topic, [0])
    assert.deepStrictEqual(read.map((r) => str(r.value)), ["keyed", "keyed too"])
  })),

  scenario("producer: LogAppendTime topics: the acknowledged timestamp is the broker's, and so is the one read back", Effect.gen(function*() {
    const topic = uniqueTopic("append-time")
    yield* createTopic(topic, { partitions: 1, configs: { "message.timestamp.type": "LogAppendTime" } })
    const producer = yield* Producer.make()
    const created = 1_000_000_000_000
    const m = yield* producer.send({ topic, value: utf8("t"), timestamp: created })
    assert.notStrictEqual(m.timestamp, created)
    assert.isTrue(m.timestamp > created)
    const read = yield* readAll(topic, [0])
    assert.strictEqual(read[0].timestampType, "LogAppendTime")
    assert.strictEqual(read[0].timestamp, m.timestamp)
  })),

  scenario("producer: transactions: aborted records are invisible to read_committed, committed ones visible, markers in the log", Effect.gen(function*() {
    const topic = uniqueTopic("txn")
    yield* createTopic(topic, { partitions: 2 })
    const producer = yield* Producer.make({ transactionalId: uniqueTopic("tx") })
    yield* producer.transaction(producer.sendAll(["c1", "c2"].map((v, i) => ({ topic, partition: i, value: utf8(v) }))))
    const aborted = yield* Effect.exit(producer.transaction(
      Effect.andThen(producer.sendAll(["a1", "a2"].map((v, i) => ({ topic, partition: i, value: utf8(v) }))), Effect.fail("changed my mind" as const))
    ))
    assert.isTrue(Exit.isFailure(aborted))
    yield* producer.transaction(producer.send({ topic, partition: 0, value: utf8("c3") }))
    yield* awaitStable(topic, [0, 1])
    const committed = yield* readAll(topic, [0, 1], { isolation: "read_committed" })
    assert.deepStrictEqual(committed.map((r) => str(r.value)).sort(), ["c1", "c2", "c3"])
    const all = yield* readAll(topic, [0, 1])
    assert.deepStrictEqual(all.map((r) => str(r.value)).sort(), ["a1", "a2", "c1", "c2", "c3"])
    const { batches } = yield* fetchBatches(topic, 0)
    const markers = batches.filter((b) => b.isControl).map((b) => controlRecordType(b.records[0]))
    assert.deepStrictEqual(markers, ["COMMIT", "ABORT", "COMMIT"])
    assert.isTrue(batches.filter((b) => !b.isControl).every((b) => b.isTransactional))
  })),

  scenario("producer: sendOffsets in a transaction commits the group's offsets with it, not when aborted", Effect.gen(function*() {
    const topic = uniqueTopic("txn-offsets")
    yield* createTopic(topic, { partitions: 1 })
    const group = uniqueTopic("group")
    const producer = yield* Producer.make({ transactionalId: uniqueTopic("tx") })
    yield* producer.transaction(Effect.gen(function*() {
      yield* producer.send({ topic, value: utf8("out") })
      yield* producer.sendOffsets([{ topic, partition: 0, offset: 42n }], { groupId: group })
    }))
    yield* Effect.exit(producer.transaction(Effect.gen(function*() {
      yield* producer.sendOffsets([{ topic, partition: 0, offset: 99n }], { groupId: group })
      return yield* Effect.fail("abort" as const)
    })))
    assert.deepStrictEqual(yield* committedOffsets(group, topic, [0]), [42n])
  })),

  scenario("producer: a stream of records through the sink lands whole", Effect.gen(function*() {
    const topic = uniqueTopic("sink")
    yield* createTopic(topic, { partitions: 3 })
    const producer = yield* Producer.make()
    yield* Stream.range(0, 1999).pipe(
      Stream.map((i) => ({ topic, key: utf8(`${i}`), value: utf8(`s${i}`) })),
      Stream.run(producer.sink)
    )
    const read = yield* readAll(topic, [0, 1, 2])
    assert.strictEqual(read.length, 2000)
    assert.strictEqual(new Set(read.map((r) => str(r.value))).size, 2000)
  }))
]
