/**
 * Admin scenarios, run unchanged on the in-memory cluster and the real broker.
 */
import { assert } from "@effect/vitest"
import { Effect, Exit, Schedule } from "effect"
import * as Admin from "../../src/Admin/Admin.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { OffsetCommit } from "../../src/Protocol/generated/OffsetCommit.ts"
import { scenario, uniqueTopic, utf8 } from "./support.ts"
import type { Scenario } from "./support.ts"

/**
 * Waits until a new topic has leaders in the cluster's metadata (the producer does not wait
 * through a topic's first LEADER_NOT_AVAILABLE by itself: see test/testing/inMemory.clients.test.ts).
 */
const leadersOf = (topic: string, partitions: number) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.Cluster
    const s = yield* cluster.refresh([topic])
    const t = s.topics.get(topic)
    if (t === undefined || t.errorCode !== 0 || t.available.length < partitions) return yield* Effect.fail("not ready" as const)
  }).pipe(Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 100 }))

/** Retries an assertion while metadata settles (topics appear on every broker a moment after creation). */
const eventually = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.retry(self, { schedule: Schedule.spaced("50 millis"), times: 100 })

const failureOf = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.die(new Error("expected a failure"))
    const f = exit.cause.reasons.find((r) => r._tag === "Fail")
    return f !== undefined && f._tag === "Fail" ? Effect.succeed(f.error as E) : Effect.die(exit.cause)
  })

