/**
 * Runs the `kpax` command line as a user would: `bin/kpax.js` in a child process on the Node
 * running the tests (the pinned Node 24), against the test broker.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { brokers } from "../kafka/env.ts"

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/kpax.js")

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** Wall-clock milliseconds. */
  readonly ms: number
}

export interface RunOptions {
  /** Written to stdin, which is then closed (closed at once without it). */
  readonly input?: string
  /** Extra environment; `KAFKA_*` and `KPAX_*` of the test process are not passed on. */
  readonly env?: Record<string, string>
  /** Killed (SIGKILL) after this long; default 90 s. */
  readonly timeoutMs?: number
  /** Called with each stdout chunk (to act while the command runs). */
  readonly onStdout?: (chunk: string, all: string) => void
}

/** A started command: its result, and a way to interrupt it (SIGINT). */
export interface Started {
  readonly done: Promise<Run>
  readonly interrupt: () => void
}

const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("KAFKA_") && !k.startsWith("KPAX_")) env[k] = v
  return env
}

/** Starts `kpax args…` (without `--brokers`: add it, or use {@link kpax}). */
export const start = (args: ReadonlyArray<string>, options: RunOptions = {}): Started => {
  const t0 = Date.now()
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...cleanEnv(), ...options.env }, stdio: ["pipe", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c
    options.onStdout?.(c, stdout)
  })
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c))
  child.stdin.end(options.input ?? "")
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 90_000)
  const done = new Promise<Run>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - t0 })
    })
  })
  return { done, interrupt: () => child.kill("SIGINT") }
}

/** Runs `kpax args… --brokers <test broker>` to the end. */
export const kpax = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Run> =>
  start([...args, "--brokers", brokers().join(",")], options).done

/** Runs `kpax` without adding `--brokers`. */
export const kpaxRaw = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Run> => start(args, options).done

/** stdout's lines (without the last empty one). */
export const lines = (r: Run): Array<string> => r.stdout.split("\n").filter((l, i, all) => !(l === "" && i === all.length - 1))

/** stdout as JSON lines. */
export const jsonLines = <T = any>(r: Run): Array<T> => lines(r).map((l) => JSON.parse(l) as T)

/** Fails with the command's output when it did not exit 0. */
export const ok = (r: Run): Run => {
  if (r.code !== 0) throw new Error(`kpax exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`)
  return r
}

/** `sh -c script` with `kpax` as a shell function running bin/kpax.js; only `env` and the non-`KAFKA_*` environment. */
export const shell = (script: string, env: Record<string, string>): Run => {
  const t0 = Date.now()
  const r = spawnSync("sh", ["-c", `kpax() { "${process.execPath}" "${BIN}" "$@"; }\n${script}`], { env: { ...cleanEnv(), ...env }, encoding: "utf8", timeout: 90_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 }
}

/** The `sh` blocks of a docs page whose info string names `runBy` (`run-by=<file>`), or every one without `runBy`. */
export const shBlocks = (page: string, runBy: string): Array<string> =>
  [...fs.readFileSync(path.resolve(path.dirname(BIN), "..", page), "utf8").matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```/gm)]
    .filter((m) => m[1]!.includes(`run-by=${runBy}`))
    .map((m) => m[2]!)
