/**
 * The chaos soak (`npm run soak -- --duration 10m --seed 42 --protocol classic,consumer`): a
 * 3-broker Kafka cluster (RF 3, min.insync.replicas 2) behind a fault proxy, an idempotent feeder
 * at a steady rate into `input`, three members consuming-transforming-producing into `output` in
 * transactions, and a seeded chaos schedule meanwhile. At the end the checker reads both topics
 * read_committed; results go to bench/soak/results/<protocol>-<seed>.json and `--report` renders
 * bench/SOAK.md and the charts from them (bench/soak/report.ts).
 *
 * Flags: --duration (default 10m; `90s`, `2m`), --seed (default 1), --protocol (classic, consumer
 * or both comma-separated; default both), --kinds (fault kinds, comma-separated; default all),
 * --rate (records/s, default 300), --out (results folder), --check (exit 1 unless 0 lost,
 * 0 duplicated, 0 out of order, memory and close clean).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { createTopic } from "../../test/util/kafka.ts"
import { startCluster } from "../../test/kafka/harness.ts"
import type { KafkaHandle } from "../../test/kafka/harness.ts"
import { FAULT_KINDS, inject, plan } from "./chaos.ts"
import type { FaultKind } from "./chaos.ts"
import { analyse, readCommitted } from "./checker.ts"
import type { FaultRecord } from "./checker.ts"
import { startProxy } from "./proxy.ts"
import { problems } from "./verdict.ts"
import type { RunResult, WorkerReport } from "./verdict.ts"
import type { Job, WorkerMessage } from "./worker.ts"

const HERE = path.dirname(new URL(import.meta.url).pathname)
const PARTITIONS = 6
const KEYS = 48
const REQUEST_TIMEOUT_MS = 10_000
const SAMPLE_MS = 5000

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}

const parseDuration = (s: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s)
  if (m === null) throw new Error(`bad --duration ${s} (e.g. 90s, 10m)`)
  const n = Number(m[1])
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000
}

const log = (message: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").trim()

interface Worker {
  readonly name: string
  readonly child: ChildProcess
  readonly memory: Array<{ t: number; heapUsed: number; rss: number }>
  progress: { t: number; count: number }
  closed: Extract<WorkerMessage, { type: "closed" }> | undefined
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly startedAt: number
  crashed: boolean
}



const spawnWorker = (name: string, job: Job, onMessage: (w: Worker, m: WorkerMessage) => void): Promise<Worker> => {
  const child = spawn(process.execPath, ["--expose-gc", path.join(HERE, "worker.ts"), JSON.stringify(job)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const worker: Worker = {
    name,
    child,
    memory: [],
    progress: { t: Date.now(), count: 0 },
    closed: undefined,
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    startedAt: Date.now(),
    crashed: false
  }
  return new Promise((resolve, reject) => {
    child.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") resolve(worker)
      else if (m.type === "memory") worker.memory.push({ t: m.t, heapUsed: m.heapUsed, rss: m.rss })
      else if (m.type === "progress") worker.progress = { t: m.t, count: m.count }
      else if (m.type === "closed") worker.closed = m
      onMessage(worker, m)
    })
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}) before it was ready`)))
  })
}

/** Sends `stop`, waits for the report, then up to 10 s for the process to end by itself. */
const stopWorker = async (w: Worker): Promise<boolean> => {
  w.child.send({ type: "stop" })
  let timer: NodeJS.Timeout | undefined
  const ended = await Promise.race([
    w.exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 90_000)))
  ])
  clearTimeout(timer)
  if (!ended) {
    log(`${w.name} did not end by itself after stop: SIGKILL`)
    w.child.kill("SIGKILL")
    await w.exited
  }
  return ended
}

