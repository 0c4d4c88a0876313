import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, Schema, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import * as Record from "../../src/Consumer/Record.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { DeleteRecords } from "../../src/Protocol/generated/DeleteRecords.ts"
import * as Topic from "../../src/Topic.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const te = new TextEncoder()
const td = new TextDecoder()
const utf8 = (s: string) => te.encode(s)
const str = (b: Uint8Array | null) => (b === null ? null : td.decode(b))

const withCluster = <A, E>(f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-consumer-test" })
      return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  )

describe.concurrent("PartitionConsumer (real broker)", () => {
  it.live("from earliest: every record of every partition, exact offsets, keys, values, headers", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("earliest")
        yield* createTopic(cluster, topic, { partitions: 3 })
        const producer = yield* Producer.make()
        const n = 3000
        const metas = yield* producer.sendAll(Array.from({ length: n }, (_, i) => ({
          topic,
          key: utf8(`k${i}`),
          value: utf8(`v${i}`),
          headers: [{ key: "i", value: utf8(String(i)) }]
        })))
        const records = yield* PartitionConsumer.stream([0, 1, 2].map((partition) => ({ topic, partition, from: "earliest" as const }))).pipe(
          Stream.take(n),
          Stream.runCollect
        )
        assert.strictEqual(records.length, n)
        const expected = new Map<string, string>()
        metas.forEach((m, i) => expected.set(`${m.partition}@${m.offset}`, `v${i}`))
        const next = new Map<number, bigint>()
        for (const r of records) {
          assert.strictEqual(r.topic, topic)
          assert.strictEqual(r.offset, next.get(r.partition) ?? 0n)
          next.set(r.partition, r.offset + 1n)
          const v = expected.get(`${r.partition}@${r.offset}`)
          assert.strictEqual(str(r.value), v)
          assert.strictEqual(str(r.key), `k${v!.slice(1)}`)
          assert.strictEqual(str(r.headers[0].value), v!.slice(1))
          assert.strictEqual(r.timestampType, "CreateTime")
        }
      })))
})

/** Collects records from `stream` in the background; `until` waits for a condition on them. */
const collector = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function*() {
    const items: Array<A> = []
    const fiber = yield* stream.pipe(Stream.runForEach((a) => Effect.sync(() => items.push(a))), Effect.forkScoped)
    const until = (cond: (items: ReadonlyArray<A>) => boolean, timeout: Duration.Input = "10 seconds") =>
      Effect.gen(function*() {
        while (!cond(items)) {
          if (fiber.pollUnsafe() !== undefined) return yield* Effect.die(new Error("the stream ended"))
          yield* Effect.sleep("20 millis")
        }
      }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error(`timed out; got ${items.length}`)) }))
    return { items, until, fiber }
  })

const waitFor = (cond: () => boolean, timeout: Duration.Input = "10 seconds") =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error("timed out waiting")) }))

