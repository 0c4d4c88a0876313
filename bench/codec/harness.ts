/**
 * A small in-process benchmark harness: warm-up, then repeated timed samples of every subject of a
 * case, interleaved (subject A, B, C, then B, C, A, ...) so that a burst of load from other
 * processes on the machine hits every subject rather than one. Each timed sample is preceded by
 * an untimed run of the same subject (a tenth of the sample), so the young-generation garbage the
 * previous subject left is mostly collected on that run's clock rather than on this one's. No
 * full GC is forced between samples: a full GC clears objects embedded weakly in optimised code
 * and so deoptimises the hot decoders (seen with --trace-deopt: "embedded weak objects
 * cleared"), which then run unoptimised during the next sample until TurboFan has recompiled them.
 * One full GC runs at the start of each case, before any warm-up.
 *
 * Time is the process's CPU time (user + system, `process.cpuUsage()`, all threads: GC helpers
 * and the thread pool included), not wall-clock time: on a shared machine a process that is
 * descheduled for other work accrues wall time but no CPU time, so CPU time is far steadier.
 * Wall-clock throughput is recorded too.
 *
 * Not part of `npm test`.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

/** One implementation measured in a case. `run` returns something derived from its result, so the work cannot be optimised away. */
export interface Subject {
  readonly name: string
  readonly run: () => unknown
  /** `run` returns a promise (kafkajs encoders/decoders are async). */
  readonly async?: boolean
}

/** A client that cannot do this case, and why. */
export interface NotApplicable {
  readonly name: string
  readonly na: string
}

export interface Case {
  /** Short id used by `--only`. */
  readonly id: string
  readonly title: string
  /** Bytes one operation processes, for MB/s (see `bytesNote`). */
  readonly bytes: number
  readonly bytesNote: string
  readonly subjects: ReadonlyArray<Subject | NotApplicable>
  /** Name of the kpax subject and of the peers it is compared with ("ratio vs the faster peer"). */
  readonly kpax?: string
  readonly peers?: ReadonlyArray<string>
}

export interface Options {
  readonly reps: number
  readonly sampleMs: number
  readonly warmupMs: number
}

export interface Stats {
  readonly name: string
  readonly samples: ReadonlyArray<number> // ops per CPU second
  /** Median ops per wall-clock second. */
  readonly wallMedian: number
  readonly median: number
  readonly min: number
  readonly max: number
  readonly mbps: number
  readonly perOpUs: number
}

export interface CaseResult {
  readonly c: Case
  readonly stats: ReadonlyArray<Stats | NotApplicable>
}

export let sink: unknown = undefined

const now = (): number => Number(process.hrtime.bigint()) / 1e6
const cpu = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** CPU ms and wall ms of `n` calls. */
interface Timing {
  readonly cpu: number
  readonly wall: number
}

const timeSync = (f: () => unknown, n: number): Timing => {
  const w0 = now()
  const c0 = cpu()
  for (let i = 0; i < n; i++) sink = f()
  const c1 = cpu()
  return { cpu: c1 - c0, wall: now() - w0 }
}

const timeAsync = async (f: () => unknown, n: number): Promise<Timing> => {
  const w0 = now()
  const c0 = cpu()
  for (let i = 0; i < n; i++) sink = await f()
  const c1 = cpu()
  return { cpu: c1 - c0, wall: now() - w0 }
}

const time = (s: Subject, n: number): Promise<Timing> => (s.async === true ? timeAsync(s.run, n) : Promise.resolve(timeSync(s.run, n)))

/** Runs `s` for about `ms` and returns the ms per operation seen. */
const warm = async (s: Subject, ms: number): Promise<number> => {
  let n = 1
  let spent = 0
  let ops = 0
  const t0 = now()
  while (now() - t0 < ms) {
    const t = (await time(s, n)).cpu
    spent += t
    ops += n
    if (t < 20) n *= 2
  }
  return spent / Math.max(ops, 1)
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const isNA = (s: Subject | NotApplicable | Stats): s is NotApplicable => "na" in s

export const runCase = async (c: Case, o: Options, log: (line: string) => void): Promise<CaseResult> => {
  const subjects = c.subjects.filter((s): s is Subject => !isNA(s))
  const perOp = new Map<Subject, number>()
  gc()
  for (const s of subjects) perOp.set(s, await warm(s, o.warmupMs))
  const samples = new Map<Subject, Array<number>>(subjects.map((s) => [s, []]))
  const wall = new Map<Subject, Array<number>>(subjects.map((s) => [s, []]))
  for (let rep = 0; rep < o.reps; rep++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(k + rep) % subjects.length]
      const n = Math.max(1, Math.round(o.sampleMs / perOp.get(s)!))
      await time(s, Math.ceil(n / 10))
      const t = await time(s, n)
      samples.get(s)!.push((n * 1000) / Math.max(t.cpu, 1e-3))
      wall.get(s)!.push((n * 1000) / t.wall)
    }
  }
  const stats = c.subjects.map((s): Stats | NotApplicable => {
    if (isNA(s)) return s
    const xs = samples.get(s)!
    const med = median(xs)
    return {
      name: s.name,
      samples: xs,
      wallMedian: median(wall.get(s)!),
      median: med,
      min: Math.min(...xs),
      max: Math.max(...xs),
      mbps: (med * c.bytes) / 1e6,
      perOpUs: 1e6 / med
    }
  })
  const result = { c, stats }
  for (const line of formatText(result)) log(line)
  return result
}

