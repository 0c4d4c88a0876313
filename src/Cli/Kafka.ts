/**
 * The cluster a command talks to, from the global flags over the `KAFKA_*` environment, with
 * CLI-sized time limits: connecting, the first metadata and retries are bounded by `--timeout`
 * (default 10 s), so unreachable brokers end the command with one line and exit code 1.
 *
 * @since 0.1.0
 */
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import * as Admin from "../Admin/Admin.ts"
import { Cluster, make as makeCluster } from "../Cluster/Cluster.ts"
import type { ClusterOptions } from "../Cluster/Cluster.ts"
import * as RetryPolicy from "../Cluster/RetryPolicy.ts"
import { clusterOptions } from "../Layers/Config.ts"
import { CommandFailed, describeError, UsageError } from "./Errors.ts"
import { globals } from "./Global.ts"
import * as Hints from "./Hints.ts"
import * as Profile from "./Profile.ts"
import * as Settings from "./Settings.ts"
import type { Globals } from "./Global.ts"
import { parseDuration } from "./Time.ts"

const DEFAULT_TIMEOUT_MS = 10_000

/** The global flags as settings entries. */
const flagEntries = (g: Globals): ReadonlyArray<Profile.Entry> => [
  ...Settings.flag("KAFKA_BROKERS", "--brokers", g.brokers),
  ...Settings.flag("KAFKA_CLIENT_ID", "--client-id", g.clientId),
  ...Settings.flag("KAFKA_TLS", g.tls ? "--tls" : "--tls-insecure", g.tls || g.tlsInsecure ? "true" : undefined),
  ...Settings.flag("KAFKA_TLS_CA_FILE", "--tls-ca", g.tlsCa),
  ...Settings.flag("KAFKA_TLS_CERT_FILE", "--tls-cert", g.tlsCert),
  ...Settings.flag("KAFKA_TLS_KEY_FILE", "--tls-key", g.tlsKey),
  ...Settings.flag("KAFKA_TLS_REJECT_UNAUTHORIZED", "--tls-insecure", g.tlsInsecure ? "false" : undefined),
  ...Settings.flag("KAFKA_SASL_MECHANISM", "--sasl-mechanism", g.saslMechanism),
  ...Settings.flag("KAFKA_SASL_USERNAME", "--sasl-username", g.saslUsername),
  ...Settings.flag("KAFKA_SASL_PASSWORD", "--sasl-password", g.saslPassword === undefined ? undefined : Redacted.value(g.saslPassword), true),
  ...Settings.flag("KPAX_TIMEOUT", "--timeout", g.timeout)
]

/**
 * The effective settings of this command: flags (and `--command-config`) over the environment
 * over the profile over defaults. A bad config or properties file is a `ProfileError`.
 */
export const settings = Effect.gen(function*() {
  const g = yield* globals
  return yield* Effect.try({
    try: () => Settings.resolve({ flags: flagEntries(g), profile: g.profile, commandConfig: g.commandConfig, env: process.env, cwd: process.cwd() }),
    catch: (e) => (e instanceof Profile.ProfileError ? e : new Profile.ProfileError({ message: String(e) }))
  })
})

/** What a command connects with. */
export interface Connection {
  readonly options: ClusterOptions
  /** Bound on connecting, the first metadata and retries. */
  readonly timeoutMs: number
  /** The SASL principal (`User:alice`), for hints about ACLs. */
  readonly principal: string | undefined
}

