/**
 * One established connection: an open transport whose versions are negotiated (ApiVersions) and
 * which is authenticated (SASL), with the frame encode/decode every request goes through.
 * `Handshake.ts` opens sessions (connect, ApiVersions, then SASL through `SaslAuthenticator.ts`,
 * which works on a `Session` and so cannot live here without an import cycle).
 *
 * @internal
 */
import { Effect, Result } from "effect"
import type { Api } from "../../Protocol/Api.ts"
import type { DecodeError, EncodeError } from "../../Protocol/DecodeError.ts"
import { decodeResponseFrame, encodeRequestFrameResult } from "../../Protocol/Frame.ts"
import type { ProduceRequest } from "../../Protocol/generated/Produce.ts"
import { encodeProduceFrame } from "../../Protocol/internal/ProduceFrame.ts"
import type { FrameBytes } from "../../Protocol/internal/ProduceFrame.ts"
import type { BrokerError } from "../Errors.ts"
import type * as Transport from "./Transport.ts"
import { VersionTable } from "./Versions.ts"

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
