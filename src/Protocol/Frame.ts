/**
 * Request and response frames: the int32 size prefix, the request header (v1, or v2 for
 * flexible versions) and the response header (v0, or v1 for flexible versions — except
 * ApiVersions, whose responses always use header v0), plus the typed boundary over the generated
 * codecs: decoders return a `Result` with a {@link DecodeError}, never an escaping exception.
 *
 * Conventions: `encode*Frame` functions return the bytes to write to the socket, size prefix
 * included. `decode*`/`read*` functions take a *frame* without its size prefix (the bytes a
 * length-prefixed reader hands over), offsets counted from the frame's first byte.
 *
 * @example
 * ```ts
 * const bytes = encodeRequestFrame(Metadata, 12, 1, "my-client", { topics: null })
 * socket.write(bytes)
 * // ... later, for a frame (size prefix stripped) with that correlation id:
 * const header = readResponseHeader(frame, responseHeaderVersion(Metadata, 12))
 * if (Result.isSuccess(header)) {
 *   const body = decodeResponseBody(Metadata, 12, frame, header.success.bodyOffset)
 * }
 * ```
 */
import { Effect, Result, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { Apis, type Api, type AnyApi, type Data } from "./Api.ts"
import { DecodeError, EncodeError, toDecodeError, toEncodeError } from "./DecodeError.ts"
import { ReadFailure, Reader } from "./internal/Reader.ts"
import { EncodeFailure, Writer } from "./internal/Writer.ts"

/** ApiVersions' key: its responses always carry response header v0. */
const API_VERSIONS_KEY = 18

/** The request header version for `api` at `version`: 2 when flexible, else 1. */
export const requestHeaderVersion = (api: AnyApi, version: number): 1 | 2 => (version >= api.flexibleVersion ? 2 : 1)

/** The response header version for `api` at `version`: 1 when flexible (never for ApiVersions), else 0. */
export const responseHeaderVersion = (api: AnyApi, version: number): 0 | 1 =>
  api.key !== API_VERSIONS_KEY && version >= api.flexibleVersion ? 1 : 0

const checkVersion = (api: AnyApi, version: number): void => {
  if (!(version >= api.minVersion && version <= api.maxVersion) || (version | 0) !== version) {
    throw new EncodeFailure(`${api.name} has no version ${version} (supported: ${api.minVersion}-${api.maxVersion})`)
  }
}

// ---- the scratch Writer -----------------------------------------------------------------------

/** A scratch Writer keeps its buffer between frames up to this capacity; a larger one is dropped. */
const SCRATCH_KEEP_BYTES = 1 << 20

/** The idle scratch Writer, or `undefined` while a frame is being written into it. */
let idleScratch: Writer | undefined

/**
 * The Writer for one frame: the idle scratch Writer if there is one (taken, so a re-entrant
 * encode, e.g. from a getter on the request, gets a fresh Writer instead of sharing it), else a
 * new one. Hand it back with {@link frameBytes} or {@link dropWriter}.
 */
const takeWriter = (): Writer => {
  const w = idleScratch
  if (w === undefined) return new Writer(16 * 1024)
  idleScratch = undefined
  return w
}

/**
 * The frame written into `w`, as bytes the caller owns: copied out at their exact size when `w`
 * goes back to be reused (so no two frames ever share memory and later frames never overwrite
 * earlier ones); when `w` is not kept (it grew beyond {@link SCRATCH_KEEP_BYTES}, or the scratch
 * slot is occupied again), a view over its own buffer with no copy, as no one writes to it again.
 */
const frameBytes = (w: Writer): Uint8Array => {
  if (idleScratch !== undefined || w.capacity > SCRATCH_KEEP_BYTES) return w.slice(0)
  const out = w.takeCopy()
  idleScratch = w
  return out
}

/** Hands `w` back after a failed encode (its contents are discarded). */
const dropWriter = (w: Writer): void => {
  if (idleScratch === undefined && w.capacity <= SCRATCH_KEEP_BYTES) {
    w.offset = 0
    idleScratch = w
  }
}

const writeRequest = <Req>(
  w: Writer,
  api: Api<Req, any>,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: Req
): void => {
  checkVersion(api, version)
  const size = w.reserve(4)
  w.int16(api.key).int16(version).int32(correlationId)
  // the header's client id is a classic nullable string even in header v2
  w.nullableString(clientId)
  if (version >= api.flexibleVersion) w.emptyTaggedFields()
  api.encodeRequest(w, version, req)
  w.setInt32At(size, w.offset - size - 4)
}

/**
 * Encodes a whole request: int32 size, request header, body. Throws an {@link EncodeError}
 * (typed, yieldable) when `req` cannot be carried by `version`; see
 * {@link encodeRequestFrameResult} for a `Result`. The frame is written into a scratch buffer
 * reused from call to call and copied out once at its exact size: the returned bytes are the
 * caller's, and no later encode writes to them.
 */
export const encodeRequestFrame = <Req>(
  api: Api<Req, any>,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: Req
): Uint8Array => {
  const w = takeWriter()
  try {
    writeRequest(w, api, version, correlationId, clientId, req)
  } catch (e) {
    dropWriter(w)
    throw toEncodeError(api.name, version, e)
  }
  return frameBytes(w)
}

/** {@link encodeRequestFrame} returning a `Result` instead of throwing. */
export const encodeRequestFrameResult = <Req>(
  api: Api<Req, any>,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: Req
): Result.Result<Uint8Array, EncodeError> => {
  const w = takeWriter()
  try {
    writeRequest(w, api, version, correlationId, clientId, req)
  } catch (e) {
    dropWriter(w)
    return Result.fail(toEncodeError(api.name, version, e))
  }
  return Result.succeed(frameBytes(w))
}

/** A decoded response header. */
export interface ResponseHeader {
  readonly correlationId: number
  /** Offset of the response body within the frame. */
  readonly bodyOffset: number
}

/** The correlation id of a response frame (its first 4 bytes), or `undefined` if it is shorter. */
export const peekCorrelationId = (frame: Uint8Array): number | undefined =>
  frame.length < 4 ? undefined : ((frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3])

/** Reads a response header (v0: correlation id; v1: + tagged fields, skipped). */
export const readResponseHeader = (
  frame: Uint8Array,
  headerVersion: number
): Result.Result<ResponseHeader, DecodeError> => {
  try {
    const r = new Reader(frame)
    const correlationId = r.int32()
    if (headerVersion >= 1) r.skipTaggedFields()
    return Result.succeed({ correlationId, bodyOffset: r.offset })
  } catch (e) {
    return Result.fail(toDecodeError(`ResponseHeader`, headerVersion, e))
  }
}

/** Decodes a response body that starts at `bodyOffset` in `frame`. Trailing bytes are ignored. */
export const decodeResponseBody = <Res>(
  api: Api<any, Res>,
  version: number,
  frame: Uint8Array,
  bodyOffset: number
): Result.Result<Res, DecodeError> => {
  try {
    return Result.succeed(api.decodeResponse(new Reader(frame, bodyOffset), version))
  } catch (e) {
    return Result.fail(toDecodeError(api.name, version, e))
  }
}

/** Decodes a whole response frame (size prefix stripped): header, then body. */
export const decodeResponseFrame = <Res>(
  api: Api<any, Res>,
  version: number,
  frame: Uint8Array
): Result.Result<{ readonly correlationId: number; readonly body: Res }, DecodeError> => {
  try {
    const r = new Reader(frame)
    const correlationId = r.int32()
    if (responseHeaderVersion(api, version) >= 1) r.skipTaggedFields()
    return Result.succeed({ correlationId, body: api.decodeResponse(r, version) })
  } catch (e) {
    return Result.fail(toDecodeError(api.name, version, e))
  }
}

// ---- the broker side (for in-memory test brokers) --------------------------------------------

/** A decoded request frame. */
export interface RequestFrame {
  readonly api: AnyApi
  readonly version: number
  readonly correlationId: number
  readonly clientId: string | null
  readonly body: unknown
}

/** Decodes a whole request frame (size prefix stripped): header v1/v2, then the body. */
export const decodeRequestFrame = (frame: Uint8Array): Result.Result<RequestFrame, DecodeError> => {
  let name = "RequestHeader"
  let version = -1
  try {
    const r: Reader = new Reader(frame)
    const key = r.int16()
    version = r.int16()
    const correlationId = r.int32()
    const clientId = r.nullableString()
    const api = Apis[key]
    if (api === undefined) r.fail(`unknown api key ${key}`)
    name = api.name
    if (version >= api.flexibleVersion) r.skipTaggedFields()
    const body = api.decodeRequest(r, version)
    return Result.succeed({ api, version, correlationId, clientId, body })
  } catch (e) {
    return Result.fail(toDecodeError(name, version, e))
  }
}

/** Encodes a whole response: int32 size, response header, body. Throws an {@link EncodeError}. */
export const encodeResponseFrame = <Res>(
  api: Api<any, Res>,
  version: number,
  correlationId: number,
  res: Res
): Uint8Array => {
  const w = takeWriter()
  try {
    checkVersion(api, version)
    const size = w.reserve(4)
    w.int32(correlationId)
    if (responseHeaderVersion(api, version) >= 1) w.emptyTaggedFields()
    api.encodeResponse(w, version, res)
    w.setInt32At(size, w.offset - size - 4)
  } catch (e) {
    dropWriter(w)
    throw toEncodeError(api.name, version, e)
  }
  return frameBytes(w)
}

// ---- versioned data structures (consumer protocol) -------------------------------------------

/** Encodes `value` as an int16 version followed by the structure (the consumer protocol's format). */
export const encodeVersioned = <T>(data: Data<T>, version: number, value: T): Uint8Array => {
  const w = new Writer(128)
  try {
    if (!(version >= data.minVersion && version <= data.maxVersion)) {
      throw new EncodeFailure(`${data.name} has no version ${version}`)
    }
    w.int16(version)
    data.encode(w, version, value)
  } catch (e) {
    throw toEncodeError(data.name, version, e)
  }
  return w.finish()
}

/**
 * Decodes an int16 version followed by the structure. As in Kafka's consumer protocol, a version
 * newer than this library knows is read with the newest known layout (new versions only append
 * fields); trailing bytes are ignored.
 */
export const decodeVersioned = <T>(
  data: Data<T>,
  bytes: Uint8Array
): Result.Result<{ readonly version: number; readonly value: T }, DecodeError> => {
  let version = -1
  try {
    const r = new Reader(bytes)
    version = r.int16()
    if (version < data.minVersion) r.fail(`unsupported version ${version}`)
    const value = data.decode(r, Math.min(version, data.maxVersion))
    return Result.succeed({ version, value })
  } catch (e) {
    return Result.fail(toDecodeError(data.name, version, e))
  }
}

// ---- Schema codecs ----------------------------------------------------------------------------

const issue = (e: unknown, input: unknown): SchemaIssue.Issue => {
  if (e instanceof ReadFailure) {
    return new SchemaIssue.InvalidValue({ message: `${e.reason} (at byte ${e.offset})` }, input)
  }
  if (e instanceof EncodeFailure) return new SchemaIssue.InvalidValue({ message: e.reason }, input)
  throw e
}

const bodyCodec = <A>(
  target: Schema.Codec<A>,
  decode: (r: Reader) => A,
  encode: (w: Writer, a: A) => void
): Schema.Codec<A, Uint8Array> =>
  Schema.Uint8Array.pipe(
    Schema.decodeTo(
      target,
      SchemaTransformation.transformEffect<A, Uint8Array>({
        decode: (bytes) => {
          try {
            return Effect.succeed(decode(new Reader(bytes)))
          } catch (e) {
            return Effect.fail(issue(e, bytes))
          }
        },
        encode: (a) => {
          const w = new Writer(256)
          try {
            encode(w, a)
          } catch (e) {
            return Effect.fail(issue(e, a))
          }
          return Effect.succeed(w.finish())
        }
      })
    )
  )

const requestCodecs = new Map<AnyApi, Array<Schema.Codec<any, Uint8Array>>>()
const responseCodecs = new Map<AnyApi, Array<Schema.Codec<any, Uint8Array>>>()

const cached = <A>(
  cache: Map<AnyApi, Array<Schema.Codec<any, Uint8Array>>>,
  api: AnyApi,
  version: number,
  make: () => Schema.Codec<A, Uint8Array>
): Schema.Codec<A, Uint8Array> => {
  checkVersionOrThrow(api, version)
  let perVersion = cache.get(api)
  if (perVersion === undefined) cache.set(api, perVersion = [])
  return (perVersion[version] ??= make())
}

const checkVersionOrThrow = (api: AnyApi, version: number): void => {
  try {
    checkVersion(api, version)
  } catch (e) {
    throw toEncodeError(api.name, version, e)
  }
}

/**
 * A Schema codec between a request body's bytes (for `version`, no header) and the request:
 * `Schema.encodeSync(requestCodec(Metadata, 12))(req)` validates `req` against the request Schema
 * and encodes it; decoding runs the generated reader and validates the result. Cached per
 * (api, version). Meant for once-per-request use, not per record.
 */
export const requestCodec = <Req>(api: Api<Req, any>, version: number): Schema.Codec<Req, Uint8Array> =>
  cached(requestCodecs, api, version, () =>
    bodyCodec<Req>(
      api.Request,
      (r) => api.decodeRequest(r, version),
      (w, a) => api.encodeRequest(w, version, a)
    ))

/** The response counterpart of {@link requestCodec}. */
export const responseCodec = <Res>(api: Api<any, Res>, version: number): Schema.Codec<Res, Uint8Array> =>
  cached(responseCodecs, api, version, () =>
    bodyCodec<Res>(
      api.Response,
      (r) => api.decodeResponse(r, version),
      (w, a) => api.encodeResponse(w, version, a)
    ))
