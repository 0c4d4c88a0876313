/**
 * The in-memory share groups (KIP-932) driven by raw requests under TestClock: acquisition locks
 * that expire exactly at `share.record.lock.duration.ms` on the cluster's clock, the delivery
 * limit, share-session epochs, release on a closed connection, and the group configs — the
 * exact-timing cases the shared scenarios (test/scenarios/shareScenarios.ts) cannot pin down on a
 * real broker. The answers mirror what Kafka 4.4 sends (checked on the test broker).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { ErrorCode } from "../../src/Protocol/Errors.ts"
import { FindCoordinator } from "../../src/Protocol/generated/FindCoordinator.ts"
import { DescribeShareGroupOffsets } from "../../src/Protocol/generated/DescribeShareGroupOffsets.ts"
import { DescribeConfigs } from "../../src/Protocol/generated/DescribeConfigs.ts"
import { IncrementalAlterConfigs } from "../../src/Protocol/generated/IncrementalAlterConfigs.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { ShareAcknowledge } from "../../src/Protocol/generated/ShareAcknowledge.ts"
import { ShareFetch } from "../../src/Protocol/generated/ShareFetch.ts"
import type { ShareFetchRequest } from "../../src/Protocol/generated/ShareFetch.ts"
import { ShareGroupHeartbeat } from "../../src/Protocol/generated/ShareGroupHeartbeat.ts"
import { encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"
import * as ShareConsumer from "../../src/Consumer/ShareConsumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { runWithClock, str, utf8, withKafka } from "./inMemoryHelpers.ts"

const G = "share-1"
const LOCK = 20_000

const client = (kafka: InMemory.ControlService): Effect.Effect<Cluster.ClusterService, never, Scope.Scope> =>
  Effect.orDie(Cluster.make({ bootstrap: kafka.bootstrap, connect: kafka.connect }))

/** A cluster with topic "t" (1 partition, 3 single-record batches) and share group G reading it from the earliest, locks of LOCK ms. */
const setUp = (cluster: Cluster.ClusterService, configs: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const { broker } = yield* cluster.anyBroker
    const alter = yield* broker.request(IncrementalAlterConfigs, {
      resources: [{
        resourceType: 32,
        resourceName: G,
        configs: Object.entries({ "share.auto.offset.reset": "earliest", "share.record.lock.duration.ms": String(LOCK), ...configs })
          .map(([name, value]) => ({ name, configOperation: 0, value }))
      }],
      validateOnly: false
    })
    assert.strictEqual(alter.responses[0].errorCode, 0, alter.responses[0].errorMessage ?? "")
    const leader = yield* cluster.leader("t", 0)
    for (const v of ["a", "b", "c"]) {
      yield* leader.broker.request(Produce, {
        transactionalId: null, acks: -1, timeoutMs: 1000,
        topicData: [{ name: "t", partitionData: [{ index: 0, records: encodeRecordBatchSync([{ value: utf8(v) }]) }] }]
      }, { version: 12 })
    }
    return { leader: leader.broker, topicId: (yield* cluster.topic("t")).topicId }
  })

/** Joins member `memberId` (ShareGroupHeartbeat epoch 0) through its own client. */
const join = (c: Cluster.ClusterService, memberId: string) =>
  Effect.gen(function*() {
    const { broker } = yield* c.coordinator({ type: "group", key: G })
    const res = yield* broker.request(ShareGroupHeartbeat, { groupId: G, memberId, memberEpoch: 0, rackId: null, subscribedTopicNames: ["t"] })
    assert.strictEqual(res.errorCode, 0)
    return res
  })

const fetchReq = (memberId: string, topicId: string, epoch: number, o: Partial<ShareFetchRequest> = {}): ShareFetchRequest => ({
  groupId: G, memberId, shareSessionEpoch: epoch, maxWaitMs: 0, minBytes: 1, maxBytes: 1_000_000, maxRecords: 1, batchSize: 1,
  shareAcquireMode: 0, isRenewAck: false,
  topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [] }] }], forgottenTopicsData: [],
  ...o
})

const acquired = (res: { readonly responses: ReadonlyArray<{ readonly partitions: ReadonlyArray<{ readonly acquiredRecords: ReadonlyArray<{ firstOffset: bigint; lastOffset: bigint; deliveryCount: number }> }> }> }) =>
  res.responses.flatMap((t) => t.partitions.flatMap((p) => p.acquiredRecords.map((r) => [r.firstOffset, r.lastOffset, r.deliveryCount])))

