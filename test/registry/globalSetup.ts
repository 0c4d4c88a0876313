/**
 * vitest global setup of the `schema-registry` project: starts one Schema Registry for the run
 * (unless `KAFKA_SCHEMA_REGISTRY_URL` names one to use) and gives its URL to tests (`env.ts`).
 * vitest runs it only when a selected test file belongs to that project (test/schema-registry/),
 * so the rest of the suite never pays for it.
 */
import type { TestProject } from "vitest/node"
import "./env.ts"
import { startRegistry } from "./harness.ts"

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.KAFKA_SCHEMA_REGISTRY_URL?.trim() ?? ""
  if (external !== "") {
    process.stderr.write(`[registry] using KAFKA_SCHEMA_REGISTRY_URL=${external}\n`)
    project.provide("schemaRegistryUrl", external)
    return undefined
  }
  const registry = await startRegistry()
  project.provide("schemaRegistryUrl", registry.url)
  return () => registry.stop()
}
