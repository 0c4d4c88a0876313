/**
 * Bounds-checked big-endian reader over a `Uint8Array`, for Kafka's wire primitives.
 *
 * Every read checks the bytes remaining first and throws a {@link ReadFailure} (byte offset +
 * reason) when the input is short or malformed. Lengths read from the wire are checked against
 * the bytes remaining *before* anything is allocated or looped over, so a bogus length can never
 * cause a huge allocation or an endless loop. `ReadFailure` is not an `Error`: throwing it
 * captures no stack. The public decode boundary turns it into a typed `DecodeError`.
 *
 * Byte fields (`bytes`, `raw`, ...) are returned as views over the input (no copy).
 *
 * @example
 * ```ts
 * const r = new Reader(frame)
 * const size = r.int32()
 * const correlationId = r.int32()
 * const body = r.sub(r.remaining) // a reader over the rest, no copy
 * ```
 */
export class Reader {
  private readonly buf: Buffer
  private readonly view: DataView
  private pos: number
  /** Absolute end (exclusive) of the readable window within the underlying bytes. */
  readonly end: number

  constructor(bytes: Uint8Array, start = 0, end: number = bytes.length) {
    if (start < 0 || end > bytes.length || start > end) {
      throw new ReadFailure(start, `invalid reader window [${start}, ${end}) over ${bytes.length} bytes`)
    }
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength)
    this.pos = start
    this.end = end
  }

  /** Current read position (absolute, within the bytes given to the constructor). */
  get offset(): number {
    return this.pos
  }
  set offset(p: number) {
    if (p < 0 || p > this.end) throw new ReadFailure(this.pos, `offset ${p} out of range`)
    this.pos = p
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos
  }

  /** The underlying bytes (the whole input, not only this reader's window). */
  get buffer(): Uint8Array {
    return this.buf
  }

  /** Fails unless at least `n` bytes remain. */
  need(n: number): void {
    if (n > this.end - this.pos || n < 0) this.fail(`need ${n} bytes, ${this.end - this.pos} remain`)
  }

  /** Throws a {@link ReadFailure} at the current offset. */
  fail(reason: string): never {
    throw new ReadFailure(this.pos, reason)
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.need(n)
    this.pos += n
  }

  /** A reader over the next `n` bytes (no copy); this reader advances past them. */
  sub(n: number): Reader {
    this.need(n)
    const r = new Reader(this.buf, this.pos, this.pos + n)
    this.pos += n
    return r
  }

  // ---- fixed-width integers -------------------------------------------------------------

  bool(): boolean {
    if (this.pos >= this.end) this.fail("need 1 byte for bool")
    return this.buf[this.pos++] !== 0
  }

  int8(): number {
    if (this.pos >= this.end) this.fail("need 1 byte for int8")
    return (this.buf[this.pos++] << 24) >> 24
  }

  uint8(): number {
    if (this.pos >= this.end) this.fail("need 1 byte for uint8")
    return this.buf[this.pos++]
  }

  int16(): number {
    const p = this.pos
    if (p + 2 > this.end) this.fail("need 2 bytes for int16")
    this.pos = p + 2
    return this.view.getInt16(p)
  }

  uint16(): number {
    const p = this.pos
    if (p + 2 > this.end) this.fail("need 2 bytes for uint16")
    this.pos = p + 2
    return this.view.getUint16(p)
  }

  int32(): number {
    const p = this.pos
    if (p + 4 > this.end) this.fail("need 4 bytes for int32")
    this.pos = p + 4
    // a DataView read is one machine load in optimised code, and little bytecode (so callers inline more of it)
    return this.view.getInt32(p)
  }

  uint32(): number {
    return this.int32() >>> 0
  }

  int64(): bigint {
    const p = this.pos
    if (p + 8 > this.end) this.fail("need 8 bytes for int64")
    this.pos = p + 8
    return this.view.getBigInt64(p)
  }

  /** int64 as a `number`; fails if it is outside ±2^53 (fast path for offsets, timestamps). */
  int64Number(): number {
    const p = this.pos
    if (p + 8 > this.end) this.fail("need 8 bytes for int64")
    const hi = this.view.getInt32(p)
    const lo = this.view.getUint32(p + 4)
    if (hi > 0x1fffff || hi < -0x200000) this.fail("int64 outside the safe integer range")
    this.pos = p + 8
    return hi * 4294967296 + lo
  }

  float64(): number {
    const p = this.pos
    if (p + 8 > this.end) this.fail("need 8 bytes for float64")
    this.pos = p + 8
    return this.view.getFloat64(p)
  }

  // ---- varints --------------------------------------------------------------------------

  /** Unsigned varint (at most 5 bytes) as a uint32 `number`. */
  uvarint(): number {
    const b = this.buf
    const end = this.end
    let p = this.pos
    let result = 0
    let shift = 0
    for (;;) {
      if (p >= end) this.fail("truncated varint")
      const byte = b[p++]
      if (shift === 28) {
        if (byte > 0x0f) this.fail("varint too long")
        result += byte * 0x10000000
        break
      }
      result |= (byte & 0x7f) << shift
      if (byte < 0x80) {
        result >>>= 0
        break
      }
      shift += 7
    }
    this.pos = p
    return result
  }

  /** Signed (zigzag) varint (int32) as a `number`. */
  varint(): number {
    const z = this.uvarint()
    return (z >>> 1) ^ -(z & 1)
  }

  /** Signed (zigzag) varlong (int64) as a `bigint`. */
  varlong(): bigint {
    const b = this.buf
    const end = this.end
    let p = this.pos
    // fast path: fits in 4 bytes (28 bits)
    let small = 0
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) this.fail("truncated varlong")
      const byte = b[p++]
      small |= (byte & 0x7f) << shift
      if (byte < 0x80) {
        this.pos = p
        return BigInt((small >>> 1) ^ -(small & 1))
      }
    }
    let z = BigInt(small)
    for (let shift = 28n; ; shift += 7n) {
      if (p >= end) this.fail("truncated varlong")
      const byte = b[p++]
      if (shift === 63n) {
        if (byte > 1) this.fail("varlong too long")
        z |= BigInt(byte) << shift
        break
      }
      z |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) break
    }
    this.pos = p
    return BigInt.asIntN(64, (z >> 1n) ^ -(z & 1n))
  }

  /** Signed (zigzag) varlong as a `number`; fails outside [-2^52, 2^52) (fast path for deltas, timestamps). */
  varlongNumber(): number {
    const b = this.buf
    const end = this.end
    let p = this.pos
    let z = 0
    let mul = 1
    for (let i = 0; ; i++) {
      if (p >= end) this.fail("truncated varlong")
      if (i === 8) this.fail("varlong outside the safe integer range")
      const byte = b[p++]
      z += (byte & 0x7f) * mul
      if (byte < 0x80) break
      mul *= 128
    }
    if (z > Number.MAX_SAFE_INTEGER) this.fail("varlong outside the safe integer range")
    this.pos = p
    // zigzag decode without 32-bit ops
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2
  }

  // ---- strings --------------------------------------------------------------------------

  private utf8(n: number): string {
    const p = this.pos
    if (n > this.end - p) this.fail(`string length ${n} exceeds ${this.end - p} remaining bytes`)
    this.pos = p + n
    // Buffer#utf8Slice is what Buffer#toString("utf8", ...) ends in, without its argument checks
    return (this.buf as unknown as Utf8Sliceable).utf8Slice(p, p + n)
  }

  /** STRING: int16 length + UTF-8 (a null is a failure). */
  string(): string {
    const n = this.int16()
    if (n < 0) this.fail(`non-nullable string has length ${n}`)
    return this.utf8(n)
  }

  /** NULLABLE_STRING: int16 length (-1 = null). */
  nullableString(): string | null {
    const n = this.int16()
    if (n < 0) {
      if (n === -1) return null
      this.fail(`invalid string length ${n}`)
    }
    return this.utf8(n)
  }

  /** COMPACT_STRING: uvarint(length + 1) (a null is a failure). */
  compactString(): string {
    const n = this.uvarint()
    if (n === 0) this.fail("non-nullable compact string is null")
    return this.utf8(n - 1)
  }

  /** COMPACT_NULLABLE_STRING: uvarint(length + 1), 0 = null. */
  compactNullableString(): string | null {
    const n = this.uvarint()
    if (n === 0) return null
    return this.utf8(n - 1)
  }

  // ---- bytes ----------------------------------------------------------------------------

  /** The next `n` bytes as a view (no copy). */
  raw(n: number): Uint8Array {
    const p = this.pos
    if (n < 0 || n > this.end - p) this.fail(`byte length ${n} exceeds ${this.end - p} remaining bytes`)
    this.pos = p + n
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + p, n)
  }

  /** BYTES: int32 length + data (a null is a failure). */
  bytes(): Uint8Array {
    const n = this.int32()
    if (n < 0) this.fail(`non-nullable bytes have length ${n}`)
    return this.raw(n)
  }

  /** NULLABLE_BYTES: int32 length (-1 = null). */
  nullableBytes(): Uint8Array | null {
    const n = this.int32()
    if (n < 0) {
      if (n === -1) return null
      this.fail(`invalid bytes length ${n}`)
    }
    return this.raw(n)
  }

  /** COMPACT_BYTES: uvarint(length + 1) (a null is a failure). */
  compactBytes(): Uint8Array {
    const n = this.uvarint()
    if (n === 0) this.fail("non-nullable compact bytes are null")
    return this.raw(n - 1)
  }

  /** COMPACT_NULLABLE_BYTES: uvarint(length + 1), 0 = null. */
  compactNullableBytes(): Uint8Array | null {
    const n = this.uvarint()
    if (n === 0) return null
    return this.raw(n - 1)
  }

  // ---- arrays of fixed-width elements -----------------------------------------------------

  /**
   * An ARRAY (`flex` false: int32 length) or COMPACT_ARRAY (`flex` true: uvarint length + 1) of
   * int32, `null` for the null array. The length is checked against the bytes remaining once,
   * then the elements are read in one loop without a check each.
   */
  int32Array(flex: boolean): Array<number> | null {
    const n = flex ? this.uvarint() - 1 : this.int32()
    let p = this.pos
    // small on purpose (the rare cases in another method) so that TurboFan inlines every call
    if (n < 0 || n * 4 > this.end - p) return this.badArrayLength(n)
    const view = this.view
    const a: Array<number> = new Array(n)
    for (let i = 0; i < n; i++, p += 4) a[i] = view.getInt32(p)
    this.pos = p
    return a
  }

  /** The null array (length -1) or the failure for an array length that is negative or exceeds the bytes remaining. */
  private badArrayLength(n: number): null {
    if (n === -1) return null
    if (n < 0) this.fail(`invalid array length ${n}`)
    return this.fail(`array of ${n} elements exceeds ${this.end - this.pos} remaining bytes`)
  }

  // ---- uuid -----------------------------------------------------------------------------

  /** UUID: 16 bytes, returned as Kafka's 22-char unpadded base64url text form. */
  uuid(): string {
    const p = this.pos
    if (p + 16 > this.end) this.fail("need 16 bytes for uuid")
    this.pos = p + 16
    return this.buf.toString("base64url", p, p + 16)
  }

  // ---- compact-or-classic forms, chosen by a message version's flexibility ----------------

  /** `compactString` when `flex`, else `string`. */
  flexString(flex: boolean): string {
    return flex ? this.compactString() : this.string()
  }

  /** `compactNullableString` when `flex`, else `nullableString`. */
  flexNullableString(flex: boolean): string | null {
    return flex ? this.compactNullableString() : this.nullableString()
  }

  /** `compactBytes` when `flex`, else `bytes`. */
  flexBytes(flex: boolean): Uint8Array {
    return flex ? this.compactBytes() : this.bytes()
  }

  /** `compactNullableBytes` when `flex`, else `nullableBytes`. */
  flexNullableBytes(flex: boolean): Uint8Array | null {
    return flex ? this.compactNullableBytes() : this.nullableBytes()
  }

  /** `compactArrayLength` when `flex`, else `arrayLength` (null = -1). */
  flexArrayLength(flex: boolean, minElementSize = 1): number {
    return flex ? this.compactArrayLength(minElementSize) : this.arrayLength(minElementSize)
  }

  // ---- arrays and tagged fields ---------------------------------------------------------

  /**
   * ARRAY length: int32, -1 = null (returned as -1). Fails unless `n * minElementSize` bytes
   * remain (elements of size 0 are counted as 1 byte, so `n` is always bounded by the input).
   */
  arrayLength(minElementSize = 1): number {
    const n = this.int32()
    if (n < 0) {
      if (n === -1) return -1
      this.fail(`invalid array length ${n}`)
    }
    if (n * (minElementSize > 0 ? minElementSize : 1) > this.end - this.pos) {
      this.fail(`array of ${n} elements exceeds ${this.end - this.pos} remaining bytes`)
    }
    return n
  }

  /** COMPACT_ARRAY length: uvarint(n + 1); null is returned as -1. Bounded like {@link arrayLength}. */
  compactArrayLength(minElementSize = 1): number {
    const n = this.uvarint() - 1
    if (n < 0) return -1
    if (n * (minElementSize > 0 ? minElementSize : 1) > this.end - this.pos) {
      this.fail(`array of ${n} elements exceeds ${this.end - this.pos} remaining bytes`)
    }
    return n
  }

  /**
   * Reads a tagged field's size and returns the absolute offset where its data ends (checked
   * against the bytes remaining). After decoding a known tag, compare `offset` with it; for an
   * unknown tag, set `offset` to it.
   */
  taggedFieldEnd(): number {
    const size = this.uvarint()
    if (size > this.end - this.pos) this.fail(`tagged field of ${size} bytes exceeds ${this.end - this.pos} remaining bytes`)
    return this.pos + size
  }

  /** Skips a whole tagged-field section (count, then tag/size/data triples). */
  skipTaggedFields(): void {
    const n = this.uvarint()
    if (n > this.end - this.pos) this.fail(`${n} tagged fields exceed remaining bytes`)
    for (let i = 0; i < n; i++) {
      this.uvarint()
      this.skip(this.uvarint())
    }
  }
}

/** Node's `Buffer#utf8Slice(start, end)` (undocumented in the typings, present in every Node release). */
interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string
}

/**
 * Thrown by {@link Reader} and generated decoders on short or malformed input. Internal: the
 * public decode boundary turns it into a typed `DecodeError`. Not an `Error`, so throwing it
 * captures no stack trace.
 */
export class ReadFailure {
  readonly _tag = "ReadFailure"
  readonly offset: number
  readonly reason: string
  constructor(offset: number, reason: string) {
    this.offset = offset
    this.reason = reason
  }
}
