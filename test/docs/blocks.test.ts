/**
 * Runs every code block of README.md and docs/*.md (docs/README.md says the same to writers).
 *
 * The rules — an info string is the language, then words:
 * - ```ts     a complete module importing kpax as users do (`kpax`, `kpax/<Module>`: the keys of
 *             package.json's "exports", pointed at the sources here). It is type-checked (every
 *             ts block, in one compiler run) and then imported in this process, so it must run
 *             its program with a top-level `await` (`await Effect.runPromise(program)`) and end
 *             on its own (a consumer takes `n` records, a stream is bounded). It fails the test by
 *             throwing (`node:assert`) or by a failed Effect. `localhost:9092` is replaced by the
 *             test broker, and `KAFKA_BROKERS` names it (`Layers.fromConfig` reads it).
 * - ```sh     each command (comments dropped, `\` continuations joined) runs with `sh -c`, in
 *             order, `kpax` being bin/kpax.js and `KAFKA_BROKERS` the test broker; each must exit 0.
 * - no-run    not run: `npm install kpax`, a TLS broker you do not have. A ts block is still
 *             type-checked.
 * - topics=a,b  topic names in the block (quoted strings in ts, words in sh) made unique for the
 *             run and the block; the test creates them (3 partitions) before the block runs.
 * - names=a,b   other names made unique the same way (groups, transactional ids, topics the
 *             block creates itself); nothing is created.
 * - registry  needs a Schema Registry: run by test/schema-registry/docs.test.ts, where
 *             `KAFKA_SCHEMA_REGISTRY_URL` names the test registry (`SchemaRegistry.layerConfig`).
 * - run-by=<file>  run by that test, which checks more than success (test/cli/readme.test.ts); a
 *             ts block is still type-checked here.
 * Blocks in other languages (text, json, …) are not run; `typescript`, `js`, `bash`, `shell`, … are
 * refused (write ts or sh), as are unknown words, so no block is skipped unseen. Blocks run at most
 * four at a time, in one process, each test named `<page>:<line>`.
 */
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import type { Block } from "./blocks.ts"
import { blocksOf, commandsOf, fenceProblem, needsRegistry, noRun, pages, prepareSh, prepareTs, ROOT, RUNNABLE, runBy } from "./blocks.ts"
import { describeBlocks } from "./suite.ts"

describe("docs pages", () => {
  it("every fence is ts, sh or a language that is not run, with known words; the counts per page", () => {
    const problems: Array<string> = []
    const counts: Array<string> = []
    for (const page of pages()) {
      const blocks = blocksOf(page)
      for (const b of blocks) {
        const p = fenceProblem(b)
        if (p !== undefined) problems.push(p)
      }
      const of = (f: (b: (typeof blocks)[number]) => boolean) => blocks.filter((b) => RUNNABLE.has(b.lang) && f(b)).length
      counts.push(
        `${page}: ts ${of((b) => b.lang === "ts" && !noRun(b))}, sh ${of((b) => b.lang === "sh" && !noRun(b))} (registry ${of(needsRegistry)}, run-by ${
          of((b) => runBy(b) !== undefined)
        }), no-run ${of(noRun)}, other ${blocks.filter((b) => !RUNNABLE.has(b.lang)).length}`
      )
    }
    console.log(counts.join("\n"))
    assert.deepStrictEqual(problems, [])
  })
})

describe("the block rules", () => {
  const block = (lang: string, attrs: Array<string>, code: string): Block => ({ file: "docs/x.md", line: 10, lang, attrs, code })

  it("refuses other names for ts and sh, and unknown words; takes the known ones", () => {
    assert.match(fenceProblem(block("bash", [], ""))!, /docs\/x.md:10: write ```sh instead of ```bash/)
    assert.match(fenceProblem(block("typescript", [], ""))!, /write ```ts/)
    assert.match(fenceProblem(block("ts", ["norun"], ""))!, /unknown info-string words norun/)
    assert.strictEqual(fenceProblem(block("ts", ["no-run", "topics=a,b.c", "names=g", "registry", "run-by=test/x.test.ts"], "")), undefined)
    assert.strictEqual(fenceProblem(block("json", ["whatever"], "")), undefined)
  })

  it("points package imports at the sources, leaves unknown ones for the type-check, makes names unique", () => {
    const out = path.join(ROOT, ".docs-blocks", "x")
    const code = prepareTs(
      block("ts", ["topics=orders", "names=billing"], `import * as Cluster from "kpax/Cluster"\nimport { Admin } from "kpax"\nimport * as C from "kpax/Layers/Config"\nconst t = ["orders", 'billing', "orders-2", "localhost:9092"]`),
      out,
      "run",
      "127.0.0.1:1"
    ).split("\n")
    assert.strictEqual(code[0], `import * as Cluster from "../../src/Cluster/Cluster.ts"`)
    assert.strictEqual(code[1], `import { Admin } from "../../src/index.ts"`)
    assert.strictEqual(code[2], `import * as C from "kpax/Layers/Config"`)
    assert.strictEqual(code[3], `const t = ["orders-run-docs-x-md-10", 'billing-run-docs-x-md-10', "orders-2", "127.0.0.1:1"]`)
  })

  it("reads sh commands with their page lines: comments dropped, continuations joined, quotes kept", () => {
    const b = block("sh", ["topics=jobs"], `# a comment\nkpax consume jobs --count 1   # one\n\nkpax produce jobs \\\n  --value '#1 jobs'`)
    assert.deepStrictEqual(commandsOf(b), [{ line: 12, command: "kpax consume jobs --count 1" }, { line: 14, command: "kpax produce jobs --value '#1 jobs'" }])
    assert.strictEqual(prepareSh(b, "kpax produce jobs --value jobs.x", "r", "h:1"), "kpax produce jobs-r-docs-x-md-10 --value jobs.x")
  })
})

describeBlocks({ suite: "kpax", registry: false })
