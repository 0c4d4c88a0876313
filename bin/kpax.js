#!/usr/bin/env node
// The `kpax` command line, on Node.js, Bun (`bunx kpax`) and Deno (`deno run -A npm:kpax`). Runs the
// compiled CLI (dist/) when installed; in a checkout of the repository (tsconfig.json beside
// package.json, not shipped) it runs the TypeScript sources directly (type stripping).
import { existsSync } from "node:fs"
import module from "node:module"
import { fileURLToPath } from "node:url"

// Bun and Deno report the Node.js version they are compatible with in process.versions.node:
// check their own versions instead.
const runtime = process.versions.bun !== undefined
  ? { name: "Bun", version: process.versions.bun, minimum: [1, 4] }
  : process.versions.deno !== undefined
  ? { name: "Deno", version: process.versions.deno, minimum: [2, 9] }
  : { name: "Node.js", version: process.versions.node, minimum: [22, 19] }
const [major, minor] = runtime.version.split(".").map(Number)
if (major < runtime.minimum[0] || (major === runtime.minimum[0] && minor < runtime.minimum[1])) {
  process.stderr.write(`kpax: ${runtime.name} >= ${runtime.minimum.join(".")} is required (this is v${runtime.version})\n`)
  process.exit(1)
}

// Node: caches compiled (and type-stripped) modules between runs, halving the start-up time.
module.enableCompileCache?.()

const source = new URL("../src/Cli/main.ts", import.meta.url)
const compiled = new URL("../dist/Cli/main.js", import.meta.url)
// Node does not strip types under node_modules, and an installed package (node_modules, or Deno's
// npm cache) has no tsconfig.json: it always runs dist/.
const checkout = existsSync(new URL("../tsconfig.json", import.meta.url)) &&
  !fileURLToPath(source).split(/[\\/]/).includes("node_modules")
const entry = (checkout && existsSync(source)) || !existsSync(compiled) ? source : compiled

try {
  const { main } = await import(entry.href)
  main()
} catch (e) {
  process.stderr.write(`kpax: cannot start: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
}