/** The connection settings from the flags, the environment and the profile. */
export const connection = Effect.gen(function*() {
  const s = yield* settings
  let timeoutMs = DEFAULT_TIMEOUT_MS
  const timeout = s.get("KPAX_TIMEOUT")
  if (timeout !== undefined) {
    const ms = parseDuration(timeout.value)
    if (ms === undefined || ms <= 0) return yield* new UsageError({ message: `${timeout.origin}: expected a duration such as 10s or 500ms, got ${JSON.stringify(timeout.value)}` })
    timeoutMs = ms
  }
  const provider = ConfigProvider.orElse(ConfigProvider.fromEnv({ env: s.values }), ConfigProvider.fromEnv())
  const options = yield* clusterOptions.pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, provider),
    Effect.mapError((e) => {
      // Name what the user can set: where the value came from, else flag or variable.
      const message = describeError(e).replace(/KAFKA_[A-Z_]+/g, (variable) => {
        const given = s.get(variable)
        if (given !== undefined) return given.origin
        const flag = Settings.SETTINGS.find((x) => x.variable === variable)?.flag
        return flag === undefined || !flag.startsWith("--") ? variable : `${flag}/${variable}`
      })
      return new UsageError({ message })
    })
  )
  const inline = (v: string) => s.get(v)?.value
  const [ca, cert, key] = [inline("KPAX_TLS_CA_PEM"), inline("KPAX_TLS_CERT_PEM"), inline("KPAX_TLS_KEY_PEM")]
  const tls = ca === undefined && cert === undefined
    ? options.tls
    : { ...(typeof options.tls === "object" ? options.tls : {}), ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key: Redacted.make(key) }) }
  const result: Connection = {
    options: {
      ...options,
      ...(tls === undefined ? {} : { tls }),
      connectTimeout: timeout !== undefined || options.connectTimeout === undefined ? timeoutMs : options.connectTimeout,
      clientSoftwareName: "kpax-cli"
    },
    timeoutMs,
    principal: options.sasl !== undefined && "username" in options.sasl ? `User:${options.sasl.username}` : undefined
  }
  return result
})

const retryPolicy = (timeoutMs: number): RetryPolicy.RetryPolicy => {
  const b = (d: RetryPolicy.Backoff): RetryPolicy.Backoff => ({ ...d, maxElapsed: Math.max(1000, timeoutMs), maxDelay: "2 seconds" })
  return RetryPolicy.fromBackoffs({
    leaderMoved: b(RetryPolicy.defaultBackoffs.leaderMoved),
    coordinatorMoved: b(RetryPolicy.defaultBackoffs.coordinatorMoved),
    transient: b(RetryPolicy.defaultBackoffs.transient)
  })
}

const unreachable = (bootstrap: ReadonlyArray<string>, e: unknown): CommandFailed => {
  let detail = describeError(e)
  const cause = (e as { readonly cause?: unknown }).cause
  if (cause !== undefined && (e as { readonly _tag?: unknown })._tag === "BrokerUnavailable") detail += `: ${describeError(cause)}`
  return new CommandFailed({ message: `cannot reach Kafka at ${bootstrap.join(",")}: ${detail}` })
}

/**
 * A `Cluster` that answered its first metadata request within the time limit, with a retry
 * policy bounded by it.
 */
export const clusterLayer = (c: Connection): Layer.Layer<Cluster, CommandFailed> =>
  Layer.effect(
    Cluster,
    Effect.gen(function*() {
      const cluster = yield* makeCluster(c.options).pipe(Effect.mapError((e) => new CommandFailed({ message: e.message })))
      yield* cluster.refresh().pipe(
        Effect.timeoutOrElse({
          duration: c.timeoutMs,
          orElse: () => Effect.fail(new CommandFailed({ message: `no answer from Kafka at ${c.options.bootstrap.join(",")} within ${c.timeoutMs} ms` }))
        }),
        Effect.mapError((e) => (e._tag === "CommandFailed" ? e : unreachable(c.options.bootstrap, e)))
      )
      return cluster
    })
  ).pipe(Layer.provide(RetryPolicy.layer(retryPolicy(c.timeoutMs))))

/**
 * Runs `effect` with the command line's `Cluster` (and an `Admin` over it); its errors get the
 * hints of `Hints.ts` (`access`: the ACL operation the command needs, for authorization errors).
 *
 * @example
 * ```ts
 * const handler = withCluster(Effect.gen(function*() { const cluster = yield* Cluster; … }), { operation: "Read" })
 * ```
 */
export const withCluster = <A, E, R>(effect: Effect.Effect<A, E, R>, access?: { readonly operation: string }) =>
  Effect.gen(function*() {
    const c = yield* connection
    const hinted = Hints.withHint({ principal: c.principal, sasl: c.options.sasl !== undefined, operation: access?.operation })
    return yield* Effect.provide(effect, Admin.layer.pipe(Layer.provideMerge(clusterLayer(c)))).pipe(Effect.mapError(hinted))
  })
