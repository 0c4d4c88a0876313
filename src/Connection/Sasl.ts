/**
 * SASL settings of a broker connection. Secrets are `Redacted`: they never appear in a log line,
 * an error message or a span attribute.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { SaslOptions } from "kpax/Connection"
 *
 * const sasl: SaslOptions = {
 *   mechanism: "SCRAM-SHA-512",
 *   username: "app",
 *   password: Redacted.make(process.env.KAFKA_PASSWORD ?? "")
 * }
 * ```
 */
import type { Effect, Redacted } from "effect"

/** SASL/PLAIN: username and password sent as they are (use it over TLS). */
export interface SaslPlain {
  readonly mechanism: "PLAIN"
  readonly username: string
  readonly password: Redacted.Redacted<string>
  /** Authorization identity; empty (the default) means "the username". */
  readonly authorizationId?: string | undefined
}

/** SASL/SCRAM (RFC 5802/7677): the password never travels, the broker proves it knows it too. */
export interface SaslScram {
  readonly mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * SASL/OAUTHBEARER (RFC 7628, KIP-255): the token is fetched by a user-supplied effect on every
 * (re-)authentication, so it can refresh itself.
 */
export interface SaslOAuthBearer {
  readonly mechanism: "OAUTHBEARER"
  readonly token: Effect.Effect<Redacted.Redacted<string>, unknown>
  /** SASL extensions (KIP-342), e.g. `{ logicalCluster: "lkc-123" }`. */
  readonly extensions?: Readonly<Record<string, string>> | undefined
}

export type SaslOptions = SaslPlain | SaslScram | SaslOAuthBearer

export type SaslMechanism = SaslOptions["mechanism"]