describe("in-memory share groups", () => {
  it.effect("an acquisition lock expires exactly at share.record.lock.duration.ms: the record goes to another member with delivery count 2, the late acknowledgement is INVALID_RECORD_STATE", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const { topicId } = yield* setUp(cluster)
        const [ca, cb] = [yield* client(kafka), yield* client(kafka)]
        yield* join(ca, "member-a")
        yield* join(cb, "member-b")
        const la = (yield* ca.leader("t", 0)).broker
        const lb = (yield* cb.leader("t", 0)).broker
        const first = yield* la.request(ShareFetch, fetchReq("member-a", topicId, 0))
        assert.strictEqual(first.acquisitionLockTimeoutMs, LOCK)
        assert.deepStrictEqual(acquired(first), [[0n, 0n, 1]])
        yield* TestClock.adjust(LOCK - 1)
        // one ms before the lock expires B is handed the next record, not A's
        assert.deepStrictEqual(acquired(yield* lb.request(ShareFetch, fetchReq("member-b", topicId, 0))), [[1n, 1n, 1]])
        yield* TestClock.adjust(1)
        assert.deepStrictEqual(acquired(yield* lb.request(ShareFetch, fetchReq("member-b", topicId, 1))), [[0n, 0n, 2]])
        const late = yield* la.request(ShareAcknowledge, {
          groupId: G, memberId: "member-a", shareSessionEpoch: 1, isRenewAck: false,
          topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0n, lastOffset: 0n, acknowledgeTypes: [1] }] }] }]
        })
        assert.strictEqual(late.errorCode, 0)
        assert.strictEqual(late.responses[0].partitions[0].errorCode, ErrorCode.INVALID_RECORD_STATE)
        // once B accepted it (the start offset moved past it), A's late acceptance is skipped without an error
        const accept = (memberId: string, broker: typeof la, epoch: number) =>
          broker.request(ShareAcknowledge, {
            groupId: G, memberId, shareSessionEpoch: epoch, isRenewAck: false,
            topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0n, lastOffset: 0n, acknowledgeTypes: [1] }] }] }]
          })
        assert.strictEqual((yield* accept("member-b", lb, 2)).responses[0].partitions[0].errorCode, 0)
        assert.strictEqual((yield* accept("member-a", la, 2)).responses[0].partitions[0].errorCode, 0)
        assert.strictEqual((yield* kafka.sharePartition(G, "t", 0))?.startOffset, 1n)
      })))

  it.effect("a long poll waits for a lock to expire; renew restarts the lock; at the delivery limit an expired record is archived", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const { topicId } = yield* setUp(cluster, { "share.delivery.count.limit": "2" })
        const ca = yield* client(kafka)
        yield* join(ca, "member-a")
        const l = (yield* ca.leader("t", 0)).broker
        // take all three, then renew offset 0 halfway through its lock
        assert.deepStrictEqual(acquired(yield* l.request(ShareFetch, fetchReq("member-a", topicId, 0, { maxRecords: 3 }))), [[0n, 2n, 1]])
        yield* TestClock.adjust(LOCK / 2)
        const renew = yield* l.request(ShareAcknowledge, {
          groupId: G, memberId: "member-a", shareSessionEpoch: 1, isRenewAck: true,
          topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0n, lastOffset: 0n, acknowledgeTypes: [4] }] }] }]
        })
        assert.strictEqual(renew.responses[0].partitions[0].errorCode, 0)
        // a long poll with nothing to acquire waits; it gets 1 and 2 back the moment their locks expire
        const poll = yield* Effect.forkChild(l.request(ShareFetch, fetchReq("member-a", topicId, 2, { maxWaitMs: LOCK, maxRecords: 3, topics: [] })))
        yield* TestClock.adjust(LOCK / 2 - 1)
        assert.isUndefined(poll.pollUnsafe())
        yield* TestClock.adjust(1)
        assert.deepStrictEqual(acquired(yield* Fiber.join(poll)), [[1n, 2n, 2]])
        // offset 0 (renewed) expires LOCK after its renewal; 1 and 2 reach the limit (2) when theirs expire: archived
        yield* TestClock.adjust(LOCK)
        assert.deepStrictEqual(acquired(yield* l.request(ShareFetch, fetchReq("member-a", topicId, 3, { maxRecords: 3, topics: [] }))), [[0n, 0n, 2]])
        const sp = yield* kafka.sharePartition(G, "t", 0)
        assert.deepStrictEqual(sp?.records.map((r) => [r.offset, r.state, r.deliveryCount, r.member]), [
          [0n, "acquired", 2, "member-a"],
          [1n, "archived", 2, ""],
          [2n, "archived", 2, ""]
        ])
        yield* TestClock.adjust(LOCK)
        assert.deepStrictEqual(acquired(yield* l.request(ShareFetch, fetchReq("member-a", topicId, 4, { maxRecords: 3, topics: [] }))), [])
        // all archived: the share-partition start offset moved past them
        assert.deepStrictEqual([(yield* kafka.sharePartition(G, "t", 0))?.startOffset, (yield* kafka.group(G))?.type], [3n, "share"])
      })))

  it.effect("a closed connection releases its sessions' records at once, leaving the group does not; epochs: no session, a wrong epoch, an epoch-0 acknowledgement", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const { topicId } = yield* setUp(cluster)
        const ca = yield* client(kafka)
        const cb = yield* client(kafka)
        yield* join(ca, "member-a")
        yield* join(cb, "member-b")
        const la = (yield* ca.leader("t", 0)).broker
        const lb = (yield* cb.leader("t", 0)).broker
        assert.deepStrictEqual(acquired(yield* la.request(ShareFetch, fetchReq("member-a", topicId, 0, { maxRecords: 3 }))), [[0n, 2n, 1]])
        assert.strictEqual((yield* la.request(ShareFetch, fetchReq("member-a", topicId, 5))).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH)
        assert.strictEqual((yield* lb.request(ShareFetch, fetchReq("member-b", topicId, 1))).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND)
        assert.strictEqual((yield* lb.request(ShareAcknowledge, { groupId: G, memberId: "member-b", shareSessionEpoch: 0, isRenewAck: false, topics: [] })).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH)
        assert.strictEqual((yield* lb.request(ShareFetch, fetchReq("", topicId, 0))).errorCode, ErrorCode.INVALID_REQUEST)
        // leaving the group does not release them (as Kafka 4.4: A's session lives on)
        const left = yield* ca.coordinator({ type: "group", key: G }).pipe(Effect.flatMap(({ broker }) =>
          broker.request(ShareGroupHeartbeat, { groupId: G, memberId: "member-a", memberEpoch: -1 })))
        assert.strictEqual(left.errorCode, 0)
        assert.deepStrictEqual(acquired(yield* lb.request(ShareFetch, fetchReq("member-b", topicId, 0))), [])
        yield* kafka.dropConnections(1)
        // B's own session went with the drop too: it opens a new one and gets A's records, no time passed
        const again = (yield* cb.leader("t", 0)).broker
        assert.deepStrictEqual(acquired(yield* again.request(ShareFetch, fetchReq("member-b", topicId, 0, { maxRecords: 3 }))), [[0n, 2n, 2]])
      })))

  it.effect("ShareFetch does not check the member id (as Kafka 4.4: a stranger in an existing group is handed records); no share group: UNKNOWN_SERVER_ERROR per partition; start offsets listed from the assignment", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const { topicId } = yield* setUp(cluster)
        const c = yield* client(kafka)
        const l = (yield* c.leader("t", 0)).broker
        const none = yield* l.request(ShareFetch, fetchReq("stranger", topicId, 0))
        assert.deepStrictEqual(none.responses.map((t) => t.partitions.map((p) => p.errorCode)), [[ErrorCode.UNKNOWN_SERVER_ERROR]])
        yield* join(c, "member-a")
        // the assigned partition is listed from its assignment, its start offset set by the first fetch
        const offsets = () =>
          Effect.map(
            Effect.flatMap(c.coordinator({ type: "group", key: G }), ({ broker }) => broker.request(DescribeShareGroupOffsets, { groups: [{ groupId: G, topics: null }] })),
            (r) => r.groups[0].topics.flatMap((t) => t.partitions.map((p) => [t.topicName, p.partitionIndex, p.startOffset, p.lag]))
          )
        assert.deepStrictEqual(yield* offsets(), [["t", 0, -1n, -1n]])
        assert.deepStrictEqual(acquired(yield* l.request(ShareFetch, fetchReq("stranger", topicId, 0))), [[0n, 0n, 1]])
        assert.deepStrictEqual(yield* offsets(), [["t", 0, 0n, 3n]])
        const share = yield* c.anyBroker.pipe(Effect.flatMap(({ broker }) =>
          broker.request(FindCoordinator, { keyType: 2, coordinatorKeys: [`${G}:${topicId}:0`, "not-a-share-partition"] })))
        assert.deepStrictEqual(share.coordinators.map((x) => [x.nodeId, x.errorCode]), [[1, 0], [-1, ErrorCode.INVALID_REQUEST]])
      })))

  it.effect("share.isolation.level=read_committed: the records of an aborted transaction and the markers are archived, a committed transaction's record handed out", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (kafka, cluster) =>
      runWithClock(Effect.gen(function*() {
        const { topicId } = yield* setUp(cluster, { "share.isolation.level": "read_committed" })
        const producer = yield* Producer.make({ transactionalId: "tx-1" })
        yield* Effect.flip(producer.transaction(Effect.andThen(producer.send({ topic: "t", value: utf8("aborted") }), Effect.fail("abort"))))
        const c = yield* client(kafka)
        yield* join(c, "member-a")
        const l = (yield* c.leader("t", 0)).broker
        // a, b, c; the aborted record (3) and its abort marker (4) are never handed out
        assert.deepStrictEqual(acquired(yield* l.request(ShareFetch, fetchReq("member-a", topicId, 0, { maxRecords: 10 }))), [[0n, 2n, 1]])
        yield* producer.transaction(producer.send({ topic: "t", value: utf8("committed") }))
        assert.deepStrictEqual(acquired(yield* l.request(ShareFetch, fetchReq("member-a", topicId, 1, { maxRecords: 10 }))), [[5n, 5n, 1]])
        // the aborted record, its abort marker and the commit marker (6)
        assert.deepStrictEqual((yield* kafka.sharePartition(G, "t", 0))?.records.filter((r) => r.state === "archived").map((r) => r.offset), [3n, 4n, 6n])
      }))))

  it.live("a ShareConsumer through injected share-session errors (top level) and a partition's NOT_LEADER_OR_FOLLOWER: every record accepted once", () =>
    withKafka({ brokers: 2, topics: [{ name: "t" }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        yield* setUp(cluster)
        yield* kafka.injectError("ShareFetch", { code: "SHARE_SESSION_NOT_FOUND", times: 2 })
        yield* kafka.injectError("ShareFetch", { code: "NOT_LEADER_OR_FOLLOWER", topic: "t", times: 2 })
        const consumer = yield* ShareConsumer.make({ groupId: G, topics: ["t"], maxWait: "50 millis", ackMode: "explicit" })
        const values = yield* consumer.records.pipe(
          Stream.take(3),
          Stream.mapEffect((r) => Effect.as(r.ack("accept"), str(r.value))),
          Stream.runCollect
        )
        assert.deepStrictEqual([...values], ["a", "b", "c"])
        const results = yield* consumer.commit
        for (const r of results) assert.strictEqual(r.error, undefined)
        assert.isAtLeast(consumer.stats().sessionErrors, 2)
        assert.deepStrictEqual((yield* kafka.sharePartition(G, "t", 0))?.startOffset, 3n)
      })))

  it.effect("group configs: IncrementalAlterConfigs checks share configs as Kafka does; DescribeConfigs lists every group config", () =>
    withKafka({ brokers: 1, topics: [{ name: "t" }] }, (_kafka, cluster) =>
      Effect.gen(function*() {
        const { broker } = yield* cluster.anyBroker
        const set = (name: string, value: string) =>
          Effect.map(broker.request(IncrementalAlterConfigs, {
            resources: [{ resourceType: 32, resourceName: G, configs: [{ name, configOperation: 0, value }] }],
            validateOnly: false
          }), (r) => [r.responses[0].errorCode, r.responses[0].errorMessage])
        assert.deepStrictEqual(yield* set("share.delivery.count.limit", "11"), [ErrorCode.INVALID_CONFIG, "share.delivery.count.limit must be in the range 2 to 10 inclusive."])
        assert.deepStrictEqual(yield* set("share.record.lock.duration.ms", "1000"), [ErrorCode.INVALID_CONFIG, "share.record.lock.duration.ms must be in the range 15000 to 60000 inclusive."])
        assert.deepStrictEqual(yield* set("nope.x", "1"), [ErrorCode.INVALID_CONFIG, "Unknown group config name: nope.x"])
        assert.deepStrictEqual(yield* set("share.delivery.count.limit", "3"), [0, null])
        const d = yield* broker.request(DescribeConfigs, { resources: [{ resourceType: 32, resourceName: G, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false })
        const byName = new Map(d.results[0].configs.map((c) => [c.name, [c.value, c.configSource]]))
        assert.deepStrictEqual(byName.get("share.delivery.count.limit"), ["3", 8])
        assert.deepStrictEqual(byName.get("share.record.lock.duration.ms"), ["30000", 5])
        assert.deepStrictEqual(byName.get("share.auto.offset.reset"), ["latest", 5])
      })))
})
