/**
 * Renders bench/SOAK.md and one throughput chart per run (bench/charts/soak-<protocol>.png) from
 * the soak's result files: `node bench/soak/report.ts [results dir]` (default bench/soak/results).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { getRasterizer } from "../charts/chart.ts"
import { fmtMiB, memoryGrowth, problems } from "./verdict.ts"
import type { RunResult } from "./verdict.ts"

const HERE = path.dirname(new URL(import.meta.url).pathname)
const BENCH = path.resolve(HERE, "..")

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`

const FAULT_COLORS: Record<string, string> = {
  kill9: "#dc2626", sigstop: "#ea580c", rolling: "#ca8a04", drop: "#0891b2",
  delay: "#2563eb", blackhole: "#7c3aed", cut: "#db2777", "member-crash": "#16a34a"
}

/** Input and output records per second over the run, faults as shaded spans. */
export const chartSvg = (r: RunResult): string => {
  const W = 1100
  const H = 420
  const L = 60
  const R = 20
  const T = 60
  const B = 70
  // 5-second bins (records/s averaged): per-second counts of a transactional pipeline are spiky
  const BIN = 5
  const secs: Array<{ t: number; input: number; output: number }> = []
  for (const s of r.analysis.seconds) {
    const i = Math.floor(s.t / BIN)
    secs[i] ??= { t: i * BIN, input: 0, output: 0 }
    secs[i].input += s.input / BIN
    secs[i].output += s.output / BIN
  }
  const maxT = r.analysis.seconds.length
  const maxV = Math.max(10, ...secs.map((s) => Math.max(s.input, s.output)))
  const yMax = Math.ceil(maxV / 100) * 100
  const x = (t: number) => L + ((W - L - R) * t) / Math.max(1, maxT)
  const y = (v: number) => T + (H - T - B) * (1 - v / yMax)
  const parts: Array<string> = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`)
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`)
  parts.push(`<text x="16" y="26" font-size="16" font-weight="bold" fill="#111">${esc(`Chaos soak, ${r.protocol === "classic" ? "classic group protocol" : "KIP-848 consumer protocol"}: records per second (5 s averages)`)}</text>`)
  parts.push(`<text x="16" y="46" font-size="12" fill="#555">${esc(`seed ${r.seed}, ${sec(r.durationMs)}, ${r.rate} records/s in; lost ${r.analysis.lost}, duplicated ${r.analysis.duplicated}, out of order ${r.analysis.outOfOrder}; shaded: faults`)}</text>`)
  for (const f of r.faults) {
    const x0 = x((f.start - r.start) / 1000)
    const x1 = Math.max(x0 + 2, x((f.end - r.start) / 1000))
    const c = FAULT_COLORS[f.kind] ?? "#999"
    parts.push(`<rect x="${x0}" y="${T}" width="${x1 - x0}" height="${H - T - B}" fill="${c}" fill-opacity="0.15"/>`)
    parts.push(`<text x="${x0 + 2}" y="${T + 12}" font-size="10" fill="${c}" transform="rotate(90 ${x0 + 2} ${T + 12})">${esc(f.kind)}</text>`)
  }
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4
    parts.push(`<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#e5e7eb"/>`)
    parts.push(`<text x="${L - 6}" y="${y(v) + 4}" font-size="11" fill="#666" text-anchor="end">${v}</text>`)
  }
  const step = maxT > 900 ? 120 : maxT > 300 ? 60 : 30
  for (let t = 0; t <= maxT; t += step) {
    parts.push(`<text x="${x(t)}" y="${H - B + 16}" font-size="11" fill="#666" text-anchor="middle">${t}</text>`)
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - B + 34}" font-size="12" fill="#444" text-anchor="middle">seconds since the feeder started</text>`)
  const line = (key: "input" | "output", color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.4" points="${secs.map((s) => `${x(s.t + BIN / 2).toFixed(1)},${y(s[key]).toFixed(1)}`).join(" ")}"/>`
  parts.push(line("input", "#94a3b8"))
  parts.push(line("output", "#6d28d9"))
  parts.push(`<rect x="${L + 10}" y="${H - 22}" width="12" height="3" fill="#94a3b8"/><text x="${L + 28}" y="${H - 17}" font-size="11" fill="#333">input (feeder, idempotent)</text>`)
  parts.push(`<rect x="${L + 210}" y="${H - 22}" width="12" height="3" fill="#6d28d9"/><text x="${L + 228}" y="${H - 17}" font-size="11" fill="#333">output (3 transactional members, committed)</text>`)
  parts.push(`</svg>`)
  return parts.join("\n")
}

