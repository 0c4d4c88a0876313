/**
 * Opening a session: connect the transport, negotiate versions (ApiVersions), authenticate
 * (SASL) and fork the re-authentication fiber into the session's scope.
 *
 * @internal
 */
import { Effect, Result } from "effect"
import type { Scope } from "effect"
import { ApiVersions } from "../../Protocol/generated/ApiVersions.ts"
import { ConnectionError } from "../Errors.ts"
import type { BrokerError } from "../Errors.ts"
import type { SaslOptions } from "../Sasl.ts"
import { authenticate, reauthenticateLoop } from "./SaslAuthenticator.ts"
import { Session } from "./Session.ts"
import * as Transport from "./Transport.ts"
import { VersionTable } from "./Versions.ts"

export interface SessionOptions {
  readonly transport: Transport.TransportOptions
  readonly clientId: string | null
  /** Timeout of the handshake and SASL requests. */
  readonly requestTimeoutMs: number
  readonly sasl?: SaslOptions | undefined
  readonly clientSoftwareName: string
  readonly clientSoftwareVersion: string
}

const UNSUPPORTED_VERSION = 35

/**
 * ApiVersions at our highest version; a broker that does not know it answers UNSUPPORTED_VERSION
 * with a v0 body listing its own range, and we retry with the highest version it supports.
 */
const negotiate = (session: Session, options: SessionOptions): Effect.Effect<void, BrokerError> =>
  Effect.gen(function*() {
    const req = { clientSoftwareName: options.clientSoftwareName, clientSoftwareVersion: options.clientSoftwareVersion }
    let version = ApiVersions.maxVersion
    for (;;) {
      const correlationId = session.transport.nextCorrelationId()
      const frame = session.encode(ApiVersions, version, correlationId, req)
      if (Result.isFailure(frame)) return yield* frame.failure
      const bytes = yield* session.transport.request(frame.success, correlationId, {
        timeoutMs: options.requestTimeoutMs,
        api: "ApiVersions"
      })
      // Every version's body starts with the int16 error code, right after the v0 header.
      const errorCode = bytes.length >= 6 ? (bytes[4]! << 8 | bytes[5]!) << 16 >> 16 : -1
      const decodeVersion = errorCode === UNSUPPORTED_VERSION ? 0 : version
      const decoded = session.decode(ApiVersions, decodeVersion, bytes)
      if (Result.isFailure(decoded)) return yield* decoded.failure
      const res = decoded.success
      if (res.errorCode === UNSUPPORTED_VERSION) {
        const theirs = res.apiKeys.find((k) => k.apiKey === ApiVersions.key)
        const next = Math.min(ApiVersions.maxVersion, theirs?.maxVersion ?? 0)
        if (next < version) {
          version = next
          continue
        }
      }
      if (res.errorCode !== 0) {
        return yield* new ConnectionError({
          broker: session.broker,
          reason: "Protocol",
          message: `ApiVersions v${version} to ${session.broker} failed with error code ${res.errorCode}`
        })
      }
      session.versions = new VersionTable(res.apiKeys)
      return
    }
  })

/**
 * Opens, negotiates and authenticates a connection. Everything (socket, re-authentication fiber)
 * is released when the scope closes.
 */
export const openSession = (options: SessionOptions): Effect.Effect<Session, BrokerError, Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport.connect(options.transport)
    const session = new Session(transport, options.clientId)
    yield* negotiate(session, options)
    if (options.sasl !== undefined) {
      const lifetimeMs = yield* authenticate(session, options.sasl, options.requestTimeoutMs, false)
      if (lifetimeMs > 0) {
        yield* Effect.forkScoped(reauthenticateLoop(session, options.sasl, options.requestTimeoutMs, lifetimeMs))
      }
    }
    return session
  })
