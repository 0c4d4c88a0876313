/**
 * `kpax config show`: the settings a command would connect with — brokers, TLS, SASL, time
 * limit, Schema Registry, output — each with where it came from (flag, `--command-config`,
 * environment, profile, default). Secrets are masked. Connects to nothing.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { settings } from "../Kafka.ts"
import { table, value } from "../Output.ts"
import * as Profile from "../Profile.ts"

const show = Command.make("show", {}, () =>
  Effect.gen(function*() {
    const s = yield* settings
    const file = Profile.findFile(process.env, process.cwd())
    const ignored = s.commandConfig?.ignored ?? []
    yield* value({
      configFile: file ?? null,
      profile: s.profile?.profile ?? null,
      commandConfig: s.commandConfig?.file ?? null,
      ignored,
      settings: s.rows
    }, () => [
      file === undefined
        ? `config file: none (looked at ${Profile.candidates(process.env, process.cwd()).join(", ")})`
        : `config file: ${file}${s.profile === undefined ? ", no profile selected" : `, profile ${s.profile.profile}`}`,
      ...(s.commandConfig === undefined ? [] : [`command config: ${s.commandConfig.file}${ignored.length === 0 ? "" : ` (ignored: ${ignored.join(", ")})`}`]),
      "",
      ...table(s.rows, [
        { header: "SETTING", get: (r) => r.setting },
        { header: "VALUE", get: (r) => (r.value.includes("-----BEGIN") ? `(inline PEM, ${r.value.length} characters)` : r.value) },
        { header: "SOURCE", get: (r) => r.source }
      ])
    ])
  })
).pipe(Command.withDescription("Show the effective connection settings and where each comes from (secrets masked)."))

export const config = Command.make("config").pipe(
  Command.withDescription("The kpax config file's profiles and the effective settings (see docs/cli.md)."),
  Command.withSubcommands([show])
)
