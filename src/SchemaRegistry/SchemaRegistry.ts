/**
 * A Schema Registry client as an Effect service, over the Confluent-compatible REST API
 * (Confluent Schema Registry, Apicurio's `/apis/ccompat/v7`, Karapace, Redpanda).
 *
 * - register, lookup, schema by id, subject versions, compatibility check, compatibility config;
 * - what does not change is cached — schema by id, id by (subject, schema), a fixed version — and
 *   concurrent misses for one key share one request;
 * - failures without an answer and 5xx answers are retried through a `Schedule` (by default the
 *   current `RetryPolicy`'s `transient` schedule); every registry error is a
 *   `RegistryResponseError` carrying the registry's `error_code` and message, no answer is
 *   `RegistryUnavailable`.
 *
 * `layer(options)` builds it from code, `layerConfig` from `Config`:
 *
 * | variable | meaning |
 * | --- | --- |
 * | `KAFKA_SCHEMA_REGISTRY_URL` | base URL, e.g. `https://registry:8081` |
 * | `KAFKA_SCHEMA_REGISTRY_USERNAME`, `KAFKA_SCHEMA_REGISTRY_PASSWORD` | HTTP basic auth |
 * | `KAFKA_SCHEMA_REGISTRY_BEARER_TOKEN` | a bearer token (instead of basic auth) |
 * | `KAFKA_SCHEMA_REGISTRY_TLS_CA_FILE`, `…_TLS_CERT_FILE`, `…_TLS_KEY_FILE` | PEM files |
 * | `KAFKA_SCHEMA_REGISTRY_TLS_REJECT_UNAUTHORIZED` | `false` to skip certificate checks |
 * | `KAFKA_SCHEMA_REGISTRY_REQUEST_TIMEOUT` | a duration, default `30 seconds` |
 *
 * Layer: beside the clients, needing no broker (checked by `npm run lint:cycles`). May import
 * Protocol, Connection, Cluster and Topic (it uses Topic, for `RegistryTopic`, and the Cluster's
 * `RetryPolicy`); never the clients (Consumer, Producer, Admin) or anything above. The clients do
 * not import it either: a `RegistryTopic` is a `Topic`.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import { RetryPolicy } from "../Cluster/RetryPolicy.ts"
import * as Client from "./internal/client.ts"
import * as Http from "./internal/http.ts"
import type { SchemaRegistryClient } from "./internal/types.ts"

export type {
  CompatibilityLevel,
  CompatibilityResult,
  RegisteredSchema,
  SchemaDefinition,
  SchemaReference,
  SchemaRegistryClient,
  SchemaType
} from "./internal/types.ts"

/**
 * The Schema Registry service.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const registry = yield* SchemaRegistry.SchemaRegistry
 *   const id = yield* registry.register("orders-value", { schemaType: "AVRO", schema: "\"string\"" })
 * })
 * ```
 *
 * @since 0.1.0
 */
export class SchemaRegistry extends Context.Service<SchemaRegistry, SchemaRegistryClient>()("kpax/SchemaRegistry") {}

/**
 * How to reach the registry.
 *
 * @since 0.1.0
 */
export interface SchemaRegistryOptions {
  /** Base URL, e.g. `http://localhost:8081` or Apicurio's `http://host:8080/apis/ccompat/v7`. */
  readonly url: string
  /** HTTP basic auth (`username`, `password`) or a bearer token. */
  readonly auth?: Http.Auth | undefined
  /** TLS for `https:` URLs: CA, client certificate and key (PEM), verification. */
  readonly tls?: Http.TlsOptions | undefined
  /** Time-out of one request (default 30 s). */
  readonly requestTimeout?: Duration.Input | undefined
  /** Retries of requests that got no answer or a 5xx (default: `RetryPolicy`'s `transient`). */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * Makes a client; its keep-alive connections close with the scope.
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const registry = yield* SchemaRegistry.make({ url: "http://localhost:8081" })
 *   return yield* registry.subjects
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: SchemaRegistryOptions) =>
  Effect.gen(function*() {
    const policy = yield* RetryPolicy
    const transport = yield* Effect.acquireRelease(
      Effect.sync(() => Http.make(options)),
      (t) => Effect.sync(() => t.close())
    )
    return Client.make(transport, options.retry ?? policy.transient)
  })

