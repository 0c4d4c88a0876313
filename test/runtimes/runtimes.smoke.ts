/**
 * The runtime smoke suite (`npm run test:runtimes`): the packed kpax on Node, Bun and Deno against
 * the real broker (from the harness, or `KAFKA_BROKERS`) and the harness's secured broker (TLS +
 * SCRAM). Per runtime: every check of `smoke.ts` (the library), then the CLI's `meta`, `produce`
 * and `consume` run as the README says (`bunx --bun kpax`, `deno run … npm:kpax`). Every test name
 * and failure message starts with the runtime.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { bootstrapServers } from "../kafka/env.ts"
import { startSecured } from "../kafka/harness.ts"
import type { SecuredKafka } from "../kafka/harness.ts"
import { CHECKS, ENV } from "./protocol.ts"
import type { CheckResult } from "./protocol.ts"
import { cliCommand, packApp, RUNTIMES, runProcess } from "./runtimes.ts"
import type { PackedApp, ProcessResult, Runtime } from "./runtimes.ts"

const SMOKE = path.join(import.meta.dirname, "smoke.ts")

let app: PackedApp
let secured: SecuredKafka
let ca: string
const brokers = (): string => bootstrapServers()

beforeAll(async () => {
  ;[app, secured] = await Promise.all([packApp(), startSecured()])
  ca = path.join(secured.runDir, "smoke-ca.pem")
  fs.copyFileSync(secured.tls.caPem, ca)
}, 240_000)

afterAll(async () => {
  await secured?.stop()
}, 60_000)

/** `KAFKA_*` for the secured broker's SASL_SSL listener, as `Layers.fromConfig` and the CLI read them. */
const securedEnv = (): NodeJS.ProcessEnv => {
  const user = secured.users[0]!
  return {
    KAFKA_BROKERS: secured.listeners.SASL_SSL,
    KAFKA_TLS: "true",
    KAFKA_TLS_CA_FILE: ca,
    KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
    KAFKA_SASL_USERNAME: user.username,
    KAFKA_SASL_PASSWORD: user.password
  }
}

const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  for (const key of Object.keys(env)) if (key.startsWith("KAFKA_")) delete env[key]
  return env
}

const show = (r: ProcessResult): string =>
  `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`

/** Runs smoke.ts on a runtime; the result of each check by name (missing: it never reported). */
const runSmoke = async (rt: Runtime, options: { readonly only?: string; readonly nativeModules?: boolean } = {}) => {
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    ...securedEnv(),
    [ENV.brokers]: brokers(),
    [ENV.entry]: app.entry,
    ...(options.only === undefined ? {} : { [ENV.only]: options.only }),
    ...(options.nativeModules === false ? { KPAX_SMOKE_NATIVE: "denied" } : {})
  }
  const run = await runProcess(rt.executable, rt.script(SMOKE, options), { env, timeoutMs: 300_000 })
  const results = new Map<string, CheckResult>()
  for (const line of run.stdout.split("\n")) {
    if (!line.startsWith("{")) continue
    const result = JSON.parse(line) as CheckResult
    results.set(result.check, result)
  }
  return { run, results }
}

/**
 * Runs the README's CLI command. For Bun and Deno, PATH loses the `node_modules/.bin` folders (the
 * pinned Node 24): a CLI that fell back to Node would meet the machine's Node, or none, not pass.
 */
const cli = (rt: Runtime, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, input?: string) =>
  runProcess(cliCommand(rt).executable, [...cliCommand(rt).args, ...args], {
    cwd: app.dir,
    env: {
      ...cleanEnv(),
      ...(rt.name === "node" ? {} : { PATH: (process.env.PATH ?? "").split(path.delimiter).filter((d) => !d.endsWith(path.join("node_modules", ".bin"))).join(path.delimiter) }),
      ...env
    },
    ...(input === undefined ? {} : { input }),
    timeoutMs: 60_000
  })

