import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { failure, eventually, uniqueTopic, withAdmin } from "./helpers.ts"

describe("Admin topics (real broker)", () => {
  it.live("creates topics with partitions, replication factor and configs, describes, lists and deletes them", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const a = uniqueTopic("admin-a")
        const b = uniqueTopic("admin-b")
        const created = yield* admin.createTopics([
          { name: a, partitions: 3, replicationFactor: 1, configs: { "retention.ms": "3600000", "cleanup.policy": "compact" } },
          { name: b } // broker defaults: num.partitions=1
        ])
        assert.deepStrictEqual(created.map((t) => [t.name, t.partitions, t.replicationFactor]), [[a, 3, 1], [b, 1, 1]])
        assert.notStrictEqual(created[0].topicId, "AAAAAAAAAAAAAAAAAAAAAA")
        const retention = created[0].configs.find((c) => c.name === "retention.ms")
        assert.deepStrictEqual([retention?.value, retention?.source], ["3600000", "topic"])
        assert.strictEqual(created[1].configs.find((c) => c.name === "retention.ms")?.source, "default")

        const described = yield* eventually(admin.describeTopic(a))
        assert.strictEqual(described.name, a)
        assert.strictEqual(described.topicId, created[0].topicId)
        assert.strictEqual(described.replicationFactor, 1)
        assert.strictEqual(described.isInternal, false)
        assert.deepStrictEqual(described.partitions.map((p) => p.partition), [0, 1, 2])
        for (const p of described.partitions) {
          assert.strictEqual(p.replicas.length, 1)
          assert.deepStrictEqual(p.isr, p.replicas)
          assert.strictEqual(p.leader, p.replicas[0])
        }

        const listed = yield* admin.listTopics()
        assert.includeMembers(listed.map((t) => t.name), [a, b])
        assert.strictEqual(listed.find((t) => t.name === a)?.partitions, 3)
        assert.isFalse(listed.some((t) => t.isInternal))
        const sorted = [...listed.map((t) => t.name)].sort()
        assert.deepStrictEqual(listed.map((t) => t.name), sorted)

        yield* admin.deleteTopics([a, b])
        const gone = yield* eventually(Effect.flatMap(admin.listTopics(), (ts) =>
          ts.some((t) => t.name === a || t.name === b) ? Effect.fail("still listed") : Effect.succeed(ts)))
        assert.isFalse(gone.some((t) => t.name === a))
        const e = yield* failure(admin.describeTopic(a))
        assert.strictEqual(e._tag, "AdminItemError")
        if (e._tag === "AdminItemError") {
          assert.strictEqual(e.name, "UNKNOWN_TOPIC_OR_PARTITION")
          assert.strictEqual(e.item, `topic ${a}`)
        }
      })))

  it.live("replica assignment places the replicas; internal topics are listed on request", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const cluster = yield* admin.describeCluster
        const node = cluster.brokers[0].nodeId
        const name = uniqueTopic("admin-assign")
        const created = yield* admin.createTopic({ name, assignment: [[node], [node]] })
        assert.deepStrictEqual([created.partitions, created.replicationFactor], [2, 1])
        const d = yield* eventually(admin.describeTopic(name))
        assert.deepStrictEqual(d.partitions.map((p) => p.replicas), [[node], [node]])
        yield* admin.deleteTopic(name)

        // __consumer_offsets exists once a group has committed; the test suite commits in other files,
        // so only check that internal topics are hidden by default and shown on request
        const all = yield* admin.listTopics({ includeInternal: true })
        const visible = yield* admin.listTopics()
        assert.isAtLeast(all.length, visible.length)
        assert.isTrue(all.filter((t) => t.isInternal).every((t) => !visible.some((v) => v.name === t.name)))
      })))

  it.live("validateOnly checks without creating; a bad config is the topic's typed error", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const name = uniqueTopic("admin-validate")
        const validated = yield* admin.createTopic({ name, partitions: 4 }, { validateOnly: true })
        assert.strictEqual(validated.partitions, 4)
        const e = yield* failure(admin.describeTopic(name))
        assert.strictEqual(e._tag === "AdminItemError" && e.name, "UNKNOWN_TOPIC_OR_PARTITION")

        const bad = yield* failure(admin.createTopic({ name, configs: { "cleanup.policy": "sideways" } }, { validateOnly: true }))
        assert.strictEqual(bad._tag, "AdminItemError")
        if (bad._tag === "AdminItemError") {
          assert.strictEqual(bad.name, "INVALID_CONFIG")
          assert.strictEqual(bad.operation, "createTopics")
          assert.include(bad.message, name)
        }
        const tooMany = yield* failure(admin.createTopic({ name, replicationFactor: 5 }, { validateOnly: true }))
        assert.strictEqual(tooMany._tag === "AdminItemError" && tooMany.name, "INVALID_REPLICATION_FACTOR")
      })))

  it.live("bad names and bad arguments fail before any request", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const before = cluster.connectionCount()
        const bad = yield* failure(admin.createTopics([{ name: "fine" }, { name: "not fine!" }]))
        assert.strictEqual(bad._tag, "InvalidTopicName")
        assert.strictEqual(bad._tag === "InvalidTopicName" && bad.topic, "not fine!")
        assert.strictEqual((yield* failure(admin.deleteTopic(".."))). _tag, "InvalidTopicName")
        assert.strictEqual((yield* failure(admin.describeTopics(["x".repeat(250)])))._tag, "InvalidTopicName")
        assert.strictEqual((yield* failure(admin.createTopic({ name: "" })))._tag, "InvalidTopicName")
        const twice = yield* failure(admin.createTopics([{ name: "same" }, { name: "same" }]))
        assert.strictEqual(twice._tag, "InvalidAdminRequest")
        const zero = yield* failure(admin.createTopic({ name: "zero", partitions: 0 }))
        assert.strictEqual(zero._tag, "InvalidAdminRequest")
        const both = yield* failure(admin.createTopic({ name: "both", partitions: 2, assignment: [[1], [1]] }))
        assert.strictEqual(both._tag, "InvalidAdminRequest")
        // nothing was sent: the cluster has not even bootstrapped
        assert.strictEqual(cluster.connectionCount(), before)
        assert.strictEqual(cluster.snapshot().fetchedAt, 0)
      })))

  it.live("partial success: createTopics reports which topics failed and which were created", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const existing = uniqueTopic("admin-exists")
        const fresh = uniqueTopic("admin-fresh")
        yield* admin.createTopic({ name: existing })
        const e = yield* failure(admin.createTopics([{ name: existing }, { name: fresh, partitions: 2 }]))
        assert.strictEqual(e._tag, "AdminPartialFailure")
        if (e._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(e.failures.map((f) => [f.item, f.name]), [[`topic ${existing}`, "TOPIC_ALREADY_EXISTS"]])
          assert.deepStrictEqual(e.succeeded, [`topic ${fresh}`])
          assert.include(e.message, "1 of 2 failed")
        }
        const d = yield* eventually(admin.describeTopic(fresh))
        assert.strictEqual(d.partitions.length, 2)
        // the single form fails with the item error, catchable by reason
        const caught = yield* admin.createTopic({ name: existing }).pipe(
          Effect.as("created"),
          Effect.catchReason("AdminItemError", "TOPIC_ALREADY_EXISTS", () => Effect.succeed("exists"))
        )
        assert.strictEqual(caught, "exists")

        const missing = uniqueTopic("admin-missing")
        const del = yield* failure(admin.deleteTopics([fresh, missing]))
        assert.strictEqual(del._tag, "AdminPartialFailure")
        if (del._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(del.failures.map((f) => [f.item, f.name]), [[`topic ${missing}`, "UNKNOWN_TOPIC_OR_PARTITION"]])
          assert.deepStrictEqual(del.succeeded, [`topic ${fresh}`])
        }
        yield* admin.deleteTopic(existing)
      })))

  it.live("createPartitions grows a topic; shrinking is the topic's INVALID_PARTITIONS", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const name = uniqueTopic("admin-grow")
        yield* admin.createTopic({ name, partitions: 2 })
        yield* admin.createPartitions([{ topic: name, count: 5 }], { validateOnly: true })
        assert.strictEqual((yield* eventually(admin.describeTopic(name))).partitions.length, 2)
        yield* admin.createPartitions([{ topic: name, count: 5 }])
        const grown = yield* eventually(Effect.flatMap(admin.describeTopic(name), (d) =>
          d.partitions.length === 5 ? Effect.succeed(d) : Effect.fail("not yet")))
        assert.deepStrictEqual(grown.partitions.map((p) => p.partition), [0, 1, 2, 3, 4])
        const shrink = yield* failure(admin.createPartitions([{ topic: name, count: 3 }]))
        assert.strictEqual(shrink._tag, "AdminPartialFailure")
        if (shrink._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(shrink.failures.map((f) => [f.item, f.name]), [[`topic ${name}`, "INVALID_PARTITIONS"]])
        }
        yield* admin.deleteTopic(name)
      })))
})
