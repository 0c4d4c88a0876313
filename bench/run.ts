/**
 * `npm run bench`: kpax against every JavaScript peer client and Java's own perf tools, in one run,
 * against the same broker: produce throughput, produce latency at a fixed rate, consume
 * throughput (alone and in a group of 3), Metadata round trips. Each client runs in its own child
 * process (bench/lib/worker.ts); record counts are verified against the broker's end offsets.
 * Writes the "End to end" section of bench/RESULTS.md and a PNG chart per scenario.
 *
 *   npm run bench                        # the default subset (about 15 minutes on 2 cores)
 *   npm run bench -- --full              # the whole produce matrix (sizes × acks × codecs × keys × API × defaults/tuned)
 *   npm run bench -- --only produce,consume --clients kpax,kafkajs --reps 5 --scale 0.2
 *   npm run bench -- --only produce --scenarios produce-1k-acksall-lz4-defaults,produce-1k-acksall-lz4-keyed-defaults
 *   npm run bench -- --profile           # also CPU-profile kpax's produce and consume (bench/producer/profiles/)
 *   npm run bench -- --profile=produce-1k-acksall-lz4-keyed-defaults   # profile these scenarios' kpax jobs
 *   npm run bench -- --no-write          # print, do not touch RESULTS.md / charts
 *   npm run bench -- --rerender          # charts + RESULTS.md section again from bench/charts/results.json
 *   KAFKA_BROKERS=host:9092 npm run bench  # use a running broker instead of starting one
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import * as Admin from "../src/Admin/Admin.ts"
import { startSingle } from "../test/kafka/harness.ts"
import type { KafkaHandle } from "../test/kafka/harness.ts"
import { createTopic } from "../test/util/kafka.ts"
import { renderCharts } from "./charts/chart.ts"
import { javaVersion, KAFKA_VERSION, parseConsumerPerf, parseProducerPerf, runPerfTool } from "./lib/java.ts"
import type { Acks, ClientName, Codec, ConsumeJob, GroupProtocol, Job, JobResult, LatencyJob, MetadataJob, ProduceApi, ProduceJob } from "./lib/jobs.ts"
import { NODE_CLIENTS, RESULT_PREFIX } from "./lib/jobs.ts"
import { Cluster, clusterOptions, kpaxVersion, openScoped } from "./lib/kpax.ts"
import { writePayloadFile } from "./lib/payloads.ts"
import { versionOf } from "./lib/peers.ts"
import { summarizeProfile } from "./lib/profile.ts"
import { writeSection } from "./lib/report.ts"
import type { Outcome, Report, Scenario } from "./lib/report.ts"

// ---- flags ---------------------------------------------------------------------------------

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  if (i >= 0) return argv[i + 1]
  const eq = argv.find((a) => a.startsWith(`--${name}=`))
  return eq?.slice(name.length + 3)
}
/** `--scenarios <id,...>`: only these produce scenarios, picked from the full matrix (e.g. produce-1k-acksall-lz4-defaults). */
const SCENARIOS = new Set((opt("scenarios") ?? "").split(",").filter((x) => x !== ""))
const FULL = flag("full") || SCENARIOS.size > 0
const SCALE = Number(opt("scale") ?? "1")
const REPS = Number(opt("reps") ?? "3")
const ONLY = new Set((opt("only") ?? "produce,latency,consume,metadata").split(","))
const CLIENTS = (opt("clients") ?? [...NODE_CLIENTS, "java"].join(",")).split(",") as Array<ClientName | "java">
const PROFILE = flag("profile") || argv.some((a) => a.startsWith("--profile="))
/** `--profile=<scenario id>,...`: which kpax jobs to profile (default: the first produce scenario and consume-alone). */
const PROFILE_IDS = new Set((argv.find((a) => a.startsWith("--profile="))?.slice(10) ?? "").split(",").filter((x) => x !== ""))
const profiled = (id: string, fallback: boolean) => PROFILE && (PROFILE_IDS.size > 0 ? PROFILE_IDS.has(id) : fallback)
const WRITE = !flag("no-write")
const PARTITIONS = 6

