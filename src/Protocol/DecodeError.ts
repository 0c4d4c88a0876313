/**
 * Typed errors at the public boundary of the protocol codecs.
 *
 * @example
 * ```ts
 * const result = decodeResponseBody(Metadata, 12, frame, 4)
 * if (Result.isFailure(result)) console.log(result.failure.reason, result.failure.offset)
 * ```
 */
import { Schema } from "effect"
import { EncodeFailure } from "./internal/Writer.ts"
import { ReadFailure } from "./internal/Reader.ts"

/**
 * A message could not be decoded: too short, a length or count beyond the bytes remaining, a null
 * where the version allows none, a tagged field of the wrong size, ... `offset` is the byte offset
 * (within the frame or buffer given to the decoder) where decoding failed.
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  /** API or structure name, e.g. `"Metadata"` or `"ConsumerProtocolAssignment"`. */
  api: Schema.String,
  version: Schema.Number,
  offset: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot decode ${this.api} v${this.version} at byte ${this.offset}: ${this.reason}`
  }
}

/**
 * A message could not be encoded for the version asked for: a non-default value in a field that
 * version lacks (and that Kafka does not mark ignorable), a null the version cannot carry, a
 * string over 32767 bytes, a version the API does not have, ...
 */
export class EncodeError extends Schema.TaggedError<EncodeError>()("EncodeError", {
  api: Schema.String,
  version: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot encode ${this.api} v${this.version}: ${this.reason}`
  }
}

/** @internal Turns anything a decoder threw into a DecodeError (unexpected throws are bugs, reported as such). */
export const toDecodeError = (api: string, version: number, e: unknown): DecodeError =>
  e instanceof ReadFailure
    ? new DecodeError({ api, version, offset: e.offset, reason: e.reason })
    : new DecodeError({ api, version, offset: -1, reason: `internal error: ${String(e)}` })

/** @internal Turns anything an encoder threw into an EncodeError. */
export const toEncodeError = (api: string, version: number, e: unknown): EncodeError =>
  e instanceof EncodeFailure
    ? new EncodeError({ api, version, reason: e.reason })
    : new EncodeError({ api, version, reason: `invalid value: ${String(e)}` })
