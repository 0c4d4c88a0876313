/**
 * vitest global setup: starts one Kafka broker for the whole test run (unless `KAFKA_BROKERS`
 * names a cluster to use instead), gives its address to tests (see `env.ts`) and stops it after.
 */
import type { TestProject } from "vitest/node"
import "./env.ts"
import { startSingle } from "./harness.ts"

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.KAFKA_BROKERS?.split(",").map((s) => s.trim()).filter((s) => s !== "") ?? []
  if (external.length > 0) {
    process.stderr.write(`[kafka] using KAFKA_BROKERS=${external.join(",")}\n`)
    project.provide("kafkaBrokers", external)
    project.provide("kafkaLogFile", "")
    return undefined
  }
  const kafka = await startSingle()
  project.provide("kafkaBrokers", [...kafka.brokers])
  project.provide("kafkaLogFile", kafka.logFiles[0] ?? "")
  return () => kafka.stop()
}
