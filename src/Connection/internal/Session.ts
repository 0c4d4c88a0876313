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
import { Result } from "effect"
import type { Api } from "../../Protocol/Api.ts"
import type { DecodeError, EncodeError } from "../../Protocol/DecodeError.ts"
import { decodeResponseFrame, encodeRequestFrameResult } from "../../Protocol/Frame.ts"
import { ApiVersions } from "../../Protocol/generated/ApiVersions.ts"
import type { ProduceRequest } from "../../Protocol/generated/Produce.ts"
import { encodeProduceFrame } from "../../Protocol/internal/ProduceFrame.ts"
import type { FrameBytes } from "../../Protocol/internal/ProduceFrame.ts"
import { ConnectionError } from "../Errors.ts"
import type { BrokerError } from "../Errors.ts"
import { authenticate, reauthenticateLoop } from "./SaslAuthenticator.ts"
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
const PRODUCE_KEY = 0

export class Session {
  readonly transport: Transport.Transport
  readonly clientId: string | null
  versions: VersionTable = new VersionTable([])
  /** Successful KIP-368 re-authentications on this connection. */
  reauthentications = 0

  constructor(transport: Transport.Transport, clientId: string | null) {
    this.transport = transport
    this.clientId = clientId
  }

  get broker(): string {
    return this.transport.broker
  }

  /**
   * Encodes a whole request frame, or an `EncodeError` when the value cannot be encoded. Produce
   * frames come in parts that reference the record batches instead of copying them.
   */
  encode<Req>(api: Api<Req, any>, version: number, correlationId: number, req: Req): Result.Result<FrameBytes, EncodeError> {
    if (api.key === PRODUCE_KEY) return encodeProduceFrame(version, correlationId, this.clientId, req as ProduceRequest)
    return encodeRequestFrameResult(api, version, correlationId, this.clientId, req)
  }

  /** Decodes a response frame (as the transport delivers it), or a `DecodeError`. */
  decode<Res>(api: Api<any, Res>, version: number, frame: Uint8Array): Result.Result<Res, DecodeError> {
    const out = decodeResponseFrame(api, version, frame)
    return Result.isSuccess(out) ? Result.succeed(out.success.body) : Result.fail(out.failure)
  }

  /** encode → send → decode, without metrics or spans (handshake, SASL). */
  exchange<Req, Res>(
    api: Api<Req, Res>,
    version: number,
    req: Req,
    timeoutMs: number,
    priority = false
  ): Effect.Effect<Res, BrokerError> {
    return Effect.suspend((): Effect.Effect<Res, BrokerError> => {
      const correlationId = this.transport.nextCorrelationId()
      const frame = this.encode(api, version, correlationId, req)
      if (Result.isFailure(frame)) return Effect.fail(frame.failure)
      return Effect.flatMap(
        this.transport.request(frame.success, correlationId, { timeoutMs, api: api.name, priority }),
        (bytes) => {
          const res = this.decode(api, version, bytes)
          return Result.isSuccess(res) ? Effect.succeed(res.success) : Effect.fail(res.failure)
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
