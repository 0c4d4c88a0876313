/**
 * One chart per scenario: horizontal bars per client (median, with a min–max whisker), or grouped
 * p50/p99/p99.9 bars for latency. Drawn as SVG by hand, then rasterized to PNG with
 * `@resvg/resvg-js` (a devDependency with prebuilt binaries); without it, ImageMagick's `convert`
 * if on PATH; else the SVG is kept.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Report } from "../lib/report.ts"
import { CLIENT_LABEL, CLIENT_ORDER, ratesOf } from "../lib/report.ts"
import { fmt3, fmtInt, median } from "../lib/stats.ts"

const COLORS: Record<string, string> = {
  kpax: "#6d28d9",
  kafkajs: "#0891b2",
  platformatic: "#16a34a",
  confluent: "#ea580c",
  java: "#64748b"
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

interface Bar {
  readonly label: string
  readonly color: string
  readonly value: number
  readonly lo?: number
  readonly hi?: number
  readonly text: string
}

const W = 900
const LEFT = 300
const RIGHT = 150
const ROW = 34

const niceMax = (v: number) => {
  if (!(v > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p
  return 10 * p
}

const barsSvg = (title: string, subtitle: string, unit: string, bars: ReadonlyArray<Bar>, log = false): string => {
  const top = 70
  const h = top + bars.length * ROW + 50
  const max = log
    ? 10 ** Math.ceil(Math.log10(Math.max(...bars.map((b) => b.value))))
    : niceMax(Math.max(...bars.map((b) => Math.max(b.value, b.hi ?? 0))))
  const logMin = log ? 10 ** Math.floor(Math.log10(Math.max(1e-3, Math.min(...bars.map((b) => b.value))))) : 0
  const x = log
    ? (v: number) => LEFT + ((W - LEFT - RIGHT) * (Math.log10(Math.max(v, logMin)) - Math.log10(logMin))) / (Math.log10(max) - Math.log10(logMin))
    : (v: number) => LEFT + ((W - LEFT - RIGHT) * v) / max
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(max / logMin)) + 1 }, (_, i) => logMin * 10 ** i)
    : [0, 1, 2, 3, 4].map((i) => (max * i) / 4)
  const parts: Array<string> = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="DejaVu Sans, Arial, sans-serif">`)
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`)
  parts.push(`<text x="16" y="28" font-size="17" font-weight="bold" fill="#111">${esc(title)}</text>`)
  parts.push(`<text x="16" y="50" font-size="12" fill="#555">${esc(subtitle)}</text>`)
  for (const v of ticks) {
    parts.push(`<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${top + bars.length * ROW}" stroke="#e5e7eb"/>`)
    parts.push(`<text x="${x(v)}" y="${top + bars.length * ROW + 18}" font-size="11" fill="#666" text-anchor="middle">${esc(v === 0 ? "0" : fmt3(v))}</text>`)
  }
  parts.push(`<text x="${(LEFT + W - RIGHT) / 2}" y="${top + bars.length * ROW + 38}" font-size="12" fill="#444" text-anchor="middle">${esc(unit)}</text>`)
  bars.forEach((b, i) => {
    const y = top + i * ROW
    parts.push(`<text x="${LEFT - 10}" y="${y + ROW / 2 + 4}" font-size="13" fill="#222" text-anchor="end">${esc(b.label)}</text>`)
    parts.push(`<rect x="${LEFT}" y="${y + 6}" width="${Math.max(1, x(b.value) - LEFT)}" height="${ROW - 12}" fill="${b.color}" rx="2"/>`)
    if (b.lo !== undefined && b.hi !== undefined && b.hi > b.lo) {
      const cy = y + ROW / 2
      parts.push(`<line x1="${x(b.lo)}" y1="${cy}" x2="${x(b.hi)}" y2="${cy}" stroke="#111" stroke-width="1.5"/>`)
      parts.push(`<line x1="${x(b.lo)}" y1="${cy - 6}" x2="${x(b.lo)}" y2="${cy + 6}" stroke="#111" stroke-width="1.5"/>`)
      parts.push(`<line x1="${x(b.hi)}" y1="${cy - 6}" x2="${x(b.hi)}" y2="${cy + 6}" stroke="#111" stroke-width="1.5"/>`)
    }
    parts.push(`<text x="${Math.max(x(b.value), x(b.hi ?? 0)) + 8}" y="${y + ROW / 2 + 4}" font-size="12" fill="#222">${esc(b.text)}</text>`)
  })
  parts.push(`</svg>`)
  return parts.join("\n")
}

let rasterizer: ((svg: string, file: string) => boolean) | undefined

/** PNG writer: resvg, else ImageMagick; `false` when neither is there (keep the SVG). */
export const getRasterizer = async (): Promise<(svg: string, file: string) => boolean> => {
  if (rasterizer !== undefined) return rasterizer
  try {
    const { Resvg } = (await import("@resvg/resvg-js")) as typeof import("@resvg/resvg-js")
    rasterizer = (svg, file) => {
      const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }, fitTo: { mode: "zoom", value: 1.5 } }).render().asPng()
      fs.writeFileSync(file, png)
      return true
    }
  } catch {
    const hasConvert = spawnSync("convert", ["-version"], { stdio: "ignore" }).status === 0
    rasterizer = (svg, file) => {
      if (!hasConvert) return false
      const tmp = file.replace(/\.png$/, ".tmp.svg")
      fs.writeFileSync(tmp, svg)
      const ok = spawnSync("convert", ["-density", "144", tmp, file], { stdio: "ignore" }).status === 0
      fs.rmSync(tmp, { force: true })
      return ok
    }
  }
  return rasterizer
}