// ---- formatting -------------------------------------------------------------------------------

const fmt = (x: number): string =>
  x >= 100_000 ? `${Math.round(x / 1000)}k` : x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)

const fmtUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(us >= 100 ? 0 : 1)} µs`)

/**
 * kpax against the faster peer (the peer with the higher median): the median, min and max over
 * repetitions of the *paired* ratio kpax[rep] / peer[rep] (samples of one repetition are taken
 * back to back, so they share the machine's load), the plain ratio of the medians, and the ratio
 * of the best samples (the least disturbed by other processes).
 */
export const ratio = (r: CaseResult): { value: number; min: number; max: number; ofMedians: number; ofBest: number; vs: string } | undefined => {
  if (r.c.kpax === undefined || r.c.peers === undefined) return undefined
  const k = r.stats.find((s) => s.name === r.c.kpax)
  if (k === undefined || isNA(k)) return undefined
  let best: Stats | undefined
  for (const p of r.c.peers) {
    const s = r.stats.find((x) => x.name === p)
    if (s !== undefined && !isNA(s) && (best === undefined || s.median > best.median)) best = s
  }
  if (best === undefined) return undefined
  const b = best
  const paired = k.samples.map((x, i) => x / b.samples[i])
  return { value: median(paired), min: Math.min(...paired), max: Math.max(...paired), ofMedians: k.median / b.median, ofBest: k.max / b.max, vs: b.name }
}

const formatText = (r: CaseResult): Array<string> => {
  const lines = [`\n## ${r.c.id} — ${r.c.title}  (${r.c.bytes.toLocaleString("en")} B/op: ${r.c.bytesNote})`]
  for (const s of r.stats) {
    if (isNA(s)) lines.push(`  ${s.name.padEnd(44)} n/a (${s.na})`)
    else {
      lines.push(
        `  ${s.name.padEnd(44)} ${fmt(s.median).padStart(8)} ops/s  [${fmt(s.min)}–${fmt(s.max)}]  ${s.mbps.toFixed(0).padStart(6)} MB/s  ${fmtUs(s.perOpUs).padStart(9)}/op  (wall ${fmt(s.wallMedian)} ops/s)`
      )
    }
  }
  const q = ratio(r)
  if (q !== undefined) lines.push(`  kpax / faster peer (${q.vs}): ${q.value.toFixed(2)}× [${q.min.toFixed(2)}–${q.max.toFixed(2)}] paired per repetition; ratio of medians ${q.ofMedians.toFixed(2)}×, of best samples ${q.ofBest.toFixed(2)}×`)
  return lines
}

/** A markdown table per case. */
export const formatMarkdown = (r: CaseResult): string => {
  const lines = [
    `#### ${r.c.id} — ${r.c.title}`,
    "",
    `${r.c.bytes.toLocaleString("en")} bytes per operation (${r.c.bytesNote}).`,
    "",
    "| client | ops/s median | ops/s min–max | MB/s | CPU time/op | wall ops/s |",
    "|---|---:|---:|---:|---:|---:|"
  ]
  for (const s of r.stats) {
    if (isNA(s)) lines.push(`| ${s.name} | n/a | | | ${s.na} | |`)
    else lines.push(`| ${s.name} | ${fmt(s.median)} | ${fmt(s.min)}–${fmt(s.max)} | ${s.mbps.toFixed(0)} | ${fmtUs(s.perOpUs)} | ${fmt(s.wallMedian)} |`)
  }
  const q = ratio(r)
  if (q !== undefined) {
    lines.push("", `**kpax / faster peer (${q.vs}): ${q.value.toFixed(2)}×** (median of per-repetition ratios, min–max ${q.min.toFixed(2)}–${q.max.toFixed(2)}; ratio of the medians ${q.ofMedians.toFixed(2)}×, of the best samples ${q.ofBest.toFixed(2)}×)`)
  }
  return lines.join("\n")
}
