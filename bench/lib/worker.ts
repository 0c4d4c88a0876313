/**
 * A client's child process: `node bench/lib/worker.ts <client> '<job json>'`. Opens the client's
 * driver for the job, runs the warm-up and the repetitions, prints one result line
 * (`RESULT_PREFIX` + JSON) and exits. Each client runs in its own process so RSS and GC are its own.
 */
import { quantileSorted } from "./stats.ts"
import { payloads, POOL } from "./payloads.ts"
import type { ClientName, ConsumeJob, Job, JobResult, LatencyJob, MetadataJob, ProduceJob, Rep } from "./jobs.ts"
import { RESULT_PREFIX } from "./jobs.ts"

/** A producer opened for a job: `run` sends `count` records (values from the pool, from `offset` on) and resolves with the number acknowledged. */
export interface ProduceSession {
  readonly version: string
  readonly settings: string
  readonly run: (count: number, offset: number) => Promise<number>
  readonly close: () => Promise<void>
}

/** A producer for the latency run: `send` sends one record and calls `onAck` on acknowledgement. */
export interface LatencySession {
  readonly version: string
  readonly settings: string
  readonly send: (value: Buffer, onAck: (error?: unknown) => void) => void
  readonly close: () => Promise<void>
}

/**
 * One consume repetition: reads every partition to its end offset with fresh consumers (a new
 * group), or, for the warm-up, until `limit` records were read.
 */
export interface ConsumeSession {
  readonly version: string
  readonly settings: string
  readonly run: (rep: number, limit?: number) => Promise<Rep>
  readonly close: () => Promise<void>
}

/** One round trip: a Metadata request for the topic, over one connection. */
export interface MetadataSession {
  readonly version: string
  readonly settings: string
  readonly once: () => Promise<void>
  /** Requests the client actually sent (from its own instrumentation), when it can tell. */
  readonly sent?: () => number
  readonly close: () => Promise<void>
}

export interface Skipped {
  readonly skipped: string
  readonly version: string
}

export interface Driver {
  readonly produce?: (job: ProduceJob, pool: ReadonlyArray<Buffer>) => Promise<ProduceSession | Skipped>
  readonly latency?: (job: LatencyJob) => Promise<LatencySession | Skipped>
  readonly consume?: (job: ConsumeJob) => Promise<ConsumeSession | Skipped>
  readonly metadata?: (job: MetadataJob) => Promise<MetadataSession | Skipped>
}

/**
 * With BENCH_CPU_PROFILE=<file>, the timed repetitions (not start-up or warm-up) are CPU-profiled
 * through the inspector and written to <file> (a `.cpuprofile`).
 */
const profiler = async () => {
  const file = process.env.BENCH_CPU_PROFILE
  if (process.env.BENCH_HEAP_PROFILE !== undefined && process.env.BENCH_HEAP_PROFILE !== "") return heapProfiler(process.env.BENCH_HEAP_PROFILE)
  if (file === undefined || file === "") return { stop: async () => {} }
  const { Session } = await import("node:inspector/promises")
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 500 })
  await session.post("Profiler.start")
  return {
    stop: async () => {
      const { profile } = await session.post("Profiler.stop")
      const fs = await import("node:fs")
      fs.writeFileSync(file, JSON.stringify(profile))
      session.disconnect()
    }
  }
}

/**
 * With BENCH_HEAP_PROFILE=<file> (instead of the CPU profile), a sampling heap profile of the timed
 * part: everything allocated, by allocation site (collected objects included).
 */
const heapProfiler = async (file: string) => {
  const { Session } = await import("node:inspector/promises")
  const session = new Session()
  session.connect()
  await session.post("HeapProfiler.enable")
  await session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  return {
    stop: async () => {
      const { profile } = await session.post("HeapProfiler.stopSampling")
      const fs = await import("node:fs")
      fs.writeFileSync(file, JSON.stringify(profile))
      session.disconnect()
    }
  }
}

const isSkipped = (x: object): x is Skipped => "skipped" in x

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const peakRss = () => process.resourceUsage().maxRSS * 1024

const dirOf = (kind: Job["kind"]) => (kind === "produce" || kind === "latency" ? "producer" : kind === "consume" ? "consumer" : "metadata")

const load = async (client: ClientName, kind: Job["kind"]): Promise<Driver> =>
  (await import(new URL(`../${dirOf(kind)}/${client}.ts`, import.meta.url).href)) as Driver

const skippedResult = (client: string, s: Skipped): JobResult => ({ client, version: s.version, settings: "", reps: [], peakRss: peakRss(), skipped: s.skipped })

async function produce(client: ClientName, job: ProduceJob): Promise<JobResult> {
  const driver = await load(client, "produce")
  const pool = payloads(job.size)
  const s = await driver.produce!(job, pool)
  if (isSkipped(s)) return skippedResult(client, s)
  let offset = 0
  if (job.warmup > 0) {
    const n = await s.run(job.warmup, offset)
    if (n !== job.warmup) throw new Error(`warm-up: ${n} of ${job.warmup} records acknowledged`)
    offset += job.warmup
  }
  const reps: Array<Rep> = []
  const prof = await profiler()
  for (let i = 0; i < job.reps; i++) {
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const n = await s.run(job.count, offset)
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    offset += job.count
    if (n !== job.count) throw new Error(`rep ${i}: ${n} of ${job.count} records acknowledged`)
    reps.push({ n, ms, extra: { cpuMs: (cpu.user + cpu.system) / 1000 } })
  }
  await prof.stop()
  await s.close()
  return { client, version: s.version, settings: s.settings, reps, peakRss: peakRss() }
}

