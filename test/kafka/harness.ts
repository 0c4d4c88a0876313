/**
 * The real Apache Kafka broker harness for kpax's tests.
 *
 * Resolves Kafka's own jars from Maven Central (through `mvn` and the Maven local repository) into
 * a git-ignored cache and runs KRaft brokers (combined broker/controller nodes) from them on
 * 127.0.0.1 with free ports: one node ({@link startSingle}), a 3-node cluster
 * ({@link startCluster}) or one node with SASL and TLS listeners ({@link startSecured}).
 * Kafka's command-line tools run with the same jars through {@link runJavaTool}.
 *
 * Every start gets a folder `.kafka/runs/<id>/` (configuration, data, logs, pid files). Brokers
 * whose starting process died are killed by the next start (after checking their command line
 * names their run folder), and only the last few run folders are kept.
 *
 * @example
 * ```ts
 * const kafka = await startSingle()
 * await runJavaTool("kafka-topics", ["--bootstrap-server", kafka.bootstrapServers,
 *   "--create", "--topic", "t"])
 * await kafka.stop()
 * ```
 *
 * Runs on Node 24 directly (type stripping), so: erasable TypeScript only.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The Apache Kafka version the harness runs: the one place it is pinned. */
export const KAFKA_VERSION = "4.4.0"

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** The repository root (the checkout the harness belongs to). */
export const REPO_ROOT = path.resolve(HERE, "../..")
/** The git-ignored folder holding the jar cache and the runs. */
export const KAFKA_DIR = path.join(REPO_ROOT, ".kafka")
/** Where each run's folder goes. */
export const RUNS_DIR = path.join(KAFKA_DIR, "runs")
const POM = path.join(HERE, "pom.xml")
const BROKER_LOG4J = path.join(HERE, "log4j2-broker.xml")
const TOOLS_LOG4J = path.join(HERE, "log4j2-tools.xml")
const HOST = "127.0.0.1"
/** How many finished run folders are kept for failure inspection. */
const KEEP_RUNS = 6

// ---------------------------------------------------------------------------------------------
// Logging

/** Progress messages of the harness (to stderr); `KPAX_KAFKA_QUIET=1` silences them. */
export type Log = (message: string) => void
const defaultLog: Log = (message) => {
  if (process.env.KPAX_KAFKA_QUIET !== "1") process.stderr.write(`[kafka] ${message}\n`)
}

// ---------------------------------------------------------------------------------------------
// Java, Maven and the jar cache

export function javaBin(): string {
  const home = process.env.JAVA_HOME
  if (home !== undefined && home !== "" && fs.existsSync(path.join(home, "bin", "java"))) {
    return path.join(home, "bin", "java")
  }
  return "java"
}

function javaTool(name: string): string {
  const java = javaBin()
  return java === "java" ? name : path.join(path.dirname(java), name)
}

/** Identifies the JDK (a hash of `java -version`): class-data archives belong to one JDK. */
let javaId: string | undefined
export function checkJava(): void {
  if (javaId !== undefined) return
  const r = spawnSync(javaBin(), ["-version"], { encoding: "utf8" })
  if (r.error !== undefined) {
    throw new Error(`Kafka needs a JDK 17 or newer: could not run \`${javaBin()}\` (${r.error.message}). ` +
      `Install one and put \`java\` on the PATH or set JAVA_HOME.`)
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr)
  const major = m === null ? 0 : Number(m[1]) === 1 ? Number(m[2]) : Number(m[1])
  if (major < 17) {
    throw new Error(`Kafka ${KAFKA_VERSION} needs Java 17 or newer; \`${javaBin()} -version\` says:\n${r.stderr}`)
  }
  javaId = `java${major}-${createHash("sha256").update(javaBin() + r.stderr).digest("hex").slice(0, 10)}`
}

/**
 * Class-data sharing: the first run of a main class records the classes it loads into an archive
 * (`-XX:ArchiveClassesAtExit`, written under a temporary name and renamed when the JVM exits
 * cleanly); later runs map it (`-XX:SharedArchiveFile`), which about halves a tool's start-up.
 * The archives live in the jar folder (replaced with the jars) per JDK. `KPAX_KAFKA_CDS=0` disables.
 */
const archiving = new Set<string>()
let archiveCounter = 0
function classData(jars: string, className: string): { readonly flags: ReadonlyArray<string>; readonly done: (ok: boolean) => void } {
  const none = { flags: [], done: () => {} }
  if (process.env.KPAX_KAFKA_CDS === "0" || javaId === undefined) return none
  const dir = path.join(jars, "cds", javaId)
  const archive = path.join(dir, `${className}.jsa`)
  if (fs.existsSync(archive)) return { flags: [`-XX:SharedArchiveFile=${archive}`], done: () => {} }
  if (archiving.has(className)) return none
  archiving.add(className)
  fs.mkdirSync(dir, { recursive: true })
  const tmp = `${archive}.tmp-${process.pid}-${++archiveCounter}`
  return {
    flags: [`-XX:ArchiveClassesAtExit=${tmp}`],
    done: (ok) => {
      archiving.delete(className)
      try {
        if (ok && (fs.statSync(tmp, { throwIfNoEntry: false })?.size ?? 0) > 0) fs.renameSync(tmp, archive)
        else fs.rmSync(tmp, { force: true })
      } catch {
        // another process renamed its archive first
      }
    }
  }
}

/** JVM flags of every Kafka JVM: unified-logging warnings (CDS mismatches, ...) to stderr, never stdout. */
const COMMON_JVM = ["-Xlog:disable", "-Xlog:all=warning:stderr", "-Djava.awt.headless=true"]

/** The folder of Kafka's jars for {@link KAFKA_VERSION}. */
export const JARS_DIR = path.join(KAFKA_DIR, `jars-${KAFKA_VERSION}`)
const MARKER = ".complete.json"

interface JarMarker {
  readonly version: string
  readonly pom: string
  readonly jars: ReadonlyArray<string>
}

function pomHash(): string {
  return createHash("sha256").update(fs.readFileSync(POM)).digest("hex")
}

function jarsComplete(dir: string): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER), "utf8")) as JarMarker
    return marker.version === KAFKA_VERSION && marker.pom === pomHash() && marker.jars.length > 0 &&
      marker.jars.every((jar) => fs.existsSync(path.join(dir, jar)))
  } catch {
    return false
  }
}

let jarsReady: Promise<string> | undefined

/**
 * Makes sure Kafka's jars are in `.kafka/jars-<version>/` and returns that folder. Reuses a
 * complete cache (a marker written after a successful copy, tied to the pom's hash); otherwise
 * runs Maven (offline first: the Maven local repository often has them already), under a lock so
 * concurrent processes do not resolve at the same time.
 */