export const adminScenarios: ReadonlyArray<Scenario> = [
  scenario("admin: create, describe, list, grow and delete topics; errors per topic", Effect.gen(function*() {
    const admin = yield* Admin.make
    const name = uniqueTopic("a-topic")
    const created = yield* admin.createTopic({ name, partitions: 2, replicationFactor: 1, configs: { "retention.ms": "3600000" } })
    assert.strictEqual(created.partitions, 2)
    assert.strictEqual(created.replicationFactor, 1)
    assert.strictEqual(created.configs.find((c) => c.name === "retention.ms")?.value, "3600000")
    const described = yield* eventually(admin.describeTopic(name))
    assert.strictEqual(described.topicId, created.topicId)
    assert.deepStrictEqual(described.partitions.map((p) => p.partition), [0, 1])
    assert.isTrue(described.partitions.every((p) => p.leader >= 0 && p.replicas.length === 1))
    assert.include((yield* admin.listTopics()).map((t) => t.name), name)
    const again = yield* failureOf(admin.createTopic({ name, partitions: 1 }))
    assert.strictEqual(again._tag === "AdminItemError" && again.name, "TOPIC_ALREADY_EXISTS")
    yield* admin.createPartitions([{ topic: name, count: 4 }])
    assert.strictEqual((yield* eventually(Effect.filterOrFail(admin.describeTopic(name), (t) => t.partitions.length === 4))).partitions.length, 4)
    const shrink = yield* failureOf(admin.createPartitions([{ topic: name, count: 2 }]))
    assert.strictEqual(shrink._tag === "AdminPartialFailure" && shrink.failures[0].name, "INVALID_PARTITIONS")
    const badConfig = yield* failureOf(admin.createTopic({ name: uniqueTopic("a-bad"), partitions: 1, configs: { "no.such.config": "1" } }))
    assert.strictEqual(badConfig._tag === "AdminItemError" && badConfig.name, "INVALID_CONFIG")
    yield* admin.deleteTopic(name)
    yield* eventually(Effect.filterOrFail(admin.listTopics(), (ts) => !ts.some((t) => t.name === name)))
    const gone = yield* failureOf(admin.deleteTopic(name))
    assert.strictEqual(gone._tag === "AdminItemError" && gone.name, "UNKNOWN_TOPIC_OR_PARTITION")
  })),

  scenario("admin: describe and incrementally alter topic configs; describe the cluster", Effect.gen(function*() {
    const admin = yield* Admin.make
    const name = uniqueTopic("a-config")
    yield* admin.createTopic({ name, partitions: 1, replicationFactor: 1 })
    const topic = { type: "topic" as const, name }
    const before = yield* eventually(admin.describeConfigs([topic]))
    const retention = before[0].entries.find((e) => e.name === "retention.ms")!
    assert.strictEqual(retention.value, "604800000")
    assert.isTrue(retention.isDefault)
    yield* admin.alterConfigs([{ resource: topic, ops: [{ op: "set", name: "retention.ms", value: "1000" }, { op: "set", name: "cleanup.policy", value: "compact" }] }])
    const after = yield* admin.describeConfigs([topic])
    assert.strictEqual(after[0].entries.find((e) => e.name === "retention.ms")?.value, "1000")
    assert.strictEqual(after[0].entries.find((e) => e.name === "retention.ms")?.source, "topic")
    assert.strictEqual(after[0].entries.find((e) => e.name === "cleanup.policy")?.value, "compact")
    yield* admin.alterConfigs([{ resource: topic, ops: [{ op: "delete", name: "retention.ms" }] }])
    const reset = yield* admin.describeConfigs([topic])
    assert.strictEqual(reset[0].entries.find((e) => e.name === "retention.ms")?.value, "604800000")
    const bad = yield* failureOf(admin.alterConfigs([{ resource: topic, ops: [{ op: "set", name: "message.timestamp.type", value: "Sometimes" }] }]))
    assert.strictEqual(bad._tag === "AdminPartialFailure" && bad.failures[0].name, "INVALID_CONFIG")
    const cluster = yield* admin.describeCluster
    const brokers = (yield* (yield* Cluster.Cluster).refresh()).brokers
    assert.deepStrictEqual(cluster.brokers.map((b) => b.nodeId).sort(), [...brokers.keys()].sort())
    assert.isTrue(cluster.clusterId !== null && cluster.clusterId.length > 0)
    assert.isTrue(brokers.has(cluster.controllerId))
  })),

  scenario("admin: listOffsets by spec and deleteRecords", Effect.gen(function*() {
    const admin = yield* Admin.make
    const name = uniqueTopic("a-offsets")
    yield* admin.createTopic({ name, partitions: 1, replicationFactor: 1 })
    yield* leadersOf(name, 1)
    const producer = yield* Producer.make()
    const t0 = Date.now() - 60_000
    yield* eventually(producer.sendAll([0, 1, 2, 3].map((i) => ({ topic: name, value: utf8(`o${i}`), timestamp: t0 + [0, 3000, 1000, 2000][i] }))))
    const at = (spec: Admin.OffsetSpec) => Effect.map(admin.listOffsets([name], spec), (r) => [r[0].offset, r[0].timestamp])
    assert.deepStrictEqual(yield* at("earliest"), [0n, null])
    assert.deepStrictEqual((yield* at("latest"))[0], 4n)
    assert.deepStrictEqual(yield* at("maxTimestamp"), [1n, t0 + 3000])
    assert.deepStrictEqual(yield* at({ timestamp: t0 + 1500 }), [1n, t0 + 3000])
    const deleted = yield* admin.deleteRecords([{ topic: name, partition: 0, offset: 2n }])
    assert.deepStrictEqual(deleted.map((d) => d.lowWatermark), [2n])
    assert.deepStrictEqual((yield* at("earliest"))[0], 2n)
  })),

  scenario("admin: a group that only commits: offsets and lag, reset, list, describe, delete", Effect.gen(function*() {
    const admin = yield* Admin.make
    const cluster = yield* Cluster.Cluster
    const name = uniqueTopic("a-group-topic")
    const group = uniqueTopic("a-group")
    yield* admin.createTopic({ name, partitions: 2, replicationFactor: 1 })
    yield* leadersOf(name, 2)
    const producer = yield* Producer.make()
    yield* eventually(producer.sendAll(Array.from({ length: 10 }, (_, i) => ({ topic: name, partition: i % 2, value: utf8(`g${i}`) }))))
    yield* cluster.withCoordinator({ type: "group", key: group }, (c) =>
      c.broker.request(OffsetCommit, {
        groupId: group, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null,
        // v10+ by topic id
        topics: [{ name, topicId: cluster.snapshot().topics.get(name)?.topicId ?? "AAAAAAAAAAAAAAAAAAAAAA", partitions: [{ partitionIndex: 0, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: "m" }] }]
      }))
    const offsets = yield* admin.listGroupOffsets(group)
    assert.deepStrictEqual(offsets.map((o) => [o.partition, o.committedOffset, o.endOffset, o.lag]), [[0, 2n, 5n, 3n]])
    const withTopic = yield* admin.listGroupOffsets(group, { topics: [name] })
    assert.deepStrictEqual(withTopic.map((o) => [o.partition, o.committedOffset]), [[0, 2n], [1, null]])
    const reset = yield* admin.resetGroupOffsets(group, { to: "latest" }, { topics: [name] })
    assert.deepStrictEqual(reset.map((r) => [r.partition, r.offset]), [[0, 5n], [1, 5n]])
    const listed = yield* eventually(Effect.filterOrFail(admin.listGroups(), (gs) => gs.some((g) => g.groupId === group)))
    const mine = listed.find((g) => g.groupId === group)!
    assert.strictEqual(mine.state, "Empty")
    assert.strictEqual(mine.coordinator, (yield* cluster.coordinator({ type: "group", key: group })).nodeId)
    const described = yield* admin.describeGroup(group)
    assert.strictEqual(described.state, "Empty")
    assert.deepStrictEqual(described.members, [])
    yield* admin.deleteGroups([group])
    assert.deepStrictEqual(yield* admin.listGroupOffsets(group), [])
  })),

  scenario("admin: ACL requests to a broker without an authorizer are the typed SECURITY_DISABLED", Effect.gen(function*() {
    const admin = yield* Admin.make
    const e = yield* failureOf(admin.describeAcls({ resourceType: "topic" }))
    assert.strictEqual(e._tag === "AdminItemError" && e.name, "SECURITY_DISABLED")
  }))
]