describe.concurrent("PartitionConsumer positions (real broker)", () => {
  it.live("from latest: only records produced after the position was looked up", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("latest")
        yield* createTopic(cluster, topic, { partitions: 1 })
        const producer = yield* Producer.make()
        yield* producer.sendAll(Array.from({ length: 10 }, (_, i) => ({ topic, value: utf8(`old${i}`) })))
        const consumer = yield* PartitionConsumer.make()
        const tp = { topic, partition: 0 }
        yield* consumer.assign([{ ...tp, from: "latest" }])
        yield* waitFor(() => consumer.position(tp) !== undefined)
        assert.strictEqual(consumer.position(tp), 10n)
        const c = yield* collector(consumer.records)
        yield* producer.sendAll(Array.from({ length: 5 }, (_, i) => ({ topic, value: utf8(`new${i}`) })))
        yield* c.until((rs) => rs.length >= 5)
        assert.deepStrictEqual(c.items.map((r) => [r.offset, str(r.value)]), [10n, 11n, 12n, 13n, 14n].map((o, i) => [o, `new${i}`]))
      })))

  it.live("from a timestamp: the first record at or after it; a future timestamp starts at the end", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("timestamp")
        yield* createTopic(cluster, topic, { partitions: 1 })
        const producer = yield* Producer.make()
        const t0 = Date.now() - 100_000
        yield* producer.sendAll(Array.from({ length: 20 }, (_, i) => ({ topic, value: utf8(`t${i}`), timestamp: t0 + i * 1000 })))
        const fromTs = yield* PartitionConsumer.stream([{ topic, partition: 0, from: { timestamp: t0 + 12_500 } }]).pipe(Stream.take(7), Stream.runCollect)
        assert.deepStrictEqual(fromTs.map((r) => r.offset), [13n, 14n, 15n, 16n, 17n, 18n, 19n])
        assert.deepStrictEqual(fromTs.map((r) => r.timestamp), fromTs.map((_, i) => t0 + (13 + i) * 1000))
        const consumer = yield* PartitionConsumer.make()
        yield* consumer.assign([{ topic, partition: 0, from: { timestamp: Date.now() + 3_600_000 } }])
        yield* waitFor(() => consumer.position({ topic, partition: 0 }) !== undefined)
        assert.strictEqual(consumer.position({ topic, partition: 0 }), 20n)
      })))

  it.live("from an explicit offset, also inside a compressed batch (records below it are skipped)", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("offset")
        yield* createTopic(cluster, topic, { partitions: 1 })
        const producer = yield* Producer.make({ compression: "lz4", linger: "50 millis" })
        yield* producer.sendAll(Array.from({ length: 100 }, (_, i) => ({ topic, value: utf8(`o${i}`) })))
        const records = yield* PartitionConsumer.stream([{ topic, partition: 0, from: 37n }]).pipe(Stream.take(63), Stream.runCollect)
        assert.deepStrictEqual(records.map((r) => r.offset), Array.from({ length: 63 }, (_, i) => BigInt(37 + i)))
        assert.deepStrictEqual(records.map((r) => str(r.value)), Array.from({ length: 63 }, (_, i) => `o${37 + i}`))
      })))

  for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
    it.live(`${compression}: batches decode with their records, offsets and partition offsets`, () =>
      withCluster((cluster) =>
        Effect.gen(function*() {
          const topic = uniqueTopic(`codec-${compression}`)
          yield* createTopic(cluster, topic, { partitions: 1 })
          const producer = yield* Producer.make({ compression, linger: "20 millis" })
          const values = Array.from({ length: 500 }, (_, i) => `${compression} ${i} ${"x".repeat(i % 97)}`)
          yield* producer.sendAll(values.map((v) => ({ topic, value: utf8(v) })))
          const batches = yield* PartitionConsumer.batches([{ topic, partition: 0, from: 201n }]).pipe(
            Stream.takeUntil((b) => b.nextOffset >= 500n),
            Stream.runCollect
          )
          const records = batches.flatMap((b) => b.records)
          assert.deepStrictEqual(records.map((r) => str(r.value)), values.slice(201))
          assert.strictEqual(records[0].offset, 201n)
          for (const b of batches) {
            assert.isAbove(b.records.length, 0)
            assert.strictEqual(b.highWatermark, 500n)
            assert.strictEqual(b.logStartOffset, 0n)
            assert.strictEqual(b.nextOffset, b.records[b.records.length - 1].offset + 1n)
          }
        })))
  }
})

