/**
 * One established connection: an open transport whose versions are negotiated (ApiVersions) and
 * which is authenticated (SASL). `openSession` does the whole setup; the re-authentication fiber
 * lives in the session's scope.
 *
 * @internal
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import type { SaslOptions } from "../Sasl.ts"
import { ConnectionError, RequestEncodeError, ResponseDecodeError } from "../Errors.ts"
import type { BrokerError } from "../Errors.ts"
import { ApiVersions } from "./HandshakeApis.ts"
import { decodeResponseFrame, EncodeFailure, encodeRequestFrame, ReadFailure } from "./RequestCodec.ts"
import { authenticate, reauthenticateLoop } from "./SaslAuthenticator.ts"
import * as Transport from "./Transport.ts"
import { VersionTable } from "./Versions.ts"
import type { WireApi } from "./WireApi.ts"

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

export class Session {
  readonly transport: Transport.Transport
  readonly clientId: string | null
  versions: VersionTable = new VersionTable([])

  constructor(transport: Transport.Transport, clientId: string | null) {
    this.transport = transport
    this.clientId = clientId
  }

  get broker(): string {
    return this.transport.broker
  }

  /** Encodes a whole request frame; a `RequestEncodeError` when the value cannot be encoded. */
  encode<Req>(
    api: WireApi<Req, unknown>,
    version: number,
    correlationId: number,
    req: Req
  ): Uint8Array | RequestEncodeError {
    try {
      return encodeRequestFrame(api, version, correlationId, this.clientId, req)
    } catch (e) {
      if (!(e instanceof EncodeFailure)) throw e
      return new RequestEncodeError({
        broker: this.broker,
        api: api.name,
        version,
        message: `cannot encode ${api.name} v${version}: ${e.reason}`
      })
    }
  }

  /** Decodes a response frame; a `ResponseDecodeError` when the bytes are malformed. */
  decode<Res>(
    api: WireApi<any, Res>,
    version: number,
    correlationId: number,
    frame: Uint8Array
  ): Res | ResponseDecodeError {
    try {
      return decodeResponseFrame(api, version, frame)
    } catch (e) {
      const detail = e instanceof ReadFailure ? `at byte ${e.offset}: ${e.reason}` : String(e)
      return new ResponseDecodeError({
        broker: this.broker,
        api: api.name,
        version,
        correlationId,
        message: `cannot decode ${api.name} v${version} response from ${this.broker} ${detail}`,
        cause: e
      })
    }
  }

  /** encode → send → decode, without metrics or spans (handshake, SASL). */
  exchange<Req, Res>(
    api: WireApi<Req, Res>,
    version: number,
    req: Req,
    timeoutMs: number,
    priority = false
  ): Effect.Effect<Res, BrokerError> {
    return Effect.suspend((): Effect.Effect<Res, BrokerError> => {
      const correlationId = this.transport.nextCorrelationId()
      const frame = this.encode(api, version, correlationId, req)
      if (frame instanceof RequestEncodeError) return Effect.fail(frame)
      return Effect.flatMap(
        this.transport.request(frame, correlationId, { timeoutMs, api: api.name, priority }),
        (bytes) => {
          const res = this.decode(api, version, correlationId, bytes)
          return res instanceof ResponseDecodeError ? Effect.fail(res) : Effect.succeed(res)
        }
      )
    })
  }
}

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
      if (frame instanceof RequestEncodeError) return yield* frame
      const bytes = yield* session.transport.request(frame, correlationId, {
        timeoutMs: options.requestTimeoutMs,
        api: "ApiVersions"
      })
      // Every version's body starts with the int16 error code, right after the v0 header.
      const errorCode = bytes.length >= 6 ? (bytes[4]! << 8 | bytes[5]!) << 16 >> 16 : -1
      const decodeVersion = errorCode === UNSUPPORTED_VERSION ? 0 : version
      const res = session.decode(ApiVersions, decodeVersion, correlationId, bytes)
      if (res instanceof ResponseDecodeError) return yield* res
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
