/**
 * Java's ProducerPerformance / ConsumerPerformance (the same Kafka version as the broker) as the
 * ceiling. Started like the harness's `runJavaTool` does for the perf tools (full JIT, ParallelGC,
 * 1 GiB heap), but spawned here so the process's peak RSS (VmHWM) can be sampled.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { ensureJars, KAFKA_VERSION, TOOLS } from "../../test/kafka/harness.ts"

const javaBin = (): string => {
  const home = process.env.JAVA_HOME
  return home !== undefined && home !== "" && fs.existsSync(path.join(home, "bin", "java")) ? path.join(home, "bin", "java") : "java"
}

const LOG4J = path.resolve(import.meta.dirname, "../../test/kafka/log4j2-tools.xml")
export const JAVA_JVM = ["-XX:+UseParallelGC", "-Xms256m", "-Xmx1g"]

export interface JavaRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly peakRss: number
  readonly wallMs: number
}

const vmHwm = (pid: number): number => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}

export const javaVersion = async (): Promise<string> => {
  const r = await new Promise<string>((resolve) => {
    const c = spawn(javaBin(), ["-version"], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    c.stderr.on("data", (d: Buffer) => (out += d.toString()))
    c.on("close", () => resolve(out))
    c.on("error", () => resolve(""))
  })
  return /version "([^"]+)"/.exec(r)?.[1] ?? "?"
}

export const runPerfTool = async (
  tool: "kafka-producer-perf-test" | "kafka-consumer-perf-test" | "kafka-share-consumer-perf-test",
  args: ReadonlyArray<string>,
  timeoutMs = 300_000
): Promise<JavaRun> => {
  const jars = await ensureJars()
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(javaBin(), [
      ...JAVA_JVM, "-Xlog:disable", "-Xlog:all=warning:stderr", "-Djava.awt.headless=true", `-Dlog4j2.configurationFile=${LOG4J}`,
      "-cp", path.join(jars, "*"), TOOLS[tool], ...args
    ], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let peak = 0
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const sampler = setInterval(() => {
      if (child.pid !== undefined) peak = Math.max(peak, vmHwm(child.pid))
    }, 100)
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("error", reject)
    child.on("close", (code) => {
      clearInterval(sampler)
      clearTimeout(timer)
      resolve({ code, stdout, stderr, peakRss: peak, wallMs: performance.now() - t0 })
    })
  })
}

export { KAFKA_VERSION }

/**
 * ProducerPerformance's final line: "N records sent, R records/sec (M MB/sec), A ms avg latency,
 * X ms max latency, p50 ms 50th, p95 ms 95th, p99 ms 99th, p999 ms 99.9th."
 */
export const parseProducerPerf = (stdout: string) => {
  const lines = stdout.trim().split("\n").filter((l) => /records sent/.test(l) && /50th/.test(l))
  const last = lines[lines.length - 1]
  if (last === undefined) return undefined
  const num = (re: RegExp) => Number(re.exec(last)?.[1] ?? NaN)
  return {
    records: num(/^(\d+) records sent/),
    rate: num(/([\d.]+) records\/sec/),
    mbps: num(/\(([\d.]+) MB\/sec\)/),
    avg: num(/([\d.]+) ms avg latency/),
    max: num(/([\d.]+) ms max latency/),
    p50: num(/(\d+) ms 50th/),
    p99: num(/(\d+) ms 99th/),
    p999: num(/(\d+) ms 99\.9th/)
  }
}

/**
 * ConsumerPerformance's CSV line: start.time, end.time, data.consumed.in.MB, MB.sec,
 * data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
 */
export const parseConsumerPerf = (stdout: string) => {
  const lines = stdout.trim().split("\n").filter((l) => /^\d{4}-\d\d-\d\d/.test(l.trim()))
  const last = lines[lines.length - 1]
  if (last === undefined) return undefined
  const f = last.split(",").map((s) => s.trim())
  return { records: Number(f[4]), rate: Number(f[5]), rebalanceMs: Number(f[6]), fetchMs: Number(f[7]), fetchRate: Number(f[9]) }
}
