import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Producer from "../../src/Producer/Producer.ts"
import * as RealCluster from "../../src/Testing/RealCluster.ts"
import { bootstrapServers } from "../kafka/env.ts"
import { runJavaTool } from "../kafka/harness.ts"
import { classicMember, commitOffsets, consumerMember, eventually, failure, uniqueGroup, withAdmin } from "./helpers.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)

/** Sends `counts[p]` records to each partition `p`, record `i` with timestamp `base + i`. */
const fill = (topic: string, counts: ReadonlyArray<number>, base = Date.now() - 60_000) =>
  Effect.gen(function*() {
    const producer = yield* Producer.make({ acks: "all" })
    yield* producer.sendAll(counts.flatMap((n, partition) =>
      Array.from({ length: n }, (_, i) => ({ topic, partition, value: utf8(`p${partition}-${i}`), timestamp: base + i }))))
    return base
  })

const offsetsOf = (rows: ReadonlyArray<{ readonly partition: number; readonly committedOffset: bigint | null }>) =>
  rows.map((r) => [r.partition, r.committedOffset])

describe("Admin consumer groups (real broker)", () => {
  it.live("committed offsets and lag; list, describe and delete a group that only commits", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 3, prefix: "admin-lag" })
        yield* fill(topic, [10, 5, 0])
        const group = uniqueGroup("admin-lag")
        yield* commitOffsets(cluster, group, [{ topic, partition: 0, offset: 4n }, { topic, partition: 1, offset: 5n }])

        const lag = yield* admin.listGroupOffsets(group)
        assert.deepStrictEqual(lag.map((r) => [r.topic, r.partition, r.committedOffset, r.endOffset, r.lag, r.metadata]), [
          [topic, 0, 4n, 10n, 6n, "by the test"],
          [topic, 1, 5n, 5n, 0n, "by the test"]
        ])
        const all = yield* admin.listGroupOffsets(group, { topics: [topic] })
        assert.deepStrictEqual(all.map((r) => [r.partition, r.committedOffset, r.endOffset, r.lag]), [
          [0, 4n, 10n, 6n],
          [1, 5n, 5n, 0n],
          [2, null, 0n, null]
        ])

        const listed = yield* admin.listGroups()
        const mine = listed.find((g) => g.groupId === group)
        assert.deepStrictEqual(mine && [mine.state, mine.type, mine.protocolType], ["Empty", "classic", ""])
        assert.includeMembers((yield* admin.listGroups({ states: ["empty"] })).map((g) => g.groupId), [group])
        assert.notInclude((yield* admin.listGroups({ states: ["Stable"] })).map((g) => g.groupId), group)
        assert.notInclude((yield* admin.listGroups({ types: ["consumer"] })).map((g) => g.groupId), group)

        const d = yield* admin.describeGroup(group)
        assert.deepStrictEqual([d.groupId, d.type, d.state, d.members.length], [group, "classic", "Empty", 0])
        assert.strictEqual(d.coordinator, (yield* cluster.coordinator({ type: "group", key: group })).nodeId)

        yield* admin.deleteGroups([group])
        assert.strictEqual((yield* admin.describeGroup(group)).state, "Dead")
        assert.notInclude((yield* admin.listGroups()).map((g) => g.groupId), group)
        assert.deepStrictEqual(yield* admin.listGroupOffsets(group), [])

        const missing = uniqueGroup("admin-missing")
        const e = yield* failure(admin.deleteGroups([missing]))
        assert.strictEqual(e._tag, "AdminPartialFailure")
        if (e._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(e.failures.map((f) => [f.item, f.name]), [[`group ${missing}`, "GROUP_ID_NOT_FOUND"]])
        }
        assert.strictEqual((yield* failure(admin.describeGroups([""])))._tag, "InvalidAdminRequest")
      })))

  it.live("reset offsets to earliest, latest, a timestamp and explicit offsets", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 2, prefix: "admin-reset" })
        const base = yield* fill(topic, [10, 5])
        const group = uniqueGroup("admin-reset")
        yield* commitOffsets(cluster, group, [{ topic, partition: 0, offset: 3n }, { topic, partition: 1, offset: 1n }])
        const committed = Effect.map(admin.listGroupOffsets(group), offsetsOf)

        const earliest = yield* admin.resetGroupOffsets(group, { to: "earliest" })
        assert.deepStrictEqual(earliest.map((o) => [o.partition, o.offset]), [[0, 0n], [1, 0n]])
        assert.deepStrictEqual(yield* committed, [[0, 0n], [1, 0n]])

        yield* admin.resetGroupOffsets(group, { to: "latest" })
        assert.deepStrictEqual(yield* committed, [[0, 10n], [1, 5n]])
        assert.deepStrictEqual((yield* admin.listGroupOffsets(group)).map((r) => r.lag), [0n, 0n])

        // p1 has no record that recent: it goes to its end
        const byTime = yield* admin.resetGroupOffsets(group, { to: "timestamp", timestamp: base + 7 })
        assert.deepStrictEqual(byTime.map((o) => [o.partition, o.offset]), [[0, 7n], [1, 5n]])
        assert.deepStrictEqual(yield* committed, [[0, 7n], [1, 5n]])

        yield* admin.resetGroupOffsets(group, { to: "offsets", offsets: [{ topic, partition: 0, offset: 2n }] })
        assert.deepStrictEqual(yield* committed, [[0, 2n], [1, 5n]])

        // only the partitions named
        yield* admin.resetGroupOffsets(group, { to: "earliest" }, { partitions: [{ topic, partition: 1 }] })
        assert.deepStrictEqual(yield* committed, [[0, 2n], [1, 0n]])

        // a new group: name the topic (it has committed nothing yet)
        const fresh = uniqueGroup("admin-reset-fresh")
        const none = yield* failure(admin.resetGroupOffsets(fresh, { to: "latest" }))
        assert.strictEqual(none._tag, "InvalidAdminRequest", String((none as any).message))
        yield* admin.resetGroupOffsets(fresh, { to: "latest" }, { topics: [topic] })
        assert.deepStrictEqual(yield* Effect.map(admin.listGroupOffsets(fresh), offsetsOf), [[0, 10n], [1, 5n]])

        const negative = yield* failure(admin.resetGroupOffsets(group, { to: "offsets", offsets: [{ topic, partition: 0, offset: -1n }] }))
        assert.strictEqual(negative._tag, "InvalidAdminRequest")
        const missingTopic = yield* failure(admin.resetGroupOffsets(group, { to: "earliest" }, { topics: ["admin-no-such-topic-" + group] }))
        assert.strictEqual(missingTopic._tag, "AdminPartialFailure")
        if (missingTopic._tag === "AdminPartialFailure") assert.strictEqual(missingTopic.failures[0].name, "UNKNOWN_TOPIC_OR_PARTITION")
      })))

  it.live("a classic member: described with its decoded subscription and assignment; reset and delete refused while it is there", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 3, prefix: "admin-classic" })
        const group = uniqueGroup("admin-classic")
        yield* commitOffsets(cluster, group, [{ topic, partition: 0, offset: 0n }])
        const memberScope = yield* Scope.make()
        const { memberId } = yield* classicMember(cluster, group, [topic], [{ topic, partitions: [2, 0] }]).pipe(Scope.provide(memberScope))

        const d = yield* admin.describeGroup(group)
        assert.deepStrictEqual([d.type, d.state, d.protocolType, d.protocol], ["classic", "Stable", "consumer", "range"])
        assert.strictEqual(d.members.length, 1)
        const m = d.members[0]
        assert.strictEqual(m.memberId, memberId)
        assert.strictEqual(m.clientId, "kpax-admin-test")
        assert.deepStrictEqual(m.subscribedTopics, [topic])
        assert.deepStrictEqual(m.assignment, [{ topic, partitions: [0, 2] }])
        assert.isNull(m.targetAssignment)
        assert.isAbove(m.classic?.assignment.length ?? 0, 0)
        const listed = (yield* admin.listGroups({ states: ["Stable"] })).find((g) => g.groupId === group)
        assert.deepStrictEqual(listed && [listed.protocolType, listed.type], ["consumer", "classic"])

        const refused = yield* failure(admin.resetGroupOffsets(group, { to: "earliest" }, { topics: [topic] }))
        assert.strictEqual(refused._tag, "GroupHasActiveMembers")
        if (refused._tag === "GroupHasActiveMembers") {
          assert.deepStrictEqual([refused.group, refused.state, refused.members], [group, "Stable", 1])
          assert.include(refused.message, "stop its consumers")
        }
        const explicit = yield* failure(admin.resetGroupOffsets(group, { to: "offsets", offsets: [{ topic, partition: 0, offset: 0n }] }))
        assert.strictEqual(explicit._tag, "GroupHasActiveMembers")
        const notDeleted = yield* failure(admin.deleteGroups([group]))
        assert.strictEqual(notDeleted._tag === "AdminPartialFailure" && notDeleted.failures[0].name, "NON_EMPTY_GROUP")

        // the member leaves: the group is Empty and can be reset
        yield* Scope.close(memberScope, Exit.void)
        assert.strictEqual((yield* admin.describeGroup(group)).state, "Empty")
        const reset = yield* admin.resetGroupOffsets(group, { to: "latest" }, { topics: [topic] })
        assert.deepStrictEqual(reset.map((o) => o.offset), [0n, 0n, 0n])
      })))

  it.live("a KIP-848 member: described through ConsumerGroupDescribe with the server's assignment; reset refused while it is there", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 2, prefix: "admin-848" })
        const group = uniqueGroup("admin-848")
        const memberScope = yield* Scope.make()
        const { memberId } = yield* consumerMember(cluster, group, [topic]).pipe(Scope.provide(memberScope))
        const d = yield* eventually(Effect.flatMap(admin.describeGroup(group), (d) =>
          d.members[0]?.assignment.length === 1 ? Effect.succeed(d) : Effect.fail(`not assigned yet: ${JSON.stringify(d.members)}`)))
        assert.deepStrictEqual([d.type, d.protocolType], ["consumer", "consumer"])
        assert.strictEqual(d.state.toLowerCase(), "stable")
        assert.isString(d.protocol)
        assert.isAbove(d.groupEpoch ?? 0, 0)
        const m = d.members[0]
        assert.strictEqual(m.memberId, memberId)
        assert.deepStrictEqual(m.subscribedTopics, [topic])
        assert.deepStrictEqual(m.assignment, [{ topic, partitions: [0, 1] }])
        assert.deepStrictEqual(m.targetAssignment, [{ topic, partitions: [0, 1] }])
        assert.isAbove(m.memberEpoch ?? 0, 0)
        assert.isNull(m.classic)
        const listed = (yield* admin.listGroups({ types: ["consumer"] })).find((g) => g.groupId === group)
        assert.strictEqual(listed?.type, "consumer")

        const refused = yield* failure(admin.resetGroupOffsets(group, { to: "earliest" }, { topics: [topic] }))
        assert.strictEqual(refused._tag, "GroupHasActiveMembers")

        yield* Scope.close(memberScope, Exit.void)
        yield* eventually(Effect.flatMap(admin.describeGroup(group), (d) =>
          d.members.length === 0 ? Effect.void : Effect.fail("member still there")))
        const reset = yield* admin.resetGroupOffsets(group, { to: "earliest" }, { topics: [topic] })
        assert.deepStrictEqual(reset.map((o) => o.offset), [0n, 0n])
        assert.deepStrictEqual(yield* Effect.map(admin.listGroupOffsets(group), offsetsOf), [[0, 0n], [1, 0n]])
      })))

  it.live("deleteGroupOffsets removes one topic's offsets of an empty group", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const a = yield* RealCluster.randomTopic({ partitions: 2, prefix: "admin-deloff-a" })
        const b = yield* RealCluster.randomTopic({ prefix: "admin-deloff-b" })
        const group = uniqueGroup("admin-deloff")
        yield* commitOffsets(cluster, group, [{ topic: a, partition: 0, offset: 1n }, { topic: a, partition: 1, offset: 2n }, { topic: b, partition: 0, offset: 3n }])
        yield* admin.deleteGroupOffsets(group, [a])
        const left = yield* admin.listGroupOffsets(group)
        assert.deepStrictEqual(left.map((r) => [r.topic, r.partition, r.committedOffset]), [[b, 0, 3n]])
      })))

  it.live("a group made by Java's console consumer: offsets and lag as Kafka's own client committed them", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 2, prefix: "admin-java" })
        yield* fill(topic, [6, 4])
        const group = uniqueGroup("admin-java")
        const r = yield* Effect.promise(() =>
          runJavaTool("kafka-console-consumer", [
            "--bootstrap-server", bootstrapServers(), "--topic", topic, "--group", group,
            "--from-beginning", "--max-messages", "10", "--timeout-ms", "20000"
          ]))
        assert.strictEqual(r.stdout.trim().split("\n").length, 10, r.stderr)
        const lag = yield* eventually(Effect.flatMap(admin.listGroupOffsets(group), (rows) =>
          rows.length === 2 ? Effect.succeed(rows) : Effect.fail("not committed yet")))
        assert.deepStrictEqual(lag.map((x) => [x.partition, x.committedOffset, x.endOffset, x.lag]), [[0, 6n, 6n, 0n], [1, 4n, 4n, 0n]])
        const d = yield* eventually(Effect.flatMap(admin.describeGroup(group), (d) =>
          d.state === "Empty" ? Effect.succeed(d) : Effect.fail(d.state)))
        assert.deepStrictEqual([d.type, d.protocolType, d.members.length], ["classic", "consumer", 0])
        yield* admin.resetGroupOffsets(group, { to: "earliest" })
        assert.deepStrictEqual((yield* admin.listGroupOffsets(group)).map((x) => x.lag), [6n, 4n])
        yield* admin.deleteGroups([group])
      })))
})
