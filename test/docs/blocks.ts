/**
 * The code blocks of README.md and docs/*.md, as the docs tests run them (the rules are in
 * test/docs/blocks.test.ts and docs/README.md): extraction with each block's file and line, the
 * rewrites that make a block run against the test broker (package imports to the sources, unique
 * topic and group names, the broker address), one type-check of every TypeScript block, and the
 * runners for `ts` blocks (imported in this process) and `sh` blocks (each line through `sh -c`).
 *
 * Why imports are rewritten rather than resolved: `kpax/<Module>` would resolve by package
 * self-reference to package.json's `exports`, which point at dist/ — not built in a checkout. So
 * each specifier that is a key of `exports` becomes the relative path of the source file its
 * target is compiled from (dist/X.js ↔ src/X.ts), for tsc and vitest alike, with no tsconfig
 * `paths` to keep in step; a specifier that is not an export is left alone and fails the
 * type-check, as it would fail for users.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

export const ROOT = path.resolve(import.meta.dirname, "..", "..")
/** Where prepared TypeScript blocks are written, one folder per suite (git-ignored, outside tsconfig.json's `include`). */
const OUT_ROOT = path.join(ROOT, ".docs-blocks")

/** A fenced code block of a docs page. */
export interface Block {
  /** The page, relative to the repository root (`README.md`, `docs/testing.md`). */
  readonly file: string
  /** 1-based line of the opening fence. */
  readonly line: number
  /** The fence's language (`ts`, `sh`, `text`, …; `""` for none). */
  readonly lang: string
  /** The words after the language, e.g. `["no-run"]`, `["topics=orders", "names=billing"]`. */
  readonly attrs: ReadonlyArray<string>
  readonly code: string
}

/** Where a block is, as failures name it. */
export const where = (b: Block): string => `${b.file}:${b.line}`

/** The words of an info string the tests understand (anything else is refused). */
const KNOWN = /^(no-run|registry|(topics|names)=[a-z0-9._-]+(,[a-z0-9._-]+)*|run-by=\S+)$/
/** Languages the tests run; other names for them are refused so that no block is skipped unseen. */
export const RUNNABLE = new Set(["ts", "sh"])
const ALIASES = new Set(["typescript", "js", "javascript", "mjs", "tsx", "bash", "shell", "zsh", "console", "shell-session"])

/** The pages: README.md and every docs/*.md. */
export const pages = (): Array<string> => [
  "README.md",
  ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)
]

