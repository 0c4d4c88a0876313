/**
 * `npm run bench:share`: share-group consume throughput, one kpax member against Java's
 * `ShareConsumerPerformance` (kafka-tools, the broker's version), same broker, same run, the
 * clients alternating within each rep, defaults first and tuned second. Each run reads every
 * record of a preloaded 6-partition topic (100 B records) as the only member of a fresh share
 * group whose start offsets were set to the earliest (AlterShareGroupOffsets) before it joined;
 * the time is from before the member starts (join included, as ShareConsumerPerformance counts
 * its `fetch.time.ms`) to the last record. Implicit acknowledgement for both.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npm run bench:share -- --count 500000 --reps 3
 *   npm run bench:share -- --profile   # also CPU-profile kpax's tuned runs (bench/share/profiles/)
 *
 * Prints a Markdown table (ratios against Java) for bench/RESULTS.md.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import * as Admin from "../../src/Admin/Admin.ts"
import { startSingle } from "../../test/kafka/harness.ts"
import { createTopic } from "../../test/util/kafka.ts"
import { KAFKA_VERSION, runPerfTool } from "../lib/java.ts"
import { Cluster, clusterOptions, kpaxVersion, openScoped } from "../lib/kpax.ts"
import { summarizeProfile } from "../lib/profile.ts"

const argv = process.argv.slice(2)
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}
const COUNT = Number(opt("count") ?? "500000")
const REPS = Number(opt("reps") ?? "3")
const PROFILE = argv.includes("--profile")
const PARTITIONS = 6
const HERE = import.meta.dirname
const PROFILE_DIR = path.join(HERE, "profiles")
const log = (m: string) => process.stderr.write(`[bench:share ${new Date().toISOString().slice(11, 19)}] ${m}\n`)

/** Java's tuned settings, and kpax's: bigger ShareFetch acquisitions. */
const JAVA_TUNED = ["--command-property", "max.poll.records=5000", "--fetch-size", "4194304"]
const KPAX_TUNED = "maxRecords 5000, batchSize 5000"

interface Run {
  readonly n: number
  readonly ms: number
  readonly load: number
}

const runKpax = (brokers: string, topic: string, group: string, tuned: boolean, profile: string | undefined): Promise<Run> =>
  new Promise((resolve, reject) => {
    const load = os.loadavg()[0]!
    const args = [...(profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", PROFILE_DIR, "--cpu-prof-name", profile]), path.join(HERE, "kpax.ts"), JSON.stringify({ brokers, topic, group, count: COUNT, tuned })]
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      const line = out.split("\n").find((l) => l.startsWith("RESULT "))
      if (line === undefined) return reject(new Error(`kpax exited ${code}: ${err.slice(-600)}`))
      const r = JSON.parse(line.slice(7)) as { n: number; ms: number }
      resolve({ n: r.n, ms: r.ms, load })
    })
  })

const runJava = async (brokers: string, topic: string, group: string, tuned: boolean): Promise<Run> => {
  const load = os.loadavg()[0]!
  const r = await runPerfTool("kafka-share-consumer-perf-test", [
    "--bootstrap-server", brokers, "--topic", topic, "--num-records", String(COUNT), "--group", group, "--timeout", "60000",
    ...(tuned ? JAVA_TUNED : [])
  ])
  // start.time, end.time, data.consumed.in.MB, MB.sec, nMsg.sec, data.consumed.in.nMsg, fetch.time.ms
  const row = r.stdout.trim().split("\n").filter((l) => /^\d{4}-\d\d-\d\d/.test(l.trim())).at(-1)?.split(",").map((s) => s.trim())
  if (r.code !== 0 || row === undefined) throw new Error(`ShareConsumerPerformance exited ${r.code}: ${(r.stderr + r.stdout).slice(-600)}`)
  return { n: Number(row[5]), ms: Number(row[6]), load }
}