export function ensureJars(log: Log = defaultLog): Promise<string> {
  jarsReady ??= resolveJars(log).catch((error: unknown) => {
    jarsReady = undefined
    throw error
  })
  return jarsReady
}

async function resolveJars(log: Log): Promise<string> {
  checkJava()
  if (jarsComplete(JARS_DIR)) return JARS_DIR
  await fsp.mkdir(KAFKA_DIR, { recursive: true })
  await withLock(path.join(KAFKA_DIR, `jars-${KAFKA_VERSION}.lock`), log, async () => {
    if (jarsComplete(JARS_DIR)) return
    const started = Date.now()
    log(`resolving Kafka ${KAFKA_VERSION} jars with Maven into ${path.relative(REPO_ROOT, JARS_DIR)}/ ...`)
    const tmp = `${JARS_DIR}.tmp-${process.pid}`
    await fsp.rm(tmp, { recursive: true, force: true })
    const args = (offline: boolean) => [
      "-q", "-B", ...(offline ? ["-o"] : []), "-f", POM, `-Dkafka.version=${KAFKA_VERSION}`,
      "dependency:copy-dependencies", `-DoutputDirectory=${tmp}`, "-DincludeScope=runtime"
    ]
    let r = await run("mvn", args(true), { timeoutMs: 15 * 60_000 })
    if (r.code !== 0) {
      // Not all in the Maven local repository yet: download from Maven Central.
      await fsp.rm(tmp, { recursive: true, force: true })
      r = await run("mvn", args(false), { timeoutMs: 15 * 60_000 })
    }
    if (r.code !== 0) {
      throw new Error(`Maven could not resolve Kafka ${KAFKA_VERSION}'s jars (exit ${r.code}` +
        `${r.spawnError === undefined ? "" : `, ${r.spawnError}`}). Kafka's tests need Maven (\`mvn\`) ` +
        `and access to Maven Central.\n${tail(r.stdout + r.stderr, 40)}`)
    }
    const jars = (await fsp.readdir(tmp)).filter((f) => f.endsWith(".jar")).sort()
    if (!jars.some((j) => j.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
      throw new Error(`Maven finished but ${tmp} has no kafka_2.13-${KAFKA_VERSION}.jar`)
    }
    const marker: JarMarker = { version: KAFKA_VERSION, pom: pomHash(), jars }
    await fsp.writeFile(path.join(tmp, MARKER), JSON.stringify(marker, null, 2))
    await fsp.rm(JARS_DIR, { recursive: true, force: true })
    await fsp.rename(tmp, JARS_DIR)
    log(`${jars.length} jars ready in ${secondsSince(started)}`)
  })
  return JARS_DIR
}

/** A lock folder (mkdir is atomic) holding its owner's identity; a dead owner's lock is broken. */
export async function withLock(lockDir: string, log: Log, body: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 20 * 60_000
  let told = false
  for (;;) {
    try {
      await fsp.mkdir(lockDir)
      await fsp.writeFile(path.join(lockDir, "owner.json"), JSON.stringify(selfOwner()))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      const owner = readJson<Owner>(path.join(lockDir, "owner.json"))
      const age = Date.now() - (fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if ((owner !== undefined && !ownerAlive(owner)) || (owner === undefined && age > 30_000)) {
        await fsp.rm(lockDir, { recursive: true, force: true })
        continue
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lockDir}`)
      if (!told) log(`waiting for another process (${owner?.pid ?? "?"}) to resolve the jars`)
      told = true
      await sleep(500)
    }
  }
  try {
    await body()
  } finally {
    await fsp.rm(lockDir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
  readonly spawnError?: string
}

export function run(
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly input?: string; readonly timeoutMs?: number; readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {}
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    let spawnError: string | undefined
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.stdin.on("error", () => {}) // the tool may exit before reading all its input
    child.stdin.end(options.input ?? "")
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, options.timeoutMs ?? 120_000)
    child.on("error", (error) => {
      spawnError = error.message
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut, ...(spawnError === undefined ? {} : { spawnError }) })
    })
  })
}

/** Identifies a process across pid reuse: its start time. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    if (process.platform === "linux") return undefined
    const r = spawnSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8" })
    const s = r.stdout?.trim()
    return s === undefined || s === "" ? undefined : s
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")
  } catch {
    if (process.platform === "linux") return undefined
    const r = spawnSync("ps", ["-ww", "-o", "args=", "-p", String(pid)], { encoding: "utf8" })
    const s = r.stdout?.trim()
    return s === undefined || s === "" ? undefined : s
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
  // A zombie (exited, not yet reaped: a detached broker whose parent is gone) is not alive.
  const stat = readText(`/proc/${pid}/stat`)
  return stat === undefined || stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
}

interface Owner {
  readonly pid: number
  readonly startTime: string | undefined
}

function selfOwner(): Owner {
  return { pid: process.pid, startTime: processStartTime(process.pid) }
}

function ownerAlive(owner: Owner): boolean {
  return isAlive(owner.pid) && processStartTime(owner.pid) === owner.startTime
}

/** A broker process of a run: alive and its command line names the run folder. */
function brokerAlive(pid: number, runDir: string): boolean {
  return isAlive(pid) && (commandLine(pid)?.includes(runDir) ?? false)
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}

/** Brokers of this process that are not detached: killed if the process exits without stopping them. */
const attached = new Set<ChildProcess>()
let exitHookInstalled = false
export function trackAttached(child: ChildProcess): void {
  attached.add(child)
  child.once("exit", () => attached.delete(child))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => {
      for (const c of attached) c.kill("SIGKILL")
    })
  }
}

// ---------------------------------------------------------------------------------------------
// Ports, ids, properties

/** Asks the OS for `count` distinct free ports on 127.0.0.1 (listen on 0, read, close). */
export async function freePorts(count: number): Promise<Array<number>> {
  const servers = await Promise.all(Array.from({ length: count }, () =>
    new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer()
      server.unref()
      server.once("error", reject)
      server.listen(0, HOST, () => resolve(server))
    })))
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  return ports
}

/** A Kafka cluster id: 16 random bytes in URL-safe base64 without padding (as `Uuid.toString`). */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url")
    if (!id.startsWith("-")) return id
  }
}

type Props = Record<string, string | number | boolean>

function escapeProperty(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
}

/** Writes a Java `.properties` file. */
export async function writeProperties(file: string, props: Props): Promise<string> {
  const body = Object.entries(props).map(([k, v]) => `${k}=${escapeProperty(String(v))}`).join("\n")
  await fsp.mkdir(path.dirname(file), { recursive: true })
  await fsp.writeFile(file, body + "\n")
  return file
}

// ---------------------------------------------------------------------------------------------
// Java tools

/** Kafka's command-line tools by their script names (`bin/<name>.sh` in a Kafka distribution). */
export const TOOLS = {
  "kafka-topics": "org.apache.kafka.tools.TopicCommand",
  "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
  "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
  "kafka-console-share-consumer": "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
  "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
  "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
  "kafka-share-consumer-perf-test": "org.apache.kafka.tools.ShareConsumerPerformance",
  "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
  "kafka-groups": "org.apache.kafka.tools.GroupsCommand",
  "kafka-share-groups": "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
  "kafka-configs": "org.apache.kafka.tools.ConfigCommand",
  "kafka-acls": "org.apache.kafka.tools.AclCommand",
  "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
  "kafka-delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
  "kafka-leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
  "kafka-reassign-partitions": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
  "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
  "kafka-features": "org.apache.kafka.tools.FeatureCommand",
  "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
  "kafka-broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
  "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
  "kafka-storage": "kafka.tools.StorageTool"
} as const

export type ToolName = keyof typeof TOOLS

/** JVM flags for short-lived tools: start fast (C1 only, serial GC, class-data sharing). */
const TOOL_JVM = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-Xms32m", "-Xmx512m"]
/** Throughput tools get the full JIT. */
const PERF_JVM = ["-XX:+UseParallelGC", "-Xshare:auto", "-Xmx1g"]

export interface ToolOptions {
  /** Written to the tool's stdin, which is then closed (it is closed at once without it). */
  readonly input?: string
  /** Killed (SIGKILL) after this long; default 120 s. */
  readonly timeoutMs?: number
  /** JVM flags replacing the defaults. */
  readonly jvm?: ReadonlyArray<string>
  readonly env?: NodeJS.ProcessEnv
}

export interface ToolResult {
  /** Exit code, `null` when killed by a signal (see `timedOut`). */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

/**
 * Runs one of Kafka's tools (a script name of {@link TOOLS} or a main class name) with the harness's
 * jars; resolves with its exit code and output (it does not throw on a non-zero exit).
 *
 * @example
 * ```ts
 * const r = await runJavaTool("kafka-topics", ["--bootstrap-server", "127.0.0.1:9092", "--list"])
 * ```
 */
export async function runJavaTool(
  tool: ToolName | (string & {}),
  args: ReadonlyArray<string>,
  options: ToolOptions = {}
): Promise<ToolResult> {
  const jars = await ensureJars()
  const className = (TOOLS as Record<string, string>)[tool] ?? tool
  const jvm = options.jvm ?? (tool.endsWith("-perf-test") ? PERF_JVM : TOOL_JVM)
  const cds = classData(jars, className)
  const r = await run(javaBin(), [
    ...jvm, ...COMMON_JVM, ...cds.flags, `-Dlog4j2.configurationFile=${TOOLS_LOG4J}`,
    "-cp", path.join(jars, "*"), className, ...args
  ], {
    ...(options.input === undefined ? {} : { input: options.input }),
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.env === undefined ? {} : { env: options.env })
  })
  cds.done(r.code === 0 && !r.timedOut)
  if (r.spawnError !== undefined) throw new Error(`could not run ${javaBin()}: ${r.spawnError}`)
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut }
}

// ---------------------------------------------------------------------------------------------
// Runs on disk

export type Shape = "single" | "cluster" | "secured"

/** What `run.json` in a run folder holds. */
export interface RunInfo {
  readonly id: string
  readonly shape: Shape
  readonly createdAt: string
  /** The process that started the run; `null` when detached (`npm run kafka:start`). */
  readonly owner: Owner | null
  readonly kafkaVersion: string
  /** PLAINTEXT `host:port` of every node. */
  readonly brokers: ReadonlyArray<string>
  /** Listener name → `host:port` of every node. */
  readonly listeners: Readonly<Record<string, ReadonlyArray<string>>>
  readonly nodes: ReadonlyArray<{ readonly nodeId: number; readonly dir: string }>
  /** Shape-specific details (the secured broker's users and TLS files). */
  readonly extra?: unknown
}

function readJson<A>(file: string): A | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as A
  } catch {
    return undefined
  }
}

/** A run folder found on disk, with its live broker pids. */
export interface RunOnDisk {
  readonly dir: string
  readonly info: RunInfo | undefined
  readonly livePids: ReadonlyArray<number>
  readonly live: ReadonlyArray<{ readonly nodeId: number; readonly pid: number }>
}

/** Every run folder under `.kafka/runs/`, newest first. */
export function listRuns(): Array<RunOnDisk> {
  let names: Array<string>
  try {
    names = fs.readdirSync(RUNS_DIR)
  } catch {
    return []
  }
  return names.sort().reverse().map((name) => {
    const dir = path.join(RUNS_DIR, name)
    const info = readJson<RunInfo>(path.join(dir, "run.json"))
    const live: Array<{ nodeId: number; pid: number }> = []
    let entries: Array<fs.Dirent> = []
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch {
      // removed meanwhile
    }
    for (const node of entries) {
      if (!node.isDirectory() || !node.name.startsWith("node-")) continue
      const pid = Number(readText(path.join(dir, node.name, "pid")))
      if (pid > 0 && brokerAlive(pid, dir)) live.push({ nodeId: Number(node.name.slice("node-".length)), pid })
    }
    return { dir, info, live, livePids: live.map((n) => n.pid) }
  })
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8").trim()
  } catch {
    return undefined
  }
}

/** One process of a group being stopped. */
interface Member {
  /** A controller-quorum voter. */
  readonly voter: boolean
  readonly alive: () => boolean
  readonly signal: (signal: NodeJS.Signals) => void
}

/**
 * SIGTERM every member, SIGKILL whatever still runs after `graceMs`, or as soon as fewer than a
 * majority of the `voters` quorum voters are left: a node without a controller quorum cannot finish
 * a controlled shutdown and would only sit out the grace period.
 */
async function terminateGroup(members: ReadonlyArray<Member>, voters: number, graceMs: number): Promise<void> {
  const majority = Math.floor(voters / 2) + 1
  for (const m of members) if (m.alive()) m.signal("SIGTERM")
  const deadline = Date.now() + graceMs
  while (members.some((m) => m.alive())) {
    const quorumLost = voters > 1 && members.filter((m) => m.voter && m.alive()).length < majority
    if (quorumLost || Date.now() >= deadline) {
      for (const m of members) if (m.alive()) m.signal("SIGKILL")
      const killDeadline = Date.now() + 10_000
      while (members.some((m) => m.alive()) && Date.now() < killDeadline) await sleep(50)
      return
    }
    await sleep(50)
  }
}

function pidMember(pid: number, voter: boolean): Member {
  return {
    voter,
    alive: () => isAlive(pid),
    signal: (signal) => {
      try {
        process.kill(pid, signal)
      } catch {
        // gone already
      }
    }
  }
}

/**
 * Kills brokers left by runs whose starting process is gone (a crashed or killed test run), or
 * with `all`, every broker of this checkout (`npm run kafka:stop`). Returns the runs touched.
 */
export async function killStaleBrokers(options: { readonly all?: boolean; readonly log?: Log } = {}): Promise<Array<RunOnDisk>> {
  const log = options.log ?? defaultLog
  const touched: Array<RunOnDisk> = []
  for (const r of listRuns()) {
    if (r.livePids.length === 0) continue
    const owner = r.info?.owner
    const stale = owner !== undefined && owner !== null && !ownerAlive(owner)
    if (!(options.all === true || stale)) continue
    log(`stopping ${stale ? "stale " : ""}broker(s) ${r.livePids.join(", ")} of ${path.relative(REPO_ROOT, r.dir)}`)
    const voters = Math.min(3, r.info?.nodes.length ?? 1)
    await terminateGroup(r.live.map((n) => pidMember(n.pid, n.nodeId <= voters)), voters, options.all === true ? 10_000 : 0)
    touched.push(r)
  }
  return touched
}

/** Removes old run folders, keeping the newest few and any whose brokers or owner still live. */
async function pruneRuns(): Promise<void> {
  let kept = 0
  for (const r of listRuns()) {
    const owner = r.info?.owner
    const busy = r.livePids.length > 0 || (owner !== undefined && owner !== null && ownerAlive(owner)) ||
      // a run being created right now has no run.json yet
      (r.info === undefined && Date.now() - (fs.statSync(r.dir, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 120_000)
    if (busy) continue
    if (++kept > KEEP_RUNS) await fsp.rm(r.dir, { recursive: true, force: true }).catch(() => {})
  }
}

let runCounter = 0
async function newRunDir(shape: Shape): Promise<{ id: string; dir: string }> {
  await fsp.mkdir(RUNS_DIR, { recursive: true })
  for (;;) {
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "")
    const id = `${stamp}-${shape}-${process.pid}-${++runCounter}`
    const dir = path.join(RUNS_DIR, id)
    try {
      await fsp.mkdir(dir)
      return { id, dir }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Nodes

/** One Kafka node (a combined broker/controller process) of a running handle. */
export interface KafkaNode {
  readonly nodeId: number
  /** `127.0.0.1:port` of the PLAINTEXT listener. */
  readonly bootstrap: string
  readonly port: number
  readonly controllerPort: number
  /**
   * Port of the CLIENT listener (clusters started with `clientAdvertisedPorts`): clients are told
   * to reach it at the advertised port (a proxy's), the proxy forwards here.
   */
  readonly clientPort: number | undefined
  /** The node's folder: `server.properties`, `data/`, `logs/server.log`, `stdout.log`, `pid`. */
  readonly dir: string
  /** The broker's log4j log. */
  readonly logFile: string
  /** The JVM's stdout and stderr (startup failures, errors). */
  readonly stdoutFile: string
  /** The current process, `undefined` once stopped or killed. */
  readonly process: ChildProcess | undefined
  readonly pid: number | undefined
  readonly running: boolean
}

class NodeState implements KafkaNode {
  readonly nodeId: number
  readonly port: number
  readonly controllerPort: number
  readonly clientPort: number | undefined
  readonly dir: string
  readonly propsFile: string
  process: ChildProcess | undefined = undefined
  exited: Promise<void> = Promise.resolve()

  constructor(nodeId: number, port: number, controllerPort: number, clientPort: number | undefined, dir: string) {
    this.nodeId = nodeId
    this.port = port
    this.controllerPort = controllerPort
    this.clientPort = clientPort
    this.dir = dir
    this.propsFile = path.join(dir, "server.properties")
  }
  get bootstrap(): string {
    return `${HOST}:${this.port}`
  }
  get logFile(): string {
    return path.join(this.dir, "logs", "server.log")
  }
  get stdoutFile(): string {
    return path.join(this.dir, "stdout.log")
  }
  get dataDir(): string {
    return path.join(this.dir, "data")
  }
  get pid(): number | undefined {
    return this.process?.pid
  }
  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null
  }
}

class StartError extends Error {
  readonly bindFailure: boolean
  constructor(message: string, bindFailure: boolean) {
    super(message)
    this.bindFailure = bindFailure
  }
}

export function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines - 1).join("\n")
}

function fileTail(file: string, lines: number): string {
  const text = readText(file)
  return text === undefined || text === "" ? `(${file}: empty or missing)` : `--- ${file}\n${tail(text, lines)}`
}

function fileSize(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0
}

function readFrom(file: string, offset: number): string {
  let fd: number
  try {
    fd = fs.openSync(file, "r")
  } catch {
    return ""
  }
  try {
    const size = fs.fstatSync(fd).size
    if (size <= offset) return ""
    const buf = Buffer.alloc(size - offset)
    fs.readSync(fd, buf, 0, buf.length, offset)
    return buf.toString("utf8")
  } finally {
    fs.closeSync(fd)
  }
}

function tcpConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    socket.setTimeout(2000)
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })
}

interface Launch {
  readonly jars: string
  readonly runDir: string
  readonly heap: string
  readonly jvm: ReadonlyArray<string>
  readonly detached: boolean
  readonly startTimeoutMs: number
}

function spawnNode(node: NodeState, launch: Launch): void {
  fs.mkdirSync(path.join(node.dir, "logs"), { recursive: true })
  const out = fs.openSync(node.stdoutFile, "a")
  const cds = classData(launch.jars, "kafka.Kafka")
  const child = spawn(javaBin(), [
    `-Xmx${launch.heap}`, "-Xms256m",
    "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent", "-XX:+ExitOnOutOfMemoryError",
    ...COMMON_JVM, ...cds.flags, ...launch.jvm,
    `-Dkafka.logs.dir=${path.join(node.dir, "logs")}`,
    `-Dlog4j2.configurationFile=${BROKER_LOG4J}`,
    `-Dkpax.run=${launch.runDir}`,
    "-cp", path.join(launch.jars, "*"), "kafka.Kafka", node.propsFile
  ], { cwd: node.dir, stdio: ["ignore", out, out], detached: launch.detached })
  fs.closeSync(out)
  node.process = child
  node.exited = new Promise((resolve) => {
    child.once("exit", (code) => {
      // A broker stopped by SIGTERM exits 143 after a clean shutdown (and after writing its archive).
      cds.done(code === 0 || code === 143)
      resolve()
    })
  })
  child.once("error", () => {}) // reported through the exit and the stdout log
  if (launch.detached) child.unref()
  else trackAttached(child)
  if (child.pid !== undefined) fs.writeFileSync(path.join(node.dir, "pid"), String(child.pid))
}

/** Waits for "Kafka Server started" in the node's log (after `logOffset`) and a TCP connect. */
async function waitReady(node: NodeState, logOffset: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const child = node.process
  let seen = ""
  for (;;) {
    seen += readFrom(node.logFile, logOffset + Buffer.byteLength(seen))
    if (/Kafka Server started/.test(seen) && (await tcpConnect(node.port))) return
    const exited = child === undefined || child.exitCode !== null || child.signalCode !== null
    if (exited || Date.now() > deadline) {
      const all = seen + (readText(node.stdoutFile) ?? "")
      const bindFailure = /Address already in use|BindException/.test(all)
      const why = exited
        ? `exited (code ${child?.exitCode ?? "?"}${child?.signalCode ? `, ${child.signalCode}` : ""}) before it started`
        : `did not start within ${Math.round(timeoutMs / 1000)} s`
      throw new StartError(
        `Kafka node ${node.nodeId} (${node.bootstrap}) ${why}.\n` +
          `${fileTail(node.logFile, 40)}\n${fileTail(node.stdoutFile, 20)}`,
        bindFailure
      )
    }
    await sleep(200)
  }
}

async function stopNode(node: NodeState, timeoutMs: number): Promise<void> {
  const child = node.process
  if (child === undefined) return
  if (node.running) {
    child.kill("SIGTERM")
    let timer: NodeJS.Timeout | undefined
    const done = await Promise.race([
      node.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))
    ])
    clearTimeout(timer)
    if (!done) {
      child.kill("SIGKILL")
      await node.exited
    }
  }
  node.process = undefined
}

async function format(node: NodeState, clusterId: string, extraArgs: ReadonlyArray<string>): Promise<void> {
  const r = await runJavaTool("kafka-storage", ["format", "-t", clusterId, "-c", node.propsFile, ...extraArgs], {
    timeoutMs: 120_000
  })
  if (r.code !== 0) {
    throw new Error(`kafka-storage format failed for node ${node.nodeId} (exit ${r.code}):\n${r.stdout}${r.stderr}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Handles

/** Options of every start function. */
export interface StartOptions {
  /** Broker properties added to (or replacing) the harness's. */
  readonly config?: Readonly<Props>
  /** Maximum heap of each broker JVM (`-Xmx`); default `1g`. */
  readonly heap?: string
  /**
   * C1-only JIT for the brokers (default true): a broker boots on about half the CPU, which matters
   * on small machines running several; pass false for full-speed brokers (benchmarks).
   */
  readonly fastStart?: boolean
  /** Extra JVM flags for the brokers. */
  readonly jvm?: ReadonlyArray<string>
  /** The brokers outlive this process (as `npm run kafka:start`); default false. */
  readonly detached?: boolean
  /** How long to wait for each broker to serve; default 180 s (`KPAX_KAFKA_START_TIMEOUT_MS`). */
  readonly startTimeoutMs?: number
  readonly log?: Log
}

export interface StopOptions {
  /** Grace period after SIGTERM before SIGKILL; default 15 s. */
  readonly timeoutMs?: number
  /** Keep the nodes' data folders (logs are always kept); default false. */
  readonly keepData?: boolean
}

/** A running Kafka (one node or several). */
export interface KafkaHandle {
  readonly shape: Shape
  readonly runId: string
  /** `.kafka/runs/<id>/`: configuration, data and logs of this run. */
  readonly runDir: string
  readonly clusterId: string
  /** PLAINTEXT `host:port` of every node. */
  readonly brokers: ReadonlyArray<string>
  /** `brokers` joined with commas, as `--bootstrap-server` takes it. */
  readonly bootstrapServers: string
  readonly nodes: ReadonlyArray<KafkaNode>
  /** The broker log files, one per node. */
  readonly logFiles: ReadonlyArray<string>
  node(nodeId: number): KafkaNode
  /** Sends `signal` (default SIGKILL: a crash) to one node and waits for it to exit. */
  kill(nodeId: number, signal?: NodeJS.Signals): Promise<void>
  /** Starts a node again (stopping it first if it runs) with its data, and waits until it serves. */
  restart(nodeId: number): Promise<void>
  /** SIGTERM every node, SIGKILL after the timeout; removes the data folders unless `keepData`. */
  stop(options?: StopOptions): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** SASL mechanisms the secured broker enables. */
export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"
export type SecurityProtocol = "PLAINTEXT" | "SASL_PLAINTEXT" | "SASL_SSL" | "SSL"

/** TLS material of the secured broker, generated per run. */
export interface TlsFiles {
  /** The throw-away CA's certificate (PEM): trust this in Node clients (`ca`). */
  readonly caPem: string
  /** A truststore for Java clients. */
  readonly truststore: { readonly location: string; readonly type: "PEM" | "PKCS12"; readonly password?: string }
  /** A client certificate signed by the CA (SSL listener requests one: mutual TLS is optional). */
  readonly clientKeystore: { readonly location: string; readonly type: "PKCS12"; readonly password: string }
  /** The client certificate and key as PEM for Node (`cert`, `key`), when openssl made them. */
  readonly clientCertPem?: string
  readonly clientKeyPem?: string
  /** Which tool generated them. */
  readonly generator: "openssl" | "keytool"
}

export interface ClientSecurity {
  readonly protocol: SecurityProtocol
  /** Required for the SASL protocols. */
  readonly mechanism?: SaslMechanism
  /** Default: the first user. */
  readonly username?: string
  readonly password?: string
  /** Present the client certificate (SSL / SASL_SSL). */
  readonly clientCertificate?: boolean
}

/** One node with PLAINTEXT, SASL_PLAINTEXT, SASL_SSL and SSL listeners. */
export interface SecuredKafka extends KafkaHandle {
  /** `host:port` of each listener. */
  readonly listeners: Readonly<Record<SecurityProtocol, string>>
  /** Users known to PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 alike. */
  readonly users: ReadonlyArray<{ readonly username: string; readonly password: string }>
  readonly mechanisms: ReadonlyArray<SaslMechanism>
  readonly tls: TlsFiles
  /** Java client properties (security.protocol, sasl.*, ssl.*, bootstrap.servers) for a listener. */
  clientProperties(security: ClientSecurity): Record<string, string>
  /** Writes {@link clientProperties} (plus `extra`) to a file in the run folder; returns its path. */
  clientConfigFile(name: string, security: ClientSecurity, extra?: Readonly<Props>): Promise<string>
}

interface NodeLayout {
  readonly nodeId: number
  /** Listener name → port; PLAINTEXT and CONTROLLER always present. */
  readonly ports: Readonly<Record<string, number>>
}

interface Blueprint {
  readonly shape: Shape
  /** How many ports each node needs; listener names in order, PLAINTEXT and CONTROLLER first. */
  readonly listeners: ReadonlyArray<string>
  readonly nodeIds: ReadonlyArray<number>
  /** Properties of one node, given every node's layout. */
  readonly props: (node: NodeLayout, all: ReadonlyArray<NodeLayout>) => Props
  /** Work in the run folder before formatting (certificates); returns what goes in run.json. */
  readonly prepare?: (runDir: string) => Promise<unknown>
  readonly formatArgs?: ReadonlyArray<string>
}

function baseProps(node: NodeLayout, all: ReadonlyArray<NodeLayout>): Props {
  const voters = all.slice(0, 3).map((n) => `${n.nodeId}@${HOST}:${n.ports.CONTROLLER}`).join(",")
  const listenerNames = Object.keys(node.ports)
  const rf = Math.min(all.length, 3)
  const minIsr = rf >= 3 ? 2 : 1
  return {
    "process.roles": all.indexOf(node) < 3 ? "broker,controller" : "broker",
    "node.id": node.nodeId,
    "controller.quorum.voters": voters,
    "listeners": listenerNames.map((l) => `${l}://${HOST}:${node.ports[l]}`).join(","),
    "advertised.listeners": listenerNames.filter((l) => l !== "CONTROLLER").map((l) => `${l}://${HOST}:${node.ports[l]}`).join(","),
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": listenerNames.map((l) => `${l}:${l === "CONTROLLER" || l === "CLIENT" ? "PLAINTEXT" : l}`).join(","),
    // Test-sized defaults: one partition per new topic, no rebalance delay, small internal topics.
    "num.partitions": 1,
    "default.replication.factor": rf,
    "min.insync.replicas": minIsr,
    "offsets.topic.replication.factor": rf,
    "offsets.topic.num.partitions": 10,
    "transaction.state.log.replication.factor": rf,
    "transaction.state.log.min.isr": minIsr,
    "transaction.state.log.num.partitions": 10,
    "share.coordinator.state.topic.replication.factor": rf,
    "share.coordinator.state.topic.min.isr": minIsr,
    "group.initial.rebalance.delay.ms": 0,
    // A killed node is fenced (its partitions get new leaders) in 4 s instead of 9 s.
    "broker.heartbeat.interval.ms": 500,
    "broker.session.timeout.ms": 4000,
    // Small JVMs on a small machine.
    "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
    "num.network.threads": 2,
    "num.io.threads": 4,
    "num.recovery.threads.per.data.dir": 1
  }
}

async function startRun(blueprint: Blueprint, options: StartOptions): Promise<{ handle: KafkaHandle; extra: unknown; ports: ReadonlyArray<NodeLayout> }> {
  const log = options.log ?? defaultLog
  const started = Date.now()
  const jars = await ensureJars(log)
  await killStaleBrokers({ log })
  await pruneRuns()
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await startAttempt(blueprint, options, jars)
      const first = result.handle.nodes[0]
      log(`${blueprint.shape} Kafka ${KAFKA_VERSION} up in ${secondsSince(started)} at ${result.handle.bootstrapServers} ` +
        `(logs: ${path.relative(REPO_ROOT, first === undefined ? result.handle.runDir : path.dirname(first.logFile))})`)
      return result
    } catch (error) {
      // Another process may take a port between asking the OS for it and the broker binding it.
      if (error instanceof StartError && error.bindFailure && attempt < 3) {
        log(`port taken meanwhile, starting again: ${error.message.split("\n")[0]}`)
        continue
      }
      throw error
    }
  }
}

async function startAttempt(blueprint: Blueprint, options: StartOptions, jars: string) {
  const { id, dir: runDir } = await newRunDir(blueprint.shape)
  const portList = await freePorts(blueprint.nodeIds.length * blueprint.listeners.length)
  const layouts: Array<NodeLayout> = blueprint.nodeIds.map((nodeId, i) => ({
    nodeId,
    ports: Object.fromEntries(blueprint.listeners.map((l, j) => [l, portList[i * blueprint.listeners.length + j]!]))
  }))
  const nodes = layouts.map((l) => new NodeState(l.nodeId, l.ports.PLAINTEXT!, l.ports.CONTROLLER!, l.ports.CLIENT, path.join(runDir, `node-${l.nodeId}`)))
  const clusterId = randomClusterId()
  const detached = options.detached ?? false
  const launch: Launch = {
    jars,
    runDir,
    heap: options.heap ?? "1g",
    jvm: [...(options.fastStart ?? true ? ["-XX:TieredStopAtLevel=1"] : []), ...(options.jvm ?? [])],
    detached,
    startTimeoutMs: options.startTimeoutMs ?? (Number(process.env.KPAX_KAFKA_START_TIMEOUT_MS) || 180_000)
  }
  const extra = blueprint.prepare === undefined ? undefined : await blueprint.prepare(runDir)
  const info: RunInfo = {
    id,
    shape: blueprint.shape,
    createdAt: new Date().toISOString(),
    owner: detached ? null : selfOwner(),
    kafkaVersion: KAFKA_VERSION,
    brokers: nodes.map((n) => n.bootstrap),
    listeners: Object.fromEntries(blueprint.listeners.filter((l) => l !== "CONTROLLER")
      .map((l) => [l, layouts.map((n) => `${HOST}:${n.ports[l]}`)])),
    nodes: nodes.map((n) => ({ nodeId: n.nodeId, dir: n.dir })),
    ...(extra === undefined ? {} : { extra })
  }
  await fsp.writeFile(path.join(runDir, "run.json"), JSON.stringify(info, null, 2))
  await Promise.all(nodes.map(async (node, i) => {
    await fsp.mkdir(node.dataDir, { recursive: true })
    await writeProperties(node.propsFile, { ...blueprint.props(layouts[i]!, layouts), ...options.config, "log.dirs": node.dataDir })
    await format(node, clusterId, blueprint.formatArgs ?? [])
  }))

  const handle = makeHandle(blueprint.shape, id, runDir, clusterId, nodes, launch)
  try {
    for (const node of nodes) spawnNode(node, launch)
    await Promise.all(nodes.map((node) => waitReady(node, 0, launch.startTimeoutMs)))
  } catch (error) {
    await handle.stop({ timeoutMs: 2000, keepData: true })
    throw error
  }
  return { handle, extra, ports: layouts }
}

function makeHandle(shape: Shape, runId: string, runDir: string, clusterId: string, nodes: ReadonlyArray<NodeState>, launch: Launch): KafkaHandle {
  const byId = (nodeId: number): NodeState => {
    const node = nodes.find((n) => n.nodeId === nodeId)
    if (node === undefined) throw new Error(`no node ${nodeId} (nodes: ${nodes.map((n) => n.nodeId).join(", ")})`)
    return node
  }
  let stopped: Promise<void> | undefined
  const stop = (options: StopOptions = {}): Promise<void> => {
    stopped ??= (async () => {
      const voters = Math.min(3, nodes.length)
      await terminateGroup(nodes.map((n, i) => ({
        voter: i < voters,
        alive: () => n.running,
        signal: (signal) => n.process?.kill(signal)
      })), voters, options.timeoutMs ?? 15_000)
      await Promise.all(nodes.map((n) => n.exited))
      for (const n of nodes) n.process = undefined
      if (options.keepData !== true) {
        await Promise.all(nodes.map((n) => fsp.rm(n.dataDir, { recursive: true, force: true })))
      }
    })()
    return stopped
  }
  const brokers = nodes.map((n) => n.bootstrap)
  return {
    shape,
    runId,
    runDir,
    clusterId,
    brokers,
    bootstrapServers: brokers.join(","),
    nodes,
    logFiles: nodes.map((n) => n.logFile),
    node: byId,
    kill: async (nodeId, signal = "SIGKILL") => {
      const node = byId(nodeId)
      if (node.running) {
        node.process?.kill(signal)
        await node.exited
      }
      node.process = undefined
    },
    restart: async (nodeId) => {
      const node = byId(nodeId)
      await stopNode(node, 15_000)
      const offset = fileSize(node.logFile)
      spawnNode(node, launch)
      await waitReady(node, offset, launch.startTimeoutMs)
    },
    stop,
    [Symbol.asyncDispose]: () => stop()
  }
}

// ---------------------------------------------------------------------------------------------
// The three shapes

/**
 * One combined broker/controller (node 1) on 127.0.0.1 with a free port.
 *
 * @example
 * ```ts
 * const kafka = await startSingle()
 * console.log(kafka.bootstrapServers) // 127.0.0.1:40123
 * await kafka.stop()
 * ```
 */
export async function startSingle(options: StartOptions = {}): Promise<KafkaHandle> {
  const { handle } = await startRun({
    shape: "single",
    listeners: ["PLAINTEXT", "CONTROLLER"],
    nodeIds: [1],
    props: (node, all) => baseProps(node, all)
  }, options)
  return handle
}

/**
 * `size` nodes (default 3; nodes 1..size); the first three are combined broker/controllers forming
 * the controller quorum, so one node can be killed and the cluster keeps working. Internal topics
 * and new topics default to replication factor 3 with min.insync.replicas 2.
 *
 * @example
 * ```ts
 * const cluster = await startCluster(3)
 * await cluster.kill(2)      // crash node 2; leaders move to 1 and 3
 * await cluster.restart(2)
 * await cluster.stop()
 * ```
 */
export async function startCluster(size = 3, options: ClusterStartOptions = {}): Promise<KafkaHandle> {
  if (size < 1) throw new Error("a cluster needs at least one node")
  const advertised = options.clientAdvertisedPorts
  if (advertised !== undefined && advertised.length !== size) throw new Error(`clientAdvertisedPorts needs ${size} ports, got ${advertised.length}`)
  const { handle } = await startRun({
    shape: "cluster",
    listeners: advertised === undefined ? ["PLAINTEXT", "CONTROLLER"] : ["PLAINTEXT", "CONTROLLER", "CLIENT"],
    nodeIds: Array.from({ length: size }, (_, i) => i + 1),
    props: (node, all) => {
      const props = baseProps(node, all)
      if (advertised === undefined) return props
      // inter-broker traffic stays on PLAINTEXT; clients are sent to the proxy's port
      return {
        ...props,
        "advertised.listeners": `PLAINTEXT://${HOST}:${node.ports.PLAINTEXT}, CLIENT://${HOST}:${advertised[all.indexOf(node)]}`.replace(" ", "")
      }
    }
  }, options)
  return handle
}

/** {@link startCluster}'s options. */
export interface ClusterStartOptions extends StartOptions {
  /**
   * Adds a PLAINTEXT listener named CLIENT to every node, advertised at `127.0.0.1:<port>` (one per
   * node, in node order): the ports of a proxy in front of the brokers (fault injection), which
   * forwards to each node's `clientPort`. Brokers replicate over PLAINTEXT, bypassing the proxy.
   */
  readonly clientAdvertisedPorts?: ReadonlyArray<number>
}

const USERS = [
  { username: "alice", password: "alice-secret" },
  { username: "bob", password: "bob-secret" }
] as const
const MECHANISMS: ReadonlyArray<SaslMechanism> = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
const STORE_PASSWORD = "kpax-test-store"

/**
 * One node with listeners PLAINTEXT (admin, inter-broker), SASL_PLAINTEXT, SASL_SSL and SSL.
 * SASL mechanisms PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 all know the users `alice`/`alice-secret`
 * and `bob`/`bob-secret` (SCRAM credentials are written at format time). TLS uses a CA and
 * certificates made for this run (`tls.caPem`); the SSL listener requests, but does not require,
 * a client certificate.
 *
 * @example
 * ```ts
 * const kafka = await startSecured()
 * const file = await kafka.clientConfigFile("alice", { protocol: "SASL_SSL", mechanism: "SCRAM-SHA-512" })
 * await runJavaTool("kafka-topics", ["--bootstrap-server", kafka.listeners.SASL_SSL, "--command-config", file, "--list"])
 * ```
 */
export async function startSecured(options: StartOptions = {}): Promise<SecuredKafka> {
  let tls: TlsFiles | undefined
  const jaas = (mechanism: SaslMechanism): string => mechanism === "PLAIN"
    ? `org.apache.kafka.common.security.plain.PlainLoginModule required ${USERS.map((u) => `user_${u.username}="${u.password}"`).join(" ")};`
    : "org.apache.kafka.common.security.scram.ScramLoginModule required;"
  const { handle, ports } = await startRun({
    shape: "secured",
    listeners: ["PLAINTEXT", "CONTROLLER", "SASL_PLAINTEXT", "SASL_SSL", "SSL"],
    nodeIds: [1],
    prepare: async (runDir) => {
      tls = await makeTls(path.join(runDir, "tls"))
      return { tls, users: USERS }
    },
    formatArgs: USERS.flatMap((u) => ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((m) =>
      ["--add-scram", `${m}=[name=${u.username},password=${u.password}]`])),
    props: (node, all) => {
      const t = tls!
      const props: Props = {
        ...baseProps(node, all),
        "sasl.enabled.mechanisms": MECHANISMS.join(","),
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": path.join(path.dirname(t.caPem), "broker.p12"),
        "ssl.keystore.password": STORE_PASSWORD,
        "ssl.key.password": STORE_PASSWORD,
        "ssl.truststore.type": t.truststore.type,
        "ssl.truststore.location": t.truststore.location,
        ...(t.truststore.password === undefined ? {} : { "ssl.truststore.password": t.truststore.password }),
        "listener.name.ssl.ssl.client.auth": "requested"
      }
      for (const listener of ["sasl_plaintext", "sasl_ssl"]) {
        for (const m of MECHANISMS) props[`listener.name.${listener}.${m.toLowerCase()}.sasl.jaas.config`] = jaas(m)
      }
      return props
    }
  }, options)
  const layout = ports[0]!
  const t = tls!
  const listeners: Record<SecurityProtocol, string> = {
    PLAINTEXT: `${HOST}:${layout.ports.PLAINTEXT}`,
    SASL_PLAINTEXT: `${HOST}:${layout.ports.SASL_PLAINTEXT}`,
    SASL_SSL: `${HOST}:${layout.ports.SASL_SSL}`,
    SSL: `${HOST}:${layout.ports.SSL}`
  }
  const clientProperties = (security: ClientSecurity): Record<string, string> => {
    const props: Record<string, string> = {
      "bootstrap.servers": listeners[security.protocol],
      "security.protocol": security.protocol
    }
    if (security.protocol === "SASL_PLAINTEXT" || security.protocol === "SASL_SSL") {
      const mechanism = security.mechanism ?? "PLAIN"
      const username = security.username ?? USERS[0].username
      const password = security.password ?? USERS.find((u) => u.username === username)?.password ?? ""
      const module = mechanism === "PLAIN"
        ? "org.apache.kafka.common.security.plain.PlainLoginModule"
        : "org.apache.kafka.common.security.scram.ScramLoginModule"
      props["sasl.mechanism"] = mechanism
      props["sasl.jaas.config"] = `${module} required username="${username}" password="${password}";`
    }
    if (security.protocol === "SSL" || security.protocol === "SASL_SSL") {
      props["ssl.truststore.type"] = t.truststore.type
      props["ssl.truststore.location"] = t.truststore.location
      if (t.truststore.password !== undefined) props["ssl.truststore.password"] = t.truststore.password
      if (security.clientCertificate === true) {
        props["ssl.keystore.type"] = t.clientKeystore.type
        props["ssl.keystore.location"] = t.clientKeystore.location
        props["ssl.keystore.password"] = t.clientKeystore.password
        props["ssl.key.password"] = t.clientKeystore.password
      }
    }
    return props
  }
  return {
    ...handle,
    listeners,
    users: USERS,
    mechanisms: MECHANISMS,
    tls: t,
    clientProperties,
    clientConfigFile: (name, security, extra = {}) =>
      writeProperties(path.join(handle.runDir, "clients", `${name.replace(/[^\w.-]/g, "_")}.properties`), {
        ...clientProperties(security),
        ...extra
      })
  }
}

// ---------------------------------------------------------------------------------------------
// TLS material

function hasOpenssl(): boolean {
  if (process.env.KPAX_CERT_TOOL === "keytool") return false
  return spawnSync("openssl", ["version"], { encoding: "utf8" }).status === 0
}

async function must(command: string, args: ReadonlyArray<string>, cwd: string): Promise<void> {
  const r = await run(command, args, { cwd, timeoutMs: 60_000 })
  if (r.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (exit ${r.code}${r.spawnError === undefined ? "" : `, ${r.spawnError}`}):\n${r.stdout}${r.stderr}`)
  }
}

const OPENSSL_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = kpax
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`

/**
 * A throw-away CA, a broker certificate for localhost/127.0.0.1 and a client certificate, in `dir`.
 * openssl when present (fast, and gives PEM keys for Node), else the JDK's keytool.
 */
export async function makeTls(dir: string): Promise<TlsFiles> {
  await fsp.mkdir(dir, { recursive: true })
  const p12 = (name: string) => path.join(dir, `${name}.p12`)
  const clientKeystore = { location: p12("client"), type: "PKCS12" as const, password: STORE_PASSWORD }
  if (hasOpenssl()) {
    await fsp.writeFile(path.join(dir, "openssl.cnf"), OPENSSL_CNF)
    const o = (...args: Array<string>) => must("openssl", args, dir)
    await o("req", "-x509", "-config", "openssl.cnf", "-extensions", "ca", "-newkey", "rsa:2048", "-nodes",
      "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "30", "-subj", "/CN=kpax-test-ca")
    await Promise.all([["broker", "localhost", "server"], ["client", "kpax-client", "client"]].map(async ([name, cn, ext]) => {
      await o("req", "-new", "-config", "openssl.cnf", "-newkey", "rsa:2048", "-nodes",
        "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`)
      await o("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-days", "30",
        "-extfile", "openssl.cnf", "-extensions", ext!, "-out", `${name}.pem`)
      await o("pkcs12", "-export", "-in", `${name}.pem`, "-inkey", `${name}-key.pem`, "-certfile", "ca.pem",
        "-name", name!, "-out", `${name}.p12`, "-passout", `pass:${STORE_PASSWORD}`)
    }))
    return {
      caPem: path.join(dir, "ca.pem"),
      truststore: { location: path.join(dir, "ca.pem"), type: "PEM" },
      clientKeystore,
      clientCertPem: path.join(dir, "client.pem"),
      clientKeyPem: path.join(dir, "client-key.pem"),
      generator: "openssl"
    }
  }
  const keytool = javaTool("keytool")
  const k = (...args: Array<string>) => must(keytool, [...args, "-storepass", STORE_PASSWORD], dir)
  const gen = (name: string, cn: string, ...ext: Array<string>) =>
    k("-genkeypair", "-alias", name, "-dname", `CN=${cn}`, "-keyalg", "RSA", "-keysize", "2048", "-validity", "30",
      "-keystore", `${name}.p12`, "-storetype", "PKCS12", "-keypass", STORE_PASSWORD, ...ext)
  await gen("ca", "kpax-test-ca", "-ext", "bc:c=ca:true", "-ext", "ku:c=keyCertSign,cRLSign")
  await k("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca.pem")
  await Promise.all([
    k("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "truststore.p12", "-storetype", "PKCS12"),
    ...[["broker", "localhost", "serverAuth,clientAuth", "SAN=dns:localhost,ip:127.0.0.1"], ["client", "kpax-client", "clientAuth", ""]]
      .map(async ([name, cn, eku, san]) => {
        await gen(name!, cn!)
        await k("-certreq", "-alias", name!, "-keystore", `${name}.p12`, "-file", `${name}.csr`)
        await k("-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile", `${name}.csr`, "-outfile", `${name}.pem`,
          "-rfc", "-validity", "30", "-ext", "ku:c=digitalSignature,keyEncipherment", "-ext", `eku=${eku}`,
          ...(san === "" ? [] : ["-ext", san!]))
        await k("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", `${name}.p12`)
        await k("-importcert", "-alias", name!, "-file", `${name}.pem`, "-keystore", `${name}.p12`)
      })
  ])
  return {
    caPem: path.join(dir, "ca.pem"),
    truststore: { location: path.join(dir, "truststore.p12"), type: "PKCS12", password: STORE_PASSWORD },
    clientKeystore,
    clientCertPem: path.join(dir, "client.pem"),
    generator: "keytool"
  }
}

// ---------------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function secondsSince(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`
}
