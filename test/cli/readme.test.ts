/**
 * The README's command-line example, run as it is written: each line of the `sh` block after the
 * marker comment goes to `sh -c` with `kpax` as a function running bin/kpax.js against the test
 * broker (`KAFKA_BROKERS`), with the topic and group names made unique. Checks what each prints.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { uniqueGroup } from "../admin/helpers.ts"
import { brokers } from "../kafka/env.ts"
import { uniqueTopic } from "../util/kafka.ts"

const ROOT = path.resolve(import.meta.dirname, "..", "..")
const MARKER = "<!-- The commands below are run, in order, by test/cli/readme.test.ts. -->"

/** The example's commands, comments dropped. */
const readmeCommands = (): Array<string> => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8")
  const at = readme.indexOf(MARKER)
  assert.isAbove(at, 0, "README: the command-line example marker")
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!
  return block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "")
}

const sh = (line: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const script = `kpax() { "${process.execPath}" "${path.join(ROOT, "bin", "kpax.js")}" "$@"; }\n${line}`
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("KAFKA_")) env[k] = v
    const child = spawn("sh", ["-c", script], { env: { ...env, KAFKA_BROKERS: brokers().join(",") }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe("README: the command line", () => {
  it.live("the example runs as written", () =>
    Effect.gen(function*() {
      const names: Record<string, string> = { jobs: uniqueTopic("readme-jobs"), billing: uniqueGroup("readme-billing"), workers: uniqueGroup("readme-workers") }
      const commands = readmeCommands()
      const out: Array<Array<string>> = []
      for (const c of commands) {
        const line = c.replace(/\b(jobs|billing|workers)\b/g, (w) => names[w]!)
        const r = yield* Effect.promise(() => sh(line))
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
