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

  /** STRING: int16 length + UTF-8. */
  string(s: string): this {
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

  /** UUID: 16 bytes, given as Kafka's 22-char unpadded base64url text form. */
  uuid(s: string): this {
    if (s.length !== 22) throw new EncodeFailure(`uuid must be 22 base64url characters: ${JSON.stringify(s)}`)
    this.ensure(16)
    const n = this.buf.write(s, this.pos, 16, "base64url")
    if (n !== 16) throw new EncodeFailure(`invalid uuid: ${JSON.stringify(s)}`)
    this.pos += 16
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
