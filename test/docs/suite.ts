/**
 * The vitest suite over the docs' code blocks (rules: test/docs/blocks.test.ts): one test per
 * block, named by page and line; the TypeScript blocks are type-checked in one compiler run, then
 * the blocks run in this process, at most `PARALLEL` at a time.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, it } from "vitest"
import { Effect, Exit, Scope } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic } from "../util/kafka.ts"
import type { Block } from "./blocks.ts"
import { blocksOf, commandsOf, namesFor, needsRegistry, noRun, pages, prepareSh, ROOT, RUNNABLE, runBy, runTs, sh, topicsOf, typecheck, where, writeTs } from "./blocks.ts"

/** Blocks running at once (CI has 2 cores; most of a block's time is waiting for the broker). */
const PARALLEL = 4

const limiter = (n: number) => {
  let active = 0
  const waiting: Array<() => void> = []
  return async <A>(f: () => Promise<A>): Promise<A> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await f()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

/** Every runnable block of every page. */
export const runnableBlocks = (): Array<Block> => pages().flatMap(blocksOf).filter((b) => RUNNABLE.has(b.lang))

/**
 * Defines the tests of the blocks that need a Schema Registry (`registry: true`, run from
 * test/schema-registry/ where vitest provides one) or of all the others.
 */
export const describeBlocks = (options: {
  readonly suite: string
  readonly registry: boolean
  readonly env?: () => Record<string, string>
  /** Blocks at once (default `PARALLEL`). */
  readonly parallel?: number
}) => {
  const blocks = runnableBlocks().filter((b) => needsRegistry(b) === options.registry)
  const run = `${Date.now().toString(36)}${process.pid.toString(36)}`
  const limit = limiter(options.parallel ?? PARALLEL)
  let errors: Map<string, Array<string>> = new Map()
  let scope: Scope.Closeable | undefined
  let cluster: Cluster.ClusterService | undefined
  let env: Record<string, string> = {}

  beforeAll(async () => {
    const bootstrap = brokers()
    env = { KAFKA_BROKERS: bootstrap.join(","), ...options.env?.() }
    Object.assign(process.env, env)
    const ts = blocks.filter((b) => b.lang === "ts")
    writeTs(options.suite, ts, run, bootstrap[0]!)
    errors = await typecheck(options.suite, ts)
    scope = Effect.runSync(Scope.make())
    cluster = await Effect.runPromise(Scope.provide(Cluster.make({ bootstrap, clientId: "kpax-docs" }), scope))
  })
  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  describe.concurrent(`docs blocks (${options.suite})`, () => {
    it("type-check without errors outside the blocks", () => {
      const other = errors.get("")
      if (other !== undefined) throw new Error(other.join("\n"))
    })
    for (const b of blocks) {
      it(`${where(b)} \`\`\`${[b.lang, ...b.attrs].join(" ")}`, () =>
        limit(async () => {
          const typeErrors = errors.get(where(b))
          if (typeErrors !== undefined) throw new Error(`${where(b)} does not type-check:\n${typeErrors.join("\n")}`)
          const by = runBy(b)
          if (by !== undefined) {
            if (!fs.existsSync(path.join(ROOT, by))) throw new Error(`${where(b)}: run-by=${by}: no such file`)
            return
          }
          if (noRun(b)) return
          const names = namesFor(b, run)
          for (const topic of topicsOf(b)) await Effect.runPromise(createTopic(cluster!, names.get(topic)!, { partitions: 3 }))
          if (b.lang === "ts") {
            // without a top-level await the import ends before the program, and its failure would not be this block's
            if (!/^await /m.test(b.code)) throw new Error(`${where(b)}: a ts block that runs ends with a top-level \`await Effect.runPromise(program)\``)
            try {
              await runTs(options.suite, b)
            } catch (e) {
              throw new Error(`${where(b)} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
            }
            return
          }
          for (const { line, command } of commandsOf(b)) {
            const prepared = prepareSh(b, command, run, brokers()[0]!)
            const r = await sh(prepared, brokers(), env)
            if (r.code !== 0) throw new Error(`${b.file}:${line}: \`${prepared}\` exited with ${r.code}\n${r.stderr}${r.stdout.slice(-2000)}`)
          }
        }), 120_000)
    }
  })
}