const runSection = (r: RunResult, chart: string): string => {
  const a = r.analysis
  const out: Array<string> = []
  const name = r.protocol === "classic" ? "Classic group protocol" : "KIP-848 consumer protocol"
  const verdict = problems(r)
  out.push(`## ${name} — ${verdict.length === 0 ? "passed" : "FAILED"}`)
  out.push("")
  out.push(`\`${r.command}\` (seed ${r.seed}, ${sec(r.durationMs)}, ${r.rate} records/s, ${r.machine}); ` +
    `load (1/5/15 min) at start ${r.load[0]?.loadavg.split(" ").slice(0, 3).join(" ")}, ` +
    `max 1-min ${Math.max(...r.load.map((l) => Number(l.loadavg.split(" ")[0]))).toFixed(2)} during the run.`)
  out.push("")
  if (verdict.length > 0) {
    out.push("Problems:")
    for (const p of verdict) out.push(`- ${p}`)
    out.push("")
  }
  out.push("| | |")
  out.push("|---|---|")
  out.push(`| input records (read_committed) | ${a.inputRecords} (feeder: ${r.feeder.acked} acknowledged, ${r.feeder.failed} failed, ${r.feeder.ackedMissing} acknowledged but missing) |`)
  out.push(`| output records (read_committed) | ${a.outputRecords} (${a.distinctOutput} distinct) |`)
  out.push(`| lost / duplicated / out of order per key | **${a.lost} / ${a.duplicated} / ${a.outOfOrder}** (input out of order: ${a.inputOutOfOrder}) |`)
  out.push(`| longest stall (no output) | ${sec(a.longestStallMs)} at ${sec(a.longestStallAt - r.start)} |`)
  out.push(`| end-to-end latency p50 / p99 / max | ${sec(a.latencyP50)} / ${sec(a.latencyP99)} / ${sec(a.latencyMax)} |`)
  out.push(`| pipeline restarts (a member's incarnation failed and started again) | ${r.restarts.length} |`)
  out.push(`| fault proxy connections open after every client closed | ${r.proxyOpenAtEnd} |`)
  out.push("")
  out.push("Faults (time from the feeder's start; recovery: from the fault's start until an input record produced after the fault ended came out with a latency back under max(1 s, 3 × the warm-up median)):")
  out.push("")
  out.push("| # | at | kind | what | took | recovered after |")
  out.push("|---|---|---|---|---|---|")
  r.faults.forEach((f, i) => {
    const rec = a.faults[i]?.recoveryMs
    out.push(`| ${i + 1} | ${sec(f.start - r.start)} | ${f.kind} | ${f.detail} | ${sec(f.end - f.start)} | ${rec === undefined ? "never" : sec(rec)} |`)
  })
  out.push("")
  out.push("Clients (heap after a forced GC, median of the minute after warm-up vs the last minute; what each left open after its scope closed):")
  out.push("")
  out.push("| process | heap after warm-up | heap at end | change | open after close | exited by itself |")
  out.push("|---|---|---|---|---|---|")
  for (const w of r.workers) {
    const m = memoryGrowth(w, r.warmupEnd)
    const left = w.closed === undefined ? "—" : Object.entries(w.closed.resources).map(([k, n]) => `${k}×${n}`).join(", ") || `nothing (${w.closed.connections} connections counted)`
    out.push(`| ${w.name}${w.crashed ? " (SIGKILLed)" : ""} | ${m === undefined ? "—" : fmtMiB(m.warm)} | ${m === undefined ? "—" : fmtMiB(m.end)} | ${m === undefined ? "—" : `${((m.ratio - 1) * 100).toFixed(1)} %`} | ${w.crashed ? "—" : left} | ${w.crashed ? "—" : w.exitedByItself ? "yes" : "no"} |`)
  }
  out.push("")
  if (r.restarts.length > 0) {
    const byReason = new Map<string, number>()
    for (const x of r.restarts) {
      const reason = x.reason.split(" / ")[0]!.slice(0, 160)
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1)
    }
    out.push("Why members restarted their pipeline (an aborted transaction, then a new consumer and producer with the same transactional id):")
    out.push("")
    for (const [reason, n] of byReason) out.push(`- ${n}× ${reason.replace(/\|/g, "\\|")}`)
    out.push("")
  }
  out.push(`![throughput, ${r.protocol}](${chart})`)
  out.push("")
  out.push(`Schedule (seconds after warm-up, target broker index / member slot): ${r.schedule.map((f) => `${f.at} ${f.kind}(${f.target}${f.kind === "delay" || f.kind === "blackhole" ? `, ${f.direction}` : ""})`).join(", ")}`)
  out.push("")
  return out.join("\n")
}

