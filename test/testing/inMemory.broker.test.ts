/**
 * The in-memory broker's own semantics, through raw requests: idempotence and transactions checks
 * on Produce, batch re-stamping, Fetch long-polls under TestClock, fetch by name and by topic id,
 * ListOffsets, DeleteRecords, version negotiation and wire checks, per-connection ordering.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Result } from "effect"
import { TestClock } from "effect/testing"
import type { ClusterService } from "../../src/Cluster/Cluster.ts"
import type { BrokerService } from "../../src/Connection/Broker.ts"
import { CreateTopics } from "../../src/Protocol/generated/CreateTopics.ts"
import { DeleteRecords } from "../../src/Protocol/generated/DeleteRecords.ts"
import { DescribeLogDirs } from "../../src/Protocol/generated/DescribeLogDirs.ts"
import { Fetch } from "../../src/Protocol/generated/Fetch.ts"
import type { FetchRequest } from "../../src/Protocol/generated/Fetch.ts"
import { FindCoordinator } from "../../src/Protocol/generated/FindCoordinator.ts"
import { ListOffsets } from "../../src/Protocol/generated/ListOffsets.ts"
import { Metadata } from "../../src/Protocol/generated/Metadata.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { decodeRecordBatchesSync, encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import type * as InMemory from "../../src/Testing/InMemory.ts"
import { awaitInFlight, str, utf8, withKafka } from "./inMemoryHelpers.ts"

const batch = (values: ReadonlyArray<string>, o: { producerId?: bigint; producerEpoch?: number; baseSequence?: number; transactional?: boolean; timestamp?: number; key?: string } = {}) =>
  encodeRecordBatchSync(values.map((v, i) => ({ key: o.key === undefined ? null : utf8(o.key), value: utf8(v), timestamp: (o.timestamp ?? 1_700_000_000_000) + i })), {
    ...(o.producerId === undefined ? {} : { producerId: o.producerId, producerEpoch: o.producerEpoch ?? 0, baseSequence: o.baseSequence ?? 0 }),
    ...(o.transactional === true ? { transactional: true } : {})
  })

const produce = (broker: BrokerService, topic: string, partition: number, records: Uint8Array, acks = -1, transactionalId: string | null = null) =>
  Effect.map(
    broker.request(Produce, { transactionalId, acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] }, { version: 12 }), // by name (v13 by id: inMemory.topicIds.test.ts)
    (r) => r.responses[0].partitionResponses[0]
  )

const leaderBroker = (cluster: ClusterService, topic: string, partition = 0) => Effect.map(cluster.leader(topic, partition), (l) => l.broker)

const fetchRequest = (topic: string, topicId: string, offset: bigint, o: Partial<FetchRequest> = {}): FetchRequest => ({
  replicaId: -1,
  maxWaitMs: 0,
  minBytes: 0,
  maxBytes: 1_000_000,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [{ topic, topicId, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1_000_000 }] }],
  forgottenTopicsData: [],
  rackId: "",
  ...o
})

describe("in-memory broker: Produce", () => {
  it.effect("idempotence: a resent batch gets its original offset, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch INVALID_PRODUCER_EPOCH", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const b = yield* leaderBroker(cluster, "t")
        const first = batch(["a", "b"], { producerId: 7n, baseSequence: 0 })
        assert.strictEqual((yield* produce(b, "t", 0, first)).baseOffset, 0n)
        assert.strictEqual((yield* produce(b, "t", 0, batch(["c"], { producerId: 7n, baseSequence: 2 }))).baseOffset, 2n)
        const again = yield* produce(b, "t", 0, first)
        assert.strictEqual(again.errorCode, 0)
        assert.strictEqual(again.baseOffset, 0n)
        const gap = yield* produce(b, "t", 0, batch(["e"], { producerId: 7n, baseSequence: 5 }))
        assert.strictEqual(gap.errorCode, 45)
        assert.strictEqual((yield* produce(b, "t", 0, batch(["f"], { producerId: 7n, producerEpoch: 1, baseSequence: 3 }))).errorCode, 45)
        assert.strictEqual((yield* produce(b, "t", 0, batch(["g"], { producerId: 7n, producerEpoch: 1, baseSequence: 0 }))).baseOffset, 3n)
        assert.strictEqual((yield* produce(b, "t", 0, batch(["h"], { producerId: 7n, producerEpoch: 0, baseSequence: 3 }))).errorCode, 47)
        assert.deepStrictEqual((yield* kafka.records("t", 0)).map((r) => str(r.value)), ["a", "b", "c", "g"])
      })))

  it.effect("a transactional batch outside an open transaction is INVALID_TXN_STATE", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (_kafka, cluster) =>
      Effect.gen(function*() {
        const b = yield* leaderBroker(cluster, "t")
        const r = yield* produce(b, "t", 0, batch(["x"], { producerId: 9n, transactional: true }), -1, "tx")
        assert.strictEqual(r.errorCode, 48)
      })))

  it.effect("batches are re-stamped: base offset, leader epoch and a valid CRC; LogAppendTime replaces the timestamps", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", replicationFactor: 3 }, { name: "lat", configs: { "message.timestamp.type": "LogAppendTime" } }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        yield* produce(yield* leaderBroker(cluster, "t"), "t", 0, batch(["a", "b"]))
        const leader = yield* kafka.leaderOf("t", 0)
        yield* kafka.moveLeader("t", 0, leader === 1 ? 2 : 1)
        yield* cluster.refresh(["t"])
        yield* produce(yield* leaderBroker(cluster, "t"), "t", 0, batch(["c"]))
        const batches = yield* kafka.batches("t", 0)
        assert.deepStrictEqual(batches.map((x) => [x.baseOffset, x.partitionLeaderEpoch]), [[0n, 0], [2n, 1]])
        // the stored bytes decode with CRC checks on (kafka.batches verifies every CRC)
        assert.strictEqual(batches.length, 2)
        yield* TestClock.adjust(12_345)
        const r = yield* produce(yield* leaderBroker(cluster, "lat"), "lat", 0, batch(["z"], { timestamp: 5 }))
        assert.strictEqual(r.logAppendTimeMs, 12_345n)
        const [stored] = yield* kafka.batches("lat", 0)
        assert.strictEqual(stored.timestampType, 1)
        assert.strictEqual(stored.records[0].timestamp, 12_345)
      })))

  it.effect("NOT_LEADER_OR_FOLLOWER from a follower, with the current leader (Produce v10+)", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", replicationFactor: 3 }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const leader = yield* kafka.leaderOf("t", 0)
        const follower = [1, 2, 3].find((n) => n !== leader)!
        const res = yield* (yield* cluster.broker(follower)).request(Produce, {
          transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: "t", partitionData: [{ index: 0, records: batch(["x"]) }] }]
        }, { version: 12 })
        const p = res.responses[0].partitionResponses[0]
        assert.strictEqual(p.errorCode, 6)
        assert.strictEqual(p.currentLeader.leaderId, leader)
        assert.deepStrictEqual(res.nodeEndpoints.map((e) => e.nodeId), [leader])
      })))

  it.effect("acks=all below min.insync.replicas is NOT_ENOUGH_REPLICAS; acks=1 still appends", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", replicationFactor: 3, configs: { "min.insync.replicas": "3" } }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const leader = yield* kafka.leaderOf("t", 0)
        yield* kafka.setBrokerDown([1, 2, 3].find((n) => n !== leader)!, true)
        const b = yield* leaderBroker(cluster, "t")
        assert.strictEqual((yield* produce(b, "t", 0, batch(["x"]))).errorCode, 19)
        assert.strictEqual((yield* produce(b, "t", 0, batch(["y"]), 1)).errorCode, 0)
      })))
})

describe("in-memory broker: Fetch", () => {
  it.effect("a long poll waits maxWaitMs on the test clock, or until data arrives", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const b = yield* leaderBroker(cluster, "t")
        const id = (yield* cluster.topic("t")).topicId
        const empty = yield* Effect.forkChild(b.request(Fetch, fetchRequest("t", id, 0n, { maxWaitMs: 500, minBytes: 1 })))
        yield* TestClock.adjust(499)
        assert.isUndefined(empty.pollUnsafe())
        yield* TestClock.adjust(1)
        const r1 = yield* Fiber.join(empty)
        assert.isNull(r1.responses[0].partitions[0].records)
        const waiting = yield* Effect.forkChild(b.request(Fetch, fetchRequest("t", id, 0n, { maxWaitMs: 10_000, minBytes: 1 })))
        yield* TestClock.adjust(200)
        assert.isUndefined(waiting.pollUnsafe())
        // a produce on another connection wakes the fetch
        yield* produceElsewhere(kafka, "t")
        const r2 = yield* Fiber.join(waiting)
        assert.strictEqual(r2.responses[0].partitions[0].highWatermark, 1n)
        assert.isNotNull(r2.responses[0].partitions[0].records)
      })))

  it.effect("Fetch up to v12 names topics, from v13 by topic id; unknown ids are UNKNOWN_TOPIC_ID", () =>
    Effect.gen(function*() {
      for (const max of [12, 17]) {
        yield* withKafka({ brokers: 1, topics: [{ name: "t" }], apiVersions: { Fetch: { max } } }, (_kafka, cluster) =>
          Effect.gen(function*() {
            const b = yield* leaderBroker(cluster, "t")
            yield* produce(b, "t", 0, batch(["a"]))
            const id = (yield* cluster.topic("t")).topicId
            assert.strictEqual(yield* b.versionFor(Fetch), max)
            const req = max >= 13 ? fetchRequest("", id, 0n) : { ...fetchRequest("t", "AAAAAAAAAAAAAAAAAAAAAA", 0n) }
            const res = yield* b.request(Fetch, max >= 13 ? { ...req, topics: [{ topicId: id, partitions: req.topics[0].partitions }] } : { ...req, topics: [{ topic: "t", partitions: req.topics[0].partitions }] })
            const batches = decodeRecordBatchesSync(res.responses[0].partitions[0].records)
            assert.isTrue(Result.isSuccess(batches))
            if (max >= 13) {
              assert.strictEqual(res.responses[0].topicId, id)
              const unknown = yield* b.request(Fetch, { ...req, topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAQ", partitions: req.topics[0].partitions }] })
              assert.strictEqual(unknown.responses[0].partitions[0].errorCode, 100)
            } else assert.strictEqual(res.responses[0].topic, "t")
          }))
      }
    }))

  it.effect("followers serve consumers from Fetch v11 (not before); a stale leader epoch is FENCED_LEADER_EPOCH first", () =>
    withKafka({ brokers: 2, topics: [{ name: "t", replicationFactor: 2 }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        yield* produce(yield* leaderBroker(cluster, "t"), "t", 0, batch(["a"]))
        const leader = yield* kafka.leaderOf("t", 0)
        const follower = (yield* cluster.broker(leader === 1 ? 2 : 1))
        const id = (yield* cluster.topic("t")).topicId
        const at = (version: number, currentLeaderEpoch = 0) =>
          Effect.map(follower.request(Fetch, {
            ...fetchRequest("t", id, 0n),
            topics: [{ ...(version >= 13 ? { topicId: id } : { topic: "t" }), partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1000, currentLeaderEpoch }] }]
          }, { version }), (r) => r.responses[0].partitions[0])
        const v11 = yield* at(11)
        assert.strictEqual(v11.errorCode, 0)
        assert.strictEqual(v11.highWatermark, 1n)
        assert.isNotNull(v11.records)
        assert.strictEqual((yield* at(10)).errorCode, 6)
        yield* kafka.moveLeader("t", 0, leader)
        assert.strictEqual((yield* at(17, 0)).errorCode, 75)
      })))

  it.effect("ListOffsets earliest/latest/timestamp/max-timestamp; DeleteRecords moves the log start and older fetches are OFFSET_OUT_OF_RANGE", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const b = yield* leaderBroker(cluster, "t")
        yield* produce(b, "t", 0, batch(["a", "b", "c"], { timestamp: 1000 }))
        yield* produce(b, "t", 0, batch(["d"], { timestamp: 5000 }))
        yield* produce(b, "t", 0, batch(["e"], { timestamp: 2000 }))
        const list = (timestamp: bigint) =>
          Effect.map(b.request(ListOffsets, { replicaId: -1, topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp }] }] }), (r) => {
            const p = r.topics[0].partitions[0]
            return [p.offset, p.timestamp] as const
          })
        assert.deepStrictEqual(yield* list(-2n), [0n, -1n])
        assert.deepStrictEqual(yield* list(-1n), [5n, -1n])
        assert.deepStrictEqual(yield* list(1001n), [1n, 1001n])
        assert.deepStrictEqual(yield* list(1003n), [3n, 5000n])
        assert.deepStrictEqual(yield* list(6000n), [-1n, -1n])
        assert.deepStrictEqual(yield* list(-3n), [3n, 5000n])
        const del = yield* b.request(DeleteRecords, { topics: [{ name: "t", partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 1000 })
        assert.strictEqual(del.topics[0].partitions[0].lowWatermark, 2n)
        assert.deepStrictEqual(yield* list(-2n), [2n, -1n])
        const id = (yield* cluster.topic("t")).topicId
        const res = yield* b.request(Fetch, fetchRequest("t", id, 1n))
        assert.strictEqual(res.responses[0].partitions[0].errorCode, 1)
        assert.deepStrictEqual((yield* kafka.records("t", 0)).map((r) => str(r.value)), ["c", "d", "e"])
        const beyond = yield* b.request(DeleteRecords, { topics: [{ name: "t", partitions: [{ partitionIndex: 0, offset: 99n }] }], timeoutMs: 1000 })
        assert.strictEqual(beyond.topics[0].partitions[0].errorCode, 1)
      })))
})

/** Appends one record to `topic` through the control's own connection (a second client). */
const produceElsewhere = (kafka: InMemory.ControlService, topic: string) =>
  Effect.scoped(Effect.gen(function*() {
    const conn = yield* kafka.connect({ nodeId: 1, host: "in-memory", port: 9092 })
    return yield* produce(conn, topic, 0, batch(["late"]))
  }))

