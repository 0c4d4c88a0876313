/**
 * The cluster and admin commands as a user runs them: `meta`, `topics`, `configs`, `coord`,
 * `groups`, `offset` — against a topic and a group made for the test (offsets committed and a
 * classic member held open in-process), tables and `--json` checked.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { classicMember, commitOffsets } from "../admin/helpers.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"
import { jsonLines, kpax, lines, ok } from "./run.ts"

const run = (args: ReadonlyArray<string>) => Effect.promise(() => kpax(args))
const all = <T extends ReadonlyArray<ReadonlyArray<string>>>(...commands: T) =>
  Effect.promise(() => Promise.all(commands.map((c) => kpax(c))))

describe("kpax meta / topics / configs / coord / groups / offset", () => {
  it.live("meta, topics describe/list/delete, configs set/describe/delete, coord", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-admin")
      yield* Effect.scoped(Effect.gen(function*() {
        const cluster = yield* Cluster.make({ bootstrap: brokers() })
        yield* createTopic(cluster, t, { partitions: 2 })
      }))
      const [metaJson, metaTable, listed, coord, set] = yield* all(
        ["meta", t, "--json"],
        ["meta", t],
        ["topics", "list", "--json"],
        ["coord", `${t}-g`, "--json"],
        ["configs", "set", "topic", t, "retention.ms=3600000", "cleanup.policy=compact"]
      )
      const m = jsonLines(ok(metaJson!))[0]
      assert.isAbove(m.brokers.length, 0)
      const broker = m.brokers[0]
      assert.deepStrictEqual(m.topics.map((x: any) => [x.name, x.partitions.length]), [[t, 2]])
      for (const p of m.topics[0].partitions) {
        assert.deepStrictEqual([p.leader, p.replicas, p.isr, p.offline], [broker.id, [broker.id], [broker.id], []])
      }
      const table = lines(ok(metaTable!))
      assert.match(table[0]!, /^cluster \S+, controller \d+$/)
      assert.include(table, "TOPIC" + " ".repeat(t.length - 5) + "  PARTITION  LEADER  EPOCH  REPLICAS  ISR  OFFLINE")
      assert.include(table, `${t}          1       ${broker.id}      0  ${broker.id}         ${broker.id}    -`)
      assert.deepInclude(jsonLines(ok(listed!)), { name: t, partitions: 2, internal: false, topicId: m.topics[0].topicId })
      assert.deepStrictEqual(jsonLines(ok(coord!)), [{ group: `${t}-g`, coordinator: { id: broker.id, host: broker.host, port: broker.port } }])
      assert.deepStrictEqual(lines(ok(set!)).slice(1).map((l) => l.split(/\s+/)), [["retention.ms", "set", "3600000"], ["cleanup.policy", "set", "compact"]])

      const [described, configs] = yield* all(["topics", "describe", t], ["configs", "describe", "topic", t, "--json"])
      const d = lines(ok(described!))
      assert.match(d[0]!, new RegExp(`^topic ${t}  id \\S+  partitions 2  replication 1$`))
      assert.strictEqual(d[1], "configs: cleanup.policy=compact retention.ms=3600000")
      assert.deepStrictEqual(d.slice(2), ["PARTITION  LEADER  REPLICAS  ISR  OFFLINE", `        0       ${broker.id}  ${broker.id}         ${broker.id}    -`, `        1       ${broker.id}  ${broker.id}         ${broker.id}    -`])
      const own = jsonLines(ok(configs!)).filter((c) => c.source === "topic")
      assert.deepStrictEqual(own.map((c) => [c.name, c.value]), [["cleanup.policy", "compact"], ["retention.ms", "3600000"]])

      ok(yield* run(["configs", "delete", "topic", t, "cleanup.policy"]))
      const after = jsonLines(ok(yield* run(["configs", "describe", "topic", t, "--name", "cleanup.policy", "--json"])))
      assert.deepInclude(after[0], { name: "cleanup.policy", value: "delete", source: "default", default: true })

      const deleted = ok(yield* run(["topics", "delete", t]))
      assert.deepStrictEqual(lines(deleted)[1]!.split(/\s+/), [t, "deleted"])
      const gone = yield* run(["topics", "describe", t])
      assert.strictEqual(gone.code, 1)
      assert.strictEqual(gone.stderr.split("\n").length, 2, gone.stderr)
      assert.include(gone.stderr, "UNKNOWN_TOPIC_OR_PARTITION")
    }), 180_000)

  it.live("groups list/describe/delete and offset, with a live member and after it left; rollback is refused while it is there", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-groups")
      const g = `${t}-group`
      yield* Effect.scoped(Effect.gen(function*() {
        const cluster = yield* Cluster.make({ bootstrap: brokers() })
        yield* createTopic(cluster, t, { partitions: 2 })
        ok(yield* Effect.promise(() => kpax(["produce", t, "-p", "0"], { input: "a\nb\nc\n" })))
        yield* commitOffsets(cluster, g, [{ topic: t, partition: 0, offset: 1n }])
        const member = yield* classicMember(cluster, g, [t], [{ topic: t, partitions: [0, 1] }])
        const [described, listed, refused] = yield* all(
          ["groups", "describe", g, "--json"],
          ["groups", "list", "--json"],
          ["rollback", g, t, "--to", "earliest"]
        )
        const d = jsonLines(ok(described!))[0]
        assert.deepInclude(d, { group: g, type: "classic", state: "Stable", protocolType: "consumer", protocol: "range" })
        assert.deepStrictEqual(d.members.map((x: any) => [x.memberId, x.assignment]), [[member.memberId, [{ topic: t, partitions: [0, 1] }]]])
        assert.deepInclude(jsonLines(ok(listed!)), { groupId: g, protocolType: "consumer", state: "Stable", type: "classic", coordinator: d.coordinator })
        assert.strictEqual(refused!.code, 1)
        assert.match(refused!.stderr, /^kpax: .*(active|members|Stable).*\n$/)
      }))
      const [described, offsets] = yield* all(["groups", "describe", g], ["offset", g])
      assert.match(lines(ok(described!))[0]!, new RegExp(`^group ${g}  state Empty  type classic  protocol -?\\S*  coordinator \\d+  members 0$`))
      assert.deepStrictEqual(lines(ok(offsets!)).slice(1), [`${t}          0          1    3    2`, "total lag 2"])
      assert.deepStrictEqual(lines(ok(yield* run(["groups", "delete", g]))).slice(1).map((l) => l.split(/\s+/)), [[g, "deleted"]])
      assert.strictEqual(jsonLines(ok(yield* run(["groups", "describe", g, "--json"])))[0].state, "Dead")
    }), 180_000)
})
