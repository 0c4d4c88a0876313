/**
 * `npm run kafka:start [single|cluster|secured]` — starts a Kafka in the background (it outlives
 * this command) and prints its address and `export KAFKA_BROKERS=...`; if one of that shape is
 * already running, prints that one (`--new` starts another).
 * `npm run kafka:stop` — stops every broker this checkout started (background and test runs).
 * `npm run kafka:status` equivalent: `node test/kafka/cli.ts status`.
 *
 * @example
 * ```sh
 * npm run kafka:start            # then, in the shell:  export KAFKA_BROKERS=127.0.0.1:40123
 * KAFKA_BROKERS=127.0.0.1:40123 npm test
 * npm run kafka:stop
 * ```
 */
import * as fs from "node:fs"
import * as path from "node:path"
import {
  KAFKA_VERSION,
  killStaleBrokers,
  listRuns,
  REPO_ROOT,
  type RunInfo,
  type RunOnDisk,
  type Shape,
  startCluster,
  startSecured,
  startSingle
} from "./harness.ts"

const SHAPES: ReadonlyArray<Shape> = ["single", "cluster", "secured"]

function describeRun(info: RunInfo, dir: string): string {
  const rel = (p: string) => path.relative(REPO_ROOT, p)
  const lines = [
    `${info.shape} Kafka ${info.kafkaVersion} (run ${rel(dir)})`,
    `  brokers: ${info.brokers.join(",")}`
  ]
  for (const [listener, addresses] of Object.entries(info.listeners)) {
    if (listener !== "PLAINTEXT") lines.push(`  ${listener}: ${addresses.join(",")}`)
  }
  const extra = info.extra as {
    readonly users?: ReadonlyArray<{ readonly username: string; readonly password: string }>
    readonly tls?: { readonly caPem: string }
  } | undefined
  if (extra?.users !== undefined) {
    lines.push(`  users (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): ${extra.users.map((u) => `${u.username}/${u.password}`).join(", ")}`)
  }
  if (extra?.tls !== undefined) lines.push(`  CA certificate: ${rel(extra.tls.caPem)}`)
  lines.push(`  logs: ${info.nodes.map((n) => rel(path.join(n.dir, "logs", "server.log"))).join(" ")}`)
  lines.push(`export KAFKA_BROKERS=${info.brokers.join(",")}`)
  return lines.join("\n")
}

function running(r: RunOnDisk): r is RunOnDisk & { readonly info: RunInfo } {
  return r.info !== undefined && r.livePids.length > 0
}

async function start(args: ReadonlyArray<string>): Promise<number> {
  const shape = (args.find((a) => !a.startsWith("-")) ?? "single") as Shape
  if (!SHAPES.includes(shape)) {
    process.stderr.write(`unknown shape "${shape}": one of ${SHAPES.join(", ")}\n`)
    return 2
  }
  if (!args.includes("--new")) {
    const existing = listRuns().find((r) =>
      running(r) && r.info.owner === null && r.info.shape === shape && r.info.kafkaVersion === KAFKA_VERSION &&
      r.livePids.length === r.info.nodes.length)
    if (existing?.info !== undefined) {
      process.stdout.write(`Already running: ${describeRun(existing.info, existing.dir)}\n`)
      return 0
    }
  }
  // Full JIT: a background broker may serve benchmarks.
  const options = { detached: true, fastStart: false }
  const handle = shape === "cluster"
    ? await startCluster(3, options)
    : shape === "secured"
    ? await startSecured(options)
    : await startSingle(options)
  const info = JSON.parse(fs.readFileSync(path.join(handle.runDir, "run.json"), "utf8")) as RunInfo
  process.stdout.write(`Started ${describeRun(info, handle.runDir)}\n`)
  return 0
}

async function stop(): Promise<number> {
  const stopped = await killStaleBrokers({ all: true, log: (m) => process.stdout.write(`${m}\n`) })
  for (const r of stopped) {
    for (const node of r.info?.nodes ?? []) fs.rmSync(path.join(node.dir, "data"), { recursive: true, force: true })
  }
  process.stdout.write(stopped.length === 0 ? "No Kafka broker of this checkout is running.\n" : `Stopped ${stopped.length} run(s).\n`)
  return 0
}

function status(): number {
  const live = listRuns().filter(running)
  if (live.length === 0) process.stdout.write("No Kafka broker of this checkout is running.\n")
  for (const r of live) {
    process.stdout.write(`${describeRun(r.info, r.dir)}\n  ${r.info.owner === null ? "background" : `owned by pid ${r.info.owner.pid}`}, pids ${r.livePids.join(", ")}\n`)
  }
  return 0
}

const [command, ...rest] = process.argv.slice(2)
try {
  const code = command === "start"
    ? await start(rest)
    : command === "stop"
    ? await stop()
    : command === "status"
    ? status()
    : (process.stderr.write("usage: node test/kafka/cli.ts start [single|cluster|secured] [--new] | stop | status\n"), 2)
  process.exitCode = code
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
