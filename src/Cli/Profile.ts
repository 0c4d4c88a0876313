/**
 * kpax config files: named profiles of connection settings, so that commands need no flags.
 *
 * The file is JSON (Node reads it without a dependency, its types are unambiguous, and every
 * editor checks it); the first one found is used:
 * `$KPAX_CONFIG`, `./kpax.json`, `$XDG_CONFIG_HOME/kpax/config.json` (default `~/.config`),
 * `~/.kpax/config.json`, `/etc/kpax/config.json`. A profile's keys are the global flags' names;
 * the password is never in the file itself: `sasl-password-env` names an environment variable,
 * `sasl-password-file` a file holding it. Relative paths are relative to the config file.
 *
 * @example
 * ```ts
 * // kpax.json
 * // { "default": "prod",
 * //   "profiles": { "prod": { "brokers": "k1:9093", "tls-ca": "ca.pem", "sasl-mechanism": "SCRAM-SHA-512",
 * //                           "sasl-username": "ops", "sasl-password-env": "PROD_KAFKA_PASSWORD" } } }
 * const found = Profile.load({ name: undefined, env: process.env, cwd: process.cwd() })
 * ```
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Data } from "effect"

/**
 * A config file that cannot be read or does not fit, an unknown profile, or a password that
 * cannot be found. Exit code 1; names the file and the key, never the password.
 *
 * @example
 * ```ts
 * new ProfileError({ message: "profile prod: sasl-password-env PROD_PW is not set" })
 * ```
 *
 * @since 0.1.0
 */
export class ProfileError extends Data.TaggedError("ProfileError")<{
  readonly message: string
}> {}

/** One setting as a `KAFKA_*` variable (or a kpax pseudo-variable), and where it came from. */
export interface Entry {
  readonly variable: string
  readonly value: string
  /** `profile prod (/home/me/.kpax/config.json)`, `env KAFKA_BROKERS`, … */
  readonly source: string
  /** Where to fix it, for errors: `tls-ca of profile prod`. */
  readonly origin: string
  readonly secret?: boolean
}

/** A profile read from a config file. */
export interface Loaded {
  readonly file: string
  readonly profile: string
  readonly entries: ReadonlyArray<Entry>
}

type Kind = "string" | "boolean" | "brokers" | "path"

/** Profile keys: the global flag's name → variable and type. */
const KEYS: Record<string, { readonly variable: string; readonly kind: Kind }> = {
  "brokers": { variable: "KAFKA_BROKERS", kind: "brokers" },
  "client-id": { variable: "KAFKA_CLIENT_ID", kind: "string" },
  "tls": { variable: "KAFKA_TLS", kind: "boolean" },
  "tls-ca": { variable: "KAFKA_TLS_CA_FILE", kind: "path" },
  "tls-cert": { variable: "KAFKA_TLS_CERT_FILE", kind: "path" },
  "tls-key": { variable: "KAFKA_TLS_KEY_FILE", kind: "path" },
  "tls-servername": { variable: "KAFKA_TLS_SERVERNAME", kind: "string" },
  "tls-insecure": { variable: "KAFKA_TLS_REJECT_UNAUTHORIZED", kind: "boolean" },
  "sasl-mechanism": { variable: "KAFKA_SASL_MECHANISM", kind: "string" },
  "sasl-username": { variable: "KAFKA_SASL_USERNAME", kind: "string" },
  "sasl-password-env": { variable: "KAFKA_SASL_PASSWORD", kind: "string" },
  "sasl-password-file": { variable: "KAFKA_SASL_PASSWORD", kind: "path" },
  "timeout": { variable: "KPAX_TIMEOUT", kind: "string" },
  "schema-registry": { variable: "KAFKA_SCHEMA_REGISTRY_URL", kind: "string" },
  "json": { variable: "KPAX_JSON", kind: "boolean" }
}

/** The profile keys, for docs and errors. */
export const keys: ReadonlyArray<string> = Object.keys(KEYS)

const expandHome = (p: string, env: NodeJS.ProcessEnv): string =>
  p === "~" || p.startsWith("~/") ? path.join(env.HOME ?? os.homedir(), p.slice(1)) : p

/** The files looked at, in order. */
export const candidates = (env: NodeJS.ProcessEnv, cwd: string): ReadonlyArray<string> => {
  const home = env.HOME ?? os.homedir()
  const xdg = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== "" ? env.XDG_CONFIG_HOME : path.join(home, ".config")
  return [
    path.join(cwd, "kpax.json"),
    path.join(xdg, "kpax", "config.json"),
    path.join(home, ".kpax", "config.json"),
    "/etc/kpax/config.json"
  ]
}

