/**
 * Top self-time functions of a V8 `.cpuprofile` (as written by `node --cpu-prof`).
 *
 *   npx node --cpu-prof --cpu-prof-dir=/tmp/prof bench/codec/run.ts --only metadata-decode-v6
 *   npx node bench/codec/profile-top.ts /tmp/prof/CPU.*.cpuprofile [--top 25] [--filter kpax|kafkajs|platformatic]
 *
 * `--filter` keeps samples whose stack contains a frame from that client's code
 * (`/src/` for kpax, `kafkajs/` or `@platformatic/` for the peers), so one subject of a case can be
 * looked at on its own even though the case runs all of them.
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const file = args.find((a) => !a.startsWith("--") && a.endsWith(".cpuprofile"))
if (file === undefined) throw new Error("usage: profile-top.ts <file.cpuprofile> [--top n] [--filter kpax|kafkajs|platformatic]")
const topIdx = args.indexOf("--top")
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25
const filterIdx = args.indexOf("--filter")
const filter = filterIdx >= 0 ? args[filterIdx + 1] : undefined
const marker = filter === "kpax" ? "/work/main/src/" : filter === "kafkajs" ? "kafkajs/" : filter === "platformatic" ? "@platformatic/" : undefined

const p = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const inScope = new Map<number, boolean>()
const scoped = (id: number): boolean => {
  if (marker === undefined) return true
  const cached = inScope.get(id)
  if (cached !== undefined) return cached
  const n = byId.get(id)!
  const pid = parent.get(id)
  const v = n.callFrame.url.includes(marker) || (pid !== undefined && scoped(pid))
  inScope.set(id, v)
  return v
}

const self = new Map<string, number>()
let total = 0
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i]
  const dt = p.timeDeltas[i] ?? 0
  if (!scoped(id)) continue
  const n = byId.get(id)!
  const f = n.callFrame
  const where = f.url === "" ? "" : ` ${f.url.replace(/^file:\/\/\/work\/main\//, "").replace(/.*node_modules\//, "")}:${f.lineNumber + 1}`
  const key = `${f.functionName || "(anonymous)"}${where}`
  self.set(key, (self.get(key) ?? 0) + dt)
  total += dt
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
console.log(`total ${(total / 1000).toFixed(0)} ms${marker === undefined ? "" : ` in stacks under ${marker}`}`)
for (const [k, v] of rows) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`)
