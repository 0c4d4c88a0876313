/**
 * The three APIs a connection needs before anything else: ApiVersions, SaslHandshake and
 * SaslAuthenticate. Hand-written, minimal bridge until `Protocol/generated` provides them.
 *
 * @internal
 */
import type { WireApi } from "./WireApi.ts"

export interface ApiVersionsRequest {
  readonly clientSoftwareName: string
  readonly clientSoftwareVersion: string
}

export interface ApiVersionsResponse {
  readonly errorCode: number
  readonly apiKeys: ReadonlyArray<{ readonly apiKey: number; readonly minVersion: number; readonly maxVersion: number }>
  readonly throttleTimeMs: number
}

export const ApiVersions: WireApi<ApiVersionsRequest, ApiVersionsResponse> = {
  key: 18,
  name: "ApiVersions",
  minVersion: 0,
  maxVersion: 4,
  flexibleVersion: 3,
  encodeRequest: (w, version, req) => {
    if (version >= 3) {
      w.compactString(req.clientSoftwareName)
      w.compactString(req.clientSoftwareVersion)
      w.emptyTaggedFields()
    }
  },
  decodeResponse: (r, version) => {
    const flexible = version >= 3
    const errorCode = r.int16()
    const n = flexible ? r.compactArrayLength(6) : r.arrayLength(6)
    const apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }> = []
    for (let i = 0; i < n; i++) {
      const apiKey = r.int16()
      const minVersion = r.int16()
      const maxVersion = r.int16()
      if (flexible) r.skipTaggedFields()
      apiKeys.push({ apiKey, minVersion, maxVersion })
    }
    const throttleTimeMs = version >= 1 ? r.int32() : 0
    if (flexible) r.skipTaggedFields()
    return { errorCode, apiKeys, throttleTimeMs }
  }
}

export interface SaslHandshakeRequest {
  readonly mechanism: string
}

export interface SaslHandshakeResponse {
  readonly errorCode: number
  readonly mechanisms: ReadonlyArray<string>
}

export const SaslHandshake: WireApi<SaslHandshakeRequest, SaslHandshakeResponse> = {
  key: 17,
  name: "SaslHandshake",
  minVersion: 0,
  maxVersion: 1,
  flexibleVersion: 32767,
  encodeRequest: (w, _version, req) => {
    w.string(req.mechanism)
  },
  decodeResponse: (r) => {
    const errorCode = r.int16()
    const n = r.arrayLength(2)
    const mechanisms: Array<string> = []
    for (let i = 0; i < n; i++) mechanisms.push(r.string())
    return { errorCode, mechanisms }
  }
}

export interface SaslAuthenticateRequest {
  readonly authBytes: Uint8Array
}

export interface SaslAuthenticateResponse {
  readonly errorCode: number
  readonly errorMessage: string | null
  readonly authBytes: Uint8Array
  readonly sessionLifetimeMs: bigint
}

export const SaslAuthenticate: WireApi<SaslAuthenticateRequest, SaslAuthenticateResponse> = {
  key: 36,
  name: "SaslAuthenticate",
  minVersion: 0,
  maxVersion: 2,
  flexibleVersion: 2,
  encodeRequest: (w, version, req) => {
    if (version >= 2) {
      w.compactBytes(req.authBytes)
      w.emptyTaggedFields()
    } else {
      w.bytes(req.authBytes)
    }
  },
  decodeResponse: (r, version) => {
    const flexible = version >= 2
    const errorCode = r.int16()
    const errorMessage = flexible ? r.compactNullableString() : r.nullableString()
    const authBytes = flexible ? r.compactBytes() : r.bytes()
    const sessionLifetimeMs = version >= 1 ? r.int64() : 0n
    if (flexible) r.skipTaggedFields()
    return { errorCode, errorMessage, authBytes, sessionLifetimeMs }
  }
}
