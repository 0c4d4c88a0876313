/**
 * What one soak run produced (the result file) and the verdict the acceptance asks for: 0 lost,
 * 0 duplicated, 0 out of order, heap at the end within 10 % of after warm-up, nothing left open.
 */
import type { PlannedFault } from "./chaos.ts"
import type { Analysis, FaultRecord } from "./checker.ts"
import type { WorkerMessage } from "./worker.ts"

export interface WorkerReport {
  readonly name: string
  readonly startedAt: number
  readonly crashed: boolean
  readonly memory: ReadonlyArray<{ t: number; heapUsed: number; rss: number }>
  readonly closed: Extract<WorkerMessage, { type: "closed" }> | undefined
  readonly exitedByItself: boolean
}

export interface RunResult {
  readonly protocol: "classic" | "consumer"
  readonly seed: number
  readonly durationMs: number
  readonly rate: number
  readonly command: string
  readonly start: number
  readonly warmupEnd: number
  readonly chaosEnd: number
  readonly schedule: ReadonlyArray<PlannedFault>
  readonly faults: ReadonlyArray<FaultRecord>
  readonly restarts: ReadonlyArray<{ t: number; worker: string; reason: string }>
  readonly workers: ReadonlyArray<WorkerReport>
  readonly load: ReadonlyArray<{ t: number; loadavg: string }>
  readonly feeder: { sent: number; failed: number; acked: number; ackedMissing: number }
  readonly analysis: Omit<Analysis, "seconds"> & { seconds: Analysis["seconds"] }
  readonly proxyOpenAtEnd: number
  readonly machine: string
}

/** The verdict the acceptance asks for; an empty list means the run passed. */
export const problems = (r: RunResult): Array<string> => {
  const out: Array<string> = []
  const a = r.analysis
  if (a.lost > 0) out.push(`${a.lost} lost (${a.lostSamples.join(", ")})`)
  if (a.duplicated > 0) out.push(`${a.duplicated} duplicated (${a.duplicatedSamples.join(", ")})`)
  if (a.outOfOrder > 0) out.push(`${a.outOfOrder} out of order (${a.outOfOrderSamples.join(", ")})`)
  if (a.inputOutOfOrder > 0) out.push(`${a.inputOutOfOrder} input records out of order`)
  if (r.feeder.ackedMissing > 0) out.push(`${r.feeder.ackedMissing} acknowledged input records missing`)
  if (a.inputRecords === 0) out.push("no input")
  for (const w of r.workers.filter((w) => !w.crashed)) {
    const c = w.closed
    if (c === undefined) out.push(`${w.name}: no close report`)
    else {
      const left = Object.entries(c.resources).filter(([, n]) => n > 0)
      if (left.length > 0) out.push(`${w.name}: left open after close: ${left.map(([k, n]) => `${k}×${n}`).join(", ")}`)
      if (c.connections > 0) out.push(`${w.name}: ${c.connections} connections after close`)
    }
    if (!w.exitedByItself) out.push(`${w.name}: did not exit by itself after close`)
    const m = memoryGrowth(w, r.warmupEnd)
    if (m !== undefined && m.ratio > 1.1) out.push(`${w.name}: heap grew ${((m.ratio - 1) * 100).toFixed(0)} % (${fmtMiB(m.warm)} → ${fmtMiB(m.end)})`)
  }
  return out
}

export const fmtMiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`

/** Heap after GC: median of the samples in the minute after warm-up vs the last minute's. */
export const memoryGrowth = (w: WorkerReport, warmupEnd: number): { warm: number; end: number; ratio: number } | undefined => {
  const med = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const first = w.memory.filter((s) => s.t >= warmupEnd && s.t < warmupEnd + 60_000).map((s) => s.heapUsed)
  const lastT = w.memory[w.memory.length - 1]?.t ?? 0
  const last = w.memory.filter((s) => s.t > lastT - 60_000 && s.t >= warmupEnd + 60_000).map((s) => s.heapUsed)
  if (w.startedAt > warmupEnd || first.length === 0 || last.length === 0) return undefined
  const warm = med(first)!
  const end = med(last)!
  return { warm, end, ratio: end / warm }
}