const HEADER = `# Chaos soak: exactly-once consume-transform-produce under broker and network faults

\`npm run soak\` (bench/soak/run.ts, not part of \`npm test\`) starts a 3-broker Kafka 4.4 cluster
(test/kafka/harness.ts; replication factor 3, min.insync.replicas 2) whose CLIENT listeners are
advertised at the ports of a fault proxy (bench/soak/proxy.ts), so every client connection goes
through it while replication does not. An idempotent kpax producer (its own process) feeds
\`input\` (6 partitions, 48 keys, values \`<key>:<seq>\`) at a steady rate; three kpax group
members (each its own process) read it read_committed and turn every chunk the stream hands
out into one transaction: the transformed records into \`output\`, then \`sendOffsets\` with the
member's generation. A failed incarnation (aborted transaction, lost membership, fenced producer)
is closed and started again with the same transactional id. Meanwhile a seeded schedule
(bench/soak/chaos.ts) injects, one after the other: SIGKILL and restart of a broker, a rolling
restart of all three, SIGSTOP of a broker for longer than the request timeout (10 s), and through
the proxy: every client connection reset, one direction of one broker's traffic delayed 400 ms
or black-holed (those connections stay silent), responses cut in the middle of a frame; and a
member SIGKILLed and replaced. At the end the checker (bench/soak/checker.ts) reads both topics
read_committed straight from the brokers.

Flags: \`--duration\` (default 10m), \`--seed\` (default 1), \`--protocol classic,consumer\`,
\`--kinds\` (fault kinds), \`--rate\` (default 300/s), \`--check\` (exit 1 on any problem). The CI
step (\`.ci/run\`) runs \`npm run soak:ci\`: 2 minutes per protocol, seed 1, with kill -9, SIGSTOP,
a connection reset and a member crash. \`node bench/soak/report.ts\` renders this file from
bench/soak/results/.

Leaks: each client closes its scope, then reports what keeps its event loop alive
(\`process.getActiveResourcesInfo()\`, without the IPC pipe to the driver) and the cluster's
connection count, and must then exit by itself: a fiber still running after close would hold a
timer or a socket (fibers are not counted directly).
`

const main = async () => {
  const dir = process.argv[2] ?? path.join(HERE, "results")
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
  const runs = files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as RunResult)
  const raster = await getRasterizer()
  const sections: Array<string> = []
  for (const r of runs) {
    const svg = chartSvg(r)
    const png = path.join(BENCH, "charts", `soak-${r.protocol}.png`)
    const file = raster(svg, png) ? png : png.replace(/\.png$/, ".svg")
    if (file.endsWith(".svg")) fs.writeFileSync(file, svg)
    sections.push(runSection(r, path.relative(BENCH, file)))
  }
  const findings = fs.existsSync(path.join(HERE, "FINDINGS.md")) ? fs.readFileSync(path.join(HERE, "FINDINGS.md"), "utf8") : ""
  fs.writeFileSync(path.join(BENCH, "SOAK.md"), [HEADER, ...sections, findings].join("\n"))
  console.log(`wrote bench/SOAK.md (${runs.length} runs)`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
