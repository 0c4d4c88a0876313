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
import type { Globals } from "./Global.ts"
import { parseDuration } from "./Time.ts"

const DEFAULT_TIMEOUT_MS = 10_000

/** The flag of each variable. */
const FLAG_OF: Record<string, string> = {
  KAFKA_BROKERS: "--brokers",
  KAFKA_CLIENT_ID: "--client-id",
  KAFKA_TLS: "--tls",
  KAFKA_TLS_CA_FILE: "--tls-ca",
  KAFKA_TLS_CERT_FILE: "--tls-cert",
  KAFKA_TLS_KEY_FILE: "--tls-key",
  KAFKA_TLS_REJECT_UNAUTHORIZED: "--tls-insecure",
  KAFKA_SASL_MECHANISM: "--sasl-mechanism",
  KAFKA_SASL_USERNAME: "--sasl-username",
  KAFKA_SASL_PASSWORD: "--sasl-password",
  KAFKA_CONNECT_TIMEOUT: "--timeout"
}

/** Flags as the `KAFKA_*` variables they override, and the flag to name in errors. */
const overrides = (g: Globals): { env: Record<string, string>; flagOf: Record<string, string> } => {
  const env: Record<string, string> = {}
  const flagOf: Record<string, string> = {}
  const set = (variable: string, flag: string, value: string | undefined) => {
    if (value === undefined) return
    env[variable] = value
    flagOf[variable] = flag
  }
  set("KAFKA_BROKERS", "--brokers", g.brokers)
  set("KAFKA_CLIENT_ID", "--client-id", g.clientId)
  set("KAFKA_TLS", "--tls", g.tls || g.tlsInsecure ? "true" : undefined)
  set("KAFKA_TLS_CA_FILE", "--tls-ca", g.tlsCa)
  set("KAFKA_TLS_CERT_FILE", "--tls-cert", g.tlsCert)
  set("KAFKA_TLS_KEY_FILE", "--tls-key", g.tlsKey)
  set("KAFKA_TLS_REJECT_UNAUTHORIZED", "--tls-insecure", g.tlsInsecure ? "false" : undefined)
  set("KAFKA_SASL_MECHANISM", "--sasl-mechanism", g.saslMechanism)
  set("KAFKA_SASL_USERNAME", "--sasl-username", g.saslUsername)
  set("KAFKA_SASL_PASSWORD", "--sasl-password", g.saslPassword === undefined ? undefined : Redacted.value(g.saslPassword))
  return { env, flagOf }
}

/** What a command connects with. */
export interface Connection {
  readonly options: ClusterOptions
  /** Bound on connecting, the first metadata and retries. */
  readonly timeoutMs: number
}

/** The connection settings from the global flags and the environment. */
export const connection = Effect.gen(function*() {
  const g = yield* globals
  let timeoutMs = DEFAULT_TIMEOUT_MS
  if (g.timeout !== undefined) {
    const ms = parseDuration(g.timeout)
    if (ms === undefined || ms <= 0) return yield* new UsageError({ message: `--timeout: expected a duration such as 10s or 500ms, got ${JSON.stringify(g.timeout)}` })
    timeoutMs = ms
  }
  const { env, flagOf } = overrides(g)
  const provider = ConfigProvider.orElse(ConfigProvider.fromEnv({ env }), ConfigProvider.fromEnv())
  const options = yield* clusterOptions.pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, provider),
    Effect.mapError((e) => {
      // Name what the user can set: the flag they gave, else flag or variable.
      const message = describeError(e).replace(/KAFKA_[A-Z_]+/g, (variable) => {
        const flag = flagOf[variable] ?? FLAG_OF[variable]
        return flagOf[variable] !== undefined || flag === undefined ? flag ?? variable : `${flag}/${variable}`
      })
      return new UsageError({ message })
    })
  )
  const result: Connection = {
    options: {
      ...options,
      connectTimeout: g.timeout !== undefined || options.connectTimeout === undefined ? timeoutMs : options.connectTimeout,
      clientSoftwareName: "kpax-cli"
    },
    timeoutMs
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
 * Runs `effect` with the command line's `Cluster` (and an `Admin` over it).
 *
 * @example
 * ```ts
 * const handler = withCluster(Effect.gen(function*() { const cluster = yield* Cluster; … }))
 * ```
 */
export const withCluster = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const c = yield* connection
    return yield* Effect.provide(effect, Admin.layer.pipe(Layer.provideMerge(clusterLayer(c))))
  })