describe.concurrent("PartitionConsumer transactions (real broker)", () => {
  it.live("read_committed hides aborted and open transactions; read_uncommitted shows them; control records never appear", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("txn")
        yield* createTopic(cluster, topic, { partitions: 1 })
        const producer = yield* Producer.make({ transactionalId: uniqueTopic("tx") })
        const send = (vs: ReadonlyArray<string>) => producer.sendAll(vs.map((v) => ({ topic, value: utf8(v) })))
        yield* producer.transaction(send(["c1", "c2"]))
        yield* Effect.exit(producer.transaction(Effect.andThen(send(["a1", "a2"]), Effect.fail("abort" as const))))
        yield* producer.transaction(send(["c3"]))
        // offsets: c1 0, c2 1, COMMIT 2, a1 3, a2 4, ABORT 5, c3 6, COMMIT 7
        const read = (isolationLevel: "read_committed" | "read_uncommitted", n: number) =>
          PartitionConsumer.stream([{ topic, partition: 0, from: "earliest" }], { isolationLevel }).pipe(
            Stream.take(n),
            Stream.map((r) => `${str(r.value)}@${r.offset}`),
            Stream.runCollect
          )
        assert.deepStrictEqual(yield* read("read_committed", 3), ["c1@0", "c2@1", "c3@6"])
        assert.deepStrictEqual(yield* read("read_uncommitted", 5), ["c1@0", "c2@1", "a1@3", "a2@4", "c3@6"])

        // an open transaction: invisible to read_committed until it commits
        const committed = yield* PartitionConsumer.make({ isolationLevel: "read_committed" })
        const uncommitted = yield* PartitionConsumer.make({ isolationLevel: "read_uncommitted" })
        yield* committed.assign([{ topic, partition: 0, from: 8n }])
        yield* uncommitted.assign([{ topic, partition: 0, from: 8n }])
        const rc = yield* collector(committed.records)
        const ru = yield* collector(uncommitted.records)
        const gate = yield* Deferred.make<void>()
        const txn = yield* producer.transaction(Effect.andThen(send(["o1", "o2"]), Deferred.await(gate))).pipe(Effect.forkScoped)
        yield* ru.until((rs) => rs.length >= 2)
        yield* Effect.sleep("700 millis")
        assert.strictEqual(rc.items.length, 0)
        assert.strictEqual(committed.lag({ topic, partition: 0 }), 0n) // the last stable offset is still 8
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(txn)
        yield* rc.until((rs) => rs.length >= 2)
        assert.deepStrictEqual(rc.items.map((r) => `${str(r.value)}@${r.offset}`), ["o1@8", "o2@9"])
      })))
})

const deleteRecords = (cluster: Cluster.ClusterService, topic: string, partition: number, before: bigint) =>
  Effect.gen(function*() {
    const leader = yield* cluster.leader(topic, partition)
    const res = yield* leader.broker.request(DeleteRecords, { topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset: before }] }], timeoutMs: 10_000 })
    assert.strictEqual(res.topics[0].partitions[0].errorCode, 0)
  })

describe.concurrent("PartitionConsumer OFFSET_OUT_OF_RANGE (real broker)", () => {
  it.live("below the log start (after DeleteRecords) and beyond the end, per reset policy", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("oor")
        yield* createTopic(cluster, topic, { partitions: 1 })
        const producer = yield* Producer.make()
        yield* producer.sendAll(Array.from({ length: 10 }, (_, i) => ({ topic, value: utf8(`r${i}`) })))
        yield* deleteRecords(cluster, topic, 0, 5n)
        const tp = { topic, partition: 0 }

        // earliest: from 2 (deleted) → the log start, 5
        const early = yield* PartitionConsumer.stream([{ ...tp, from: 2n }], { offsetReset: "earliest" }).pipe(Stream.take(5), Stream.runCollect)
        assert.deepStrictEqual(early.map((r) => r.offset), [5n, 6n, 7n, 8n, 9n])

        // none: a typed error naming the partition and offset, from below and from beyond
        const below = yield* Effect.flip(PartitionConsumer.stream([{ ...tp, from: 2n }], { offsetReset: "none" }).pipe(Stream.runHead))
        assert.strictEqual(below._tag, "OffsetOutOfRange")
        if (below._tag === "OffsetOutOfRange") {
          assert.strictEqual(below.offset, 2n)
          assert.strictEqual(below.topic, topic)
          assert.strictEqual(below.partition, 0)
        }
        const beyond = yield* Effect.flip(PartitionConsumer.stream([{ ...tp, from: 1000n }], { offsetReset: "none" }).pipe(Stream.runHead))
        assert.strictEqual(beyond._tag, "OffsetOutOfRange")

        // latest: a seek beyond the end lands at the end; the next record produced is read
        const consumer = yield* PartitionConsumer.make({ offsetReset: "latest" })
        yield* consumer.assign([{ ...tp, from: 5n }])
        const c = yield* collector(consumer.records)
        yield* c.until((rs) => rs.length >= 5)
        yield* consumer.seek(tp, 1000n)
        yield* waitFor(() => consumer.position(tp) === 10n)
        yield* producer.send({ topic, value: utf8("after") })
        yield* c.until((rs) => rs.length >= 6)
        assert.deepStrictEqual(c.items.map((r) => r.offset), [5n, 6n, 7n, 8n, 9n, 10n])

        // none, then recover by seeking: the stream can be run again
        const strict = yield* PartitionConsumer.make({ offsetReset: "none" })
        yield* strict.assign([{ ...tp, from: 3n }])
        const e = yield* Effect.flip(Stream.runHead(strict.records))
        assert.strictEqual(e._tag, "OffsetOutOfRange")
        yield* strict.seek(tp, "earliest")
        const again = yield* strict.records.pipe(Stream.take(1), Stream.runCollect)
        assert.strictEqual(again[0].offset, 5n)
      })))
})