/** The config file to use: `KPAX_CONFIG`, else the first candidate that exists. */
export const findFile = (env: NodeJS.ProcessEnv, cwd: string): string | undefined => {
  const explicit = env.KPAX_CONFIG
  if (explicit !== undefined && explicit !== "") return path.resolve(cwd, expandHome(explicit, env))
  return candidates(env, cwd).find((f) => fs.existsSync(f))
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The selected profile's settings: `name` (from `--profile`, else `KPAX_PROFILE`), else the
 * file's `"default"`, else a profile called `default`; `undefined` when there is no file or the
 * file selects nothing. Throws {@link ProfileError}.
 */
export const load = (options: { readonly name: string | undefined; readonly env: NodeJS.ProcessEnv; readonly cwd: string }): Loaded | undefined => {
  const { env, cwd } = options
  const requested = options.name ?? (env.KPAX_PROFILE !== undefined && env.KPAX_PROFILE !== "" ? env.KPAX_PROFILE : undefined)
  const file = findFile(env, cwd)
  if (file === undefined) {
    if (requested === undefined) return undefined
    throw new ProfileError({ message: `profile ${requested}: no kpax config file (looked at ${candidates(env, cwd).join(", ")}; or set KPAX_CONFIG)` })
  }
  let doc: unknown
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"))
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message
    throw new ProfileError({ message: `config file ${file}: ${why}` })
  }
  if (!isRecord(doc) || !isRecord(doc.profiles)) throw new ProfileError({ message: `config file ${file}: expected {"profiles": {"NAME": {…}}, "default"?: "NAME"}` })
  for (const k of Object.keys(doc)) {
    if (k !== "profiles" && k !== "default" && k !== "$schema") throw new ProfileError({ message: `config file ${file}: unknown key "${k}" (expected "profiles" and "default")` })
  }
  const profiles = doc.profiles
  const fallback = typeof doc.default === "string" ? doc.default : "default" in profiles ? "default" : undefined
  const name = requested ?? fallback
  if (name === undefined) return undefined
  const profile = profiles[name]
  if (!isRecord(profile)) {
    throw new ProfileError({ message: `profile ${name} is not in ${file} (profiles: ${Object.keys(profiles).join(", ") || "none"})` })
  }
  return { file, profile: name, entries: entriesOf(name, profile, file, env) }
}

const entriesOf = (name: string, profile: Record<string, unknown>, file: string, env: NodeJS.ProcessEnv): Array<Entry> => {
  const where = `profile ${name} (${file})`
  const fail = (key: string, what: string) => new ProfileError({ message: `${key} of profile ${name} in ${file}: ${what}` })
  if ("sasl-password" in profile) {
    throw fail("sasl-password", "kpax does not read passwords from the config file: name an environment variable (sasl-password-env) or a file (sasl-password-file)")
  }
  if ("sasl-password-env" in profile && "sasl-password-file" in profile) throw fail("sasl-password-env", "give sasl-password-env or sasl-password-file, not both")
  const out: Array<Entry> = []
  for (const [key, raw] of Object.entries(profile)) {
    const spec = KEYS[key]
    if (spec === undefined) throw fail(key, `unknown key (known: ${keys.join(", ")})`)
    const origin = `${key} of profile ${name}`
    let value: string
    if (spec.kind === "boolean") {
      if (typeof raw !== "boolean") throw fail(key, "expected true or false")
      // tls-insecure: true means "do not verify"
      value = key === "tls-insecure" ? String(!raw) : String(raw)
      if (key === "tls-insecure" && raw) out.push({ variable: "KAFKA_TLS", value: "true", source: where, origin })
    } else if (spec.kind === "brokers" && Array.isArray(raw)) {
      if (!raw.every((b) => typeof b === "string")) throw fail(key, "expected \"host:port,…\" or [\"host:port\", …]")
      value = raw.join(",")
    } else if (typeof raw !== "string" || raw === "") {
      throw fail(key, "expected a non-empty string")
    } else value = spec.kind === "path" ? path.resolve(path.dirname(file), expandHome(raw, env)) : raw
    if (key === "sasl-password-env") {
      const secret = env[value]
      if (secret === undefined || secret === "") throw fail(key, `the environment variable ${value} is not set`)
      out.push({ variable: spec.variable, value: secret, source: `${where}: env ${value}`, origin, secret: true })
      continue
    }
    if (key === "sasl-password-file") {
      let secret: string
      try {
        secret = fs.readFileSync(value, "utf8").replace(/\r?\n$/, "")
      } catch (e) {
        throw fail(key, `cannot read ${value}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
      }
      out.push({ variable: spec.variable, value: secret, source: `${where}: file ${value}`, origin, secret: true })
      continue
    }
    out.push({ variable: spec.variable, value, source: where, origin })
  }
  return out
}
