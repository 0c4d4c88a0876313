import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { partitionForKey } from "../../src/Producer/Partitioner.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import * as Topic from "../../src/Topic.ts"
import { brokers, bootstrapServers } from "../kafka/env.ts"
import { runJavaTool } from "../kafka/harness.ts"
import { consumeWithJava, createTopic, uniqueTopic } from "../util/kafka.ts"

const te = new TextEncoder()
const utf8 = (s: string) => te.encode(s)

const withCluster = <A, E>(f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-producer-test" })
      return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  )

describe("Producer (real broker)", () => {
  it.live("acks=all: records land in send order and read back exactly (checked by Java's console consumer)", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("order")
        yield* createTopic(cluster, topic, { partitions: 3 })
        const producer = yield* Producer.make({ acks: "all" })
        const n = 3000
        const records = Array.from({ length: n }, (_, i) => ({ topic, key: utf8(`k${i % 7}`), value: utf8(`v${i}`) }))
        const metas = yield* producer.sendAll(records)
        assert.strictEqual(metas.length, n)
        // per partition, offsets follow send order with no gap
        const next = new Map<number, bigint>()
        for (let i = 0; i < n; i++) {
          const m = metas[i]
          assert.strictEqual(m.partition, partitionForKey(utf8(`k${i % 7}`), 3))
          assert.strictEqual(m.offset, next.get(m.partition) ?? 0n)
          next.set(m.partition, m.offset + 1n)
        }
        const read = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, n))
        assert.strictEqual(read.length, n)
        const byPartition = new Map<number, Array<string>>()
        for (const r of read) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.value])
        for (const [p, values] of byPartition) {
          const sent = records.filter((_, i) => metas[i].partition === p).map((r) => new TextDecoder().decode(r.value))
          assert.deepStrictEqual(values, sent)
        }
      })))

  it.live("keyed records land on the partition Java's own console producer picks", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const ours = uniqueTopic("keys-kpax")
        const javas = uniqueTopic("keys-java")
        yield* createTopic(cluster, ours, { partitions: 6 })
        yield* createTopic(cluster, javas, { partitions: 6 })
        const keys = Array.from({ length: 60 }, (_, i) => `user-${i * 37}`)
        const producer = yield* Producer.make()
        yield* producer.sendAll(keys.map((k) => ({ topic: ours, key: utf8(k), value: utf8(k) })))
        const java = yield* Effect.promise(() =>
          runJavaTool("kafka-console-producer", [
            "--bootstrap-server", bootstrapServers(), "--topic", javas,
            "--reader-property", "parse.key=true", "--reader-property", "key.separator=:"
          ], { input: keys.map((k) => `${k}:${k}`).join("\n") + "\n" }))
        assert.strictEqual(java.code, 0, java.stderr)
        const [a, b] = yield* Effect.promise(() =>
          Promise.all([consumeWithJava(bootstrapServers(), ours, keys.length), consumeWithJava(bootstrapServers(), javas, keys.length)]))
        const where = (rs: typeof a) => Object.fromEntries(rs.map((r) => [r.key, r.partition]))
        assert.strictEqual(a.length, keys.length)
        assert.deepStrictEqual(where(a), where(b))
        assert.isAbove(new Set(a.map((r) => r.partition)).size, 3)
      })))

  for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
    it.live(`${compression}: round-trips through the broker, readable by Java's console consumer`, () =>
      withCluster((cluster) =>
        Effect.gen(function*() {
          const topic = uniqueTopic(`codec-${compression}`)
          yield* createTopic(cluster, topic, { partitions: 1 })
          const producer = yield* Producer.make({ compression, linger: "20 millis" })
          const values = Array.from({ length: 500 }, (_, i) => `${compression} record ${i} ${"x".repeat(i % 50)}`)
          yield* producer.sendAll(values.map((v) => ({ topic, value: utf8(v), headers: [{ key: "h", value: utf8("1") }] })))
          const read = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, values.length))
          assert.deepStrictEqual(read.map((r) => r.value), values)
        })))
  }

  it.live("a full buffer suspends senders; flush sends what waits and frees them", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("buffer")
        yield* createTopic(cluster, topic, { partitions: 1 })
        // batches never fill and linger is long: nothing leaves until flush
        const producer = yield* Producer.make({ bufferMemory: 4096, batchSize: 1_000_000, linger: "1 hour" })
        let accepted = 0
        const sends = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
          producer.send({ topic, value: utf8(`${i}`.padStart(100, "0")) }).pipe(
            Effect.tap(() => Effect.sync(() => accepted++)),
            Effect.forkChild
          ))
        yield* Effect.sleep("500 millis")
        assert.isAtMost(producer.bufferedBytes(), 4096)
        assert.isAbove(producer.bufferedBytes(), 2000)
        assert.strictEqual(accepted, 0) // nothing acknowledged: all wait for the linger or for space
        // each flush sends what is buffered; the waiting senders then fill the buffer again
        while (accepted < 100) {
          yield* producer.flush
          yield* Effect.sleep("10 millis")
        }
        const metas = yield* Effect.forEach(sends, Fiber.join)
        assert.strictEqual(metas.length, 100)
        assert.strictEqual(new Set(metas.map((m) => m.offset)).size, 100)
      })))

  it.live("closing the producer's scope sends everything it accepted", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("close")
        yield* createTopic(cluster, topic, { partitions: 2 })
        const scope = yield* Scope.make()
        const producer = yield* Producer.make({ linger: "1 hour", batchSize: 1_000_000 }).pipe(Scope.provide(scope))
        const fiber = yield* producer.sendAll(Array.from({ length: 250 }, (_, i) => ({ topic, value: utf8(`c${i}`) }))).pipe(Effect.forkChild)
        yield* Effect.sleep("200 millis")
        yield* Scope.close(scope, Exit.void)
        const metas = yield* Fiber.join(fiber)
        assert.strictEqual(metas.length, 250)
        const read = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, 250))
        assert.strictEqual(read.length, 250)
        const after = yield* Effect.flip(producer.send({ topic, value: utf8("late") }))
        assert.strictEqual(after._tag, "ProducerClosed")
      })))

  it.live("oversize records and bad headers are typed errors; the rest of the batch lands", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("bad-input")
        yield* createTopic(cluster, topic, { partitions: 1 })
        const producer = yield* Producer.make({ maxRequestSize: 10_000 })
        const good = (i: number) => ({ topic, value: utf8(`good-${i}`) })
        const records: Array<Producer.ProducerRecord> = [
          good(0),
          { topic, value: new Uint8Array(20_000) },
          good(1),
          { topic, value: utf8("bad header"), headers: [{ key: "k", value: "not bytes" as unknown as Uint8Array }] },
          good(2)
        ]
        const e = yield* Effect.flip(producer.sendAll(records))
        assert.strictEqual(e._tag, "RecordTooLarge")
        const one = yield* Effect.flip(producer.send(records[3]))
        assert.strictEqual(one._tag, "InvalidRecord")
        const read = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, 3))
        assert.deepStrictEqual(read.map((r) => r.value), ["good-0", "good-1", "good-2"])
      })))

  it.live("the broker's own size limit: a record it refuses fails alone, the others of its batch land", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("broker-limit")
        yield* createTopic(cluster, topic, { partitions: 1, configs: { "max.message.bytes": "2000" } })
        const producer = yield* Producer.make({ linger: "50 millis", batchSize: 100_000 })
        const values = ["a", "b".repeat(5000), "c", "d"]
        const results = yield* Effect.forEach(values, (v) => Effect.result(producer.send({ topic, value: utf8(v) })), { concurrency: "unbounded" })
        assert.deepStrictEqual(results.map((r) => r._tag), ["Success", "Failure", "Success", "Success"])
        const read = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, 3))
        assert.deepStrictEqual(read.map((r) => r.value), ["a", "c", "d"])
      })))

  it.live("an unknown topic (no auto-creation) is a typed MaxBlockTimeout naming metadata", () =>
    withCluster(() =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ maxBlock: "2 seconds" })
        const topic = uniqueTopic("missing")
        const e = yield* Effect.flip(producer.send({ topic, value: utf8("x") }))
        assert.strictEqual(e._tag, "MaxBlockTimeout")
        if (e._tag === "MaxBlockTimeout") {
          assert.strictEqual(e.waitedFor, "metadata")
          assert.strictEqual(e.topic, topic)
          assert.strictEqual(e.timeoutMs, 2000)
        }
        const bad = yield* Effect.flip(producer.send({ topic: "not a topic!", value: utf8("x") }))
        assert.strictEqual(bad._tag, "InvalidTopicName")
      })))

  it.live("transactions: aborted records are invisible to read_committed, committed ones visible", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("txn")
        yield* createTopic(cluster, topic, { partitions: 2 })
        const producer = yield* Producer.make({ transactionalId: uniqueTopic("tx") })
        yield* producer.transaction(producer.sendAll(["c1", "c2"].map((v) => ({ topic, value: utf8(v) }))))
        const aborted = yield* Effect.exit(producer.transaction(
          Effect.andThen(producer.sendAll(["a1", "a2"].map((v) => ({ topic, value: utf8(v) }))), Effect.fail("changed my mind" as const))
        ))
        assert.isTrue(Exit.isFailure(aborted))
        yield* producer.transaction(producer.send({ topic, value: utf8("c3") }))
        const committed = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, 3, { isolation: "read_committed" }))
        assert.deepStrictEqual(committed.map((r) => r.value).sort(), ["c1", "c2", "c3"])
        const all = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, 5, { isolation: "read_uncommitted" }))
        assert.deepStrictEqual(all.map((r) => r.value).sort(), ["a1", "a2", "c1", "c2", "c3"])
      })))

  it.live("typed topics: values encode through the topic's Schema; a value it rejects is a typed error", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const name = uniqueTopic("typed")
        yield* createTopic(cluster, name, { partitions: 1 })
        const Orders = Topic.make({ name, key: Schema.String, value: Schema.Struct({ id: Schema.String, total: Schema.Number }) })
        const producer = yield* Producer.make()
        const m = yield* producer.sendTyped(Orders, { key: "o-1", value: { id: "o-1", total: 12.5 } })
        assert.strictEqual(m.offset, 0n)
        const bad = yield* Effect.flip(producer.sendTyped(Orders, { key: "o-2", value: { id: 2 } as unknown as { id: string; total: number } }))
        assert.strictEqual(bad._tag, "RecordEncodeError")
        const read = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), name, 1))
        assert.deepStrictEqual(read.map((r) => [r.key, JSON.parse(r.value)]), [["\"o-1\"", { id: "o-1", total: 12.5 }]])
      })))

  it.live("a stream of records through the producer's sink", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("sink")
        yield* createTopic(cluster, topic, { partitions: 3 })
        const producer = yield* Producer.make()
        yield* Stream.range(0, 4999).pipe(
          Stream.map((i) => ({ topic, key: utf8(`${i}`), value: utf8(`s${i}`) })),
          Stream.run(producer.sink),
          Effect.tapCause((cause) => Effect.sync(() => console.error("[sink test] failed:", cause)))
        )
        const read = yield* Effect.promise(() => consumeWithJava(bootstrapServers(), topic, 5000))
        assert.strictEqual(read.length, 5000)
      })))
})