const runOnce = async (protocol: "classic" | "consumer", seed: number, durationMs: number, rate: number, kinds: ReadonlyArray<FaultKind>, outDir: string): Promise<RunResult> => {
  log(`soak: protocol ${protocol}, seed ${seed}, ${durationMs / 1000} s, ${rate} records/s, load ${loadavg()}`)
  const proxy = await startProxy(3)
  const kafka: KafkaHandle = await startCluster(3, { clientAdvertisedPorts: proxy.ports, log })
  const load: Array<{ t: number; loadavg: string }> = [{ t: Date.now(), loadavg: loadavg() }]
  const loadTimer = setInterval(() => load.push({ t: Date.now(), loadavg: loadavg() }), 30_000)
  try {
    proxy.setTargets(kafka.nodes.map((n) => n.clientPort!))
    const bootstrap = proxy.ports.map((p) => `127.0.0.1:${p}`)
    const direct = [...kafka.brokers]
    const tag = `${protocol}-${seed}-${Date.now().toString(36)}`
    const input = `soak-in-${tag}`
    const output = `soak-out-${tag}`
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: direct, clientId: "soak-admin" })
      for (const t of [input, output]) {
        yield* createTopic(cluster, t, { partitions: PARTITIONS, replicationFactor: 3, configs: { "min.insync.replicas": "2" } })
      }
    })))
    const restarts: Array<{ t: number; worker: string; reason: string }> = []
    const onMessage = (w: Worker, m: WorkerMessage) => {
      if (m.type === "restart") {
        restarts.push({ t: m.t, worker: w.name, reason: m.reason })
        log(`${w.name} restarted its pipeline: ${m.reason}`)
      }
    }
    const ackFile = path.join(os.tmpdir(), `soak-acked-${tag}.json`)
    const feeder = await spawnWorker("feeder", {
      role: "feeder", bootstrap, topic: input, rate, keys: KEYS, ackFile, requestTimeoutMs: REQUEST_TIMEOUT_MS, sampleMs: SAMPLE_MS
    }, onMessage)
    const memberJob = (slot: number): Job => ({
      role: "member", slot, bootstrap, input, output, groupId: `soak-group-${tag}`, transactionalId: `soak-tx-${tag}-${slot}`,
      protocol, requestTimeoutMs: REQUEST_TIMEOUT_MS, sampleMs: SAMPLE_MS
    })
    const members: Array<Worker> = []
    const retired: Array<Worker> = []
    let generation = [0, 0, 0]
    for (const slot of [0, 1, 2]) members[slot] = await spawnWorker(`member-${slot}.0`, memberJob(slot), onMessage)
    const start = feeder.startedAt
    const warmupMs = Math.min(60_000, Math.max(15_000, durationMs * 0.1))
    const cooldownMs = Math.min(40_000, Math.max(12_000, durationMs * 0.08))
    const warmupEnd = start + warmupMs
    const chaosSeconds = Math.floor((durationMs - warmupMs - cooldownMs) / 1000)
    const schedule = plan(seed, chaosSeconds, kinds)
    log(`schedule (${schedule.length} faults over ${chaosSeconds} s after ${warmupMs / 1000} s warm-up): ${schedule.map((f) => `${f.at}s ${f.kind}`).join(", ")}`)
    await sleep(Math.max(0, warmupEnd - Date.now()))
    const faults: Array<FaultRecord> = []
    const crashMember = async (slot: number) => {
      const old = members[slot]!
      old.crashed = true
      old.child.kill("SIGKILL")
      await old.exited
      retired.push(old)
      generation = generation.map((g, i) => (i === slot ? g + 1 : g))
      members[slot] = await spawnWorker(`member-${slot}.${generation[slot]}`, memberJob(slot), onMessage)
    }
    for (const fault of schedule) {
      await sleep(Math.max(0, warmupEnd + fault.at * 1000 - Date.now()))
      const t0 = Date.now()
      log(`fault ${fault.kind} (target ${fault.target}, ${fault.direction}) … load ${loadavg()}`)
      const detail = await inject(fault, { kafka, proxy, requestTimeoutMs: REQUEST_TIMEOUT_MS, crashMember, log })
      faults.push({ kind: fault.kind, detail, start: t0, end: Date.now() })
      log(`  ${detail} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    }
    const chaosEnd = Date.now()
    await sleep(Math.max(0, start + durationMs - Date.now()))
    log(`stopping the feeder; load ${loadavg()}`)
    const feederClean = await stopWorker(feeder)
    // drain: wait until no member made progress for 8 s (at most 3 minutes)
    const drainDeadline = Date.now() + 180_000
    for (;;) {
      await sleep(1000)
      const last = Math.max(...members.map((m) => m.progress.t))
      if (Date.now() - last > 8000 || Date.now() > drainDeadline) break
    }
    log("stopping the members")
    const memberClean = await Promise.all(members.map(stopWorker))
    const acked = JSON.parse(fs.readFileSync(ackFile, "utf8")) as { sent: number; failed: number; acked: Array<string> }
    fs.rmSync(ackFile, { force: true })
    log("checking: reading both topics read_committed")
    const inRecords = await readCommitted(direct, input, PARTITIONS)
    const outRecords = await readCommitted(direct, output, PARTITIONS)
    const inIds = new Set(inRecords.map((r) => r.value))
    const ackedMissing = acked.acked.filter((id) => !inIds.has(id)).length
    const analysis = analyse(inRecords, outRecords, faults, start, warmupEnd)
    const workerReport = (w: Worker, clean: boolean | undefined): WorkerReport => ({
      name: w.name, startedAt: w.startedAt, crashed: w.crashed, memory: w.memory, closed: w.closed, exitedByItself: clean ?? false
    })
    const result: RunResult = {
      protocol,
      seed,
      durationMs,
      rate,
      command: `npm run soak -- ${process.argv.slice(2).join(" ")}`.trim(),
      start,
      warmupEnd,
      chaosEnd,
      schedule,
      faults,
      restarts,
      workers: [workerReport(feeder, feederClean), ...members.map((m, i) => workerReport(m, memberClean[i])), ...retired.map((w) => workerReport(w, undefined))],
      load,
      feeder: { sent: acked.sent, failed: acked.failed, acked: acked.acked.length, ackedMissing },
      analysis,
      proxyOpenAtEnd: proxy.open(),
      machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`
    }
    fs.mkdirSync(outDir, { recursive: true })
    const file = path.join(outDir, `${protocol}-${seed}.json`)
    fs.writeFileSync(file, JSON.stringify(result, null, 1))
    log(`input ${analysis.inputRecords}, output ${analysis.outputRecords}, lost ${analysis.lost}, duplicated ${analysis.duplicated}, ` +
      `out of order ${analysis.outOfOrder}, longest stall ${(analysis.longestStallMs / 1000).toFixed(1)} s, feeder acked-but-missing ${ackedMissing} → ${path.relative(process.cwd(), file)}`)
    return result
  } finally {
    clearInterval(loadTimer)
    await proxy.close()
    await kafka.stop()
  }
}




const main = async () => {
  const durationMs = parseDuration(arg("duration") ?? "10m")
  const seed = Number(arg("seed") ?? "1")
  const rate = Number(arg("rate") ?? "300")
  const protocols = (arg("protocol") ?? "classic,consumer").split(",").map((p) => (p === "kip848" ? "consumer" : p)) as Array<"classic" | "consumer">
  const kinds = (arg("kinds")?.split(",") ?? [...FAULT_KINDS]) as Array<FaultKind>
  for (const k of kinds) if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind ${k} (${FAULT_KINDS.join(", ")})`)
  for (const p of protocols) if (p !== "classic" && p !== "consumer") throw new Error(`unknown --protocol ${p} (classic, consumer)`)
  const outDir = arg("out") ?? path.join(HERE, "results")
  let failed = false
  for (const protocol of protocols) {
    const r = await runOnce(protocol, seed, durationMs, rate, kinds, outDir)
    const p = problems(r)
    if (p.length > 0) {
      failed = true
      log(`${protocol}: FAILED\n  ${p.join("\n  ")}`)
    } else log(`${protocol}: passed`)
  }
  if (failed && process.argv.includes("--check")) process.exit(1)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
