/**
 * The runtimes the smoke suite and the runtime bench run on, and the packed kpax they run: the
 * package as `npm pack` makes it (dist/, bin/), unpacked into a throw-away app folder under
 * `node_modules/.cache/kpax-runtimes/app/` — there `bunx --bun kpax` and `deno run … npm:kpax`
 * find it in the app's node_modules as they would find an installed kpax, and kpax's own
 * dependencies resolve from the repository's node_modules (an ancestor folder).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { REPO_ROOT } from "../kafka/harness.ts"

export type RuntimeName = "node" | "bun" | "deno"

const BIN = path.join(REPO_ROOT, "node_modules", ".bin")

/** The permissions kpax needs on Deno (napi codecs: ffi), as the README gives them. */
export const DENO_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-ffi"] as const

export interface Runtime {
  readonly name: RuntimeName
  /** The runtime's executable (the pinned devDependency). */
  readonly executable: string
  /** Arguments that run a script file: `[...script(file), ...args]`. */
  readonly script: (file: string, options?: { readonly nativeModules?: boolean }) => ReadonlyArray<string>
  /** The command that runs the installed `kpax`, word for word as the README gives it (run in the app folder). */
  readonly cli: string
}

/** {@link Runtime.cli} as an executable (the pinned one for `bunx` and `deno`) and its arguments. */
export const cliCommand = (rt: Runtime): { readonly executable: string; readonly args: ReadonlyArray<string> } => {
  const [word, ...args] = rt.cli.split(" ")
  return { executable: word === "npx" ? "npx" : path.join(BIN, word), args }
}

export const RUNTIMES: ReadonlyArray<Runtime> = [
  {
    name: "node",
    executable: path.join(BIN, "node"),
    script: (file) => [file],
    cli: "npx kpax"
  },
  {
    name: "bun",
    executable: path.join(BIN, "bun"),
    script: (file) => [file],
    // without --bun, bunx honours the `#!/usr/bin/env node` line and runs Node
    cli: "bunx --bun kpax"
  },
  {
    name: "deno",
    executable: path.join(BIN, "deno"),
    script: (file, options) =>
      ["run", ...DENO_PERMISSIONS.filter((p) => options?.nativeModules !== false || p !== "--allow-ffi"), file],
    cli: `deno run ${DENO_PERMISSIONS.join(" ")} npm:kpax`
  }
]

export const runtime = (name: RuntimeName): Runtime => RUNTIMES.find((r) => r.name === name)!

export interface ProcessResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a process to its end (killed after `timeoutMs`), with optional stdin. */
export const runProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly input?: string; readonly timeoutMs?: number } = {}
): Promise<ProcessResult> =>
  new Promise((resolve, reject) => {
    const input = options.input
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s))
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000)
    child.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    if (child.stdin !== null) {
      child.stdin.on("error", () => {}) // a child that exits before reading its input: its exit code tells
      child.stdin.end(input)
    }
  })

/** The app folder with the packed kpax installed in it. */
export interface PackedApp {
  readonly dir: string
  /** The version the unpacked package.json was given, so that a run proves it used this copy. */
  readonly version: string
  /** File URL of the packed library entry point (`dist/index.js`). */
  readonly entry: string
}

/** `npm pack` (its `prepack` builds dist/), then unpacks into a fresh app folder. */
export const packApp = async (): Promise<PackedApp> => {
  const root = path.join(REPO_ROOT, "node_modules", ".cache", "kpax-runtimes")
  const dir = path.join(root, "app")
  fs.rmSync(root, { recursive: true, force: true })
  fs.mkdirSync(path.join(dir, "node_modules", ".bin"), { recursive: true })
  const packed = await runProcess("npm", ["pack", "--json", "--pack-destination", root], { timeoutMs: 180_000 })
  if (packed.code !== 0) throw new Error(`npm pack failed (${packed.code}):\n${packed.stderr}`)
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{ filename: string }>
  const pkgDir = path.join(dir, "node_modules", "kpax")
  fs.mkdirSync(pkgDir)
  const untar = await runProcess("tar", ["-xzf", path.join(root, filename), "-C", pkgDir, "--strip-components=1"])
  if (untar.code !== 0) throw new Error(`tar failed: ${untar.stderr}`)
  const pkgFile = path.join(pkgDir, "package.json")
  const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { version: string; bin: Record<string, string> }
  const version = `${pkg.version}-packed.${Date.now()}`
  fs.writeFileSync(pkgFile, JSON.stringify({ ...pkg, version }, null, 2))
  fs.symlinkSync(path.join("..", "kpax", pkg.bin.kpax), path.join(dir, "node_modules", ".bin", "kpax"))
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "kpax-runtimes-app", private: true, type: "module", dependencies: { kpax: version } }, null, 2)
  )
  return { dir, version, entry: pathToFileURL(path.join(pkgDir, "dist", "index.js")).href }
}