/** Every fenced block of a page. A fence opens at the start of a line (up to 3 spaces of indent). */
export const blocksOf = (file: string): Array<Block> => {
  const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n")
  const out: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,})\s*([^\s`]*)(.*)$/.exec(lines[i]!)
    if (open === null) continue
    const [, indent, fence, lang, rest] = open
    const body: Array<string> = []
    let j = i + 1
    for (; j < lines.length && !new RegExp(`^ {0,3}${fence}\\s*$`).test(lines[j]!); j++) body.push(lines[j]!.slice(indent!.length))
    out.push({ file, line: i + 1, lang: lang!, attrs: rest!.trim().split(/\s+/).filter((w) => w !== ""), code: body.join("\n") })
    i = j
  }
  return out
}

/** What is wrong with a block's fence, if anything: an unknown attribute, or a runnable language under another name. */
export const fenceProblem = (b: Block): string | undefined => {
  if (ALIASES.has(b.lang)) return `${where(b)}: write \`\`\`${/sh|bash|shell|console/.test(b.lang) ? "sh" : "ts"} instead of \`\`\`${b.lang} (only ts and sh blocks run)`
  if (!RUNNABLE.has(b.lang)) return undefined
  const bad = b.attrs.filter((a) => !KNOWN.test(a))
  return bad.length > 0 ? `${where(b)}: unknown info-string words ${bad.join(" ")} (see test/docs/blocks.test.ts)` : undefined
}

const attr = (b: Block, name: string): Array<string> =>
  b.attrs.filter((a) => a.startsWith(`${name}=`)).flatMap((a) => a.slice(name.length + 1).split(","))
export const noRun = (b: Block): boolean => b.attrs.includes("no-run")
export const needsRegistry = (b: Block): boolean => b.attrs.includes("registry")
export const runBy = (b: Block): string | undefined => attr(b, "run-by")[0]
export const topicsOf = (b: Block): Array<string> => attr(b, "topics")

/** A block's topic and group names made unique for this run and block. */
export const namesFor = (b: Block, run: string): Map<string, string> => {
  const tag = `${run}-${b.file.replace(/[^a-zA-Z0-9]+/g, "-")}-${b.line}`.toLowerCase()
  return new Map([...attr(b, "topics"), ...attr(b, "names")].map((n) => [n, `${n}-${tag}`]))
}

// ---- TypeScript blocks ---------------------------------------------------------------------

/** `kpax` and `kpax/<Module>` → the source file, from package.json's `exports` (dist/X.js ↔ src/X.ts). */
const exportsMap = (): Map<string, string> => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; exports: Record<string, string | { default: string }> }
  const map = new Map<string, string>()
  for (const [key, target] of Object.entries(pkg.exports)) {
    const js = typeof target === "string" ? target : target.default
    if (!js.startsWith("./dist/")) continue
    map.set(key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`, path.join(ROOT, "src", js.slice("./dist/".length).replace(/\.js$/, ".ts")))
  }
  return map
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * A `ts` block as the module this test imports: package imports point at the sources (an import
 * of a module package.json does not export stays as it is, so the type-check names it), the
 * block's names are made unique, `localhost:9092` is the test broker. Lines stay where they are.
 */
export const prepareTs = (b: Block, out: string, run: string, broker: string): string => {
  const modules = exportsMap()
  let code = b.code.replace(/(from\s+|import\s*\(\s*)(["'])(kpax(?:\/[^"']*)?)\2/g, (all, pre: string, q: string, spec: string) => {
    const file = modules.get(spec)
    return file === undefined ? all : `${pre}${q}${path.relative(out, file).split(path.sep).join("/")}${q}`
  })
  for (const [name, unique] of namesFor(b, run)) code = code.replace(new RegExp(`(["'\`])${escape(name)}\\1`, "g"), `$1${unique}$1`)
  return code.replaceAll("localhost:9092", broker)
}

/** The file a prepared block is written to. */
export const tsFile = (suite: string, b: Block): string => path.join(OUT_ROOT, suite, `${b.file.replace(/[^a-zA-Z0-9]+/g, "_")}_L${b.line}.ts`)

/** Writes a suite's prepared blocks (clearing earlier ones) and a tsconfig.json over them. */
export const writeTs = (suite: string, blocks: ReadonlyArray<Block>, run: string, broker: string): void => {
  const out = path.join(OUT_ROOT, suite)
  fs.rmSync(out, { recursive: true, force: true })
  fs.mkdirSync(out, { recursive: true })
  for (const b of blocks) fs.writeFileSync(tsFile(suite, b), prepareTs(b, out, run, broker))
  const up = path.relative(out, ROOT).split(path.sep).join("/")
  fs.writeFileSync(path.join(out, "tsconfig.json"), JSON.stringify({ extends: `${up}/tsconfig.json`, compilerOptions: { noEmit: true, rootDir: up }, include: ["*.ts"] }))
}

/**
 * Type-checks a suite's written blocks in one compiler run. Returns the errors by block (`where`,
 * with page lines); errors outside the blocks go under `""`.
 */
export const typecheck = (suite: string, blocks: ReadonlyArray<Block>): Promise<Map<string, Array<string>>> =>
  new Promise((resolve, reject) => {
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc")
    const child = spawn(process.execPath, [tsc, "-p", path.join(OUT_ROOT, suite, "tsconfig.json"), "--pretty", "false"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.on("error", reject)
    child.on("close", () => {
      const byFile = new Map(blocks.map((b) => [tsFile(suite, b), b]))
      const errors = new Map<string, Array<string>>()
      let last: Array<string> | undefined
      for (const line of out.split("\n")) {
        const m = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line)
        if (m === null) {
          if (line.trim() !== "" && last !== undefined) last.push(line)
          else if (line.trim() !== "" && /error/.test(line)) (errors.get("") ?? errors.set("", []).get("")!).push(line)
          continue
        }
        const b = byFile.get(path.resolve(ROOT, m[1]!))
        const key = b === undefined ? "" : where(b)
        const text = b === undefined ? line : `${b.file}:${b.line + Number(m[2])}:${m[3]} ${m[4]}`
        last = errors.get(key) ?? errors.set(key, []).get(key)!
        last.push(text)
      }
      resolve(errors)
    })
  })

/** Runs a prepared `ts` block: imports its module, which runs its program (top-level `await`). */
export const runTs = async (suite: string, b: Block): Promise<void> => {
  await import(pathToFileURL(tsFile(suite, b)).href)
}

// ---- shell blocks --------------------------------------------------------------------------

/** A shell line without its comment (a `#` at the start of a word, outside quotes). */
const stripComment = (line: string): string => {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
    } else if (c === "'" || c === '"') quote = c
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i)
  }
  return line
}

/** A `sh` block's commands with their page lines: comments dropped, `\` continuations joined. */
export const commandsOf = (b: Block): Array<{ readonly line: number; readonly command: string }> => {
  const out: Array<{ line: number; command: string }> = []
  let pending: { line: number; command: string } | undefined
  b.code.split("\n").forEach((raw, i) => {
    const text = stripComment(raw).trim()
    if (pending !== undefined) pending.command += " " + text.replace(/\\$/, "").trim()
    else if (text !== "") pending = { line: b.line + 1 + i, command: text.replace(/\\$/, "").trim() }
    if (pending !== undefined && !text.endsWith("\\")) {
      out.push(pending)
      pending = undefined
    }
  })
  if (pending !== undefined) out.push(pending)
  return out
}

/** A `sh` block's command with the block's names made unique and `localhost:9092` the test broker. */
export const prepareSh = (b: Block, command: string, run: string, broker: string): string => {
  let line = command
  for (const [name, unique] of namesFor(b, run)) line = line.replace(new RegExp(`(?<![\\w.-])${escape(name)}(?![\\w.-])`, "g"), unique)
  return line.replaceAll("localhost:9092", broker)
}

/**
 * Runs one command with `sh -c`, `kpax` being bin/kpax.js on this Node and `KAFKA_BROKERS` the
 * test broker (no other `KAFKA_*` variable gets through).
 */
export const sh = (line: string, brokers: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const script = `kpax() { "${process.execPath}" "${path.join(ROOT, "bin", "kpax.js")}" "$@"; }\n${line}`
    const base: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("KAFKA_")) base[k] = v
    const child = spawn("sh", ["-c", script], { cwd: ROOT, env: { ...base, KAFKA_BROKERS: brokers.join(","), ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
