/**
 * The README's command-line tour, run as it is written: each command of the `sh` block marked
 * `run-by=test/cli/readme.test.ts` goes to `sh -c` with `kpax` as a function running bin/kpax.js against the test
 * broker (`KAFKA_BROKERS`), with the topic and group names made unique. Checks what each prints.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { uniqueGroup } from "../admin/helpers.ts"
import { brokers } from "../kafka/env.ts"
import { uniqueTopic } from "../util/kafka.ts"
import { blocksOf, commandsOf, runBy, sh } from "../docs/blocks.ts"

/** The README's command-line tour: the `sh` block marked `run-by=test/cli/readme.test.ts` (rules: test/docs/blocks.test.ts). */
const readmeCommands = (): Array<string> => {
  const tour = blocksOf("README.md").filter((b) => b.lang === "sh" && runBy(b) === "test/cli/readme.test.ts")
  assert.strictEqual(tour.length, 1, "README: one sh block with run-by=test/cli/readme.test.ts")
  return commandsOf(tour[0]!).map((c) => c.command)
}

describe("README: the command line", () => {
  it.live("the example runs as written", () =>
    Effect.gen(function*() {
      const names: Record<string, string> = { jobs: uniqueTopic("readme-jobs"), billing: uniqueGroup("readme-billing"), workers: uniqueGroup("readme-workers") }
      const commands = readmeCommands()
      const out: Array<Array<string>> = []
      for (const c of commands) {
        const line = c.replace(/\b(jobs|billing|workers)\b/g, (w) => names[w]!)
        const r = yield* Effect.promise(() => sh(line, brokers()))
        assert.strictEqual(r.code, 0, `${line}\n${r.stderr}`)
        out.push(r.stdout.split("\n").filter((l) => l !== ""))
      }
      assert.strictEqual(commands.length, 11)
      const [, , grouped, rest, shared, released, idle, listed, described, offsets, dry] = out
      assert.deepStrictEqual([...grouped!, ...rest!].map(Number).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1))
      assert.strictEqual(shared!.length, 30)
      const back = released!.map((l) => JSON.parse(l) as { partition: number; offset: number; deliveryCount: number })
      assert.strictEqual(back.length, 5)
      // the other 70, each once; the five released ones delivered again
      const seen = new Map(idle!.map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])]))
      assert.strictEqual(idle!.length, 70)
      assert.strictEqual(seen.size, 70)
      for (const r of back) assert.strictEqual(seen.get(`${r.partition}/${r.offset}`), r.deliveryCount + 1)
      assert.isTrue(listed!.some((l) => l.startsWith(names.workers!)))
      assert.match(described![0]!, new RegExp(`^group ${names.workers}  state Empty  type share`))
      assert.match(offsets!.at(-1)!, /^total lag 0$/)
      assert.match(dry!.at(-1)!, /^dry run: nothing changed/)
    }), 240_000)
})
