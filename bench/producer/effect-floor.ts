/**
 * Effect's own cost of the per-record pattern, with no Kafka at all (issue 14):
 * `Effect.forEach(n items, f, { concurrency: "unbounded" })` where `f` is a bare `Effect.callback`
 * whose resume is called later, 1,000 per `setImmediate` (as acknowledgements arrive), or with
 * `sync` an `Effect.succeed` (no fiber: forEach's fast path). Prints wall time, CPU per element
 * and peak RSS: per element this is the fiber, its callback and resume that any per-record `send`
 * pays on top of what `sendAll` costs.
 *
 * A third argument paces the resumes at that many per second (1,000 per timer tick), e.g.
 * `sendAll`'s rate: the fibers then live as long as they do behind a real broker, and the
 * collector's work over them is counted too.
 *
 *   npx node bench/producer/effect-floor.ts 1000000 [callback|sync] [resumes per second]
 */
import { Effect } from "effect"
const n = Number(process.argv[2] ?? 1_000_000)
const mode = process.argv[3] ?? "callback"
const RATE = Number(process.argv[4] ?? 0)
const pending: Array<(e: Effect.Effect<number>) => void> = []
let head = 0
let timer: unknown
const pump = () => {
  timer = undefined
  const end = Math.min(pending.length, head + 1000)
  for (; head < end; head++) pending[head](Effect.succeed(head))
  if (head < pending.length) timer = RATE > 0 ? (setTimeout(pump, 1000 * 1000 / RATE) as any) : setImmediate(pump)
}
const item = (_: unknown, i: number) => mode === "sync" ? Effect.succeed(i) : Effect.callback<number>((resume) => {
  pending.push(resume)
  if (timer === undefined) timer = setImmediate(pump)
})
const items = Array.from({ length: n }, (_, i) => i)
let peak = 0
const s = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 20)
const t0 = performance.now(); const c0 = process.cpuUsage()
const out = await Effect.runPromise(Effect.forEach(items, item, { concurrency: "unbounded" }))
const ms = performance.now() - t0; const c = process.cpuUsage(c0)
clearInterval(s)
console.log(`${mode} n=${n}: ${ms.toFixed(0)} ms, ${(n / ms * 1000).toFixed(0)}/s, cpu ${((c.user + c.system) / n).toFixed(2)} µs/el, peak rss ${(Math.max(peak, process.memoryUsage.rss()) / 2 ** 20).toFixed(0)} MiB, out ${out.length}`)
