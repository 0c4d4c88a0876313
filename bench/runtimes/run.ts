/**
 * kpax on Node, Bun and Deno: produce and consume 100 B records, same broker, same run. Packs kpax
 * (`npm pack`, as test/runtimes does) and runs `load.ts` on each runtime in turn, alternating the
 * runtimes within each repetition; reports the median of each and the ratio to Node. Then, without
 * the broker, the napi snappy/lz4 codecs against the pure-JS ones on each runtime (`codecs.ts`).
 *
 *   node bench/runtimes/run.ts [--count 1000000] [--reps 3] [--partitions 6]
 *
 * The broker: `KAFKA_BROKERS`, else a single broker started by the harness for the run.
 */
import { parseArgs } from "node:util"
import { startSingle } from "../../test/kafka/harness.ts"
import type { KafkaHandle } from "../../test/kafka/harness.ts"
import { packApp, RUNTIMES, runProcess } from "../../test/runtimes/runtimes.ts"

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "1000000" },
    reps: { type: "string", default: "3" },
    partitions: { type: "string", default: "6" }
  }
})
const COUNT = Number(args.count)
const REPS = Number(args.reps)
const PARTITIONS = Number(args.partitions)
const LOAD = new URL("./load.ts", import.meta.url).pathname
const CODECS = new URL("./codecs.ts", import.meta.url).pathname

interface Measurement {
  readonly runtime: string
  readonly mode: "produce" | "consume"
  readonly settings: string
  readonly msgsPerSec: number
  readonly mbPerSec: number
  readonly rssMiB: number
}

const log = (s: string) => process.stderr.write(`[bench:runtimes] ${s}\n`)
const loadavg = async () => (await runProcess("cat", ["/proc/loadavg"])).stdout.trim()

let own: KafkaHandle | undefined
const external = process.env.KAFKA_BROKERS
const brokers = external ?? (own = await startSingle({ fastStart: false })).bootstrapServers
try {
  const app = await packApp()
  const env = { ...process.env, KPAX_BENCH_ENTRY: app.entry }
  const kpax = async (args: ReadonlyArray<string>) => {
    const r = await runProcess(RUNTIMES[0].executable, ["bin/kpax.js", "--brokers", brokers, ...args])
    if (r.code !== 0) throw new Error(`kpax ${args.join(" ")}: ${r.stderr}`)
  }
  const topics: Array<string> = []
  const topic = async (name: string) => {
    await kpax(["topics", "create", name, "--partitions", String(PARTITIONS)])
    topics.push(name)
    return name
  }
  const measure = async (rt: (typeof RUNTIMES)[number], argv: ReadonlyArray<string>): Promise<Measurement> => {
    const r = await runProcess(rt.executable, [...rt.script(LOAD), ...argv], { env, timeoutMs: 600_000 })
    if (r.code !== 0) throw new Error(`${rt.name} ${argv.join(" ")}: exit ${r.code}\n${r.stderr}`)
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as Measurement
  }
  const before = await loadavg()
  const results: Array<Measurement> = []
  const stamp = Date.now()
  // consume reads a topic every runtime reads alike: preload it once (with Node, tuned)
  const source = await topic(`bench-runtimes-consume-${stamp}`)
  log(`preloading ${COUNT + 50_000} records into ${source}`)
  await measure(RUNTIMES[0], ["produce", brokers, source, String(PARTITIONS), String(COUNT), "tuned"])
  for (let rep = 1; rep <= REPS; rep++) {
    const order = rep % 2 === 1 ? RUNTIMES : [...RUNTIMES].reverse()
    for (const settings of ["defaults", "tuned"]) {
      for (const rt of order) {
        const t = await topic(`bench-runtimes-${rt.name}-${settings}-${rep}-${stamp}`)
        const m = await measure(rt, ["produce", brokers, t, String(PARTITIONS), String(COUNT), settings])
        log(`rep ${rep} ${m.runtime} produce ${settings}: ${Math.round(m.msgsPerSec).toLocaleString("en-US")} msgs/s`)
        results.push(m)
      }
    }
    for (const rt of order) {
      const m = await measure(rt, ["consume", brokers, source, String(PARTITIONS), String(COUNT)])
      log(`rep ${rep} ${m.runtime} consume: ${Math.round(m.msgsPerSec).toLocaleString("en-US")} msgs/s`)
      results.push(m)
    }
  }
  const after = await loadavg()
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const rows: Array<string> = []
  for (const [mode, settings] of [["produce", "defaults"], ["produce", "tuned"], ["consume", "defaults"]] as const) {
    const of = (runtime: string) => results.filter((m) => m.runtime === runtime && m.mode === mode && m.settings === settings)
    const runtimes = [...new Set(results.map((m) => m.runtime))]
    const nodeMedian = median(of(runtimes.find((r) => r.startsWith("node"))!).map((m) => m.msgsPerSec))
    for (const runtime of runtimes) {
      const ms = of(runtime)
      const med = median(ms.map((m) => m.msgsPerSec))
      rows.push(
        `| ${mode} 100 B, ${settings} | ${runtime} | ${Math.round(med).toLocaleString("en-US")} | ${(med * 100 / 1e6).toFixed(1)} | ` +
          `${(med / nodeMedian).toFixed(2)}× | ${ms.map((m) => Math.round(m.msgsPerSec / 1000)).join(" / ")} | ${Math.round(median(ms.map((m) => m.rssMiB)))} |`
      )
    }
  }
  process.stdout.write(
    [
      `${COUNT.toLocaleString("en-US")} × 100 B, ${PARTITIONS} partitions, acks=1, no compression, ${REPS} reps (runtimes alternating); broker ${external === undefined ? "started for the run" : "KAFKA_BROKERS"}; load before ${before}, after ${after}`,
      "",
      "| scenario | runtime | msgs/s (median) | MB/s | vs Node | each rep (k msgs/s) | RSS MiB |",
      "| --- | --- | ---: | ---: | ---: | --- | ---: |",
      ...rows,
      ""
    ].join("\n")
  )
  // the napi codecs against the pure-JS ones on each runtime (no broker): see codecs.ts
  const codecRows: Array<string> = []
  for (const rt of RUNTIMES) {
    const r = await runProcess(rt.executable, [...rt.script(CODECS)], { env })
    if (r.code !== 0) throw new Error(`${rt.name} codecs.ts: exit ${r.code}\n${r.stderr}`)
    for (const line of r.stdout.trim().split("\n")) {
      const c = JSON.parse(line) as { runtime: string; impl: string; compressMBs: number; decompressMBs: number; ratio: number }
      codecRows.push(`| ${c.runtime} | ${c.impl} | ${Math.round(c.compressMBs)} | ${Math.round(c.decompressMBs)} | ${c.ratio.toFixed(2)} |`)
    }
  }
  process.stdout.write(
    [
      "",
      "128 KiB records section of JSON-like 100 B values, one thread, MB/s of input (load after: " + (await loadavg()) + ")",
      "",
      "| runtime | implementation | compress MB/s | decompress MB/s | ratio |",
      "| --- | --- | ---: | ---: | ---: |",
      ...codecRows,
      ""
    ].join("\n")
  )
  for (const t of topics) await kpax(["topics", "delete", t]).catch(() => {})
} finally {
  await own?.stop()
}
