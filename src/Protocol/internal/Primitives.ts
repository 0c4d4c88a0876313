/**
 * Schemas for Kafka's primitive field types, and the few runtime helpers the generated codecs
 * (`src/Protocol/generated/*.ts`) call. Representations, shared by Schema, Writer and Reader:
 *
 * | Kafka type            | TypeScript   | Schema                                                |
 * |-----------------------|--------------|-------------------------------------------------------|
 * | bool                  | `boolean`    | `Schema.Boolean`                                      |
 * | int8/int16/int32      | `number`     | integer within the type's range                       |
 * | uint16/uint32         | `number`     | integer within the type's range                       |
 * | int64                 | `bigint`     | bigint within [-2^63, 2^63)                           |
 * | float64               | `number`     | `Schema.Number`                                       |
 * | string                | `string`     | well-formed UTF-16, at most 32767 UTF-8 bytes         |
 * | bytes / records       | `Uint8Array` | `Schema.Uint8Array`                                   |
 * | uuid                  | `string`     | Kafka's 22-char unpadded base64url form               |
 */
import { Schema } from "effect"
import { EncodeFailure } from "./Writer.ts"

/** int8: integer in [-128, 127]. */
export const Int8 = Schema.Int.check(Schema.isBetween({ minimum: -128, maximum: 127 }))
/** int16: integer in [-32768, 32767]. */
export const Int16 = Schema.Int.check(Schema.isBetween({ minimum: -32768, maximum: 32767 }))
/** uint16: integer in [0, 65535]. */
export const UInt16 = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))
/** int32: integer in [-2^31, 2^31). */
export const Int32 = Schema.Int.check(Schema.isInt32())
/** uint32: integer in [0, 2^32). */
export const UInt32 = Schema.Int.check(Schema.isUint32())
/** int64 as a `bigint` in [-2^63, 2^63). */
export const Int64 = Schema.BigInt.check(
  Schema.isBetweenBigInt({ minimum: -(2n ** 63n), maximum: 2n ** 63n - 1n })
)
/** float64 (IEEE 754 double). */
export const Float64 = Schema.Number
/** bool. */
export const Bool = Schema.Boolean

const loneSurrogate = /\p{Cs}/u

/** A Kafka string: UTF-8 on the wire, so no lone surrogates, and at most 32767 encoded bytes. */
export const KafkaString = Schema.String.check(
  Schema.makeFilter<string>((s) =>
    loneSurrogate.test(s)
      ? "a Kafka string must be well-formed UTF-16 (no lone surrogates)"
      : (s.length > 10922 && Buffer.byteLength(s, "utf8") > 0x7fff)
      ? "a Kafka string is at most 32767 UTF-8 bytes"
      : undefined
  )
)
/** bytes / records. */
export const Bytes = Schema.Uint8Array

/** Kafka's zero uuid (`Uuid.ZERO_UUID`) in its text form. */
export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"

/**
 * A uuid in Kafka's text form: the 16 bytes as unpadded base64url, 22 characters (the last one
 * carries only 2 bits, so it is one of `A`, `Q`, `g`, `w`), as printed by Kafka's tools.
 */
export const Uuid = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{21}[AQgw]$/))

// ---- runtime helpers for generated code --------------------------------------------------

/** Memoises a thunk: generated files build their Schemas on first use, not at import. */
export const lazy = <A>(f: () => A): () => A => {
  let value: A | undefined
  let done = false
  return () => {
    if (!done) {
      value = f()
      done = true
    }
    return value as A
  }
}

/** A shared empty byte array (the default of non-nullable `bytes` fields). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0)

/** Thrown when a field holding a non-default value is not part of the version being encoded. */
export const notInVersion = (field: string, version: number): never => {
  throw new EncodeFailure(`${field} has a non-default value but is not part of version ${version}`)
}

/** Returns `value` unless it is null, which the version being encoded cannot carry. */
export const nonNull = <A>(value: A | null, field: string, version: number): A => {
  if (value === null) throw new EncodeFailure(`${field} is null but not nullable in version ${version}`)
  return value
}

/** Fails encoding for a version outside the message's valid versions. */
export const badVersion = (message: string, version: number): never => {
  throw new EncodeFailure(`${message} has no version ${version}`)
}
