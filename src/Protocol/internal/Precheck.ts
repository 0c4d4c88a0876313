/**
 * Cheap checks behind the generated request prechecks (`is<Struct>Valid` in the generated files):
 * each answers `true` only for a value the Effect Schema of `Primitives.ts` certainly accepts, so a
 * precheck that passes can skip the Schema; anything else (including values the Schema would
 * accept after all, such as a string with a valid surrogate pair) goes to the Schema, which alone
 * builds error messages.
 *
 * @example
 * ```ts
 * kafkaString("orders") // true
 * kafkaString("\ud800") // false: the Schema decides (and rejects it)
 * ```
 *
 * @internal
 */

/** A string the `KafkaString` Schema accepts: at most 10922 UTF-16 units (so ≤ 32766 UTF-8 bytes), no surrogates at all. */
export const kafkaString = (s: unknown): boolean => {
  if (typeof s !== "string") return false
  const n = s.length
  if (n > 10922) return false
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdfff) return false
  }
  return true
}

const UUID_TEXT = /^[A-Za-z0-9_-]{21}[AQgw]$/

/** A string the `Uuid` Schema accepts (the same pattern). */
export const uuid = (s: unknown): boolean => typeof s === "string" && s.length === 22 && UUID_TEXT.test(s)

/** A value the `Bytes` Schema (`Schema.Uint8Array`, an `instanceof` check) accepts. */
export const bytes = (v: unknown): boolean => v instanceof Uint8Array

/** A plain object for a `Schema.Struct` (arrays and null excluded). */
export const struct = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)