const HERE = import.meta.dirname
const ROOT = path.resolve(HERE, "..")
const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`)
const load1 = () => os.loadavg()[0]
const scaled = (n: number) => Math.max(1000, Math.round(n * SCALE))

// ---- scenarios -----------------------------------------------------------------------------

const sizeLabel = (size: number) => (size >= 1024 ? `${size / 1024} KiB` : `${size} B`)
const sizeId = (size: number) => (size >= 1024 ? `${size / 1024}k` : `${size}b`)

const produceScenario = (size: number, acks: Acks, codec: Codec, tuned: boolean, keyed = false, api: ProduceApi = "batch"): Scenario => {
  // per-record sends: 100k (the issue's acceptance count), fewer for 16 KiB; batch: 1M / 200k / 20k
  const base = api === "record" ? (size >= 16384 ? 20_000 : 100_000) : size >= 16384 ? 20_000 : size >= 1024 ? 200_000 : 1_000_000
  const count = scaled(base)
  const apiId = api === "record" ? "-send" : ""
  return {
    id: `produce-${sizeId(size)}-acks${acks === -1 ? "all" : "1"}-${codec}${keyed ? "-keyed" : ""}${apiId}-${tuned ? "tuned" : "defaults"}`,
    kind: "produce",
    title: `Produce ${count.toLocaleString("en-US")} × ${sizeLabel(size)}, acks=${acks === -1 ? "all" : "1"}, ${codec}${keyed ? ", keyed" : ""}, ${api === "record" ? "send per record" : "batch API"}, ${tuned ? "tuned" : "defaults"}`,
    size, count, acks, codec, tuned, keyed, api,
    warmup: Math.round(count / 10)
  }
}

/**
 * Defaults first, tuned second. The default subset (about 15 minutes on 2 cores): the small-record
 * headline, 1 KiB keyed lz4 idempotent (issue 14's losing row), and one `send` per record. `--full`:
 * 100 B / 1 KiB / 16 KiB × acks 1/all × none/lz4/zstd × keyless/keyed with the batch API, and one
 * `send` per record for every size × acks (no compression), each with defaults and tuned.
 */
const produceScenarios = (): Array<Scenario> => {
  const out: Array<Scenario> = []
  for (const tuned of [false, true]) {
    if (!FULL) {
      out.push(produceScenario(100, 1, "none", tuned), produceScenario(1024, -1, "lz4", tuned, true), produceScenario(1024, -1, "none", tuned, false, "record"))
      continue
    }
    for (const size of [100, 1024, 16384]) {
      for (const acks of [1, -1] as const) {
        for (const codec of ["none", "lz4", "zstd"] as const) for (const keyed of [false, true]) out.push(produceScenario(size, acks, codec, tuned, keyed))
        out.push(produceScenario(size, acks, "none", tuned, false, "record"))
      }
    }
  }
  return SCENARIOS.size === 0 ? out : out.filter((sc) => SCENARIOS.has(sc.id))
}

const LATENCY: Scenario = {
  id: "latency-100b-10k",
  kind: "latency",
  title: "Produce latency at 10,000 msgs/s (100 B, acks=1, linger 0), send→ack",
  size: 100, count: Math.round(10_000 * 10 * Math.min(1, SCALE * 2)), acks: 1, codec: "none", tuned: false, warmup: 0,
  rate: 10_000, seconds: Math.max(2, 10 * Math.min(1, SCALE * 2))
}
const CONSUME_COUNT = scaled(1_000_000)
const consumeScenario = (members: number, protocol: GroupProtocol): Scenario => ({
  id: members === 1 ? "consume-alone" : `consume-group${members}${protocol === "consumer" ? "-kip848" : ""}`,
  kind: "consume",
  title: `Consume ${CONSUME_COUNT.toLocaleString("en-US")} × 100 B from ${PARTITIONS} partitions, ${members === 1 ? "one consumer" : `group of ${members}, ${protocol === "consumer" ? "KIP-848" : "classic"}`}`,
  size: 100, count: CONSUME_COUNT, acks: 1, codec: "none", tuned: false, warmup: 0, members, protocol
})
const METADATA: Scenario = {
  id: "metadata-roundtrips",
  kind: "metadata",
  title: "Metadata request round trips over one connection (sequential)",
  size: 0, count: 0, acks: 1, codec: "none", tuned: true, warmup: 0, seconds: 1
}

// ---- child processes -----------------------------------------------------------------------

const WORKER = path.join(HERE, "lib", "worker.ts")
const PROFILE_DIR = path.join(HERE, "producer", "profiles")

/** The children and broker of this run, stopped on Ctrl-C / SIGTERM. */
const live = new Set<import("node:child_process").ChildProcess>()
let stopBroker: (() => Promise<void>) | undefined
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const c of live) c.kill("SIGKILL")
    void (stopBroker?.() ?? Promise.resolve()).finally(() => process.exit(130))
  })
}

const runWorker = (client: ClientName, job: Job, options: { readonly profile?: string | undefined; readonly timeoutMs?: number } = {}): Promise<JobResult> =>
  new Promise((resolve, reject) => {
    const env = { ...process.env, BENCH_CPU_PROFILE: "" }
    if (options.profile !== undefined) {
      fs.mkdirSync(PROFILE_DIR, { recursive: true })
      env.BENCH_CPU_PROFILE = path.join(PROFILE_DIR, `${options.profile}.cpuprofile`)
    }
    const child = spawn(process.execPath, [WORKER, client, JSON.stringify(job)], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    live.add(child)
    child.once("exit", () => live.delete(child))
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 240_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX))
      if (line !== undefined) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as JobResult)
      reject(new Error(`${client} exited ${code ?? signal} without a result${signal === "SIGKILL" ? " (timed out)" : ""}:\n${stderr.split("\n").slice(-15).join("\n")}`))
    })
  })

// ---- the run -------------------------------------------------------------------------------

/** `--rerender`: charts and the RESULTS.md section again from bench/charts/results.json (no broker, no run). */
const rerender = async () => {
  const report = JSON.parse(fs.readFileSync(path.join(HERE, "charts", "results.json"), "utf8")) as Report
  const charts = await renderCharts(report, path.join(HERE, "charts"))
  writeSection(path.join(HERE, "RESULTS.md"), report, charts)
  log(`re-rendered bench/RESULTS.md and ${charts.length} charts from bench/charts/results.json`)
}

const main = async () => {
  if (flag("rerender")) return rerender()
  const started = Date.now()
  const loadStart = os.loadavg()
  let kafka: KafkaHandle | undefined
  let brokers = process.env.KAFKA_BROKERS ?? ""
  if (brokers === "") {
    log("starting a single broker (full JIT) ...")
    kafka = await startSingle({ fastStart: false, heap: "2g", log })
    brokers = kafka.bootstrapServers
    const k = kafka
    stopBroker = () => k.stop()
  }
  log(`broker ${brokers}; load ${loadStart.map((l) => l.toFixed(1)).join(" ")}`)
  const { value: services, close } = await openScoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make(clusterOptions(brokers))
    const admin = yield* Admin.make.pipe(Effect.provideService(Cluster.Cluster, cluster))
    return { cluster, admin }
  }))
  const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)
  let topicCounter = 0
  const newTopic = async (prefix: string) => {
    const name = `bench-${prefix}-${Date.now().toString(36)}-${topicCounter++}`
    await run(createTopic(services.cluster, name, { partitions: PARTITIONS }))
    return name
  }
  const endOffsets = async (topic: string): Promise<Array<number>> => {
    const listed = await run(services.admin.listOffsets([topic], "latest"))
    const out = new Array<number>(PARTITIONS).fill(0)
    for (const l of listed) out[l.partition] = Number(l.offset ?? -1)
    return out
  }
  const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)
  const dropTopic = (topic: string) => run(services.admin.deleteTopic(topic).pipe(Effect.ignore))

  const payloadFiles = new Map<number, string>()
  const payloadFile = (size: number) => {
    let f = payloadFiles.get(size)
    if (f === undefined) {
      f = writePayloadFile(path.join(os.tmpdir(), `kpax-bench-payload-${size}.txt`), size)
      payloadFiles.set(size, f)
    }
    return f
  }

  const outcomes: Array<Outcome> = []
  const nodeClients = CLIENTS.filter((c): c is ClientName => c !== "java")
  const withJava = CLIENTS.includes("java")
  const record = (scenario: Scenario, client: string, o: Omit<Outcome, "scenario" | "client" | "load">, load: number) => {
    outcomes.push({ scenario, client, load, ...o })
    const r = o.result
    const line = o.error !== undefined ? `FAILED: ${o.error.split("\n")[0]}` : r?.skipped !== undefined ? `skipped: ${r.skipped}` : describe(scenario, r)
    log(`  ${client.padEnd(12)} ${line}${o.verified !== undefined ? `  [${o.verified}]` : ""}  (load ${load.toFixed(1)})`)
  }

  // -- produce
  if (ONLY.has("produce")) {
    for (const sc of produceScenarios()) {
      log(sc.title)
      for (const client of nodeClients) {
        const topic = await newTopic(sc.id)
        const load = load1()
        const job: ProduceJob = {
          kind: "produce", brokers, topic, partitions: PARTITIONS, size: sc.size, count: sc.count,
          warmup: sc.warmup, reps: REPS, acks: sc.acks, codec: sc.codec, tuned: sc.tuned, keyed: sc.keyed === true, api: sc.api ?? "batch"
        }
        try {
          const profile = client === "kpax" && profiled(sc.id, sc.id === produceScenarios()[0].id) ? `produce-kpax-${sc.id}` : undefined
          const result = await runWorker(client, job, { profile })
          let verified: string | undefined
          if (result.skipped === undefined) {
            const ends = await endOffsets(topic)
            const expected = sc.warmup + REPS * sc.count
            if (sum(ends) !== expected) throw new Error(`end offsets sum to ${sum(ends)}, expected ${expected}`)
            verified = `end offsets = ${sum(ends).toLocaleString("en-US")} ✓`
          }
          record(sc, client, { result, verified }, load)
        } catch (e) {
          record(sc, client, { error: String(e instanceof Error ? e.message : e) }, load)
        }
        await dropTopic(topic)
      }
      // Java's ProducerPerformance sends keyless records one `send` at a time (its only API)
      if (withJava && sc.keyed !== true && sc.api !== "record") {
        const topic = await newTopic(sc.id)
        const load = load1()
        try {
          const reps = []
          let peak = 0
          let p: ReturnType<typeof parseProducerPerf>
          for (let i = 0; i < REPS; i++) {
            const props = [`bootstrap.servers=${brokers}`, `acks=${sc.acks === -1 ? "all" : "1"}`, `compression.type=${sc.codec}`]
            if (sc.tuned) props.push("batch.size=262144", "linger.ms=10", "buffer.memory=67108864")
            const r = await runPerfTool("kafka-producer-perf-test", [
              "--topic", topic, "--num-records", String(sc.warmup + sc.count), "--warmup-records", String(sc.warmup),
              "--throughput", "-1", "--payload-file", payloadFile(sc.size), "--producer-props", ...props
            ])
            p = parseProducerPerf(r.stdout)
            if (r.code !== 0 || p === undefined) throw new Error(`ProducerPerformance exited ${r.code}: ${(r.stderr + r.stdout).slice(-600)}`)
            peak = Math.max(peak, r.peakRss)
            reps.push({ n: sc.count, ms: (sc.count / p.rate) * 1000 })
          }
          const ends = await endOffsets(topic)
          const expected = REPS * (sc.warmup + sc.count)
          if (sum(ends) !== expected) throw new Error(`end offsets sum to ${sum(ends)}, expected ${expected}`)
          const settings = `ProducerPerformance --throughput -1 --warmup-records ${sc.warmup}, one JVM per rep; ` +
            (sc.tuned ? "batch.size=262144 linger.ms=10 buffer.memory=64 MiB" : "default config") +
            `; idempotent ${sc.acks === -1 ? "yes (default)" : "no"}`
          record(sc, "java", {
            result: { client: "java", version: KAFKA_VERSION, settings, reps, peakRss: peak },
            verified: `end offsets = ${sum(ends).toLocaleString("en-US")} ✓`
          }, load)
        } catch (e) {
          record(sc, "java", { error: String(e instanceof Error ? e.message : e) }, load)
        }
        await dropTopic(topic)
      }
    }
  }

  // -- latency
  if (ONLY.has("latency")) {
    const sc = LATENCY
    log(sc.title)
    for (const client of nodeClients) {
      const topic = await newTopic(sc.id)
      const load = load1()
      const job: LatencyJob = {
        kind: "latency", brokers, topic, size: sc.size, rate: sc.rate!, seconds: sc.seconds!, warmupSeconds: 1, acks: sc.acks
      }
      try {
        const result = await runWorker(client, job)
        let verified: string | undefined
        if (result.skipped === undefined) {
          const ends = await endOffsets(topic)
          const expected = result.latency?.sent ?? Math.round(sc.rate! * (sc.seconds! + 1))
          if (sum(ends) !== expected) throw new Error(`end offsets sum to ${sum(ends)}, expected ${expected}`)
          verified = `end offsets = ${sum(ends).toLocaleString("en-US")} ✓`
        }
        record(sc, client, { result, verified }, load)
      } catch (e) {
        record(sc, client, { error: String(e instanceof Error ? e.message : e) }, load)
      }
      await dropTopic(topic)
    }
    if (withJava) {
      const topic = await newTopic(sc.id)
      const load = load1()
      try {
        const warm = sc.rate! * 1
        const total = Math.round(sc.rate! * sc.seconds!) + warm
        const r = await runPerfTool("kafka-producer-perf-test", [
          "--topic", topic, "--num-records", String(total), "--warmup-records", String(warm), "--throughput", String(sc.rate),
          "--payload-file", payloadFile(sc.size), "--producer-props", `bootstrap.servers=${brokers}`, "acks=1", "linger.ms=0"
        ])
        const p = parseProducerPerf(r.stdout)
        if (r.code !== 0 || p === undefined) throw new Error(`ProducerPerformance exited ${r.code}: ${(r.stderr + r.stdout).slice(-600)}`)
        const ends = await endOffsets(topic)
        if (sum(ends) !== total) throw new Error(`end offsets sum to ${sum(ends)}, expected ${total}`)
        record(sc, "java", {
          result: {
            client: "java", version: KAFKA_VERSION,
            settings: "ProducerPerformance --throughput 10000, acks=1, linger.ms=0 (percentiles as whole ms)",
            reps: [{ n: total - warm, ms: ((total - warm) / p.rate) * 1000 }],
            latency: { count: total - warm, p50: p.p50, p99: p.p99, p999: p.p999, max: p.max, achievedRate: p.rate },
            peakRss: r.peakRss
          },
          verified: `end offsets = ${sum(ends).toLocaleString("en-US")} ✓`
        }, load)
      } catch (e) {
        record(sc, "java", { error: String(e instanceof Error ? e.message : e) }, load)
      }
      await dropTopic(topic)
    }
  }

  // -- consume
  if (ONLY.has("consume")) {
    const topic = await newTopic("consume")
    log(`preloading ${CONSUME_COUNT.toLocaleString("en-US")} × 100 B into ${topic} with ProducerPerformance ...`)
    const pre = await runPerfTool("kafka-producer-perf-test", [
      "--topic", topic, "--num-records", String(CONSUME_COUNT), "--throughput", "-1", "--payload-file", payloadFile(100),
      "--producer-props", `bootstrap.servers=${brokers}`, "acks=1", "batch.size=262144", "linger.ms=10"
    ])
    const ends = await endOffsets(topic)
    if (pre.code !== 0 || sum(ends) !== CONSUME_COUNT) throw new Error(`preload failed: end offsets ${ends.join(",")} (exit ${pre.code}) ${pre.stderr.slice(-400)}`)
    for (const [members, protocol] of [[1, "classic"], [3, "classic"], [3, "consumer"]] as const) {
      const sc = consumeScenario(members, protocol)
      log(sc.title)
      for (const client of nodeClients) {
        const load = load1()
        const job: ConsumeJob = {
          kind: "consume", brokers, topic, partitions: PARTITIONS, count: CONSUME_COUNT, endOffsets: ends, members,
          reps: REPS, warmup: true, groupPrefix: `bench-${client}-${members}-${protocol}-${Date.now().toString(36)}`, protocol
        }
        try {
          const profile = client === "kpax" && profiled(sc.id, members === 1) ? `consume-kpax-${sc.id}` : undefined
          const result = await runWorker(client, job, { profile })
          record(sc, client, {
            result,
            verified: result.skipped === undefined ? `${REPS}× read ${CONSUME_COUNT.toLocaleString("en-US")} = end offsets ✓` : undefined
          }, load)
        } catch (e) {
          record(sc, client, { error: String(e instanceof Error ? e.message : e) }, load)
        }
      }
      if (withJava && members === 1) {
        const load = load1()
        try {
          const reps = []
          let peak = 0
          for (let i = 0; i < REPS; i++) {
            const r = await runPerfTool("kafka-consumer-perf-test", [
              "--bootstrap-server", brokers, "--topic", topic, "--messages", String(CONSUME_COUNT),
              "--group", `bench-java-${Date.now().toString(36)}-${i}`, "--timeout", "60000"
            ])
            const p = parseConsumerPerf(r.stdout)
            if (r.code !== 0 || p === undefined) throw new Error(`ConsumerPerformance exited ${r.code}: ${(r.stderr + r.stdout).slice(-600)}`)
            if (p.records !== CONSUME_COUNT) throw new Error(`ConsumerPerformance read ${p.records} records, expected ${CONSUME_COUNT}`)
            peak = Math.max(peak, r.peakRss)
            reps.push({ n: p.records, ms: p.fetchMs, extra: { joinMs: p.rebalanceMs } })
          }
          record(sc, "java", {
            result: {
              client: "java", version: KAFKA_VERSION,
              settings: "ConsumerPerformance, group of one, default fetch settings; time from assignment to the last record (fetch.time.ms)",
              reps, peakRss: peak
            },
            verified: `${REPS}× read ${CONSUME_COUNT.toLocaleString("en-US")} ✓`
          }, load)
        } catch (e) {
          record(sc, "java", { error: String(e instanceof Error ? e.message : e) }, load)
        }
      }
    }
    await dropTopic(topic)
  }

  // -- metadata
  if (ONLY.has("metadata")) {
    const sc = METADATA
    log(sc.title)
    const topic = await newTopic("metadata")
    for (const client of nodeClients) {
      const load = load1()
      const job: MetadataJob = { kind: "metadata", brokers, topic, seconds: sc.seconds!, reps: REPS }
      try {
        const result = await runWorker(client, job)
        record(sc, client, { result }, load)
      } catch (e) {
        record(sc, client, { error: String(e instanceof Error ? e.message : e) }, load)
      }
    }
    await dropTopic(topic)
  }

  await close()
  if (kafka !== undefined) await kafka.stop()
  const loadEnd = os.loadavg()
  const elapsed = (Date.now() - started) / 1000
  log(`done in ${elapsed.toFixed(0)} s; load ${loadEnd.map((l) => l.toFixed(1)).join(" ")}`)

  const profiles: Array<{ name: string; top: string }> = []
  if (PROFILE && fs.existsSync(PROFILE_DIR)) {
    for (const f of fs.readdirSync(PROFILE_DIR).filter((f) => f.endsWith(".cpuprofile"))) {
      profiles.push({ name: f, top: summarizeProfile(path.join(PROFILE_DIR, f), 25) })
      log(`profile ${f}:\n${profiles[profiles.length - 1].top}`)
    }
  }

  const report: Report = {
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
    date: new Date().toISOString(),
    elapsedSeconds: elapsed,
    machine: `${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`,
    loadStart, loadEnd,
    node: process.version,
    java: await javaVersion(),
    kafka: KAFKA_VERSION,
    versions: {
      kpax: kpaxVersion(),
      kafkajs: versionOf("kafkajs"),
      platformatic: versionOf("@platformatic/kafka"),
      confluent: versionOf("@confluentinc/kafka-javascript")
    },
    reps: REPS,
    full: FULL,
    scale: SCALE,
    brokers: kafka === undefined ? `KAFKA_BROKERS=${brokers}` : `one broker started by the harness (Kafka ${KAFKA_VERSION}, KRaft, full JIT, 2 GiB heap), ${PARTITIONS} partitions per topic, replication 1`,
    outcomes,
    profiles
  }
  fs.mkdirSync(path.join(HERE, "charts"), { recursive: true })
  fs.writeFileSync(path.join(os.tmpdir(), "kpax-bench-last.json"), JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? String(v) : v), 2))
  if (WRITE) {
    fs.writeFileSync(path.join(HERE, "charts", "results.json"), JSON.stringify(report, null, 2))
    const charts = await renderCharts(report, path.join(HERE, "charts"))
    writeSection(path.join(HERE, "RESULTS.md"), report, charts)
    log(`wrote bench/RESULTS.md and ${charts.length} charts in bench/charts/`)
  }
  process.exit(outcomes.some((o) => o.error !== undefined) ? 1 : 0)
}

const describe = (sc: Scenario, r: JobResult | undefined): string => {
  if (r === undefined) return "?"
  const rates = r.reps.map((x) => (x.n / x.ms) * 1000)
  if (r.latency !== undefined) {
    const l = r.latency
    return `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, p99.9 ${l.p999.toFixed(2)} ms at ${Math.round(l.achievedRate)}/s${l.saturated === true ? " (SATURATED)" : ""}, RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB`
  }
  const unit = sc.kind === "metadata" ? "req/s" : "msgs/s"
  // CPU per record (all the child's threads) barely moves with the machine's load: print it too
  const cpu = r.reps.flatMap((x) => (x.extra?.cpuMs === undefined || x.n === 0 ? [] : [((x.extra.cpuMs * 1000) / x.n).toFixed(2)]))
  return `${rates.map((x) => Math.round(x).toLocaleString("en-US")).join(" / ")} ${unit}, RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB${cpu.length > 0 ? `, µs CPU/rec ${cpu.join(" / ")}` : ""}`
}

main().catch((e: unknown) => {
  log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  process.exit(2)
})
