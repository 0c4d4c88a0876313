/**
 * docs/cli.md's `sh` blocks marked `run-by=test/cli/docs.test.ts`, each run whole with `sh -e`
 * against the test broker (HOME and XDG_CONFIG_HOME fresh): every block must exit 0, and the
 * config ones must show where their settings came from. The ACL block is run by
 * test/cli/secured.test.ts (it needs a broker with an authorizer).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { brokers } from "../kafka/env.ts"
import { shBlocks, shell } from "./run.ts"

describe("docs/cli.md", () => {
  it.live("every sh block runs", () =>
    Effect.sync(() => {
      const blocks = shBlocks("docs/cli.md", "test/cli/docs.test.ts")
      assert.strictEqual(blocks.length, 4)
      const outputs = blocks.map((block) => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "kpax-docs-home-"))
        const r = shell(`set -e\n${block}`, { HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), KAFKA_BROKERS: brokers().join(",") })
        assert.strictEqual(r.code, 0, `${block}\n${r.stderr}`)
        return r.stdout
      })
      assert.match(outputs[0]!, /"setting":"client-id","value":"reporting","source":"flag --client-id"/)
      assert.match(outputs[1]!, /^client-id +docs +profile local \(.*config\.json\)$/m)
      assert.match(outputs[1]!, /"clusterId":/)
      assert.match(outputs[2]!, /ignored: group\.id/)
      assert.match(outputs[2]!, /^client-id +from-properties +--command-config/m)
    }), 180_000)
})
