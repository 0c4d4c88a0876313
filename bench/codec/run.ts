/**
 * kpax's codecs against kafkajs's and @platformatic/kafka's, in one process, on the same inputs.
 *
 *   npm run bench:codec                              # everything (≈ 12 minutes)
 *   npm run bench:codec -- --only decode-none,metadata-decode-v12
 *   npm run bench:codec -- --reps 41 --sample-ms 100 --md /tmp/codec.md
 *   npx node --cpu-prof bench/codec/run.ts --only encode-none   # profile one case
 *
 * Each case runs in its own child process (fresh JIT state and heap); `--in-process` runs them
 * all in this one (the default when profiling with --cpu-prof).
 *
 * Options: --only <ids or prefixes, comma-separated>, --reps <n> (default 31), --sample-ms <ms>
 * (default 100), --warmup-ms <ms> (default 1000), --md <file> (write the tables as markdown),
 * --max-load <x> (before each case, wait up to --max-wait-s seconds, default 300, for the 1-minute
 * load average to drop below x), --subject <text> (run only the subjects whose name contains it, e.g. for a profile of one
 * client), --list (print the case ids).
 */
import { spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import os from "node:os"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { formatMarkdown, ratio, runCase } from "./harness.ts"
import type { Case, CaseResult } from "./harness.ts"
import { codecCases } from "./cases/codecs.ts"
import { metadataCases } from "./cases/metadata.ts"
import { produceCases } from "./cases/produce.ts"
import { recordBatchCases } from "./cases/recordBatch.ts"
import { implementation as crcImplementation } from "../../src/Protocol/internal/Crc32c.ts"

const args = process.argv.slice(2)
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const num = (name: string, dflt: number): number => {
  const v = opt(name)
  return v === undefined ? dflt : Number(v)
}
const options = { reps: num("reps", 31), sampleMs: num("sample-ms", 100), warmupMs: num("warmup-ms", 1000) }
const only = opt("only")?.split(",").filter((s) => s.length > 0)
/** Keep only the subjects whose name contains this (for profiling one client). */
const subject = opt("subject")

const cpuModel = (): string => {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"))
    return line?.split(":")[1]?.trim() ?? os.cpus()[0]?.model ?? "?"
  } catch {
    return os.cpus()[0]?.model ?? "?"
  }
}
const RESULT = "@@result "

/** The case groups, by the id prefixes of their cases: a child process builds only its case's group. */
const GROUPS: ReadonlyArray<{ readonly prefixes: ReadonlyArray<string>; readonly make: () => Promise<{ cases: Array<Case>; notes: Array<string> }> }> = [
  { prefixes: ["encode-", "decode-"], make: recordBatchCases },
  { prefixes: ["codec-"], make: codecCases },
  { prefixes: ["metadata"], make: metadataCases },
  { prefixes: ["produce"], make: produceCases }
]
const groupOf = (id: string) => {
  const g = GROUPS.find((x) => x.prefixes.some((p) => id.startsWith(p)))
  if (g === undefined) throw new Error(`no group for ${id}`)
  return g
}

const narrow = (c: Case): Case => (subject === undefined ? c : { ...c, subjects: c.subjects.filter((s) => s.name.includes(subject)) })

/**
 * Runs one case in a fresh Node process (same binary and flags), so that no case runs on JIT
 * state or a heap shaped by the cases before it (for instance the Metadata v6 decoder after the
 * v12 one: the same generated functions, with feedback for both versions).
 */
const runChild = (id: string): Promise<CaseResult> =>
  new Promise((resolve, reject) => {
    const argv = [...process.execArgv, fileURLToPath(import.meta.url), "--child", id, "--reps", String(options.reps), "--sample-ms", String(options.sampleMs), "--warmup-ms", String(options.warmupMs)]
    if (subject !== undefined) argv.push("--subject", subject)
    const p = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "inherit"] })
    let result: CaseResult | undefined
    const lines = createInterface({ input: p.stdout })
    lines.on("line", (l) => {
      if (l.startsWith(RESULT)) result = JSON.parse(l.slice(RESULT.length)) as CaseResult
      else console.log(l)
    })
    p.on("error", reject)
    p.on("close", (code) => (result !== undefined ? resolve(result) : reject(new Error(`case ${id}: child exited with ${code}`))))
  })