/** Writes a chart per scenario into `dir`; returns the files (PNG, or SVG when nothing rasterizes). */
export const renderCharts = async (report: Report, dir: string): Promise<Array<{ id: string; file: string }>> => {
  const raster = await getRasterizer()
  const ids = [...new Set(report.outcomes.map((o) => o.scenario.id))]
  const out: Array<{ id: string; file: string }> = []
  for (const id of ids) {
    const list = report.outcomes
      .filter((o) => o.scenario.id === id && o.result !== undefined && o.result.skipped === undefined && o.error === undefined)
      .sort((a, b) => CLIENT_ORDER.indexOf(a.client) - CLIENT_ORDER.indexOf(b.client))
    if (list.length === 0) continue
    const sc = list[0].scenario
    const subtitle = `${report.date.slice(0, 10)} · ${report.node} · Kafka ${report.kafka} · ${report.machine.split(",").slice(0, 2).join(",")} · median of ${report.reps}, whisker min–max`
    let svg: string
    if (sc.kind === "latency") {
      const bars: Array<Bar> = []
      for (const o of list) {
        const l = o.result!.latency!
        for (const [q, v] of [["p50", l.p50], ["p99", l.p99], ["p99.9", l.p999]] as const) {
          bars.push({ label: `${CLIENT_LABEL[o.client]} ${q}`, color: COLORS[o.client] ?? "#999", value: v, text: `${fmt3(v)} ms${l.saturated === true ? " (saturated)" : ""}` })
        }
      }
      svg = barsSvg(sc.title, `${report.date.slice(0, 10)} · ${report.node} · Kafka ${report.kafka} · lower is better · (saturated): could not sustain the rate`, "milliseconds, send → acknowledgement (log scale)", bars, true)
    } else {
      const unit = sc.kind === "metadata" ? "round trips per second" : "records per second"
      const bars = list.map((o): Bar => {
        const rates = ratesOf(o.result!)
        const m = median(rates)
        const mb = sc.kind === "metadata" ? "" : `, ${fmt3((m * sc.size) / 2 ** 20)} MiB/s`
        return { label: CLIENT_LABEL[o.client] ?? o.client, color: COLORS[o.client] ?? "#999", value: m, lo: Math.min(...rates), hi: Math.max(...rates), text: `${fmtInt(m)}${mb}` }
      })
      svg = barsSvg(sc.title, subtitle, `${unit} (higher is better)`, bars)
    }
    const png = path.join(dir, `${id}.png`)
    if (raster(svg, png)) out.push({ id, file: `${id}.png` })
    else {
      fs.writeFileSync(path.join(dir, `${id}.svg`), svg)
      out.push({ id, file: `${id}.svg` })
    }
  }
  return out
}
