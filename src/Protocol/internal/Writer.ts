/**
 * Growable big-endian byte writer for Kafka's wire primitives.
 *
 * Plain TypeScript on the hot path: no Effect, no Schema, no closures per value. Values are
 * trusted (the Schema layer validates ranges); integer writes wrap like `DataView` does.
 * The only things the Writer itself rejects (with an {@link EncodeFailure}) are strings or
 * byte arrays too long for their length prefix and uuids that are not 22-char base64url.
 *
 * Conventions shared with {@link Reader}:
 * - int64 / varlong are `bigint`; `varlongNumber` is a fast path for values within ±2^53.
 * - uuid is Kafka's own text form: 22 characters of unpadded base64url (what `Uuid.toString()`
 *   and the Kafka CLI tools print), e.g. `"AAAAAAAAAAAAAAAAAAAAAA"` for the zero uuid.
 * - compact lengths are unsigned varints of `length + 1` (0 = null).
 *
 * @example
 * ```ts
 * const w = new Writer()
 * const size = w.reserve(4)
 * w.int16(18).int16(3).int32(1)
 * w.setInt32At(size, w.offset - size - 4)
 * const bytes = w.finish()
 * ```
 */
export class Writer {
  private buf: Buffer
  private view: DataView
  private pos = 0

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity))
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
  }

  /** Current write position (number of bytes written so far). Setting it truncates or rewinds. */
  get offset(): number {
    return this.pos
  }
  set offset(p: number) {
    if (p < 0 || p > this.buf.length) throw new EncodeFailure(`offset ${p} out of range`)
    this.pos = p
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let cap = this.buf.length * 2
    while (cap < need) cap *= 2
    const next = Buffer.allocUnsafe(cap)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength)
  }

  /** Skips `n` bytes (contents undefined until back-patched) and returns their start offset. */
  reserve(n: number): number {
    this.ensure(n)
    const at = this.pos
    this.pos += n
    return at
  }

  /** Back-patches a big-endian int32 at `at` (for size prefixes). */
  setInt32At(at: number, v: number): this {
    this.view.setInt32(at, v)
    return this
  }

  /** Back-patches a big-endian uint32 at `at` (for CRCs). */
  setUint32At(at: number, v: number): this {
    this.view.setUint32(at, v >>> 0)
    return this
  }

  /** Back-patches a big-endian int16 at `at`. */
  setInt16At(at: number, v: number): this {
    this.view.setInt16(at, v)
    return this
  }

  /** Back-patches a single byte at `at`. */
  setInt8At(at: number, v: number): this {
    this.buf[at] = v & 0xff
    return this
  }

  /** A view (no copy) of bytes already written, `[start, end)`. */
  slice(start: number, end: number = this.pos): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, end - start)
  }

  /** Bytes the Writer can hold before it has to grow. */
  get capacity(): number {
    return this.buf.length
  }

  /**
   * The written bytes as a `Uint8Array` view (no copy). The Writer starts over with a fresh
   * buffer afterwards, so the returned bytes are never overwritten by later use.
   */
  finish(): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos)
    this.buf = Buffer.allocUnsafe(Math.max(16, Math.min(this.buf.length, 4096)))
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
    this.pos = 0
    return out
  }

  /**
   * The written bytes copied out at their exact size, then the Writer rewinds to offset 0 and
   * keeps its buffer for the next use (a scratch Writer). The result owns its bytes: later writes
   * never touch them. (Small results are slices of Node's shared `Buffer` pool, as
   * `Buffer.allocUnsafe` makes them: the bytes are theirs, the `ArrayBuffer` may not be.)
   *
   * @example
   * ```ts
   * const w = new Writer(64 * 1024) // kept and reused
   * const a = w.int32(1).takeCopy()
   * const b = w.int32(2).takeCopy() // a still holds 00 00 00 01
   * ```
   */
  takeCopy(): Uint8Array {
    const n = this.pos
    const out = Buffer.allocUnsafe(n)
    out.set(n === this.buf.length ? this.buf : this.buf.subarray(0, n))
    this.pos = 0
    return new Uint8Array(out.buffer, out.byteOffset, n)
  }

  // ---- fixed-width integers -------------------------------------------------------------

  bool(v: boolean): this {
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
    return this
  }

  int8(v: number): this {
    this.ensure(1)
    this.buf[this.pos++] = v & 0xff
    return this
  }

  int16(v: number): this {
    this.ensure(2)
    const b = this.buf
    const p = this.pos
    b[p] = (v >> 8) & 0xff
    b[p + 1] = v & 0xff
    this.pos = p + 2
    return this
  }

  uint16(v: number): this {
    return this.int16(v)
  }

  int32(v: number): this {
    this.ensure(4)
    const b = this.buf
    const p = this.pos
    b[p] = (v >>> 24) & 0xff
    b[p + 1] = (v >>> 16) & 0xff
    b[p + 2] = (v >>> 8) & 0xff
    b[p + 3] = v & 0xff
    this.pos = p + 4
    return this
  }

  uint32(v: number): this {
    return this.int32(v)
  }

  int64(v: bigint): this {
    this.ensure(8)
    this.view.setBigInt64(this.pos, v)
    this.pos += 8
    return this
  }

  /** int64 from a `number` (must be a safe integer); avoids a bigint on hot paths. */
  int64Number(v: number): this {
    this.ensure(8)
    const hi = Math.floor(v / 4294967296)
    this.view.setInt32(this.pos, hi)
    this.view.setUint32(this.pos + 4, v - hi * 4294967296)
    this.pos += 8
    return this
  }

  float64(v: number): this {
    this.ensure(8)
    this.view.setFloat64(this.pos, v)
    this.pos += 8
    return this
  }

  // ---- varints --------------------------------------------------------------------------

  /** Unsigned varint of a uint32 value. */
  uvarint(v: number): this {
    this.ensure(5)
    const b = this.buf
    let p = this.pos
    v = v >>> 0
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    b[p++] = v
    this.pos = p
    return this
  }

  /** Signed (zigzag) varint of an int32 value. */
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0)
  }

  /** Signed (zigzag) varlong of an int64 value. */
  varlong(v: bigint): this {
    let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n))
    if (z <= 0xffffffffn) return this.uvarint(Number(z))
    this.ensure(10)
    const b = this.buf
    let p = this.pos
    while (z > 0x7fn) {
      b[p++] = Number(z & 0x7fn) | 0x80
      z >>= 7n
    }
    b[p++] = Number(z)
    this.pos = p
    return this
  }

  /** Signed (zigzag) varlong from a safe-integer `number` (fast path for deltas, timestamps). */
  varlongNumber(v: number): this {
    if (v >= -1073741824 && v < 1073741824) return this.varint(v)
    // zigzag without 32-bit ops: z = v >= 0 ? 2v : -2v - 1 (exact below 2^53)
    let z = v >= 0 ? v * 2 : -v * 2 - 1
    this.ensure(10)
    const b = this.buf
    let p = this.pos
    while (z > 0x7f) {
      b[p++] = (z % 128) | 0x80
      z = Math.floor(z / 128)
    }
    b[p++] = z
    this.pos = p
    return this
  }

  // ---- strings --------------------------------------------------------------------------

  /**
   * Writes `s` at `at` if it is ASCII and short (UTF-8 length = `s.length`, room already
   * ensured): a `charCodeAt` loop costs less than `Buffer.byteLength` + `Buffer#write` (two
   * native calls) for the short names Kafka requests are made of. Returns false, having written
   * garbage past `at` (the caller rewrites it), when `s` has a non-ASCII character.
   */
  private asciiAt(s: string, at: number): boolean {
    const b = this.buf
    const len = s.length
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) return false
      b[at + i] = c
    }
    return true
  }

  /** STRING: int16 length + UTF-8. */
  string(s: string): this {
    const len = s.length
    if (len <= SHORT_STRING) {
      this.ensure(2 + len)
      const p = this.pos
      if (this.asciiAt(s, p + 2)) {
        this.buf[p] = 0
        this.buf[p + 1] = len
        this.pos = p + 2 + len
        return this
      }
    }
    const n = Buffer.byteLength(s, "utf8")
    if (n > 0x7fff) throw new EncodeFailure(`string of ${n} bytes exceeds int16 length`)
    this.ensure(2 + n)
    this.int16(n)
    this.pos += this.buf.write(s, this.pos, n, "utf8")
    return this
  }

  /** NULLABLE_STRING: int16 length (-1 = null) + UTF-8. */
  nullableString(s: string | null): this {
    if (s === null) return this.int16(-1)
    return this.string(s)
  }

  /** COMPACT_STRING: uvarint(length + 1) + UTF-8. */
  compactString(s: string): this {
    const len = s.length
    if (len <= SHORT_STRING) {
      this.ensure(1 + len)
      const p = this.pos
      if (this.asciiAt(s, p + 1)) {
        this.buf[p] = len + 1
        this.pos = p + 1 + len
        return this
      }
    }
    const n = Buffer.byteLength(s, "utf8")
    if (n > 0x7fff) throw new EncodeFailure(`string of ${n} bytes exceeds int16 length`)
    this.ensure(3 + n)
    this.uvarint(n + 1)
    this.pos += this.buf.write(s, this.pos, n, "utf8")
    return this
  }

  /** COMPACT_NULLABLE_STRING: uvarint(length + 1), 0 = null. */
  compactNullableString(s: string | null): this {
    if (s === null) return this.uvarint(0)
    return this.compactString(s)
  }

  // ---- bytes ----------------------------------------------------------------------------

  /** Raw bytes with no length prefix. */
  raw(v: Uint8Array): this {
    this.ensure(v.length)
    this.buf.set(v, this.pos)
    this.pos += v.length
    return this
  }

  /** BYTES: int32 length + data. */
  bytes(v: Uint8Array): this {
    this.ensure(4 + v.length)
    this.int32(v.length)
    this.buf.set(v, this.pos)
    this.pos += v.length
    return this
  }

  /** NULLABLE_BYTES: int32 length (-1 = null) + data. */
  nullableBytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1)
    return this.bytes(v)
  }

  /** COMPACT_BYTES: uvarint(length + 1) + data. */
  compactBytes(v: Uint8Array): this {
    this.ensure(5 + v.length)
    this.uvarint(v.length + 1)
    this.buf.set(v, this.pos)
    this.pos += v.length
    return this
  }

  /** COMPACT_NULLABLE_BYTES: uvarint(length + 1), 0 = null. */
  compactNullableBytes(v: Uint8Array | null): this {
    if (v === null) return this.uvarint(0)
    return this.compactBytes(v)
  }

  // ---- uuid -----------------------------------------------------------------------------

  /**
   * UUID: 16 bytes, given as Kafka's 22-char unpadded base64url text form (the last character
   * carries 2 bits, so it is one of `A`, `Q`, `g`, `w`; anything else would lose bits and is
   * rejected, as is any character outside the base64url alphabet). The zero uuid, which
   * requests carry per topic when they name topics, is 16 zero bytes without decoding.
   */
  uuid(s: string): this {
    this.ensure(16)
    const b = this.buf
    const p = this.pos
    if (s === ZERO_UUID_TEXT) {
      for (let i = 0; i < 16; i++) b[p + i] = 0
      this.pos = p + 16
      return this
    }
    if (s.length !== 22) throw new EncodeFailure(`uuid must be 22 base64url characters: ${JSON.stringify(s)}`)
    // 5 groups of 4 characters (24 bits -> 3 bytes), then 2 characters carrying the last byte
    // in their top 8 of 12 bits. An invalid character maps to -1, which `bad` accumulates.
    let bad = 0
    let q = p
    for (let i = 0; i < 20; i += 4) {
      const c0 = sextet(s.charCodeAt(i))
      const c1 = sextet(s.charCodeAt(i + 1))
      const c2 = sextet(s.charCodeAt(i + 2))
      const c3 = sextet(s.charCodeAt(i + 3))
      bad |= c0 | c1 | c2 | c3
      const v = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3
      b[q] = v >> 16
      b[q + 1] = v >> 8
      b[q + 2] = v
      q += 3
    }
    const c20 = sextet(s.charCodeAt(20))
    const c21 = sextet(s.charCodeAt(21))
    bad |= c20 | c21
    if (bad < 0 || (c21 & 0x0f) !== 0) throw new EncodeFailure(`invalid uuid: ${JSON.stringify(s)}`)
    b[q] = (c20 << 2) | (c21 >> 4)
    this.pos = p + 16
    return this
  }

  // ---- compact-or-classic forms, chosen by a message version's flexibility ----------------

  /** `compactString` when `flex`, else `string`. */
  flexString(flex: boolean, s: string): this {
    return flex ? this.compactString(s) : this.string(s)
  }

  /** `compactNullableString` when `flex`, else `nullableString`. */
  flexNullableString(flex: boolean, s: string | null): this {
    return flex ? this.compactNullableString(s) : this.nullableString(s)
  }

  /** `compactBytes` when `flex`, else `bytes`. */
  flexBytes(flex: boolean, v: Uint8Array): this {
    return flex ? this.compactBytes(v) : this.bytes(v)
  }

  /** `compactNullableBytes` when `flex`, else `nullableBytes`. */
  flexNullableBytes(flex: boolean, v: Uint8Array | null): this {
    return flex ? this.compactNullableBytes(v) : this.nullableBytes(v)
  }

  /** `compactArrayLength` when `flex`, else `arrayLength` (-1 = null). */
  flexArrayLength(flex: boolean, n: number): this {
    return flex ? this.uvarint(n + 1) : this.int32(n)
  }

  // ---- arrays and tagged fields ---------------------------------------------------------

  /** ARRAY length: int32 (-1 = null). */
  arrayLength(n: number): this {
    return this.int32(n)
  }

  /** COMPACT_ARRAY length: uvarint(n + 1) (0 = null, pass -1). */
  compactArrayLength(n: number): this {
    return this.uvarint(n + 1)
  }

  /** An empty tagged-field section (a single 0 byte). */
  emptyTaggedFields(): this {
    this.ensure(1)
    this.buf[this.pos++] = 0
    return this
  }

  /**
   * Starts one tagged field: writes its tag and a 1-byte size placeholder and returns the
   * offset to pass to {@link taggedFieldEnd} once the value has been written.
   */
  taggedFieldStart(tag: number): number {
    this.uvarint(tag)
    return this.reserve(1)
  }

  /** Ends a tagged field begun with {@link taggedFieldStart}: patches its size (moving the value if the size needs more than one byte). */
  taggedFieldEnd(start: number): this {
    const size = this.pos - start - 1
    if (size < 0x80) {
      this.buf[start] = size
      return this
    }
    let len = 1
    for (let s = size >>> 7; s > 0; s >>>= 7) len++
    this.ensure(len - 1)
    this.buf.copyWithin(start + len, start + 1, this.pos)
    const end = this.pos + len - 1
    this.pos = start
    this.uvarint(size)
    this.pos = end
    return this
  }
}

/**
 * Strings up to this many UTF-16 units are tried as ASCII by a JS loop first (their length
 * prefix then fits in one byte as a compact length: `SHORT_STRING + 1 < 0x80`).
 */
const SHORT_STRING = 64

/** Kafka's zero uuid in its text form (also `Primitives.ZERO_UUID`, which imports this module). */
const ZERO_UUID_TEXT = "AAAAAAAAAAAAAAAAAAAAAA"

/** base64url character code -> its 6-bit value, -1 for anything else (codes >= 128 included). */
const SEXTETS: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1)
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i
  return t
})()

const sextet = (c: number): number => (c < 128 ? SEXTETS[c] : -1)

/**
 * Thrown by the Writer and by generated encoders for a value the wire format cannot carry
 * (too long for its length prefix, a field the target version lacks, ...). Internal: the public
 * encode boundary turns it into a typed error. Not an `Error`, so throwing captures no stack.
 */
export class EncodeFailure {
  readonly _tag = "EncodeFailure"
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}
