/**
 * `npm run registry:start` — builds (once, cached) and starts a Schema Registry (Apicurio
 * Registry, Confluent-compatible API) in the background and prints
 * `export KAFKA_SCHEMA_REGISTRY_URL=...`; if one is already running, prints that one.
 * `npm run registry:stop` — stops the background registries of this checkout.
 *
 * @example
 * ```sh
 * npm run registry:start    # then: export KAFKA_SCHEMA_REGISTRY_URL=http://127.0.0.1:40123/apis/ccompat/v7
 * npm run registry:stop
 * ```
 */
import { listRegistries, startRegistry, stopRegistries } from "./harness.ts"

const [command] = process.argv.slice(2)
try {
  if (command === "start") {
    const existing = listRegistries()[0]
    if (existing !== undefined) {
      process.stdout.write(`Already running (pid ${existing.pid}, log ${existing.logFile})\nexport KAFKA_SCHEMA_REGISTRY_URL=${existing.url}\n`)
    } else {
      const r = await startRegistry({ detached: true })
      process.stdout.write(`Started in ${(r.startMs / 1000).toFixed(1)} s (pid ${r.pid}, log ${r.logFile})\nexport KAFKA_SCHEMA_REGISTRY_URL=${r.url}\n`)
    }
  } else if (command === "stop") {
    const n = await stopRegistries()
    process.stdout.write(n === 0 ? "No registry of this checkout is running.\n" : `Stopped ${n} registr${n === 1 ? "y" : "ies"}.\n`)
  } else if (command === "status") {
    const runs = listRegistries()
    if (runs.length === 0) process.stdout.write("No registry of this checkout is running.\n")
    for (const r of runs) process.stdout.write(`${r.url} (pid ${r.pid})\n`)
  } else {
    process.stderr.write("usage: node test/registry/cli.ts start | stop | status\n")
    process.exitCode = 2
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
