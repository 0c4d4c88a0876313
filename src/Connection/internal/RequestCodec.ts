/**
 * Request frames out, response bodies in — once per request, plain TypeScript.
 * (Request header v1/v2, response header v0/v1; ApiVersions always answers with header v0.)
 *
 * @internal
 */
import { Reader, ReadFailure } from "../../Protocol/internal/Reader.ts"
import { EncodeFailure, Writer } from "../../Protocol/internal/Writer.ts"
import type { WireApi } from "./WireApi.ts"

const API_VERSIONS_KEY = 18

/** A whole size-prefixed request frame: size, header (key, version, correlation id, client id), body. */
export const encodeRequestFrame = <Req>(
  api: WireApi<Req, unknown>,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: Req
): Uint8Array => {
  const w = new Writer(128)
  const size = w.reserve(4)
  w.int16(api.key).int16(version).int32(correlationId).nullableString(clientId)
  if (version >= api.flexibleVersion) w.emptyTaggedFields()
  api.encodeRequest(w, version, req)
  w.setInt32At(size, w.offset - 4)
  return w.finish()
}

/** Response header version: v1 for flexible versions, except ApiVersions (always v0). */
export const responseHeaderFlexible = (api: WireApi<any, any>, version: number): boolean =>
  version >= api.flexibleVersion && api.key !== API_VERSIONS_KEY

/** Decodes a response frame (as delivered by the transport: starting with the correlation id). */
export const decodeResponseFrame = <Res>(api: WireApi<any, Res>, version: number, frame: Uint8Array): Res => {
  const r = new Reader(frame)
  r.skip(4) // correlation id, already matched by the transport
  if (responseHeaderFlexible(api, version)) r.skipTaggedFields()
  return api.decodeResponse(r, version)
}

export { EncodeFailure, ReadFailure }
