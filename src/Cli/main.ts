/**
 * The `kpax` command line's entry point: parses the arguments, runs the command, and exits with
 * a code scripts can rely on (see `Errors.ts`): 0 ok, 1 runtime or Kafka error, 2 usage error,
 * 130 interrupted. `bin/kpax.js` calls {@link main}.
 *
 * Layer: the top (checked by `npm run lint:cycles`): the `kpax` command may import every layer
 * but Testing; nothing else in src/ imports the Cli.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { CliConfig, Command, GlobalFlag } from "effect/cli"
import { normalizeArgs, withProfileOutput } from "./Args.ts"
import { ExitCode, outcomeOf } from "./Errors.ts"
import * as Presenter from "./Presenter.ts"
import * as Profile from "./Profile.ts"
import { root } from "./Root.ts"

const version = (): string => {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }
    return pkg.version ?? "0.0.0"
  } catch {
    return "0.0.0"
  }
}

const profileWantsJson = (name: string | undefined): boolean => {
  try {
    return Profile.load({ name, env: process.env, cwd: process.cwd() })?.entries.some((e) => e.variable === "KPAX_JSON" && e.value === "true") ?? false
  } catch {
    return false
  }
}

const Services = Layer.mergeAll(
  NodeServices.layer,
  Presenter.layer,
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions] })
)

/**
 * Runs the command line with `argv` (without `node` and the script) and resolves with its exit
 * code; Ctrl-C or SIGTERM interrupts the command (its scope closes: connections, consumers).
 *
 * @example
 * ```ts
 * const code = await run(["meta", "--brokers", "localhost:9092"])
 * ```
 */
export const run = (argv: ReadonlyArray<string>): Promise<number> =>
  new Promise((resolve) => {
    const program = Command.runWith(root, { version: version() })(normalizeArgs(withProfileOutput(argv, profileWantsJson))).pipe(Effect.provide(Services))
    const fiber = Effect.runFork(program)
    const interrupt = () => fiber.interruptUnsafe()
    process.once("SIGINT", interrupt)
    process.once("SIGTERM", interrupt)
    fiber.addObserver((exit) => {
      process.off("SIGINT", interrupt)
      process.off("SIGTERM", interrupt)
      if (exit._tag === "Success") return resolve(ExitCode.ok)
      const { code, line } = outcomeOf(exit.cause)
      if (line !== undefined) process.stderr.write(`kpax: ${line}\n`)
      if (process.env.KPAX_DEBUG !== undefined && code === ExitCode.runtime) process.stderr.write(`${String(exit.cause)}\n`)
      resolve(code)
    })
  })

/**
 * Runs the command line with the process's arguments and exits the process with its code once
 * stdout is flushed. A closed stdout (`kpax consume … | head`) ends the command quietly.
 */
export const main = (): void => {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(ExitCode.ok)
  })
  void run(process.argv.slice(2)).then((code) => {
    process.stdout.write("", () => process.exit(code))
  })
}
