/**
 * Client settings read from `Config` (environment variables by default): brokers, client id,
 * TLS, SASL and time-outs, as `Cluster` options. Every variable is optional but `KAFKA_BROKERS`
 * (default `localhost:9092`); a bad value is a `ConfigError` naming the variable.
 *
 * | variable | meaning |
 * | --- | --- |
 * | `KAFKA_BROKERS` | bootstrap `host:port` list, comma-separated |
 * | `KAFKA_CLIENT_ID` | `client.id` (default `kpax`) |
 * | `KAFKA_TLS` | `true` for TLS with the system CAs |
 * | `KAFKA_TLS_CA_FILE`, `KAFKA_TLS_CERT_FILE`, `KAFKA_TLS_KEY_FILE` | PEM files (CA, mutual TLS); any of them turns TLS on |
 * | `KAFKA_TLS_SERVERNAME`, `KAFKA_TLS_REJECT_UNAUTHORIZED` | SNI name; `false` to skip verification |
 * | `KAFKA_SASL_MECHANISM` | `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` |
 * | `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD` | credentials (the password stays `Redacted`) |
 * | `KAFKA_CONNECT_TIMEOUT`, `KAFKA_REQUEST_TIMEOUT`, `KAFKA_METADATA_MAX_AGE` | durations, e.g. `10 seconds` |
 *
 * Retry policy variables (`KAFKA_RETRY_*`) are read by `RetryPolicy.layerConfig`.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { Config, Data, Duration, Effect, Option, Redacted, Schema } from "effect"
import type { ClusterOptions } from "../Cluster/Cluster.ts"
import type { SaslOptions } from "../Connection/Sasl.ts"

const optional = <A>(c: Config.Config<A>) => Config.option(c)

/**
 * Settings that parse but do not fit together (a SASL mechanism without credentials, a PEM file
 * that cannot be read). Names the variable; never contains a secret.
 *
 * @since 0.1.0
 */
export class InvalidKafkaConfig extends Data.TaggedError("InvalidKafkaConfig")<{
  readonly variable: string
  readonly message: string
}> {}

const readPem = (file: string, variable: string): Effect.Effect<string, InvalidKafkaConfig> =>
  Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: (e) => new InvalidKafkaConfig({ variable, message: `${variable}: cannot read ${file}: ${(e as Error).message}` })
  })

/**
 * The `Cluster` options from configuration.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as KafkaConfig from "kpax/Layers"
 *
 * const options = Effect.runSync(KafkaConfig.clusterOptions) // reads KAFKA_* from the environment
 * ```
 *
 * @since 0.1.0
 */
export const clusterOptions: Effect.Effect<ClusterOptions, Config.ConfigError | InvalidKafkaConfig> = Effect.gen(function*() {
  const raw = yield* Config.all({
    brokers: Config.withDefault(Config.String("BROKERS"), "localhost:9092"),
    clientId: optional(Config.String("CLIENT_ID")),
    tls: optional(Config.Boolean("TLS")),
    caFile: optional(Config.String("TLS_CA_FILE")),
    certFile: optional(Config.String("TLS_CERT_FILE")),
    keyFile: optional(Config.String("TLS_KEY_FILE")),
    servername: optional(Config.String("TLS_SERVERNAME")),
    rejectUnauthorized: optional(Config.Boolean("TLS_REJECT_UNAUTHORIZED")),
    mechanism: optional(Config.schema(Schema.Literals(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]), "SASL_MECHANISM")),
    username: optional(Config.String("SASL_USERNAME")),
    password: optional(Config.Redacted("SASL_PASSWORD")),
    connectTimeout: optional(Config.Duration("CONNECT_TIMEOUT")),
    requestTimeout: optional(Config.Duration("REQUEST_TIMEOUT")),
    metadataMaxAge: optional(Config.Duration("METADATA_MAX_AGE"))
  }).pipe(Config.nested("KAFKA"))
  const bootstrap = raw.brokers.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const get = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)
  const wantsTls = get(raw.tls) === true || Option.isSome(raw.caFile) || Option.isSome(raw.certFile) || Option.isSome(raw.keyFile)
  const tls = wantsTls
    ? {
      ...(Option.isSome(raw.caFile) ? { ca: yield* readPem(raw.caFile.value, "KAFKA_TLS_CA_FILE") } : {}),
      ...(Option.isSome(raw.certFile) ? { cert: yield* readPem(raw.certFile.value, "KAFKA_TLS_CERT_FILE") } : {}),
      ...(Option.isSome(raw.keyFile) ? { key: Redacted.make(yield* readPem(raw.keyFile.value, "KAFKA_TLS_KEY_FILE")) } : {}),
      ...(Option.isSome(raw.servername) ? { servername: raw.servername.value } : {}),
      ...(Option.isSome(raw.rejectUnauthorized) ? { rejectUnauthorized: raw.rejectUnauthorized.value } : {})
    }
    : undefined
  let sasl: SaslOptions | undefined
  if (Option.isSome(raw.mechanism)) {
    const username = get(raw.username)
    const password = get(raw.password)
    if (username === undefined || password === undefined) {
      return yield* Effect.fail(new InvalidKafkaConfig({
        variable: "KAFKA_SASL_USERNAME",
        message: `KAFKA_SASL_MECHANISM=${raw.mechanism.value} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`
      }))
    }
    sasl = { mechanism: raw.mechanism.value, username, password }
  }
  const d = (o: Option.Option<Duration.Duration>) => get(o)
  return {
    bootstrap,
    ...(Option.isSome(raw.clientId) ? { clientId: raw.clientId.value } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
    ...(d(raw.connectTimeout) !== undefined ? { connectTimeout: d(raw.connectTimeout)! } : {}),
    ...(d(raw.requestTimeout) !== undefined ? { requestTimeout: d(raw.requestTimeout)! } : {}),
    ...(d(raw.metadataMaxAge) !== undefined ? { metadataMaxAge: d(raw.metadataMaxAge)! } : {})
  } satisfies ClusterOptions
})