describe.concurrent("PartitionConsumer control (real broker)", () => {
  it.live("pause stops a partition, resume restarts it, seek re-reads; position, high watermark and lag follow", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("pause")
        yield* createTopic(cluster, topic, { partitions: 2 })
        const producer = yield* Producer.make()
        const produce = (partition: number, from: number, n: number) =>
          producer.sendAll(Array.from({ length: n }, (_, i) => ({ topic, partition, value: utf8(`p${partition}-${from + i}`) })))
        yield* produce(0, 0, 10)
        yield* produce(1, 0, 10)
        const p0 = { topic, partition: 0 }
        const p1 = { topic, partition: 1 }
        const consumer = yield* PartitionConsumer.make()
        yield* consumer.assign([{ ...p0, from: "earliest" }, { ...p1, from: "earliest" }])
        const c = yield* collector(consumer.records)
        const of = (p: number) => c.items.filter((r) => r.partition === p)
        yield* c.until(() => of(0).length === 10 && of(1).length === 10)
        assert.strictEqual(consumer.position(p0), 10n)
        assert.strictEqual(consumer.lag(p0), 0n)

        yield* consumer.pause([p0])
        assert.deepStrictEqual(consumer.paused(), [p0])
        yield* produce(0, 10, 5)
        yield* produce(1, 10, 5)
        yield* c.until(() => of(1).length === 15)
        yield* Effect.sleep("800 millis")
        assert.strictEqual(of(0).length, 10)
        assert.strictEqual(consumer.position(p0), 10n)

        yield* consumer.resume([p0])
        yield* c.until(() => of(0).length === 15)
        assert.deepStrictEqual(of(0).map((r) => str(r.value)), Array.from({ length: 15 }, (_, i) => `p0-${i}`))
        yield* waitFor(() => consumer.highWatermark(p0) === 15n)
        assert.strictEqual(consumer.lag(p0), 0n)

        yield* consumer.seek(p1, 3n)
        yield* c.until(() => of(1).length === 15 + 12)
        assert.deepStrictEqual(of(1).slice(15).map((r) => r.offset), Array.from({ length: 12 }, (_, i) => BigInt(3 + i)))

        // lag: records the broker has that no stream has emitted yet (fetched or not)
        yield* produce(1, 15, 7)
        const idle = yield* PartitionConsumer.make()
        yield* idle.assign([{ ...p1, from: 2n }])
        yield* waitFor(() => idle.highWatermark(p1) === 22n)
        assert.strictEqual(idle.position(p1), 2n)
        assert.strictEqual(idle.lag(p1), 20n)
        yield* idle.records.pipe(Stream.take(20), Stream.runDrain)
        assert.strictEqual(idle.position(p1), 22n)
        assert.strictEqual(idle.lag(p1), 0n)

        const e = yield* Effect.flip(consumer.seek({ topic, partition: 7 }, 0n))
        assert.strictEqual(e._tag, "PartitionNotAssigned")
        const unknown = yield* Effect.flip(consumer.assign([{ topic, partition: 2 }]))
        assert.strictEqual(unknown._tag, "KafkaError")
      })))

  it.live("unassign ends that partition's stream; closing the scope ends the others with ConsumerClosed", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("unassign")
        yield* createTopic(cluster, topic, { partitions: 2 })
        const producer = yield* Producer.make()
        yield* producer.sendAll([0, 1].map((partition) => ({ topic, partition, value: utf8(`x${partition}`) })))
        const scope = yield* Scope.make()
        const consumer = yield* PartitionConsumer.make().pipe(Scope.provide(scope))
        yield* consumer.assign([0, 1].map((partition) => ({ topic, partition, from: "earliest" as const })))
        const s0 = yield* consumer.partitionRecords({ topic, partition: 0 }).pipe(Stream.runCollect, Effect.forkScoped)
        const s1 = yield* consumer.partitionRecords({ topic, partition: 1 }).pipe(Stream.runCollect, Effect.exit, Effect.forkScoped)
        yield* waitFor(() => consumer.position({ topic, partition: 0 }) === 1n && consumer.position({ topic, partition: 1 }) === 1n)
        yield* consumer.unassign([{ topic, partition: 0 }])
        const got = yield* Fiber.join(s0)
        assert.deepStrictEqual(got.map((r) => str(r.value)), ["x0"])
        assert.deepStrictEqual(consumer.assignment(), [{ topic, partition: 1 }])
        yield* Scope.close(scope, Exit.void)
        const exit = yield* Fiber.join(s1)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.include(String(Cause.squash(exit.cause)), "ConsumerClosed")
      })))
})

