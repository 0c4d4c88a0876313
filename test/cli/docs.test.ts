/**
 * docs/cli.md's `sh` blocks, each run whole with `sh -e` (`kpax` is bin/kpax.js) against the test
 * broker: every block must exit 0, and the config ones must show where their settings came from.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { brokers } from "../kafka/env.ts"

const ROOT = path.resolve(import.meta.dirname, "..", "..")

describe("docs/cli.md", () => {
  it.live("every sh block runs", () =>
    Effect.sync(() => {
      const doc = fs.readFileSync(path.join(ROOT, "docs", "cli.md"), "utf8")
      const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
      assert.strictEqual(blocks.length, 4)
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("KAFKA_") && !k.startsWith("KPAX_") && k !== "XDG_CONFIG_HOME") env[k] = v
      const outputs = blocks.map((block) => {
        const script = `set -e\nkpax() { "${process.execPath}" "${path.join(ROOT, "bin", "kpax.js")}" "$@"; }\n${block}`
        const r = spawnSync("sh", ["-c", script], { env: { ...env, HOME: fs.mkdtempSync(path.join(os.tmpdir(), "kpax-docs-home-")), KAFKA_BROKERS: brokers().join(",") }, encoding: "utf8", timeout: 90_000 })
        assert.strictEqual(r.status, 0, `${block}\n${r.stderr}`)
        return r.stdout
      })
      assert.match(outputs[0]!, /"setting":"client-id","value":"reporting","source":"flag --client-id"/)
      assert.match(outputs[1]!, /^client-id +docs +profile local \(.*config\.json\)$/m)
      assert.match(outputs[1]!, /"clusterId":/)
      assert.match(outputs[2]!, /ignored: group\.id/)
      assert.match(outputs[2]!, /^client-id +from-properties +--command-config/m)
    }), 180_000)
})
