/**
 * The descriptors the generated codecs implement: `Api<Req, Res>` for one Kafka API and
 * `Data<T>` for a versioned structure carried inside another message. The generated files and
 * `Api.ts` (the table of every generated API) both import this module, so neither imports the other.
 *
 * @example
 * ```ts
 * import { Metadata, type Api, type MetadataRequest, type MetadataResponse } from "kpax/Protocol"
 * const api: Api<MetadataRequest, MetadataResponse> = Metadata
 * ```
 */
import type { Schema } from "effect"
import type { Reader } from "./internal/Reader.ts"
import type { Writer } from "./internal/Writer.ts"

/**
 * One Kafka API: its key, versions, Schemas and generated codecs. One request type and one
 * response type cover every version; encoding version v writes only the fields v has, decoding v
 * fills the others with their defaults. The codecs work on message bodies (no header) and may
 * throw the internal `ReadFailure` / `EncodeFailure`: use `Frame.ts` for a typed boundary.
 */
export interface Api<Req, Res> {
  /** Kafka's apiKey. */
  readonly key: number
  /** The API's name without `Request`/`Response`: `"Produce"`, `"Metadata"`, ... */
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  /** First flexible version (request header v2 / response header v1), or 32767 if none. */
  readonly flexibleVersion: number
  /** Effect Schema of the request (every version's fields). Built on first access. */
  readonly Request: Schema.Codec<Req>
  /** Effect Schema of the response (every version's fields). Built on first access. */
  readonly Response: Schema.Codec<Res>
  /** Writes the request body for `version`. Throws `EncodeFailure`. */
  readonly encodeRequest: (w: Writer, version: number, req: Req) => void
  /** Reads the response body for `version`. Throws `ReadFailure`. */
  readonly decodeResponse: (r: Reader, version: number) => Res
  /** Reads a request body (for test brokers and round trips). Throws `ReadFailure`. */
  readonly decodeRequest: (r: Reader, version: number) => Req
  /** Writes a response body (for test brokers and round trips). Throws `EncodeFailure`. */
  readonly encodeResponse: (w: Writer, version: number, res: Res) => void
}

/** Any API descriptor. */
export type AnyApi = Api<any, any>

/** The request type of an API descriptor. */
export type RequestOf<A> = A extends Api<infer Req, any> ? Req : never

/** The response type of an API descriptor. */
export type ResponseOf<A> = A extends Api<any, infer Res> ? Res : never

/**
 * A versioned structure without a header, carried inside another message's bytes
 * (ConsumerProtocolSubscription, ConsumerProtocolAssignment).
 */
export interface Data<T> {
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  /** Effect Schema of the structure (every version's fields). Built on first access. */
  readonly Schema: Schema.Codec<T>
  /** Writes the structure for `version`. Throws `EncodeFailure`. */
  readonly encode: (w: Writer, version: number, value: T) => void
  /** Reads the structure for `version`. Throws `ReadFailure`. */
  readonly decode: (r: Reader, version: number) => T
}
