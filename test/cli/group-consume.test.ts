/**
 * `kpax consume --share-group` and `kpax consume --group` as a user runs them (child processes
 * against the real broker). Share groups: `--start earliest` on a new group, `--count`, two
 * members at once getting disjoint records, `--idle`, `--ack release` (delivered again with
 * delivery count 2), and clean closes — after `--count` and after Ctrl-C — that leave nothing
 * acquired: the next member, which stops after a few idle seconds, gets every record not
 * printed, which it could not if they stayed locked (30 s). Consumer groups: what was printed is
 * committed (the next run goes on after it, a KIP-848 run finds nothing left), `--no-commit`
 * commits nothing, the default stop at the ends, two members at once print every record once,
 * and `--follow` until Ctrl-C.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Admin from "../../src/Admin/Admin.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { uniqueGroup } from "../admin/helpers.ts"
import { brokers } from "../kafka/env.ts"
import { uniqueTopic } from "../util/kafka.ts"
import { jsonLines, kpax, lines, ok, start } from "./run.ts"
import type { Run } from "./run.ts"

const run = (args: ReadonlyArray<string>, input?: string) => Effect.promise(() => kpax(args, input === undefined ? {} : { input }))
const bootstrap = () => ["--brokers", brokers().join(",")]

/** `k<i>:v<i>` for i in 1..n: keyed, so the records spread over the partitions. */
const keyed = (n: number) => Array.from({ length: n }, (_, i) => `k${i + 1}:v${i + 1}\n`).join("")
const all = (n: number) => Array.from({ length: n }, (_, i) => `v${i + 1}`).sort()
const values = (...runs: ReadonlyArray<Run>) => runs.flatMap((r) => lines(r)).sort()

/** Starts `kpax args…` and interrupts it (SIGINT) once it printed a line. */
const interruptAfterFirst = (args: ReadonlyArray<string>) => {
  let sent = false
  const s = start([...args, ...bootstrap()], {
    onStdout: (_c, out) => {
      if (!sent && out.includes("\n")) {
        sent = true
        s.interrupt()
      }
    }
  })
  return Effect.promise(() => s.done)
}

