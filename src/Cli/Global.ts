/**
 * Flags every `kpax` command takes: where the cluster is and how to reach it, and how to print.
 * Each one may come before or after the command name. Unset connection flags fall back to the
 * `KAFKA_*` environment variables (see `kpax/Layers/Config`), then to `localhost:9092`.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import type { Redacted } from "effect"
import { Flag, GlobalFlag } from "effect/cli"

const optionalString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const bool = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false), Flag.withoutNegation)

/** `--brokers`, `-b`: bootstrap `host:port` list (comma-separated). */
export const Brokers = GlobalFlag.Setting("brokers")({
  flag: optionalString("brokers", "bootstrap brokers, host:port[,host:port…] (env KAFKA_BROKERS; default localhost:9092)").pipe(
    Flag.withAlias("b")
  )
})
export const ClientId = GlobalFlag.Setting("client-id")({
  flag: optionalString("client-id", "client.id sent to the brokers (env KAFKA_CLIENT_ID; default kpax)")
})
export const Tls = GlobalFlag.Setting("tls")({ flag: bool("tls", "connect with TLS (system CAs unless --tls-ca)") })
export const TlsCa = GlobalFlag.Setting("tls-ca")({ flag: optionalString("tls-ca", "PEM file of the CA(s) to trust (implies --tls)") })
export const TlsCert = GlobalFlag.Setting("tls-cert")({ flag: optionalString("tls-cert", "PEM client certificate for mutual TLS (implies --tls)") })
export const TlsKey = GlobalFlag.Setting("tls-key")({ flag: optionalString("tls-key", "PEM private key of --tls-cert (implies --tls)") })
export const TlsInsecure = GlobalFlag.Setting("tls-insecure")({
  flag: bool("tls-insecure", "do not verify the brokers' certificates (implies --tls)")
})
export const SaslMechanism = GlobalFlag.Setting("sasl-mechanism")({
  flag: Flag.Literals("sasl-mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]).pipe(
    Flag.withDescription("SASL mechanism (env KAFKA_SASL_MECHANISM)"),
    Flag.optional
  )
})
export const SaslUsername = GlobalFlag.Setting("sasl-username")({
  flag: optionalString("sasl-username", "SASL user (env KAFKA_SASL_USERNAME)")
})
export const SaslPassword = GlobalFlag.Setting("sasl-password")({
  flag: Flag.Redacted("sasl-password").pipe(
    Flag.withDescription("SASL password (prefer env KAFKA_SASL_PASSWORD: flags show in ps); never printed"),
    Flag.optional
  )
})
export const Timeout = GlobalFlag.Setting("timeout")({
  flag: optionalString("timeout", "how long to wait for the brokers: connecting, metadata, retries (default 10s; env KAFKA_CONNECT_TIMEOUT)")
})
export const Profile = GlobalFlag.Setting("profile")({
  flag: optionalString("profile", "the profile of the kpax config file to use (env KPAX_PROFILE; see kpax config show)")
})
export const CommandConfig = GlobalFlag.Setting("command-config")({
  flag: optionalString("command-config", "a Java client properties file (bootstrap.servers, security.protocol, sasl.*, ssl.* in PEM)")
})
export const Json = GlobalFlag.Setting("json")({ flag: bool("json", "machine output: one JSON value per line on stdout") })
export const Quiet = GlobalFlag.Setting("quiet")({ flag: bool("quiet", "no progress reports on stderr").pipe(Flag.withAlias("q")) })

/** Every global flag, for `Command.withGlobalFlags`. */
export const all = [Brokers, ClientId, Tls, TlsCa, TlsCert, TlsKey, TlsInsecure, SaslMechanism, SaslUsername, SaslPassword, Timeout, Profile, CommandConfig, Json, Quiet] as const

/** The global flags' values, as given on the command line. */
export interface Globals {
  readonly brokers: string | undefined
  readonly clientId: string | undefined
  readonly tls: boolean
  readonly tlsCa: string | undefined
  readonly tlsCert: string | undefined
  readonly tlsKey: string | undefined
  readonly tlsInsecure: boolean
  readonly saslMechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" | undefined
  readonly saslUsername: string | undefined
  readonly saslPassword: Redacted.Redacted<string> | undefined
  readonly timeout: string | undefined
  readonly profile: string | undefined
  readonly commandConfig: string | undefined
  readonly json: boolean
  readonly quiet: boolean
}

const u = Option.getOrUndefined

/** Reads every global flag (inside a command handler). */
export const globals = Effect.gen(function*() {
  return {
    brokers: u(yield* Brokers),
    clientId: u(yield* ClientId),
    tls: yield* Tls,
    tlsCa: u(yield* TlsCa),
    tlsCert: u(yield* TlsCert),
    tlsKey: u(yield* TlsKey),
    tlsInsecure: yield* TlsInsecure,
    saslMechanism: u(yield* SaslMechanism),
    saslUsername: u(yield* SaslUsername),
    saslPassword: u(yield* SaslPassword),
    timeout: u(yield* Timeout),
    profile: u(yield* Profile),
    commandConfig: u(yield* CommandConfig),
    json: yield* Json,
    quiet: yield* Quiet
  } satisfies Globals
})
