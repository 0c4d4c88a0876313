/**
 * Top self-time functions of a V8 `.cpuprofile` (from `node --cpu-prof`), as a text table.
 * Run on its own: `npx node bench/lib/profile.ts <file.cpuprofile> [top]`.
 */
import * as fs from "node:fs"
import * as path from "node:path"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
}

const shortUrl = (url: string): string => {
  if (url === "") return ""
  const u = url.replace(/^file:\/\//, "")
  const nm = u.lastIndexOf("node_modules/")
  if (nm >= 0) return u.slice(nm + 13)
  const src = u.indexOf("/src/")
  if (src >= 0) return u.slice(src + 1)
  return path.basename(u)
}

export const topSelf = (file: string, top = 25) => {
  const prof = JSON.parse(fs.readFileSync(file, "utf8")) as Profile
  const total = prof.samples.length
  const perNode = new Map<number, number>()
  for (const s of prof.samples) perNode.set(s, (perNode.get(s) ?? 0) + 1)
  const byFn = new Map<string, number>()
  const byArea = new Map<string, number>()
  let idle = 0
  for (const n of prof.nodes) {
    const hits = perNode.get(n.id) ?? 0
    if (hits === 0) continue
    const f = n.callFrame
    if (f.functionName === "(idle)") idle += hits
    const key = `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}${f.url === "" ? "" : `:${f.lineNumber + 1}`}`
    byFn.set(key, (byFn.get(key) ?? 0) + hits)
    const area = areaOf(f.functionName, f.url)
    byArea.set(area, (byArea.get(area) ?? 0) + hits)
  }
  const ms = (prof.endTime - prof.startTime) / 1000
  const rows = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
  const areas = [...byArea.entries()].sort((a, b) => b[1] - a[1])
  return { total, idle, ms, rows, areas }
}

/** Where a frame belongs: a kpax folder (src/Producer, ...), a package, Node itself, GC, idle. */
const areaOf = (fn: string, url: string): string => {
  if (fn === "(idle)" || fn === "(program)" || fn === "(garbage collector)") return fn
  if (url === "") return "(native / runtime)"
  const u = url.replace(/^file:\/\//, "")
  const nm = u.lastIndexOf("node_modules/")
  if (nm >= 0) {
    const rest = u.slice(nm + 13).split("/")
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const src = u.indexOf("/src/")
  if (src >= 0) return u.slice(src + 1).split("/").slice(0, 2).join("/")
  if (u.startsWith("node:") || !u.startsWith("/")) return "node internals"
  return path.basename(path.dirname(u)) + "/"
}

export const summarizeProfile = (file: string, top = 25): string => {
  const { total, idle, ms, rows, areas } = topSelf(file, top)
  const pct = (v: number) => `${((v / total) * 100).toFixed(1).padStart(5)}%`
  const lines = [`${total} samples over ${(ms / 1000).toFixed(1)} s, idle ${((idle / total) * 100).toFixed(1)}%`]
  lines.push("by area: " + areas.slice(0, 10).map(([a, v]) => `${a} ${pct(v).trim()}`).join(", "))
  lines.push("  self%  function")
  for (const [k, v] of rows) lines.push(`${((v / total) * 100).toFixed(1).padStart(6)}%  ${k}`)
  return lines.join("\n")
}

if (import.meta.main) {
  process.stdout.write(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 30)) + "\n")
}
