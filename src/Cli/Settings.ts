/**
 * The effective connection settings of a command and where each one came from. Highest first:
 *
 * 1. flags (`--brokers`, …; `--command-config FILE` counts as flags: it was given on this
 *    command line, and flags beside it still win),
 * 2. the environment (`KAFKA_*`),
 * 3. the profile (`--profile NAME`, else `KPAX_PROFILE`, else the config file's default; see
 *    `Profile.ts`),
 * 4. defaults.
 *
 * Settings are keyed by the `KAFKA_*` variable `kpax/Layers/Config` reads, plus `KPAX_TIMEOUT`,
 * `KPAX_JSON` and inline PEM (`KPAX_TLS_CA_PEM`, `KPAX_TLS_CERT_PEM`, `KPAX_TLS_KEY_PEM`).
 *
 * @example
 * ```ts
 * const settings = Settings.resolve({ flags: [], profile: undefined, commandConfig: undefined, env: process.env, cwd: process.cwd() })
 * settings.get("KAFKA_BROKERS")?.source // "default"
 * ```
 *
 * @since 0.1.0
 */
import * as CommandConfig from "./CommandConfig.ts"
import * as Profile from "./Profile.ts"
import type { Entry } from "./Profile.ts"

/** Every setting, in the order `kpax config show` prints them, with its flag and default. */
export const SETTINGS: ReadonlyArray<{ readonly variable: string; readonly flag: string; readonly default?: string }> = [
  { variable: "KAFKA_BROKERS", flag: "--brokers", default: "localhost:9092" },
  { variable: "KAFKA_CLIENT_ID", flag: "--client-id", default: "kpax" },
  { variable: "KAFKA_TLS", flag: "--tls", default: "false" },
  { variable: "KAFKA_TLS_CA_FILE", flag: "--tls-ca" },
  { variable: "KPAX_TLS_CA_PEM", flag: "--command-config" },
  { variable: "KAFKA_TLS_CERT_FILE", flag: "--tls-cert" },
  { variable: "KPAX_TLS_CERT_PEM", flag: "--command-config" },
  { variable: "KAFKA_TLS_KEY_FILE", flag: "--tls-key" },
  { variable: "KPAX_TLS_KEY_PEM", flag: "--command-config" },
  { variable: "KAFKA_TLS_SERVERNAME", flag: "KAFKA_TLS_SERVERNAME" },
  { variable: "KAFKA_TLS_REJECT_UNAUTHORIZED", flag: "--tls-insecure", default: "false" },
  { variable: "KAFKA_SASL_MECHANISM", flag: "--sasl-mechanism" },
  { variable: "KAFKA_SASL_USERNAME", flag: "--sasl-username" },
  { variable: "KAFKA_SASL_PASSWORD", flag: "--sasl-password" },
  { variable: "KPAX_TIMEOUT", flag: "--timeout", default: "10s" },
  { variable: "KAFKA_CONNECT_TIMEOUT", flag: "KAFKA_CONNECT_TIMEOUT" },
  { variable: "KAFKA_REQUEST_TIMEOUT", flag: "KAFKA_REQUEST_TIMEOUT" },
  { variable: "KAFKA_METADATA_MAX_AGE", flag: "KAFKA_METADATA_MAX_AGE" },
  { variable: "KAFKA_SCHEMA_REGISTRY_URL", flag: "--schema-registry" },
  { variable: "KPAX_JSON", flag: "--json", default: "false" }
]

const SECRET = new Set(["KAFKA_SASL_PASSWORD", "KPAX_TLS_KEY_PEM"])

/** What the settings are made of. */
export interface Input {
  /** Settings given as flags (source `flag --x`). */
  readonly flags: ReadonlyArray<Entry>
  /** `--profile`. */
  readonly profile: string | undefined
  /** `--command-config`. */
  readonly commandConfig: string | undefined
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
}

/** The resolved settings. */
export interface Resolved {
  readonly get: (variable: string) => Entry | undefined
  /** The winning value of every setting that has one (defaults excluded). */
  readonly values: Record<string, string>
  /** Every setting with its value (secrets masked) and source, defaults included. */
  readonly rows: ReadonlyArray<{ readonly setting: string; readonly value: string; readonly source: string }>
  readonly profile: Profile.Loaded | undefined
  readonly commandConfig: CommandConfig.Loaded | undefined
}

/** A flag's entry. */
export const flag = (variable: string, name: string, value: string | undefined, secret = false): ReadonlyArray<Entry> =>
  value === undefined ? [] : [{ variable, value, source: `flag ${name}`, origin: name, ...(secret ? { secret } : {}) }]

/** Merges the layers. Throws `ProfileError` for a bad config file or properties file. */
export const resolve = (input: Input): Resolved => {
  const profile = Profile.load({ name: input.profile, env: input.env, cwd: input.cwd })
  const commandConfig = input.commandConfig === undefined ? undefined : CommandConfig.load(input.commandConfig)
  const envEntries: Array<Entry> = []
  for (const { variable } of SETTINGS) {
    const v = input.env[variable]
    if (v !== undefined && v !== "" && !variable.startsWith("KPAX_")) envEntries.push({ variable, value: v, source: `env ${variable}`, origin: variable })
  }
  const layers: ReadonlyArray<ReadonlyArray<Entry>> = [input.flags, commandConfig?.entries ?? [], envEntries, profile?.entries ?? []]
  const winners = new Map<string, Entry>()
  for (const layer of layers) {
    for (const e of layer) if (!winners.has(e.variable)) winners.set(e.variable, e)
  }
  const values: Record<string, string> = {}
  for (const [k, e] of winners) values[k] = e.value
  const rows = SETTINGS.flatMap(({ variable, flag, default: d }) => {
    const e = winners.get(variable)
    const setting = flag.startsWith("--") && !variable.startsWith("KPAX_TLS_") ? flag.slice(2) : variable
    if (variable === "KAFKA_TLS" && e === undefined) {
      const implied = ["KAFKA_TLS_CA_FILE", "KPAX_TLS_CA_PEM", "KAFKA_TLS_CERT_FILE", "KAFKA_TLS_REJECT_UNAUTHORIZED"].map((v) => winners.get(v)).find((x) => x !== undefined)
      if (implied !== undefined) return [{ setting, value: "true", source: `implied by ${implied.origin}` }]
    }
    if (e === undefined) return d === undefined ? [] : [{ setting, value: d, source: "default" }]
    // shown as the flag says it: tls-insecure true = do not verify
    const value = variable === "KAFKA_TLS_REJECT_UNAUTHORIZED" ? String(e.value === "false") : e.value
    return [{ setting, value: SECRET.has(variable) || e.secret === true ? "********" : value, source: e.source }]
  })
  return { get: (v) => winners.get(v), values, rows, profile, commandConfig }
}
