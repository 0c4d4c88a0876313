/**
 * Typed errors of the connection layer.
 *
 * Every error carries the broker address (`host:port`) and a human-readable `message`; none of
 * them ever carries a credential. `retriable` says whether trying again (on the same or a new
 * connection) can help.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Broker } from "kpax/Broker"
 *
 * const program = Effect.gen(function*() {
 *   const broker = yield* Broker
 *   return yield* broker.request(ApiVersions, {})
 * }).pipe(Effect.catchTag("ConnectionError", (e) => Effect.logWarning(e.message)))
 * ```
 */
import { Data } from "effect"
import type { DecodeError, EncodeError } from "../Protocol/DecodeError.ts"

export type { DecodeError, EncodeError } from "../Protocol/DecodeError.ts"

/** Why a connection failed or was closed. */
export type ConnectionErrorReason =
  | "Refused" // could not open the TCP connection (ECONNREFUSED, DNS, unreachable …)
  | "ConnectTimeout" // the TCP/TLS connection was not established in time
  | "Closed" // the connection was closed (by the broker, or by us on shutdown)
  | "Shutdown" // this Broker was shut down (its scope closed): it will not connect again
  | "Socket" // a socket error after the connection was established
  | "FrameTooLarge" // the broker announced a frame larger than `maxFrameBytes`
  | "TlsRecord" // the broker answered with TLS: a plaintext client on a TLS listener
  | "Protocol" // the byte stream does not follow the Kafka framing (bad size, unknown correlation id)

/**
 * The connection to a broker failed or is gone. Every request that was in flight on it fails with
 * the same error.
 *
 * @example
 * ```ts
 * effect.pipe(Effect.catchTag("ConnectionError", (e) => Effect.log(e.reason, e.broker)))
 * ```
 */
export class ConnectionError extends Data.TaggedError("ConnectionError")<{
  readonly broker: string
  readonly reason: ConnectionErrorReason
  readonly message: string
  readonly cause?: unknown
}> {
  /**
   * A new connection may succeed, except when the broker sends frames we refuse to buffer, speaks
   * TLS to a plaintext client, or this Broker was shut down.
   */
  get retriable(): boolean {
    return this.reason !== "FrameTooLarge" && this.reason !== "TlsRecord" && this.reason !== "Shutdown"
  }
}

/**
 * The TLS handshake failed: untrusted certificate authority, hostname mismatch, expired
 * certificate, protocol mismatch…
 *
 * @example
 * ```ts
 * effect.pipe(Effect.catchTag("TlsError", (e) => Effect.logError(e.code, e.message)))
 * ```
 */
export class TlsError extends Data.TaggedError("TlsError")<{
  readonly broker: string
  /** Node/OpenSSL error code, e.g. `SELF_SIGNED_CERT_IN_CHAIN`, `ERR_TLS_CERT_ALTNAME_INVALID`. */
  readonly code: string | undefined
  readonly message: string
  readonly cause?: unknown
}> {
  get retriable(): boolean {
    return false
  }
}

/**
 * No response arrived within the request timeout. The request's slot is freed; a late response is
 * dropped without disturbing other requests on the same connection.
 *
 * @example
 * ```ts
 * broker.request(Metadata, req, { timeout: "5 seconds" }).pipe(
 *   Effect.catchTag("RequestTimeoutError", () => Effect.succeed(undefined)))
 * ```
 */
export class RequestTimeoutError extends Data.TaggedError("RequestTimeoutError")<{
  readonly broker: string
  readonly api: string
  readonly correlationId: number
  readonly timeoutMs: number
  readonly message: string
}> {
  get retriable(): boolean {
    return true
  }
}

/**
 * SASL authentication failed (wrong credentials, mechanism not enabled on the broker, bad server
 * signature…). The message never contains a password or token.
 *
 * @example
 * ```ts
 * effect.pipe(Effect.catchTag("AuthenticationError", (e) => Effect.logError(e.mechanism, e.message)))
 * ```
 */
export class AuthenticationError extends Data.TaggedError("AuthenticationError")<{
  readonly broker: string
  readonly mechanism: string
  /** Kafka error code when the broker answered with one (e.g. 58 SASL_AUTHENTICATION_FAILED). */
  readonly errorCode: number | undefined
  readonly message: string
}> {
  get retriable(): boolean {
    return false
  }
}

/**
 * The client and the broker have no version of this API in common (or a forced version is outside
 * the broker's range).
 *
 * @example
 * ```ts
 * broker.request(DescribeCluster, req).pipe(
 *   Effect.catchTag("UnsupportedVersionError", (e) => Effect.log(e.api, e.brokerMin, e.brokerMax)))
 * ```
 */
export class UnsupportedVersionError extends Data.TaggedError("UnsupportedVersionError")<{
  readonly broker: string
  readonly api: string
  readonly apiKey: number
  readonly clientMin: number
  readonly clientMax: number
  /** The broker's range, `undefined` when the broker does not know the API at all. */
  readonly brokerMin: number | undefined
  readonly brokerMax: number | undefined
  readonly message: string
}> {
  get retriable(): boolean {
    return false
  }
}

/** Errors of the transport alone (before any Kafka API semantics). */
export type TransportError = ConnectionError | TlsError | RequestTimeoutError

/**
 * Everything `Broker.request` can fail with. `DecodeError` (a malformed response) and
 * `EncodeError` (a request the chosen version cannot carry, or that fails its Schema) come from
 * the protocol layer.
 *
 * @example
 * ```ts
 * const handled = broker.request(Metadata, req).pipe(
 *   Effect.catchTags({ ConnectionError: retryLater, AuthenticationError: giveUp }))
 * ```
 */
export type BrokerError =
  | ConnectionError
  | TlsError
  | RequestTimeoutError
  | AuthenticationError
  | UnsupportedVersionError
  | DecodeError
  | EncodeError