describe("kpax consume --share-group / --group", () => {
  it.live("share group: --start earliest, --count, two members disjoint, --idle, --ack release, clean close after --count and Ctrl-C", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-share-consume")
      ok(yield* run(["topics", "create", t, "--partitions", "3"]))
      ok(yield* run(["produce", t, "--key-separator", ":"], keyed(60)))
      const [g1, g2, g3] = [uniqueGroup("cli-sc"), uniqueGroup("cli-sc-release"), uniqueGroup("cli-sc-int")]

      const counted = Effect.gen(function*() {
        const first = ok(yield* run(["consume", t, "--share-group", g1, "--start", "earliest", "--count", "10"]))
        assert.strictEqual(lines(first).length, 10)
        assert.match(first.stderr, new RegExp(`share group ${g1} had no start offset on ${t}:0,1,2: set to earliest \\(0,0,0\\)`))
        // the first member fetched more than it printed: its close released the rest at once
        const [a, b] = yield* Effect.all([
          run(["consume", t, "--share-group", g1, "--idle", "5s"]),
          run(["consume", t, "--share-group", g1, "--idle", "5s"])
        ], { concurrency: 2 })
        assert.deepStrictEqual(values(first, ok(a!), ok(b!)), all(60))
        // the group now has start offsets: --start changes nothing and says so
        const again = ok(yield* run(["consume", t, "--share-group", g1, "--start", "earliest", "--idle", "2s"]))
        assert.deepStrictEqual(lines(again), [])
        assert.include(again.stderr, `share group ${g1} already has start offsets on ${t}: --start ignored`)
      })

      const released = Effect.gen(function*() {
        const first = ok(yield* run(["consume", t, "--share-group", g2, "--start", "earliest", "--count", "5", "--ack", "release", "--json"]))
        const back = new Set(jsonLines(first).map((r) => r.value))
        assert.strictEqual(back.size, 5)
        assert.isTrue(jsonLines(first).every((r) => r.deliveryCount === 1))
        const second = jsonLines(ok(yield* run(["consume", t, "--share-group", g2, "--idle", "5s", "--json"])))
        assert.deepStrictEqual(second.map((r) => r.value).sort(), all(60))
        // released: delivered again; records the first fetched and did not print were released on close too
        for (const r of second) {
          if (back.has(r.value)) assert.strictEqual(r.deliveryCount, 2, r.value)
          else assert.oneOf(r.deliveryCount, [1, 2], r.value)
        }
      })

      const interrupted = Effect.gen(function*() {
        const first = yield* interruptAfterFirst(["consume", t, "--share-group", g3, "--start", "earliest"])
        assert.strictEqual(first.code, 130, first.stderr)
        assert.isAbove(lines(first).length, 0)
        const rest = ok(yield* run(["consume", t, "--share-group", g3, "--idle", "5s", "--template", "{{value}} {{deliveryCount}}"]))
        // what the first printed was accepted, what it held unprinted came back at once
        assert.deepStrictEqual([...lines(first), ...lines(rest).map((l) => l.split(" ")[0]!)].sort(), all(60))
        assert.isTrue(lines(rest).every((l) => l.endsWith(" 1") || l.endsWith(" 2")))
      })

      yield* Effect.all([counted, released, interrupted], { concurrency: 3, discard: true })
    }), 240_000)

  it.live("group: commits what it printed, --no-commit commits nothing, stops at the ends, --follow until Ctrl-C", () =>
    Effect.scoped(Effect.gen(function*() {
      const t = uniqueTopic("cli-group-consume")
      ok(yield* run(["topics", "create", t, "--partitions", "3"]))
      ok(yield* run(["produce", t, "--key-separator", ":"], keyed(30)))
      const [g1, g2, g3] = [uniqueGroup("cli-gc"), uniqueGroup("cli-gc-nocommit"), uniqueGroup("cli-gc-follow")]
      const cluster = yield* Cluster.make({ bootstrap: brokers() })
      const admin = yield* Admin.make.pipe(Effect.provideService(Cluster.Cluster, cluster))

      const committing = Effect.gen(function*() {
        const first = ok(yield* run(["consume", t, "--group", g1, "--count", "10"]))
        assert.strictEqual(lines(first).length, 10)
        // the next run goes on after what the first printed, and stops at the ends
        const second = ok(yield* run(["consume", t, "--group", g1]))
        assert.deepStrictEqual(values(first, second), all(30))
        const third = ok(yield* run(["consume", t, "--group", g1, "--group-protocol", "consumer"]))
        assert.deepStrictEqual(lines(third), [])
        const offsets = yield* admin.listGroupOffsets(g1)
        assert.strictEqual(offsets.reduce((n, o) => n + Number(o.committedOffset ?? 0n), 0), 30)
      })

      const reading = Effect.gen(function*() {
        const [a, b] = [ok(yield* run(["consume", t, "--group", g2, "--no-commit", "--count", "5"])), ok(yield* run(["consume", t, "--group", g2, "--no-commit"]))]
        assert.strictEqual(lines(a).length, 5)
        assert.deepStrictEqual(values(b), all(30))
        assert.isTrue((yield* admin.listGroupOffsets(g2)).every((o) => o.committedOffset === null))
      })

      const following = Effect.gen(function*() {
        const t = uniqueTopic("cli-group-follow")
        ok(yield* run(["topics", "create", t, "--partitions", "3"]))
        ok(yield* run(["produce", t, "--key-separator", ":"], keyed(30)))
        const late = start(["consume", t, "--group", g3, "--follow", "--offset", ...bootstrap()], {
          onStdout: (_c, out) => {
            if (out.endsWith("\tlate\n")) late.interrupt()
          }
        })
        // the group reads the 30 and waits; then one more record arrives
        yield* Effect.promise(async () => {
          for (;;) {
            const ds = await kpax(["groups", "describe", g3, "--json"])
            if ((jsonLines(ds)[0]?.members ?? []).some((m: { assignment: Array<unknown> }) => m.assignment.length > 0)) return
            await new Promise((r) => setTimeout(r, 500))
          }
        })
        ok(yield* run(["produce", t, "--key", "k1"], "late\n"))
        const f = yield* Effect.promise(() => late.done)
        assert.strictEqual(f.code, 130, f.stderr)
        assert.deepStrictEqual(lines(f).map((l) => l.split("\t")[1]!).sort(), [...all(30), "late"].sort())
        // its clean leave committed everything it printed
        const after = ok(yield* run(["consume", t, "--group", g3]))
        assert.deepStrictEqual(lines(after), [])
      })

      const split = Effect.gen(function*() {
        const t6 = uniqueTopic("cli-group-split")
        ok(yield* run(["topics", "create", t6, "--partitions", "6"]))
        ok(yield* run(["produce", t6, "--key-separator", ":"], keyed(60)))
        const g4 = uniqueGroup("cli-gc-two")
        const [a, b] = yield* Effect.all([run(["consume", t6, "--group", g4]), run(["consume", t6, "--group", g4])], { concurrency: 2 })
        // two members at once on 6 partitions (they may or may not overlap): every record once between them
        assert.deepStrictEqual(values(ok(a!), ok(b!)), all(60))
        // and they committed it: a third run of the group prints nothing new
        assert.deepStrictEqual(lines(ok(yield* run(["consume", t6, "--group", g4]))), [])
      })

      yield* Effect.all([committing, reading, following, split], { concurrency: 4, discard: true })
    })), 240_000)
})