it("the README's runtimes section gives the commands tested here", () => {
  const readme = fs.readFileSync(path.join(import.meta.dirname, "..", "..", "README.md"), "utf8")
  for (const rt of RUNTIMES) assert.include(readme, `\n${rt.cli} meta --brokers localhost:9092\n`, `[${rt.name}] README`)
})

for (const rt of RUNTIMES) {
  describe(rt.name, () => {
    let smoke: Awaited<ReturnType<typeof runSmoke>>

    beforeAll(async () => {
      smoke = await runSmoke(rt)
    }, 320_000)

    for (const check of CHECKS) {
      it(`${rt.name}: ${check}`, () => {
        const result = smoke.results.get(check)
        assert.isDefined(result, `[${rt.name}] ${check}: never reported — the program ended early\n${show(smoke.run)}`)
        assert.isTrue(result!.ok, `[${rt.name}] ${check}: ${result!.error}`)
      })
    }

    it(`${rt.name}: the smoke program exits by itself (nothing left open)`, () => {
      assert.strictEqual(smoke.run.code, 0, `[${rt.name}] smoke program: ${show(smoke.run)}`)
    })

    if (rt.name === "deno") {
      it("deno: without --allow-ffi, snappy and lz4 fail with CompressionError Unsupported naming the flag", async () => {
        const denied = await runSmoke(rt, { only: "unsupported feature is a typed error", nativeModules: false })
        const result = denied.results.get("unsupported feature is a typed error")
        assert.isDefined(result, `[deno, no ffi] never reported\n${show(denied.run)}`)
        assert.isTrue(result!.ok, `[deno, no ffi] ${result!.error}`)
      }, 60_000)
    }

    it(`${rt.name}: the CLI is the packed one`, async () => {
      const r = await cli(rt, ["--version"], {})
      assert.strictEqual(r.stdout.trim(), `kpax ${app.version}`, `[${rt.name}] kpax --version: ${show(r)}`)
    })

    it(`${rt.name}: kpax meta, topics create, produce (stdin, lz4) and consume`, async () => {
      const env = { KAFKA_BROKERS: brokers() }
      const meta = await cli(rt, ["meta", "--json"], env)
      assert.strictEqual(meta.code, 0, `[${rt.name}] kpax meta: ${show(meta)}`)
      assert.include(meta.stdout, `"port":${Number(brokers().split(",")[0].split(":")[1])}`, `[${rt.name}] kpax meta: ${show(meta)}`)

      const topic = `runtimes-cli-${rt.name}-${Date.now()}`
      const create = await cli(rt, ["topics", "create", topic, "--partitions", "1"], env)
      assert.strictEqual(create.code, 0, `[${rt.name}] kpax topics create: ${show(create)}`)
      const lines = Array.from({ length: 50 }, (_, i) => `${rt.name} line ${i}`)
      const produce = await cli(rt, ["produce", topic, "--compression", "lz4"], env, lines.join("\n") + "\n")
      assert.strictEqual(produce.code, 0, `[${rt.name}] kpax produce: ${show(produce)}`)
      const consume = await cli(rt, ["consume", topic, "--start", "earliest"], env)
      assert.strictEqual(consume.code, 0, `[${rt.name}] kpax consume: ${show(consume)}`)
      assert.deepStrictEqual(consume.stdout.trimEnd().split("\n"), lines, `[${rt.name}] kpax consume output`)
      await cli(rt, ["topics", "delete", topic], env)
    }, 120_000)

    it(`${rt.name}: kpax meta over TLS + SCRAM-SHA-512 (KAFKA_* variables, CA file)`, async () => {
      const r = await cli(rt, ["meta", "--json"], securedEnv())
      assert.strictEqual(r.code, 0, `[${rt.name}] kpax meta (secured): ${show(r)}`)
      assert.include(r.stdout, secured.clusterId, `[${rt.name}] kpax meta (secured): ${show(r)}`)
    }, 60_000)
  })
}
