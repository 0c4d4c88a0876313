#!/usr/bin/env node
// The `kpax` command line. Runs the compiled CLI (dist/) when installed; in a checkout of the
// repository it runs the TypeScript sources directly (Node's type stripping).
import { existsSync } from "node:fs"
import module from "node:module"
import { fileURLToPath } from "node:url"

const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`kpax: Node.js >= 22.19 is required (this is ${process.version})\n`)
  process.exit(1)
}

// Caches compiled (and type-stripped) modules between runs: halves the start-up time.
module.enableCompileCache?.()

const source = new URL("../src/Cli/main.ts", import.meta.url)
const compiled = new URL("../dist/Cli/main.js", import.meta.url)
// Node does not strip types under node_modules: an installed package always runs dist/.
const development = existsSync(source) && !fileURLToPath(source).split(/[\\/]/).includes("node_modules")
const entry = development || !existsSync(compiled) ? source : compiled

try {
  const { main } = await import(entry.href)
  main()
} catch (e) {
  process.stderr.write(`kpax: cannot start: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
}