describe("in-memory broker: connections and versions", () => {
  it.effect("requests on one connection are answered in order: a long poll holds back the next request (as Kafka does)", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const b = yield* leaderBroker(cluster, "t")
        const id = (yield* cluster.topic("t")).topicId
        const poll = yield* Effect.forkChild(b.request(Fetch, fetchRequest("t", id, 0n, { maxWaitMs: 1000, minBytes: 1 })))
        const held = yield* awaitInFlight(kafka, "Fetch")
        const meta = yield* Effect.forkChild(b.request(Metadata, { topics: null }))
        yield* TestClock.adjust(held.at + 999 - (yield* Clock.currentTimeMillis))
        assert.isUndefined(meta.pollUnsafe(), "Metadata answered while the Fetch before it was held")
        yield* TestClock.adjust(1)
        yield* Fiber.join(poll)
        yield* Fiber.join(meta)
      })))

  it.effect("versions: narrowed ranges are negotiated (FindCoordinator v3: one key per request), unsupported APIs are typed errors", () =>
    withKafka({ brokers: 3, apiVersions: { FindCoordinator: { max: 3 } } }, (kafka, cluster) =>
      Effect.gen(function*() {
        const found = yield* cluster.coordinators([{ type: "group", key: "g1" }, { type: "group", key: "g2" }])
        assert.strictEqual(found.size, 2)
        const finds = yield* kafka.requests({ api: "FindCoordinator" })
        assert.deepStrictEqual(finds.map((r) => r.version), [3, 3])
        for (const [k, v] of found) {
          assert.isFalse("_tag" in v, `${k} failed`)
          if (!("_tag" in v)) assert.strictEqual(v.nodeId, yield* kafka.coordinatorOf("group", k.slice(2)))
        }
        const b = yield* cluster.broker(1)
        const e = yield* Effect.flip(b.request(DescribeLogDirs, { topics: null }))
        assert.strictEqual(e._tag, "UnsupportedVersionError")
        const forced = yield* Effect.flip(b.request(FindCoordinator, { key: "g", keyType: 0 }, { version: 4 }))
        assert.strictEqual(forced._tag, "UnsupportedVersionError")
      })))

  it.effect("requests go through the wire codecs: a field the version cannot carry is an EncodeError", () =>
    withKafka({ brokers: 1 }, (_kafka, cluster) =>
      Effect.gen(function*() {
        const b = yield* cluster.broker(1)
        const e = yield* Effect.flip(b.request(Metadata, { topics: null }, { version: 0 }))
        assert.strictEqual(e._tag, "EncodeError")
      })))

  it.effect("CreateTopics: existing names, impossible replication factors, unknown configs are refused per topic", () =>
    withKafka({ brokers: 2, topics: [{ name: "exists" }] }, (_kafka, cluster) =>
      Effect.gen(function*() {
        const b = yield* cluster.broker(1)
        const res = yield* b.request(CreateTopics, {
          topics: [
            { name: "exists", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
            { name: "too-many-replicas", numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
            { name: "bad-config", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: "no.such.config", value: "1" }] },
            { name: "fine", numPartitions: 4, replicationFactor: 2, assignments: [], configs: [{ name: "retention.ms", value: "1000" }] }
          ],
          timeoutMs: 1000
        })
        assert.deepStrictEqual(res.topics.map((t) => t.errorCode), [36, 38, 40, 0])
        const fine = res.topics[3]
        assert.strictEqual(fine.numPartitions, 4)
        assert.strictEqual(fine.configs?.find((c) => c.name === "retention.ms")?.value, "1000")
        const t = yield* cluster.topic("fine")
        assert.strictEqual(t.partitions.length, 4)
        assert.isTrue(t.partitions.every((p) => p.replicas.length === 2 && p.isr.length === 2))
      })))

  it.effect("auto-creation on Metadata when the cluster and the request allow it", () =>
    withKafka({ brokers: 1, autoCreateTopics: true, defaultPartitions: 3 }, (kafka, cluster) =>
      Effect.gen(function*() {
        const t = yield* cluster.topic("auto")
        assert.strictEqual(t.partitions.length, 3)
        assert.strictEqual((yield* kafka.offsets("auto", 2)).highWatermark, 0n)
      }), { allowAutoTopicCreation: true }))
})
