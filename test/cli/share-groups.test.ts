/**
 * `kpax groups` across group types and `kpax groups share-offsets` as a user runs them, against
 * a share group held open by hand (raw ShareGroupHeartbeat) and a KIP-848 consumer group: list
 * with types, describe by each type's API, share offsets refused while a member is there, then
 * reset to earliest / a time / latest, list, delete offsets and delete the group.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Admin from "../../src/Admin/Admin.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { consumerMember, eventually, uniqueGroup } from "../admin/helpers.ts"
import { fill, shareMember, streamsMember } from "../admin/shareHelpers.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"
import { jsonLines, kpax, lines, ok } from "./run.ts"

const run = (args: ReadonlyArray<string>) => Effect.promise(() => kpax(args))
const all = <T extends ReadonlyArray<ReadonlyArray<string>>>(...commands: T) =>
  Effect.promise(() => Promise.all(commands.map((c) => kpax(c))))

const cells = (l: string) => l.trim().split(/\s+/)

describe("kpax groups (share, consumer) and groups share-offsets", () => {
  it.live("list types, describe per type, share offsets list/reset/delete, delete the share group", () =>
    Effect.scoped(Effect.gen(function*() {
      const t = uniqueTopic("cli-share")
      const share = uniqueGroup("cli-share")
      const consumer = uniqueGroup("cli-848")
      const streams = uniqueGroup("cli-streams")
      const cluster = yield* Cluster.make({ bootstrap: brokers() })
      const admin = yield* Admin.make.pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* createTopic(cluster, t, { partitions: 2 })
      const base = Date.now() - 600_000
      yield* fill(cluster, t, [10, 4], base)

      yield* Effect.scoped(Effect.gen(function*() {
        const member = yield* shareMember(cluster, share, [t])
        yield* consumerMember(cluster, consumer, [t])
        yield* streamsMember(cluster, streams, [t])
        yield* eventually(Effect.flatMap(admin.describeGroups([share, consumer, streams]), (ds) =>
          ds.every((d) => d.members.length === 1 && (d.members[0]!.assignment.length > 0 || (d.members[0]!.tasks?.active.length ?? 0) > 0))
            ? Effect.void
            : Effect.fail("not assigned")))
        const [listed, onlyShare, describedShare, describedConsumer, refused, wrongType, describedStreams] = yield* all(
          ["groups", "list", "--json"],
          ["groups", "list", "--type", "share", "--json"],
          ["groups", "describe", share, "--json"],
          ["groups", "describe", consumer],
          ["groups", "share-offsets", "reset", share, "--to-earliest"],
          ["groups", "share-offsets", "list", consumer],
          ["groups", "describe", streams]
        )
        const types = new Map(jsonLines(ok(listed!)).map((g) => [g.groupId, g.type]))
        assert.deepStrictEqual([types.get(share), types.get(consumer), types.get(streams)], ["share", "consumer", "streams"])
        const shares = jsonLines(ok(onlyShare!)).map((g) => g.groupId)
        assert.include(shares, share)
        assert.notInclude(shares, consumer)

        const d = jsonLines(ok(describedShare!))[0]
        assert.deepInclude(d, { group: share, type: "share", state: "Stable", protocolType: "share", protocol: "simple" })
        assert.isAbove(d.groupEpoch, 0)
        assert.isAbove(d.assignmentEpoch, 0)
        assert.strictEqual(d.members.length, 1)
        assert.deepInclude(d.members[0], { memberId: member.memberId, subscribedTopics: [t], assignment: [{ topic: t, partitions: [0, 1] }] })
        assert.isAbove(d.members[0].memberEpoch, 0)

        const c = lines(ok(describedConsumer!))
        assert.match(c[0]!, new RegExp(`^group ${consumer}  state Stable  type consumer  protocol \\S+  coordinator \\d+  members 1  epoch \\d+  assignment epoch \\d+$`))
        assert.deepStrictEqual(cells(c[1]!), ["MEMBER", "CLIENT", "ID", "HOST", "EPOCH", "ASSIGNMENT"])
        assert.strictEqual(cells(c[2]!).at(-1), `${t}:0,1`)

        const st = lines(ok(describedStreams!))
        assert.match(st[0]!, new RegExp(`^group ${streams}  state Stable  type streams  protocol \\S+  coordinator \\d+  members 1  epoch \\d+  assignment epoch \\d+$`))
        assert.match(st[2]!, /  active 0:0,1$/)

        assert.strictEqual(refused!.code, 1)
        assert.match(refused!.stderr, /^kpax: .*Stable with 1 member.*\n$/)
        assert.strictEqual(wrongType!.code, 1)
        assert.match(wrongType!.stderr, /^kpax: .*is a consumer group, not a share group\n$/)
      }))

      yield* eventually(Effect.flatMap(admin.describeGroup(share), (g) => (g.state === "Empty" ? Effect.void : Effect.fail(g.state))))
      const earliest = jsonLines(ok(yield* run(["groups", "share-offsets", "reset", share, "--to-earliest", "--json"])))[0]
      assert.deepStrictEqual(earliest, {
        group: share,
        to: "earliest",
        dryRun: false,
        partitions: [{ topic: t, partition: 0, from: null, to: 0 }, { topic: t, partition: 1, from: null, to: 0 }]
      })
      assert.deepStrictEqual(lines(ok(yield* run(["offset", share]))), [`group ${share} is a share group: see 'kpax groups share-offsets list ${share}'`])
      const listedOffsets = lines(ok(yield* run(["groups", "share-offsets", "list", share])))
      assert.deepStrictEqual(cells(listedOffsets[0]!), ["TOPIC", "PARTITION", "START", "OFFSET", "LEADER", "EPOCH", "LAG"])
      assert.deepStrictEqual(listedOffsets.slice(1).map(cells), [[t, "0", "0", "0", "10"], [t, "1", "0", "0", "4"], ["total", "lag", "14"]])

      const byTime = lines(ok(yield* run(["groups", "share-offsets", "reset", share, t, "--to-datetime", `@${base + 2500}`])))
      assert.deepStrictEqual(byTime.slice(1).map(cells), [[t, "0", "0", "3"], [t, "1", "0", "3"], ["reset", "share", "group", share]])
      const relative = ok(yield* run(["groups", "share-offsets", "reset", share, "--to-datetime", "-1m", "--json"]))
      assert.deepStrictEqual(jsonLines(relative)[0].partitions.map((p: any) => [p.partition, p.from, p.to]), [[0, 3, 10], [1, 3, 4]])
      yield* run(["groups", "share-offsets", "reset", share, "--to-earliest"])
      const latest = jsonLines(ok(yield* run(["groups", "share-offsets", "reset", share, "--to-latest", "--json"])))[0]
      assert.deepStrictEqual(latest.partitions.map((p: any) => [p.partition, p.from, p.to]), [[0, 0, 10], [1, 0, 4]])
      const after = jsonLines(ok(yield* run(["groups", "share-offsets", "list", share, "--json"])))[0]
      assert.deepStrictEqual(after.partitions.map((p: any) => [p.partition, p.startOffset, p.lag]), [[0, 10, 0], [1, 4, 0]])

      const dry = lines(ok(yield* run(["groups", "share-offsets", "reset", share, "--to-earliest", "--dry-run"])))
      assert.deepStrictEqual(dry.slice(1).map(cells), [[t, "0", "10", "0"], [t, "1", "4", "0"], ["dry", "run:", "nothing", "changed", "for", "share", "group", share]])
      const unchanged = jsonLines(ok(yield* run(["groups", "share-offsets", "list", share, "--json"])))[0]
      assert.deepStrictEqual(unchanged.partitions.map((p: any) => p.startOffset), [10, 4])
      const toOffset = jsonLines(ok(yield* run(["groups", "share-offsets", "reset", share, t, "--to-offset", "2", "--json"])))[0]
      assert.deepStrictEqual([toOffset.to, toOffset.dryRun], [2, false])
      assert.deepStrictEqual(toOffset.partitions.map((p: any) => [p.partition, p.from, p.to]), [[0, 10, 2], [1, 4, 2]])

      const [none, two, badTime, badOffset] = yield* all(
        ["groups", "share-offsets", "reset", share],
        ["groups", "share-offsets", "reset", share, "--to-earliest", "--to-latest"],
        ["groups", "share-offsets", "reset", share, "--to-datetime", "yesterday"],
        ["groups", "share-offsets", "reset", share, "--to-offset", "x"]
      )
      for (const r of [none!, two!, badTime!, badOffset!]) assert.strictEqual(r.code, 2, r.stderr)
      assert.include(badTime!.stderr, "--to-datetime")

      assert.deepStrictEqual(lines(ok(yield* run(["groups", "share-offsets", "delete", share, t]))).slice(1).map(cells), [[t, "deleted"]])
      assert.deepStrictEqual(lines(ok(yield* run(["groups", "share-offsets", "list", share]))), [`share group ${share} has no offsets`])
      assert.deepStrictEqual(lines(ok(yield* run(["groups", "delete", share]))).slice(1).map(cells), [[share, "deleted"]])
      const gone = jsonLines(ok(yield* run(["groups", "describe", share, "--json"])))[0]
      assert.deepInclude(gone, { group: share, state: "Dead" })
    })), 180_000)
})