describe.concurrent("PartitionConsumer typed records (real broker)", () => {
  it.live("decode fails the stream at a bad record with its topic/partition/offset; decodeSkipping and decodeResult keep going", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const name = uniqueTopic("typed")
        yield* createTopic(cluster, name, { partitions: 1 })
        const Orders = Topic.make({ name, key: Schema.String, value: Schema.Struct({ id: Schema.Number }) })
        const producer = yield* Producer.make()
        yield* producer.sendTyped(Orders, { key: "a", value: { id: 1 } })
        yield* producer.send({ topic: name, value: utf8("not json") })
        yield* producer.sendTyped(Orders, { key: "c", value: { id: 3 } })
        const records = PartitionConsumer.stream([{ topic: name, partition: 0, from: "earliest" }]).pipe(Stream.take(3))

        const failed = yield* records.pipe(Record.decode(Orders), Stream.runCollect, Effect.flip)
        assert.strictEqual(failed._tag, "RecordDecodeError")
        if (failed._tag === "RecordDecodeError") {
          assert.strictEqual(failed.topic, name)
          assert.strictEqual(failed.partition, 0)
          assert.strictEqual(failed.offset, 1n)
          assert.strictEqual(failed.part, "value")
        }
        const before: Array<unknown> = []
        yield* records.pipe(Record.decode(Orders), Stream.runForEach((r) => Effect.sync(() => before.push(r.value))), Effect.ignore)
        assert.deepStrictEqual(before, [{ id: 1 }])

        const errors: Array<bigint> = []
        const good = yield* records.pipe(
          Record.decodeSkipping(Orders, (e) => Effect.sync(() => errors.push(e.offset))),
          Stream.runCollect
        )
        assert.deepStrictEqual(good.map((r) => [r.key, r.value, r.offset]), [["a", { id: 1 }, 0n], ["c", { id: 3 }, 2n]])
        assert.deepStrictEqual(errors, [1n])
        const results = yield* records.pipe(Record.decodeResult(Orders), Stream.runCollect)
        assert.deepStrictEqual(results.map((r) => r._tag), ["Success", "Failure", "Success"])
      })))
})