/** Sends at a fixed rate (a tick per millisecond sends what is due) and records send→ack times. */
async function latency(client: ClientName, job: LatencyJob): Promise<JobResult> {
  const driver = await load(client, "latency")
  const pool = payloads(job.size)
  const s = await driver.latency!(job)
  if (isSkipped(s)) return skippedResult(client, s)
  /**
   * One phase at the fixed rate. A client that falls more than 2 s of records behind (sent but not
   * acknowledged) cannot sustain the rate: it stops being fed, its outstanding records are awaited,
   * and the result says `saturated` (its latencies then measure queueing, not the client).
   */
  let sentTotal = 0
  let saturated = false
  const phase = async (seconds: number) => {
    const total = Math.round(job.rate * seconds)
    const samples = new Float64Array(total)
    let sent = 0
    let acked = 0
    let failed: unknown
    const t0 = performance.now()
    await new Promise<void>((resolve, reject) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * job.rate) + 1)
        while (sent < due) {
          const i = sent++
          const start = performance.now()
          s.send(pool[i & (POOL - 1)], (error) => {
            if (error !== undefined) failed ??= error
            samples[i] = performance.now() - start
            if (++acked === sent && (sent === total || saturated)) resolve()
          })
        }
        if (failed !== undefined) return reject(failed instanceof Error ? failed : new Error(String(failed)))
        if (sent - acked > job.rate * 2) saturated = true
        if (saturated) {
          if (acked === sent) resolve()
          return
        }
        if (sent < total) setTimeout(tick, 1)
      }
      tick()
    })
    const elapsed = (performance.now() - t0) / 1000
    sentTotal += sent
    return { samples: samples.subarray(0, sent), total: sent, elapsed }
  }
  // a client saturated in the warm-up reports the warm-up's numbers (with `saturated`)
  const warm = job.warmupSeconds > 0 ? await phase(job.warmupSeconds) : undefined
  const prof = await profiler()
  const cpu0 = process.cpuUsage()
  const { samples, total, elapsed } = saturated && warm !== undefined ? warm : await phase(job.seconds)
  const cpu = process.cpuUsage(cpu0)
  await prof.stop()
  samples.sort()
  await s.close()
  return {
    client, version: s.version, settings: s.settings,
    reps: [{ n: total, ms: elapsed * 1000, extra: { cpuMs: (cpu.user + cpu.system) / 1000 } }],
    latency: {
      count: total,
      p50: quantileSorted(samples, 0.5),
      p99: quantileSorted(samples, 0.99),
      p999: quantileSorted(samples, 0.999),
      max: samples[samples.length - 1],
      achievedRate: total / elapsed,
      sent: sentTotal,
      saturated
    },
    peakRss: peakRss()
  }
}

async function consume(client: ClientName, job: ConsumeJob): Promise<JobResult> {
  const driver = await load(client, "consume")
  const s = await driver.consume!(job)
  if (isSkipped(s)) return skippedResult(client, s)
  if (job.warmup) await s.run(-1, Math.ceil(job.count / 5))
  const reps: Array<Rep> = []
  const prof = await profiler()
  for (let i = 0; i < job.reps; i++) {
    const cpu0 = process.cpuUsage()
    const r0 = await s.run(i)
    const cpu = process.cpuUsage(cpu0)
    const r = { ...r0, extra: { ...r0.extra, cpuMs: (cpu.user + cpu.system) / 1000 } }
    // Every partition was read to its end offset (the drivers stop only then). Alone, the count is
    // exact; in a group, a rebalance while members join can hand a partition over before anything
    // was committed, so some records are read twice: counted as duplicates, not as throughput.
    if (r.n < job.count || (job.members === 1 && r.n !== job.count)) throw new Error(`rep ${i}: read ${r.n} records, expected ${job.count}`)
    reps.push({ n: job.count, ms: r.ms, extra: { ...r.extra, duplicates: r.n - job.count } })
  }
  await prof.stop()
  await s.close()
  return { client, version: s.version, settings: s.settings, reps, peakRss: peakRss() }
}

async function metadata(client: ClientName, job: MetadataJob): Promise<JobResult> {
  const driver = await load(client, "metadata")
  const s = await driver.metadata!(job)
  if (isSkipped(s)) return skippedResult(client, s)
  const loop = async (seconds: number): Promise<Rep> => {
    const before = s.sent?.()
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const end = t0 + seconds * 1000
    let n = 0
    while (performance.now() < end) {
      await s.once()
      n++
    }
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    if (before !== undefined) {
      const sent = s.sent!() - before
      if (sent < n) throw new Error(`${client} sent ${sent} Metadata requests for ${n} calls: it answered from a cache`)
    }
    return { n, ms, extra: { cpuMs: (cpu.user + cpu.system) / 1000 } }
  }
  await loop(Math.min(1, job.seconds))
  const reps: Array<Rep> = []
  const prof = await profiler()
  for (let i = 0; i < job.reps; i++) reps.push(await loop(job.seconds))
  await prof.stop()
  await s.close()
  return { client, version: s.version, settings: s.settings, reps, peakRss: peakRss() }
}

const main = async () => {
  const client = process.argv[2] as ClientName
  const job = JSON.parse(process.argv[3]) as Job
  let result: JobResult
  switch (job.kind) {
    case "produce":
      result = await produce(client, job)
      break
    case "latency":
      result = await latency(client, job)
      break
    case "consume":
      result = await consume(client, job)
      break
    case "metadata":
      result = await metadata(client, job)
      break
  }
  process.stdout.write(RESULT_PREFIX + JSON.stringify(result) + "\n", () => {
    // some clients keep sockets or timers after close: leave anyway
    void sleep(50).then(() => process.exit(0))
  })
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