/** With --max-load x: before each case, wait (up to --max-wait-s, default 300) until the 1-minute load average is below x. */
const quietEnough = async (): Promise<void> => {
  const max = opt("max-load")
  if (max === undefined) return
  const deadline = Date.now() + num("max-wait-s", 300) * 1000
  while (os.loadavg()[0] >= Number(max) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5000))
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ")
const pkgVersion = (name: string): string => {
  try {
    return (JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), "utf8")) as { version: string }).version
  } catch {
    return "?"
  }
}

const main = async () => {
  const started = new Date()
  const env = [
    `date: ${started.toISOString()}`,
    `node: ${process.version} (${process.arch}), v8 ${process.versions.v8}`,
    `cpu: ${cpuModel()} × ${os.availableParallelism()}, memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `peers: kafkajs ${pkgVersion("kafkajs")}, @platformatic/kafka ${pkgVersion("@platformatic/kafka")}; kpax CRC-32C: ${crcImplementation}`,
    `options: reps ${options.reps}, sample ${options.sampleMs} ms, warm-up ${options.warmupMs} ms`,
    `load average at start: ${load()}`
  ]
  const child = opt("child")
  if (child !== undefined) {
    // one case in this (fresh) process; the parent reads the result line
    const { cases } = await groupOf(child).make()
    const c = cases.find((x) => x.id === child)
    if (c === undefined) throw new Error(`no case ${child}`)
    const r = await runCase(narrow(c), options, (l) => console.log(l))
    console.log(RESULT + JSON.stringify({ c: { ...r.c, subjects: [] }, stats: r.stats }))
    return
  }
  for (const l of env) console.log(l)

  const all: Array<Case> = []
  const notes: Array<string> = []
  for (const g of GROUPS) {
    const r = await g.make()
    all.push(...r.cases)
    notes.push(...r.notes)
  }
  if (args.includes("--list")) {
    for (const c of all) console.log(`${c.id.padEnd(28)} ${c.title}`)
    return
  }
  console.log("\ninputs checked:")
  for (const n of notes) console.log(`  ${n}`)
  const selected = (only === undefined ? all : all.filter((c) => only.some((o) => c.id === o || c.id.startsWith(o)))).map(narrow)
  if (selected.length === 0) throw new Error(`no case matches ${only?.join(",")}; try --list`)

  const inProcess = args.includes("--in-process") || process.execArgv.some((a) => a.startsWith("--cpu-prof"))
  const results: Array<CaseResult> = []
  const loads: Array<string> = []
  for (const c of selected) {
    await quietEnough()
    results.push(inProcess ? await runCase(c, options, (l) => console.log(l)) : await runChild(c.id))
    loads.push(`${c.id}: ${load()}`)
  }
  const finished = new Date()
  console.log(`\nload average at end: ${load()}; took ${((finished.getTime() - started.getTime()) / 1000).toFixed(0)} s`)

  console.log("\nsummary (kpax / faster peer):")
  for (const r of results) {
    const q = ratio(r)
    if (q !== undefined) console.log(`  ${r.c.id.padEnd(28)} ${q.value.toFixed(2)}×  [${q.min.toFixed(2)}–${q.max.toFixed(2)}]  (vs ${q.vs}; ratio of medians ${q.ofMedians.toFixed(2)}×, of best ${q.ofBest.toFixed(2)}×)`)
  }

  const md = opt("md")
  if (md !== undefined) {
    const text = [
      "```",
      ...env,
      `load average at end: ${load()}`,
      "```",
      "",
      ...notes.map((n) => `- ${n}`),
      "",
      ...results.map(formatMarkdown).flatMap((t) => [t, ""]),
      "Load average (1/5/15 min) after each case:",
      "",
      "```",
      ...loads,
      "```",
      ""
    ].join("\n")
    writeFileSync(md, text)
    console.log(`\nmarkdown written to ${md}`)
  }
}

await main()
