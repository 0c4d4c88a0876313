/**
 * A real Schema Registry for tests: Apicurio Registry 2.4.2.Final (Confluent-compatible REST API
 * under `/apis/ccompat/v7`, in-memory storage) built from Maven Central by the wrapper project in
 * this folder (`pom.xml`, `application.properties`) and run on loopback.
 *
 * The built application (a Quarkus runner jar and its `lib/`) is cached in
 * `.kafka/registry-<version>/`, tied to the hash of the wrapper's files, like Kafka's jars; a
 * build takes a minute with a cold Maven repository and ~20 s with a warm one, a start ~4–8 s.
 *
 * @example
 * ```ts
 * const registry = await startRegistry()
 * registry.url // "http://127.0.0.1:40123/apis/ccompat/v7"
 * await registry.stop()
 * ```
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { checkJava, freePorts, isAlive, javaBin, KAFKA_DIR, type Log, REPO_ROOT, run, tail, trackAttached, withLock } from "../kafka/harness.ts"

/** The Apicurio Registry version the wrapper builds. */
export const REGISTRY_VERSION = "2.4.2.Final"
/** The path of the Confluent-compatible API on the registry. */
export const CCOMPAT_PATH = "/apis/ccompat/v7"
const HERE = path.dirname(fileURLToPath(import.meta.url))
const SOURCES = ["pom.xml", "application.properties"].map((f) => path.join(HERE, f))
/** The cached build: `app/` (the runner jar and `lib/`) and a marker. */
export const REGISTRY_DIR = path.join(KAFKA_DIR, `registry-${REGISTRY_VERSION}`)
/** Background registries (`npm run registry:start`): one JSON file per run. */
export const REGISTRY_RUNS_DIR = path.join(KAFKA_DIR, "registry-runs")
const APP_DIR = path.join(REGISTRY_DIR, "app")
const RUNNER = "apicurio-wrap-1.0-runner.jar"
const MARKER = path.join(REGISTRY_DIR, ".complete.json")

const defaultLog: Log = (message) => {
  if (process.env.KPAX_KAFKA_QUIET !== "1") process.stderr.write(`[registry] ${message}\n`)
}

function sourcesHash(): string {
  const h = createHash("sha256")
  for (const f of SOURCES) h.update(fs.readFileSync(f))
  return h.digest("hex")
}

function buildComplete(): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(MARKER, "utf8")) as { readonly sources: string }
    return marker.sources === sourcesHash() && fs.existsSync(path.join(APP_DIR, RUNNER))
  } catch {
    return false
  }
}

/**
 * The registry's parent POM names repositories that may be unreachable: Maven runs with a
 * settings file whose mirror sends every repository to Maven Central (its URL read from Maven's
 * own super POM, so nothing else is named here).
 */
async function centralSettings(dir: string): Promise<string> {
  const version = await run("mvn", ["-v"])
  const home = /^Maven home: (.*)$/m.exec(version.stdout)?.[1]?.trim()
  let central = "https://repo.maven.apache.org/maven2"
  if (home !== undefined) {
    const lib = path.join(home, "lib")
    const jar = (await fsp.readdir(lib)).find((f) => f.startsWith("maven-model-builder-"))
    if (jar !== undefined) {
      const pom = await run("unzip", ["-p", path.join(lib, jar), "org/apache/maven/model/pom-4.0.0.xml"])
      central = /<url>([^<]*)<\/url>/.exec(pom.stdout)?.[1] ?? central
    }
  }
  const file = path.join(dir, "settings.xml")
  await fsp.writeFile(file, `<settings><mirrors><mirror><id>central-all</id><mirrorOf>*</mirrorOf><url>${central}</url></mirror></mirrors></settings>\n`)
  return file
}

let built: Promise<string> | undefined

/** Builds the registry into the cache unless a build of the same wrapper files is there; returns the runner jar. */
export function ensureRegistry(log: Log = defaultLog): Promise<string> {
  built ??= build(log).catch((error: unknown) => {
    built = undefined
    throw error
  })
  return built
}