const main = async () => {
  let brokers = process.env.KAFKA_BROKERS ?? ""
  let stop: (() => Promise<void>) | undefined
  if (brokers === "") {
    log("starting a single broker ...")
    const k = await startSingle({ fastStart: false, heap: "2g", log })
    brokers = k.bootstrapServers
    stop = () => k.stop()
  }
  const loadStart = fs.readFileSync("/proc/loadavg", "utf8").trim()
  log(`broker ${brokers}; /proc/loadavg ${loadStart}`)
  const { value: s, close } = await openScoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make(clusterOptions(brokers))
    const admin = yield* Admin.make.pipe(Effect.provideService(Cluster.Cluster, cluster))
    return { cluster, admin }
  }))
  const topic = `bench-share-${Date.now().toString(36)}`
  await Effect.runPromise(createTopic(s.cluster, topic, { partitions: PARTITIONS }))
  log(`preloading ${COUNT.toLocaleString("en-US")} × 100 B into ${topic} with ProducerPerformance ...`)
  const pre = await runPerfTool("kafka-producer-perf-test", [
    "--topic", topic, "--num-records", String(COUNT), "--throughput", "-1", "--record-size", "100",
    "--producer-props", `bootstrap.servers=${brokers}`, "acks=1", "batch.size=262144", "linger.ms=10"
  ])
  const ends = await Effect.runPromise(s.admin.listOffsets([topic], "latest"))
  const total = ends.reduce((a, e) => a + Number(e.offset ?? 0n), 0)
  if (pre.code !== 0 || total !== COUNT) throw new Error(`preload failed: ${total} records (exit ${pre.code})`)

  const results = new Map<string, Array<Run>>()
  let g = 0
  for (let rep = 0; rep < REPS; rep++) {
    for (const tuned of [false, true]) {
      for (const client of ["kpax", "java"] as const) {
        const group = `bench-share-${client}-${Date.now().toString(36)}-${g++}`
        await Effect.runPromise(s.admin.resetShareGroupOffsets(group, { to: "earliest" }, { topics: [topic] }))
        const profile = PROFILE && client === "kpax" && tuned ? `share-kpax-tuned-${rep}.cpuprofile` : undefined
        const r = client === "kpax" ? await runKpax(brokers, topic, group, tuned, profile) : await runJava(brokers, topic, group, tuned)
        if (r.n < COUNT) throw new Error(`${client} read ${r.n} records, expected ${COUNT}`)
        const key = `${client} ${tuned ? "tuned" : "defaults"}`
        results.set(key, [...(results.get(key) ?? []), r])
        log(`rep ${rep + 1} ${key}: ${Math.round((r.n / r.ms) * 1000).toLocaleString("en-US")} msgs/s (${r.ms.toFixed(0)} ms, load ${r.load.toFixed(1)})`)
      }
    }
  }
  await Effect.runPromise(s.admin.deleteTopic(topic)).catch(() => undefined)
  await close()
  if (stop !== undefined) await stop()
  const loadEnd = fs.readFileSync("/proc/loadavg", "utf8").trim()

  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const rate = (r: Run) => (r.n / r.ms) * 1000
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US")
  const out = [
    `Command: \`${process.env.KAFKA_BROKERS === undefined ? "" : "KAFKA_BROKERS=… "}npm run bench:share${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}\`, ${new Date().toISOString().slice(0, 16)}Z, ` +
      `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, Node ${process.version}, Kafka ${KAFKA_VERSION}, kpax ${kpaxVersion()}; ` +
      `${COUNT.toLocaleString("en-US")} × 100 B on ${PARTITIONS} partitions, one member per run, ${REPS} reps alternating; ` +
      `/proc/loadavg at start \`${loadStart}\`, at end \`${loadEnd}\`.`,
    "",
    "| settings | kpax msgs/s (median; reps) | Java msgs/s (median; reps) | kpax / Java |",
    "| --- | --- | --- | --- |"
  ]
  for (const mode of ["defaults", "tuned"]) {
    const k = results.get(`kpax ${mode}`)!.map(rate)
    const j = results.get(`java ${mode}`)!.map(rate)
    out.push(`| ${mode}${mode === "tuned" ? ` (kpax ${KPAX_TUNED}; Java ${JAVA_TUNED.join(" ")})` : ""} | ${fmt(median(k))} (${k.map(fmt).join(" / ")}) | ${fmt(median(j))} (${j.map(fmt).join(" / ")}) | ${(median(k) / median(j)).toFixed(2)} |`)
  }
  process.stdout.write(out.join("\n") + "\n")
  if (PROFILE && fs.existsSync(PROFILE_DIR)) {
    for (const f of fs.readdirSync(PROFILE_DIR).filter((f) => f.endsWith(".cpuprofile"))) log(`profile ${f}:\n${summarizeProfile(path.join(PROFILE_DIR, f), 25)}`)
  }
}

main().catch((e: unknown) => {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  process.exit(2)
})