/**
 * The service from options.
 *
 * @example
 * ```ts
 * import * as SchemaRegistry from "kpax/SchemaRegistry"
 *
 * const Registry = SchemaRegistry.layer({ url: "http://localhost:8081" })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: SchemaRegistryOptions): Layer.Layer<SchemaRegistry> => Layer.effect(SchemaRegistry, make(options))

/**
 * A registry setting that parses but cannot be used (a PEM file that cannot be read). Names the
 * variable, never a secret.
 *
 * @since 0.1.0
 */
export class InvalidSchemaRegistryConfig extends Data.TaggedError("InvalidSchemaRegistryConfig")<{
  readonly variable: string
  readonly message: string
}> {}

const readPem = (variable: string) => (file: string) =>
  Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: (e) => new InvalidSchemaRegistryConfig({ variable, message: `${variable}: cannot read ${file}: ${(e as Error).message}` })
  })

/**
 * The options read from `Config` (`KAFKA_SCHEMA_REGISTRY_*`, see the module's table).
 *
 * @example
 * ```ts
 * // KAFKA_SCHEMA_REGISTRY_URL=http://localhost:8081
 * const options = Effect.runSync(SchemaRegistry.optionsConfig) // { url: "http://localhost:8081", … }
 * ```
 *
 * @since 0.1.0
 */
export const optionsConfig: Effect.Effect<SchemaRegistryOptions, Config.ConfigError | InvalidSchemaRegistryConfig> = Effect.gen(function*() {
  const c = yield* Config.all({
    url: Config.String("URL"),
    username: Config.option(Config.String("USERNAME")),
    password: Config.option(Config.Redacted("PASSWORD")),
    bearerToken: Config.option(Config.Redacted("BEARER_TOKEN")),
    caFile: Config.option(Config.String("TLS_CA_FILE")),
    certFile: Config.option(Config.String("TLS_CERT_FILE")),
    keyFile: Config.option(Config.String("TLS_KEY_FILE")),
    rejectUnauthorized: Config.option(Config.Boolean("TLS_REJECT_UNAUTHORIZED")),
    requestTimeout: Config.option(Config.Duration("REQUEST_TIMEOUT"))
  }).pipe(Config.nested("SCHEMA_REGISTRY"), Config.nested("KAFKA"))
  const get = Option.getOrUndefined
  const tls: Http.TlsOptions = {
    ca: Option.isSome(c.caFile) ? yield* readPem("KAFKA_SCHEMA_REGISTRY_TLS_CA_FILE")(c.caFile.value) : undefined,
    cert: Option.isSome(c.certFile) ? yield* readPem("KAFKA_SCHEMA_REGISTRY_TLS_CERT_FILE")(c.certFile.value) : undefined,
    key: Option.isSome(c.keyFile) ? Redacted.make(yield* readPem("KAFKA_SCHEMA_REGISTRY_TLS_KEY_FILE")(c.keyFile.value)) : undefined,
    rejectUnauthorized: get(c.rejectUnauthorized)
  }
  return {
    url: c.url,
    auth: { username: get(c.username), password: get(c.password), bearerToken: get(c.bearerToken) },
    tls,
    requestTimeout: get(c.requestTimeout)
  }
})

/**
 * The service from `Config` (`KAFKA_SCHEMA_REGISTRY_URL` and friends).
 *
 * @example
 * ```ts
 * import * as SchemaRegistry from "kpax/SchemaRegistry"
 *
 * // KAFKA_SCHEMA_REGISTRY_URL=http://localhost:8081 node app.ts
 * const Registry = SchemaRegistry.layerConfig
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<SchemaRegistry, Config.ConfigError | InvalidSchemaRegistryConfig> = Layer.effect(
  SchemaRegistry,
  Effect.flatMap(optionsConfig, make)
)
