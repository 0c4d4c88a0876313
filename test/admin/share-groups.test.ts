/**
 * Share groups (KIP-932) through Admin against the real broker: a share member held open by hand
 * (raw ShareGroupHeartbeat), then list, describe, start offsets (list, reset to earliest, latest, a
 * time and explicit offsets, delete; compared with Kafka's kafka-share-groups) and deleting the
 * group; describeGroups per group type (classic, consumer, share, streams).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as RealCluster from "../../src/Testing/RealCluster.ts"
import { bootstrapServers } from "../kafka/env.ts"
import { runJavaTool } from "../kafka/harness.ts"
import { classicMember, consumerMember, eventually, failure, uniqueGroup, withAdmin } from "./helpers.ts"
import { fill, shareMember, streamsMember } from "./shareHelpers.ts"

const starts = (rows: ReadonlyArray<{ readonly partition: number; readonly startOffset: bigint | null }>) =>
  rows.map((r) => [r.partition, r.startOffset])

describe("Admin share groups (real broker)", () => {
  it.live("list, describe, reset / list / delete start offsets, delete a share group", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 2, prefix: "admin-share" })
        const base = Date.now() - 600_000
        yield* fill(cluster, topic, [10, 4], base)
        const group = uniqueGroup("admin-share")

        yield* Effect.scoped(Effect.gen(function*() {
          const member = yield* shareMember(cluster, group, [topic])
          const listed = yield* eventually(Effect.flatMap(admin.listShareGroups(), (gs) => {
            const g = gs.find((g) => g.groupId === group)
            return g !== undefined ? Effect.succeed(g) : Effect.fail("not listed yet")
          }))
          assert.deepStrictEqual([listed.type, listed.protocolType], ["share", "share"])
          const all = (yield* admin.listGroups()).find((g) => g.groupId === group)
          assert.strictEqual(all?.type, "share")
          assert.include((yield* admin.listGroups({ types: ["share"] })).map((g) => g.groupId), group)
          assert.notInclude((yield* admin.listGroups({ types: ["consumer"] })).map((g) => g.groupId), group)

          const d = yield* eventually(Effect.flatMap(admin.describeShareGroup(group), (d) =>
            d.members.length === 1 && d.members[0]!.assignment.length > 0 ? Effect.succeed(d) : Effect.fail("no assignment yet")))
          assert.deepStrictEqual([d.groupId, d.type, d.state, d.protocolType], [group, "share", "Stable", "share"])
          assert.strictEqual(d.protocol, "simple")
          assert.isAbove(d.groupEpoch!, 0)
          assert.isAbove(d.assignmentEpoch!, 0)
          const m = d.members[0]!
          assert.deepStrictEqual([m.memberId, m.subscribedTopics, m.assignment], [member.memberId, [topic], [{ topic, partitions: [0, 1] }]])
          assert.isAbove(m.memberEpoch!, 0)
          // as Kafka's kafka-share-groups describes the member
          const javaMembers = yield* Effect.promise(() =>
            runJavaTool("kafka-share-groups", ["--bootstrap-server", bootstrapServers(), "--describe", "--members", "--group", group]))
          assert.strictEqual(javaMembers.code, 0, javaMembers.stderr)
          const row = javaMembers.stdout.split("\n").find((l) => l.includes(member.memberId))
          assert.isDefined(row, javaMembers.stdout)
          assert.include(row!, `${topic}:0,1`)
          // the generic describe takes the share API too
          const generic = yield* admin.describeGroup(group)
          assert.deepStrictEqual([generic.type, generic.state, generic.members.length], ["share", "Stable", 1])

          // the assigned partitions are listed; their start offsets come with the first share fetch
          const initial = yield* eventually(Effect.flatMap(admin.listShareGroupOffsets(group), (rows) =>
            rows.length === 2 ? Effect.succeed(rows) : Effect.fail("not assigned")))
          assert.deepStrictEqual(initial.map((r) => [r.topic, r.partition, r.startOffset, r.lag]), [[topic, 0, null, null], [topic, 1, null, null]])

          const refused = yield* failure(admin.resetShareGroupOffsets(group, { to: "earliest" }))
          assert.deepStrictEqual([refused._tag, (refused as any).state, (refused as any).members], ["GroupHasActiveMembers", "Stable", 1])
          const refusedDelete = yield* failure(admin.deleteShareGroupOffsets(group, [topic]))
          assert.strictEqual(refusedDelete._tag, "GroupHasActiveMembers")
          const refusedGroup = yield* failure(admin.deleteShareGroups([group]))
          assert.strictEqual(refusedGroup._tag, "AdminPartialFailure")
        }))

        // the member left: Empty
        const empty = yield* eventually(Effect.flatMap(admin.describeShareGroup(group), (d) =>
          d.state === "Empty" ? Effect.succeed(d) : Effect.fail(`still ${d.state}`)))
        assert.strictEqual(empty.members.length, 0)

        const earliest = yield* admin.resetShareGroupOffsets(group, { to: "earliest" })
        assert.deepStrictEqual(earliest.map((o) => [o.partition, o.offset]), [[0, 0n], [1, 0n]])
        const afterEarliest = yield* admin.listShareGroupOffsets(group)
        assert.deepStrictEqual(afterEarliest.map((r) => [r.partition, r.startOffset, r.lag]), [[0, 0n, 10n], [1, 0n, 4n]])
        // Kafka's own kafka-share-groups reads the same
        const java = yield* Effect.promise(() =>
          runJavaTool("kafka-share-groups", ["--bootstrap-server", bootstrapServers(), "--describe", "--offsets", "--group", group]))
        assert.strictEqual(java.code, 0, java.stderr)
        const javaRows = java.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((c) => c[0] === group)
        assert.deepStrictEqual(javaRows, afterEarliest.map((r) => [group, topic, String(r.partition), String(r.startOffset), String(r.lag)]))

        // the first record at or after base + 2.5 s is the fourth (timestamps base, base+1s, …)
        yield* admin.resetShareGroupOffsets(group, { to: "timestamp", timestamp: base + 2500 })
        assert.deepStrictEqual(starts(yield* admin.listShareGroupOffsets(group)), [[0, 3n], [1, 3n]])
        // later than every record of partition 1: its end
        yield* admin.resetShareGroupOffsets(group, { to: "timestamp", timestamp: base + 5500 }, { partitions: [{ topic, partition: 1 }] })
        assert.deepStrictEqual(starts(yield* admin.listShareGroupOffsets(group)), [[0, 3n], [1, 4n]])

        const latest = yield* admin.resetShareGroupOffsets(group, { to: "latest" }, { topics: [topic] })
        assert.deepStrictEqual(latest.map((o) => [o.partition, o.offset]), [[0, 10n], [1, 4n]])
        assert.deepStrictEqual(starts(yield* admin.listShareGroupOffsets(group, { topics: [topic] })), [[0, 10n], [1, 4n]])

        yield* admin.resetShareGroupOffsets(group, { to: "offsets", offsets: [{ topic, partition: 0, offset: 7n }] })
        const explicit = yield* admin.listShareGroupOffsets(group)
        assert.deepStrictEqual(explicit.map((r) => [r.partition, r.startOffset, r.lag]), [[0, 7n, 3n], [1, 4n, 0n]])

        const badOffset = yield* failure(admin.resetShareGroupOffsets(group, { to: "offsets", offsets: [{ topic, partition: 0, offset: -1n }] }))
        assert.strictEqual(badOffset._tag, "InvalidAdminRequest")

        yield* admin.deleteShareGroupOffsets(group, [topic])
        const deleted = yield* admin.listShareGroupOffsets(group)
        assert.deepStrictEqual(deleted, [])
        assert.deepStrictEqual(starts(yield* admin.listShareGroupOffsets(group, { topics: [topic] })), [[0, null], [1, null]])

        yield* admin.deleteShareGroups([group])
        const gone = yield* failure(admin.describeShareGroup(group))
        assert.deepStrictEqual([gone._tag, (gone as any).name], ["AdminItemError", "GROUP_ID_NOT_FOUND"])
        assert.notInclude((yield* admin.listShareGroups()).map((g) => g.groupId), group)
        assert.strictEqual((yield* admin.describeGroup(group)).state, "Dead")
      })), 120_000)

  it.live("share operations on groups of other types and on no group; describeGroups per type", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 1, prefix: "admin-share-types" })
        const classic = uniqueGroup("admin-share-classic")
        const consumer = uniqueGroup("admin-share-848")
        const share = uniqueGroup("admin-share-share")
        const missing = uniqueGroup("admin-share-missing")
        const streams = uniqueGroup("admin-share-streams")

        yield* Effect.scoped(Effect.gen(function*() {
          yield* classicMember(cluster, classic, [topic], [{ topic, partitions: [0] }])
          yield* consumerMember(cluster, consumer, [topic])
          yield* shareMember(cluster, share, [topic])
          const streamer = yield* streamsMember(cluster, streams, [topic])
          const described = yield* eventually(Effect.flatMap(admin.describeGroups([classic, consumer, share, missing, streams]), (ds) =>
            ds.every((d) => d.groupId === missing || (d.members[0]?.assignment.length ?? 0) > 0 || (d.members[0]?.tasks?.active.length ?? 0) > 0)
              ? Effect.succeed(ds)
              : Effect.fail("no assignment yet")))
          assert.deepStrictEqual(described.map((d) => [d.groupId, d.type, d.state, d.members.length]), [
            [classic, "classic", "Stable", 1],
            [consumer, "consumer", "Stable", 1],
            [share, "share", "Stable", 1],
            [missing, "classic", "Dead", 0],
            [streams, "streams", "Stable", 1]
          ])
          const st = described[4]!
          assert.deepStrictEqual([st.protocolType, st.members[0]!.memberId, st.members[0]!.assignment], ["streams", streamer.memberId, []])
          assert.deepStrictEqual(st.members[0]!.tasks, { active: [{ subtopology: "0", partitions: [0] }], standby: [], warmup: [] })
          assert.isAbove(st.groupEpoch!, 0)
          for (const d of described.slice(0, 3)) {
            assert.deepStrictEqual(d.members[0]!.assignment, [{ topic, partitions: [0] }])
            if (d.type === "classic") continue
            assert.isAbove(d.members[0]!.memberEpoch!, 0)
            assert.isAbove(d.groupEpoch!, 0)
          }
          const types = new Map((yield* admin.listGroups()).map((g) => [g.groupId, g.type]))
          assert.deepStrictEqual([types.get(classic), types.get(consumer), types.get(share), types.get(streams)], ["classic", "consumer", "share", "streams"])

          for (const [g, type] of [[classic, "classic"], [consumer, "consumer"], [streams, "streams"]] as const) {
            const e = yield* failure(admin.listShareGroupOffsets(g))
            assert.deepStrictEqual([e._tag, (e as any).type], ["NotShareGroup", type])
            const r = yield* failure(admin.resetShareGroupOffsets(g, { to: "earliest" }, { topics: [topic] }))
            assert.strictEqual(r._tag, "NotShareGroup")
            const x = yield* failure(admin.deleteShareGroupOffsets(g, [topic]))
            assert.strictEqual(x._tag, "NotShareGroup")
            const d = yield* failure(admin.describeShareGroup(g))
            assert.deepStrictEqual([d._tag, (d as any).name], ["AdminItemError", "GROUP_ID_NOT_FOUND"])
          }
          const del = yield* failure(admin.deleteShareGroups([classic]))
          assert.strictEqual(del._tag, "AdminPartialFailure")
        }))

        // Kafka answers no partitions for a group that does not exist
        assert.deepStrictEqual(yield* admin.listShareGroupOffsets(missing), [])
        const empty = yield* failure(admin.resetShareGroupOffsets(missing, { to: "earliest" }))
        assert.strictEqual(empty._tag, "InvalidAdminRequest")
        const noGroup = yield* failure(admin.deleteShareGroupOffsets(missing, [topic]))
        assert.deepStrictEqual([noGroup._tag, (noGroup as any).name], ["AdminItemError", "GROUP_ID_NOT_FOUND"])
        // resetting a group that does not exist makes it: an Empty share group with those offsets
        const fresh = uniqueGroup("admin-share-fresh")
        assert.deepStrictEqual(yield* admin.resetShareGroupOffsets(fresh, { to: "earliest" }, { topics: [topic] }), [{ topic, partition: 0, offset: 0n }])
        const made = yield* admin.describeShareGroup(fresh)
        assert.deepStrictEqual([made.type, made.state, made.members.length], ["share", "Empty", 0])
        assert.deepStrictEqual((yield* admin.listShareGroupOffsets(fresh)).map((r) => [r.partition, r.startOffset]), [[0, 0n]])
        const unknownTopic = yield* failure(admin.deleteShareGroupOffsets(fresh, [`${topic}-none`]))
        assert.deepStrictEqual([unknownTopic._tag, (unknownTopic as any).failures.map((f: any) => f.name)], ["AdminPartialFailure", ["UNKNOWN_TOPIC_OR_PARTITION"]])
        yield* admin.deleteShareGroups([fresh])
      })), 120_000)
})