async function build(log: Log): Promise<string> {
  checkJava()
  const jar = path.join(APP_DIR, RUNNER)
  if (buildComplete()) return jar
  await fsp.mkdir(KAFKA_DIR, { recursive: true })
  await withLock(`${REGISTRY_DIR}.lock`, log, async () => {
    if (buildComplete()) return
    const started = Date.now()
    log(`building Apicurio Registry ${REGISTRY_VERSION} with Maven into ${path.relative(REPO_ROOT, REGISTRY_DIR)}/ ...`)
    const work = `${REGISTRY_DIR}.build-${process.pid}`
    await fsp.rm(work, { recursive: true, force: true })
    await fsp.mkdir(path.join(work, "src", "main", "resources"), { recursive: true })
    await fsp.copyFile(SOURCES[0]!, path.join(work, "pom.xml"))
    await fsp.copyFile(SOURCES[1]!, path.join(work, "src", "main", "resources", "application.properties"))
    const settings = await centralSettings(work)
    const args = (offline: boolean) => ["-B", "-q", ...(offline ? ["-o"] : []), "-s", settings, "package", "-DskipTests"]
    let r = await run("mvn", args(true), { cwd: work, timeoutMs: 20 * 60_000 })
    if (r.code !== 0) r = await run("mvn", args(false), { cwd: work, timeoutMs: 20 * 60_000 })
    if (r.code !== 0 || !fs.existsSync(path.join(work, "target", RUNNER))) {
      throw new Error(`Maven could not build Apicurio Registry ${REGISTRY_VERSION} (exit ${r.code}). The registry tests need ` +
        `Maven (\`mvn\`), a JDK 17+ and access to Maven Central.\n${tail(r.stdout + r.stderr, 40)}`)
    }
    await fsp.rm(REGISTRY_DIR, { recursive: true, force: true })
    await fsp.mkdir(REGISTRY_DIR, { recursive: true })
    await fsp.mkdir(`${APP_DIR}.tmp`, { recursive: true })
    await fsp.rename(path.join(work, "target", "lib"), path.join(`${APP_DIR}.tmp`, "lib"))
    await fsp.rename(path.join(work, "target", RUNNER), path.join(`${APP_DIR}.tmp`, RUNNER))
    await fsp.rename(`${APP_DIR}.tmp`, APP_DIR)
    await fsp.writeFile(MARKER, JSON.stringify({ version: REGISTRY_VERSION, sources: sourcesHash() }, null, 2))
    await fsp.rm(work, { recursive: true, force: true })
    log(`registry built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  })
  return jar
}

/** A running registry. */
export interface RegistryHandle {
  /** The Confluent-compatible API's base URL, e.g. `http://127.0.0.1:40123/apis/ccompat/v7`. */
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly logFile: string
  /** How long the registry took from spawn to its first answer, in milliseconds. */
  readonly startMs: number
  readonly stop: () => Promise<void>
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2_000) })
    return res.status === 200
  } catch {
    return false
  }
}

/**
 * Starts a registry on a free loopback port and waits until its API answers. Attached (the
 * default) registries die with this process; `detached: true` leaves one running in the background
 * (recorded in `.kafka/registry-runs/`, stopped by {@link stopRegistries}).
 */
export async function startRegistry(options: { readonly detached?: boolean; readonly log?: Log } = {}): Promise<RegistryHandle> {
  const log = options.log ?? defaultLog
  const jar = await ensureRegistry(log)
  const [port] = await freePorts(1)
  const logFile = path.join(REGISTRY_RUNS_DIR, `registry-${port}.log`)
  await fsp.mkdir(REGISTRY_RUNS_DIR, { recursive: true })
  const out = fs.openSync(logFile, "w")
  const started = Date.now()
  const child: ChildProcess = spawn(javaBin(), [
    "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dquarkus.http.host=127.0.0.1", `-Dquarkus.http.port=${port}`, "-jar", jar
  ], { cwd: REGISTRY_DIR, stdio: ["ignore", out, out], detached: options.detached === true })
  fs.closeSync(out)
  if (options.detached === true) child.unref()
  else trackAttached(child)
  const url = `http://127.0.0.1:${port}${CCOMPAT_PATH}`
  const pid = child.pid!
  const deadline = Date.now() + 120_000
  while (!(await answers(url))) {
    if (!isAlive(pid) || child.exitCode !== null) {
      throw new Error(`the registry exited while starting:\n${tail(fs.readFileSync(logFile, "utf8"), 40)}`)
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`the registry did not answer within 120 s:\n${tail(fs.readFileSync(logFile, "utf8"), 40)}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const startMs = Date.now() - started
  const runFile = path.join(REGISTRY_RUNS_DIR, `registry-${port}.json`)
  if (options.detached === true) await fsp.writeFile(runFile, JSON.stringify({ url, port, pid, logFile, startMs }, null, 2))
  log(`Apicurio Registry ${REGISTRY_VERSION} up in ${(startMs / 1000).toFixed(1)} s at ${url}`)
  const stop = async () => {
    await terminate(pid)
    await fsp.rm(runFile, { force: true })
  }
  return { url, port, pid, logFile, startMs, stop }
}

async function terminate(pid: number): Promise<void> {
  if (!isAlive(pid)) return
  try {
    process.kill(pid, "SIGTERM")
  } catch {
    return
  }
  const deadline = Date.now() + 10_000
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  if (isAlive(pid)) process.kill(pid, "SIGKILL")
}

/** A background registry recorded by {@link startRegistry} `{ detached: true }`. */
export interface RegistryRun {
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly logFile: string
}

/** The background registries of this checkout that are still running. */
export function listRegistries(): Array<RegistryRun> {
  if (!fs.existsSync(REGISTRY_RUNS_DIR)) return []
  return fs.readdirSync(REGISTRY_RUNS_DIR).filter((f) => f.endsWith(".json")).flatMap((f) => {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(REGISTRY_RUNS_DIR, f), "utf8")) as RegistryRun
      return isAlive(r.pid) ? [r] : []
    } catch {
      return []
    }
  })
}

/** Stops every background registry of this checkout; returns how many. */
export async function stopRegistries(): Promise<number> {
  const runs = listRegistries()
  for (const r of runs) {
    await terminate(r.pid)
    await fsp.rm(path.join(REGISTRY_RUNS_DIR, `registry-${r.port}.json`), { force: true })
  }
  return runs.length
}
