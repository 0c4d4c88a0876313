/**
 * Hot loops of the record batch codec: straight-line encode/decode over a `Buffer`, no closures
 * or promises per record. The public API and its typed errors live in `../RecordBatch.ts`.
 *
 * Decoding throws {@link BatchFailure} (not an `Error`: no stack captured) or a
 * `CompressionError`; the public boundary turns them into typed errors. Every length read from
 * the wire is checked against the bytes remaining before anything is allocated.
 *
 * @internal
 */
import zlib from "node:zlib"
import { compressSync, decompressSync } from "../Compression.ts"
import type { DecompressOptions } from "../Compression.ts"
import { crc32c } from "./Crc32c.ts"

// ---- shapes -------------------------------------------------------------------------------

/** A record header: a UTF-8 key and nullable bytes. */
export interface Header {
  readonly key: string
  readonly value: Uint8Array | null
}

const EMPTY_HEADERS: ReadonlyArray<Header> = Object.freeze([])

/**
 * Builds a record decoded from `buf`: its key, value and headers stay unbuilt until read.
 * Set once by `Record`'s static block (it alone can reach the private fields).
 */
let lazyRecord: (
  buf: Buffer,
  baseOffset: bigint,
  offsetDelta: number,
  timestamp: number,
  attributes: number,
  keyAt: number,
  keyLen: number,
  valueAt: number,
  valueLen: number
) => Record

/**
 * A decoded record. `key`, `value` and header values are views into the fetched (or
 * decompressed) bytes, not copies. `offset` is computed on access from the batch's bigint
 * base offset and the record's `offsetDelta` (read it once and keep it if you need it often).
 *
 * `key`, `value` and `headers` are getters: a decoded record keeps where its fields lie in the
 * batch bytes and builds each view (or the header list) on first access, then returns that same
 * object on every later access. Every length was checked when the batch was decoded, so reading
 * them never fails. (A spread `{ ...record }` or `Object.keys` shows only the plain fields:
 * `baseOffset`, `offsetDelta`, `timestamp`, `attributes`.)
 *
 * @example
 * ```ts
 * for (const record of batch.records) {
 *   const id = record.headers.find((h) => h.key === "trace-id")?.value
 *   handle(record.offset, record.key, record.value, id)
 * }
 * ```
 */
export class Record {
  /** The batch's base offset (shared, not copied). */
  readonly baseOffset: bigint
  /** This record's offset minus the batch's base offset. */
  readonly offsetDelta: number
  /** Milliseconds since the epoch; for log-append-time batches, the broker's append time. */
  readonly timestamp: number
  /** The record's own attributes byte (unused by Kafka so far; 0). */
  readonly attributes: number
  /** The bytes the record was decoded from (`undefined` when built from values). */
  #buf: Buffer | undefined
  /** Start of the key bytes in `#buf`, and their length (-1: null key). */
  #keyAt: number
  #keyLen: number
  /** Start of the value bytes in `#buf` (the headers follow them), and their length (-1: null). */
  #valueAt: number
  #valueLen: number
  /** Memoised views; `undefined` until first read. */
  #key: Uint8Array | null | undefined
  #value: Uint8Array | null | undefined
  #headers: ReadonlyArray<Header> | undefined
  constructor(
    baseOffset: bigint,
    offsetDelta: number,
    timestamp: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: ReadonlyArray<Header>,
    attributes: number
  ) {
    this.baseOffset = baseOffset
    this.offsetDelta = offsetDelta
    this.timestamp = timestamp
    this.attributes = attributes
    this.#buf = undefined
    this.#keyAt = 0
    this.#keyLen = 0
    this.#valueAt = 0
    this.#valueLen = 0
    this.#key = key
    this.#value = value
    this.#headers = headers
  }
  static {
    lazyRecord = (buf, baseOffset, offsetDelta, timestamp, attributes, keyAt, keyLen, valueAt, valueLen) => {
      const r = new Record(baseOffset, offsetDelta, timestamp, null, null, EMPTY_HEADERS, attributes)
      r.#buf = buf
      r.#keyAt = keyAt
      r.#keyLen = keyLen
      r.#valueAt = valueAt
      r.#valueLen = valueLen
      r.#key = undefined
      r.#value = undefined
      r.#headers = undefined
      return r
    }
  }
  /** The record's offset in its partition. */
  get offset(): bigint {
    return this.baseOffset + BigInt(this.offsetDelta)
  }
  /** The key bytes (a view), or `null`. */
  get key(): Uint8Array | null {
    let k = this.#key
    if (k === undefined) {
      const b = this.#buf!
      k = this.#key = this.#keyLen < 0 ? null : new Uint8Array(b.buffer, b.byteOffset + this.#keyAt, this.#keyLen)
    }
    return k
  }
  /** The value bytes (a view), or `null` (a tombstone). */
  get value(): Uint8Array | null {
    let v = this.#value
    if (v === undefined) {
      const b = this.#buf!
      v = this.#value = this.#valueLen < 0 ? null : new Uint8Array(b.buffer, b.byteOffset + this.#valueAt, this.#valueLen)
    }
    return v
  }
  /** The headers, in wire order (header values are views, or `null`). */
  get headers(): ReadonlyArray<Header> {
    let h = this.#headers
    if (h === undefined) h = this.#headers = readHeaders(this.#buf!, this.#valueAt + (this.#valueLen < 0 ? 0 : this.#valueLen))
    return h
  }
  /** What `console.log` / `util.inspect` show: the public fields, views built. */
  [Symbol.for("nodejs.util.inspect.custom")](): object {
    return {
      baseOffset: this.baseOffset,
      offsetDelta: this.offsetDelta,
      timestamp: this.timestamp,
      key: this.key,
      value: this.value,
      headers: this.headers,
      attributes: this.attributes
    }
  }
}

/** Thrown by the decoder on malformed input; turned into a typed error at the public boundary. */
export class BatchFailure {
  readonly _tag = "BatchFailure"
  readonly reason: "CrcMismatch" | "Corrupt" | "UnsupportedMagic"
  readonly position: number
  readonly message: string
  constructor(reason: "CrcMismatch" | "Corrupt" | "UnsupportedMagic", position: number, message: string) {
    this.reason = reason
    this.position = position
    this.message = message
  }
}

const corrupt = (position: number, message: string): never => {
  throw new BatchFailure("Corrupt", position, message)
}

// ---- constants ----------------------------------------------------------------------------

/** baseOffset(8) + batchLength(4): the prefix every batch and legacy message starts with. */
export const LOG_OVERHEAD = 12
/** Bytes of a v2 batch header, up to and including the record count. */
export const BATCH_HEADER_SIZE = 61
/** Position of the magic byte in both v2 batches and legacy messages. */
export const MAGIC_OFFSET = 16
const CRC_OFFSET = 17
/** The CRC covers from the attributes to the end of the batch. */
const ATTRIBUTES_OFFSET = 21
/** Smallest encoded record: length, attributes, timestampDelta, offsetDelta, key, value, header count. */
const MIN_RECORD_SIZE = 7

const TWO_32 = 4294967296

// ---- small readers over a Buffer (bounds checked by the callers' `end`) --------------------

let vpos = 0 // position after the last slow-path varint read

/** Zigzag varint (int32) starting at `p`, bounded by `end`; sets `vpos`. */
const readVarint = (b: Buffer, p: number, end: number): number => {
  let z = 0
  let shift = 0
  for (;;) {
    if (p >= end) corrupt(p, "truncated varint")
    const byte = b[p++]
    if (shift === 28) {
      if (byte > 0x0f) corrupt(p - 1, "varint longer than 5 bytes")
      z = (z | (byte << 28)) >>> 0
      break
    }
    z |= (byte & 0x7f) << shift
    if (byte < 0x80) {
      z >>>= 0
      break
    }
    shift += 7
  }
  vpos = p
  return (z >>> 1) ^ -(z & 1)
}

/**
 * Zigzag varint with the 1- and 2-byte forms read inline (lengths up to 8191, deltas up to
 * ±8191: nearly every field of a record); longer ones go to `readVarint`. Sets `vpos`.
 */
const varint = (b: Buffer, p: number, end: number): number => {
  if (p + 1 < end) {
    const b0 = b[p]
    if (b0 < 0x80) {
      vpos = p + 1
      return (b0 >>> 1) ^ -(b0 & 1)
    }
    const b1 = b[p + 1]
    if (b1 < 0x80) {
      vpos = p + 2
      const z = (b0 & 0x7f) | (b1 << 7)
      return (z >>> 1) ^ -(z & 1)
    }
  }
  return readVarint(b, p, end)
}

let vbig: bigint | undefined // set by readVarlong when the value needs more than 49 bits

/**
 * Zigzag varlong; sets `vpos`. Up to 7 bytes (49 bits) it returns the value as a number and
 * clears `vbig`; longer ones are decoded exactly as a bigint into `vbig` (the return value is
 * then its rounded number).
 */
const readVarlong = (b: Buffer, p: number, end: number): number => {
  let z = 0
  let mul = 1
  for (let i = 0; i < 7; i++) {
    if (p >= end) corrupt(p, "truncated varlong")
    const byte = b[p++]
    z += (byte & 0x7f) * mul
    if (byte < 0x80) {
      vpos = p
      vbig = undefined
      // zigzag without 32-bit ops: even → z/2, odd → -(z+1)/2
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2
    }
    mul *= 128
  }
  let zb = BigInt(z)
  for (let shift = 49n; ; shift += 7n) {
    if (p >= end) corrupt(p, "truncated varlong")
    if (shift > 63n) corrupt(p, "varlong longer than 10 bytes")
    const byte = b[p++]
    zb |= BigInt(byte & 0x7f) << shift
    if (byte < 0x80) break
  }
  vpos = p
  zb = BigInt.asUintN(64, zb)
  vbig = BigInt.asIntN(64, (zb >> 1n) ^ -(zb & 1n))
  return Number(vbig)
}

const readInt64Number = (b: Buffer, p: number): number => b.readInt32BE(p) * TWO_32 + b.readUInt32BE(p + 4)

/** Node's Buffer has had `utf8Slice` forever; @types/node does not declare it. */
const utf8Slice = (b: Buffer, start: number, end: number): string =>
  (b as unknown as { utf8Slice(start: number, end: number): string }).utf8Slice(start, end)

// ---- header keys --------------------------------------------------------------------------

/**
 * Header keys repeat from record to record (`trace-id`, `content-type`, …), so short ones are
 * interned: a small table, indexed by a hash of the bytes, keeps the last key seen in each slot
 * with its bytes; a hit returns the same string without decoding or allocating.
 */
const KEY_SLOTS = 256
const KEY_MAX = 32
const keyBytes = new Uint8Array(KEY_SLOTS * KEY_MAX)
const keyLengths = new Int8Array(KEY_SLOTS).fill(-1)
const keyStrings: Array<string> = new Array<string>(KEY_SLOTS).fill("")

const headerKey = (b: Buffer, p: number, n: number): string => {
  if (n > KEY_MAX) return utf8Slice(b, p, p + n)
  if (n === 0) return ""
  // a hash of the length and three bytes: cheap, and the byte comparison below settles collisions
  const slot = (n * 31 + b[p] * 7 + b[p + (n >>> 1)] * 3 + b[p + n - 1]) & (KEY_SLOTS - 1)
  const at = slot * KEY_MAX
  if (keyLengths[slot] === n) {
    let i = 0
    while (i < n && keyBytes[at + i] === b[p + i]) i++
    if (i === n) return keyStrings[slot]
  }
  const s = utf8Slice(b, p, p + n)
  for (let i = 0; i < n; i++) keyBytes[at + i] = b[p + i]
  keyLengths[slot] = n
  keyStrings[slot] = s
  return s
}

/**
 * The headers of a record whose header section (count, then entries) starts at `p`. Only for
 * sections `decodeRecords` has walked and checked, so the reads cannot fail — unless someone
 * overwrote the batch bytes after decoding; then (and only then) the list is empty rather than
 * an exception escaping a getter.
 */
const readHeaders = (b: Buffer, p: number): ReadonlyArray<Header> => {
  if (b[p] === 0) return EMPTY_HEADERS
  try {
    const end = b.length
    const count = varint(b, p, end)
    p = vpos
    if (count < 0 || count > (end - p) / 2) return EMPTY_HEADERS
    const hs = new Array<Header>(count)
    for (let h = 0; h < count; h++) {
      const kn = varint(b, p, end)
      p = vpos
      if (kn < 0 || kn > end - p) return EMPTY_HEADERS
      const key = headerKey(b, p, kn)
      p += kn
      const vn = varint(b, p, end)
      p = vpos
      let value: Uint8Array | null = null
      if (vn >= 0) {
        if (vn > end - p) return EMPTY_HEADERS
        value = new Uint8Array(b.buffer, b.byteOffset + p, vn)
        p += vn
      }
      hs[h] = { key, value }
    }
    return hs
  } catch {
    return EMPTY_HEADERS
  }
}

// ---- v2 decode ----------------------------------------------------------------------------

/** The header of one v2 batch, as read from the wire. */
export interface BatchHeader {
  readonly baseOffset: bigint
  readonly batchLength: number
  readonly partitionLeaderEpoch: number
  readonly magic: number
  readonly crc: number
  readonly attributes: number
  readonly lastOffsetDelta: number
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
  /** Where the records section starts and ends in the input. */
  readonly recordsStart: number
  readonly end: number
}

/**
 * Reads and checks the header of the v2 batch at `start` (whose `batchLength` is known to fit
 * in `b`): minimum size, CRC (when `verifyCrc`), record count sanity.
 */
export const readBatchHeader = (b: Buffer, start: number, verifyCrc: boolean): BatchHeader => {
  const batchLength = b.readInt32BE(start + 8)
  const end = start + LOG_OVERHEAD + batchLength
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) corrupt(start + 8, `batch length ${batchLength} is below the v2 header size`)
  const crc = b.readUInt32BE(start + CRC_OFFSET)
  if (verifyCrc) {
    const actual = crc32c(b, start + ATTRIBUTES_OFFSET, end)
    if (actual !== crc) {
      throw new BatchFailure("CrcMismatch", start + CRC_OFFSET, `CRC-32C mismatch: batch says ${crc.toString(16)}, bytes give ${actual.toString(16)}`)
    }
  }
  const recordCount = b.readInt32BE(start + 57)
  if (recordCount < 0) corrupt(start + 57, `negative record count ${recordCount}`)
  return {
    baseOffset: b.readBigInt64BE(start),
    batchLength,
    partitionLeaderEpoch: b.readInt32BE(start + 12),
    magic: b[start + MAGIC_OFFSET],
    crc,
    attributes: b.readInt16BE(start + 21),
    lastOffsetDelta: b.readInt32BE(start + 23),
    baseTimestamp: readInt64Number(b, start + 27),
    maxTimestamp: readInt64Number(b, start + 35),
    producerId: b.readBigInt64BE(start + 43),
    producerEpoch: b.readInt16BE(start + 51),
    baseSequence: b.readInt32BE(start + 53),
    recordCount,
    recordsStart: start + BATCH_HEADER_SIZE,
    end
  }
}

/**
 * Decodes `count` records from `b[p, end)` (an uncompressed records section). The section must
 * hold exactly those records. `logAppendTime`, when not `undefined`, replaces every record's
 * timestamp (log-append-time batches).
 */
export const decodeRecords = (
  b: Buffer,
  p: number,
  end: number,
  count: number,
  baseOffset: bigint,
  baseTimestamp: number,
  logAppendTime: number | undefined
): Array<Record> => {
  if (count > (end - p) / MIN_RECORD_SIZE) corrupt(p, `${count} records cannot fit in ${end - p} bytes`)
  const records = new Array<Record>(count)
  for (let i = 0; i < count; i++) {
    const len = varint(b, p, end)
    p = vpos
    if (len < MIN_RECORD_SIZE - 1 || len > end - p) corrupt(p, `record length ${len} does not fit in ${end - p} bytes`)
    const recEnd = p + len
    const attributes = b[p++]
    let timestamp: number
    if (p + 1 < recEnd && (b[p] < 0x80 || b[p + 1] < 0x80)) {
      // a 1- or 2-byte delta
      timestamp = baseTimestamp + varint(b, p, recEnd)
      p = vpos
    } else {
      const delta = readVarlong(b, p, recEnd)
      p = vpos
      // a delta beyond 49 bits: add exactly, then round once
      timestamp = vbig === undefined ? baseTimestamp + delta : Number(BigInt(baseTimestamp) + vbig)
    }
    const offsetDelta = varint(b, p, recEnd)
    p = vpos
    // key
    let n = varint(b, p, recEnd)
    p = vpos
    const keyAt = p
    const keyLen = n
    if (n >= 0) {
      if (n > recEnd - p) corrupt(p, `key length ${n} exceeds the record`)
      p += n
    } else if (n !== -1) corrupt(p, `invalid key length ${n}`)
    // value
    n = varint(b, p, recEnd)
    p = vpos
    const valueAt = p
    const valueLen = n
    if (n >= 0) {
      if (n > recEnd - p) corrupt(p, `value length ${n} exceeds the record`)
      p += n
    } else if (n !== -1) corrupt(p, `invalid value length ${n}`)
    // headers: checked here, built on first access (Record.headers → readHeaders)
    if (p < recEnd && b[p] === 0) {
      p += 1
    } else {
      const hc = varint(b, p, recEnd)
      p = vpos
      if (hc < 0 || hc > (recEnd - p) / 2) corrupt(p, `header count ${hc} does not fit in the record`)
      for (let h = 0; h < hc; h++) {
        const kn = varint(b, p, recEnd)
        p = vpos
        if (kn < 0 || kn > recEnd - p) corrupt(p, `header key length ${kn} is invalid`)
        p += kn
        const vn = varint(b, p, recEnd)
        p = vpos
        if (vn >= 0) {
          if (vn > recEnd - p) corrupt(p, `header value length ${vn} exceeds the record`)
          p += vn
        } else if (vn !== -1) corrupt(p, `invalid header value length ${vn}`)
      }
    }
    if (p !== recEnd) corrupt(p, `record declares ${len} bytes but its fields end ${p - recEnd} bytes away`)
    records[i] = lazyRecord(
      b,
      baseOffset,
      offsetDelta,
      logAppendTime === undefined ? timestamp : logAppendTime,
      attributes,
      keyAt,
      keyLen,
      valueAt,
      valueLen
    )
  }
  if (p !== end) corrupt(p, `${end - p} bytes left after the batch's ${count} records`)
  return records
}

// ---- v2 encode ----------------------------------------------------------------------------

/** A record to encode. */
export interface RecordInput {
  readonly key?: Uint8Array | null | undefined
  readonly value: Uint8Array | null
  readonly headers?: ReadonlyArray<Header> | undefined
  /** Milliseconds since the epoch; defaults to the batch's base timestamp. */
  readonly timestamp?: number | undefined
  /** Defaults to the record's index in the batch. */
  readonly offsetDelta?: number | undefined
}

const varintSize = (v: number): number => {
  const z = ((v << 1) ^ (v >> 31)) >>> 0
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5
}

const zigzagNumber = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1)

/** Timestamp delta; a bigint when the float difference might be inexact (beyond ±2^52). */
const tsDeltaOf = (ts: number, base: number): number | bigint => {
  const d = ts - base
  return d <= 4503599627370496 && d >= -4503599627370496 ? d : BigInt(ts) - BigInt(base)
}

const zigzagBig = (v: bigint): bigint => BigInt.asUintN(64, (v << 1n) ^ (v >> 63n))

const varlongSize = (v: number | bigint): number => {
  if (typeof v === "bigint") {
    let z = zigzagBig(v)
    let n = 1
    while (z >= 128n) {
      z >>= 7n
      n++
    }
    return n
  }
  let z = zigzagNumber(v)
  let n = 1
  while (z >= 128) {
    z = Math.floor(z / 128)
    n++
  }
  return n
}

const writeVarint = (b: Buffer, p: number, v: number): number => {
  let z = ((v << 1) ^ (v >> 31)) >>> 0
  while (z >= 0x80) {
    b[p++] = (z & 0x7f) | 0x80
    z >>>= 7
  }
  b[p++] = z
  return p
}

const writeVarlong = (b: Buffer, p: number, v: number | bigint): number => {
  if (typeof v === "bigint") {
    let zb = zigzagBig(v)
    while (zb >= 128n) {
      b[p++] = Number(zb & 0x7fn) | 0x80
      zb >>= 7n
    }
    b[p++] = Number(zb)
    return p
  }
  let z = zigzagNumber(v)
  if (z < 0x80000000) {
    while (z >= 0x80) {
      b[p++] = (z & 0x7f) | 0x80
      z >>>= 7
    }
    b[p++] = z
    return p
  }
  while (z >= 128) {
    b[p++] = (z % 128) | 0x80
    z = Math.floor(z / 128)
  }
  b[p++] = z
  return p
}

const writeInt64Number = (b: Buffer, p: number, v: number): void => {
  const hi = Math.floor(v / TWO_32)
  b.writeInt32BE(hi, p)
  b.writeUInt32BE(v - hi * TWO_32, p + 4)
}

const keyByteLength = (s: string): number => {
  // ASCII fast path: UTF-8 length equals the string length
  if (s.length <= 32) {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8")
    return s.length
  }
  return Buffer.byteLength(s, "utf8")
}

const writeString = (b: Buffer, p: number, s: string, n: number): void => {
  if (n === s.length && n <= 32) {
    for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i)
  } else {
    b.write(s, p, n, "utf8")
  }
}

/** Body size (without the length varint) of one record. */
const recordBodySize = (r: RecordInput, tsDelta: number | bigint, offsetDelta: number): number => {
  let n = 1 + varlongSize(tsDelta) + varintSize(offsetDelta)
  const key = r.key
  n += key == null ? 1 : varintSize(key.length) + key.length
  const value = r.value
  n += value == null ? 1 : varintSize(value.length) + value.length
  const headers = r.headers
  if (headers === undefined || headers.length === 0) return n + 1
  n += varintSize(headers.length)
  for (let h = 0; h < headers.length; h++) {
    const hd = headers[h]
    const kn = keyByteLength(hd.key)
    n += varintSize(kn) + kn
    n += hd.value == null ? 1 : varintSize(hd.value.length) + hd.value.length
  }
  return n
}

let sizesScratch = new Int32Array(1024)

/** Size in bytes of the records section (uncompressed) for `records`. */
export const recordsSize = (records: ReadonlyArray<RecordInput>, baseTimestamp: number): number => {
  if (sizesScratch.length < records.length) sizesScratch = new Int32Array(Math.max(records.length, sizesScratch.length * 2))
  const sizes = sizesScratch
  let total = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    const body = recordBodySize(r, tsDeltaOf(r.timestamp ?? baseTimestamp, baseTimestamp), r.offsetDelta ?? i)
    sizes[i] = body
    total += varintSize(body) + body
  }
  return total
}

/** Writes the records section at `p`; `recordsSize` must have been called just before (sizes). */
export const writeRecords = (b: Buffer, p: number, records: ReadonlyArray<RecordInput>, baseTimestamp: number): number => {
  const sizes = sizesScratch
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    p = writeVarint(b, p, sizes[i])
    b[p++] = 0 // record attributes
    p = writeVarlong(b, p, tsDeltaOf(r.timestamp ?? baseTimestamp, baseTimestamp))
    p = writeVarint(b, p, r.offsetDelta ?? i)
    const key = r.key
    if (key == null) b[p++] = 1 // zigzag(-1)
    else {
      p = writeVarint(b, p, key.length)
      b.set(key, p)
      p += key.length
    }
    const value = r.value
    if (value == null) b[p++] = 1
    else {
      p = writeVarint(b, p, value.length)
      b.set(value, p)
      p += value.length
    }
    const headers = r.headers
    if (headers === undefined || headers.length === 0) b[p++] = 0
    else {
      p = writeVarint(b, p, headers.length)
      for (let h = 0; h < headers.length; h++) {
        const hd = headers[h]
        const kn = keyByteLength(hd.key)
        p = writeVarint(b, p, kn)
        writeString(b, p, hd.key, kn)
        p += kn
        const hv = hd.value
        if (hv == null) b[p++] = 1
        else {
          p = writeVarint(b, p, hv.length)
          b.set(hv, p)
          p += hv.length
        }
      }
    }
  }
  return p
}

/** The fixed fields of a v2 batch header, as the encoder writes them. */
export interface HeaderFields {
  readonly baseOffset: bigint
  readonly partitionLeaderEpoch: number
  readonly attributes: number
  readonly lastOffsetDelta: number
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
}

/** Writes the 61-byte header into `out[0, 61)` and back-patches the CRC over `out[21, end)`. */
export const writeHeaderAndCrc = (out: Buffer, h: HeaderFields): void => {
  out.writeBigInt64BE(h.baseOffset, 0)
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8)
  out.writeInt32BE(h.partitionLeaderEpoch, 12)
  out[16] = 2
  out.writeInt16BE(h.attributes, 21)
  out.writeInt32BE(h.lastOffsetDelta, 23)
  writeInt64Number(out, 27, h.baseTimestamp)
  writeInt64Number(out, 35, h.maxTimestamp)
  out.writeBigInt64BE(h.producerId, 43)
  out.writeInt16BE(h.producerEpoch, 51)
  out.writeInt32BE(h.baseSequence, 53)
  out.writeInt32BE(h.recordCount, 57)
  out.writeUInt32BE(crc32c(out, ATTRIBUTES_OFFSET, out.length), CRC_OFFSET)
}

let sectionScratch = Buffer.allocUnsafe(64 * 1024)
const SCRATCH_MAX = 4 * 1024 * 1024

/**
 * Encodes the records section into a scratch buffer (reused across calls: consume it before the
 * next call) or, with `fresh`, into a new buffer.
 */
export const encodeSection = (records: ReadonlyArray<RecordInput>, baseTimestamp: number, fresh: boolean): Buffer => {
  const size = recordsSize(records, baseTimestamp)
  let buf: Buffer
  if (fresh || size > SCRATCH_MAX) buf = Buffer.allocUnsafe(size)
  else {
    if (sectionScratch.length < size) sectionScratch = Buffer.allocUnsafe(Math.max(size, sectionScratch.length * 2))
    buf = sectionScratch
  }
  writeRecords(buf, 0, records, baseTimestamp)
  return buf.subarray(0, size)
}

/** One whole batch, compressing the section synchronously. */
export const encodeBatchSync = (
  records: ReadonlyArray<RecordInput>,
  h: HeaderFields,
  compression: number,
  level: number | undefined
): Buffer => {
  if (compression === 0) {
    const size = recordsSize(records, h.baseTimestamp)
    const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + size)
    writeRecords(out, BATCH_HEADER_SIZE, records, h.baseTimestamp)
    writeHeaderAndCrc(out, h)
    return out
  }
  const section = encodeSection(records, h.baseTimestamp, false)
  const packed = compressSync(compression, section, level === undefined ? undefined : { level })
  return assembleBatch(packed, h)
}

/** Header + an already compressed (or plain) records section. */
export const assembleBatch = (section: Uint8Array, h: HeaderFields): Buffer => {
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + section.length)
  out.set(section, BATCH_HEADER_SIZE)
  writeHeaderAndCrc(out, h)
  return out
}

// ---- legacy message sets (magic 0 and 1) ----------------------------------------------------

/** One decoded legacy message (outer or inner). */
export interface LegacyEntry {
  readonly offset: bigint
  readonly magic: number
  readonly attributes: number
  readonly timestamp: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
}

/** The batch-like result of one outer legacy message (a compressed wrapper holds many). */
export interface LegacyBatch {
  readonly start: number
  readonly crc: number
  readonly magic: number
  readonly attributes: number
  readonly batchLength: number
  readonly entries: ReadonlyArray<LegacyEntry>
  /** The wrapper's timestamp when the batch uses log-append time (magic 1). */
  readonly logAppendTime: number | undefined
}

const legacyBytes = (b: Buffer, p: number, end: number): Uint8Array | null => {
  if (p + 4 > end) corrupt(p, "truncated legacy message")
  const n = b.readInt32BE(p)
  if (n === -1) return null
  if (n < 0 || n > end - p - 4) corrupt(p, `legacy message field length ${n} is invalid`)
  return new Uint8Array(b.buffer, b.byteOffset + p + 4, n)
}

/** Reads one legacy message at `start` (offset + size + message), which fits in `b`. */
const readLegacy = (b: Buffer, start: number, verifyCrc: boolean): { entry: LegacyEntry; crc: number; size: number } => {
  const size = b.readInt32BE(start + 8)
  const end = start + LOG_OVERHEAD + size
  const magic = b[start + MAGIC_OFFSET]
  const minSize = magic === 0 ? 14 : 22
  if (size < minSize) corrupt(start + 8, `legacy message size ${size} is below the minimum ${minSize}`)
  const crc = b.readUInt32BE(start + 12)
  if (verifyCrc) {
    const actual = zlib.crc32(b.subarray(start + MAGIC_OFFSET, end)) >>> 0
    if (actual !== crc) {
      throw new BatchFailure("CrcMismatch", start + 12, `CRC-32 mismatch: message says ${crc.toString(16)}, bytes give ${actual.toString(16)}`)
    }
  }
  const attributes = b[start + 17]
  let p = start + 18
  let timestamp = -1
  if (magic === 1) {
    timestamp = readInt64Number(b, p)
    p += 8
  }
  const key = legacyBytes(b, p, end)
  p += 4 + (key === null ? 0 : key.length)
  const value = legacyBytes(b, p, end)
  p += 4 + (value === null ? 0 : value.length)
  if (p !== end) corrupt(p, `legacy message declares ${size} bytes but its fields end ${p - end} bytes away`)
  return { entry: { offset: b.readBigInt64BE(start), magic, attributes, timestamp, key, value }, crc, size }
}

/**
 * Decodes the legacy message at `start`; for a compressed wrapper, decompresses and decodes the
 * inner message set (whose offsets are absolute in magic 0 and relative in magic 1).
 */
export const decodeLegacy = (b: Buffer, start: number, verifyCrc: boolean, options: DecompressOptions): LegacyBatch => {
  const { crc, entry, size } = readLegacy(b, start, verifyCrc)
  const codec = entry.attributes & 0x07
  const logAppendTime = entry.magic === 1 && (entry.attributes & 0x08) !== 0 ? entry.timestamp : undefined
  if (codec === 0) {
    return { start, crc, magic: entry.magic, attributes: entry.attributes, batchLength: size, entries: [entry], logAppendTime }
  }
  if (entry.value === null) corrupt(start, "compressed legacy wrapper has a null value")
  const unpacked = decompressSync(codec, entry.value!, entry.magic === 0 ? { ...options, brokenLz4Checksum: true } : options)
  const inner = Buffer.isBuffer(unpacked) ? unpacked : Buffer.from(unpacked.buffer, unpacked.byteOffset, unpacked.byteLength)
  const entries: Array<LegacyEntry> = []
  let p = 0
  while (p < inner.length) {
    if (inner.length - p < LOG_OVERHEAD + 5) corrupt(start, "truncated message inside a compressed legacy wrapper")
    const n = inner.readInt32BE(p + 8)
    if (n < 0 || n > inner.length - p - LOG_OVERHEAD) corrupt(start, `inner legacy message size ${n} exceeds the wrapper`)
    const innerMagic = inner[p + MAGIC_OFFSET]
    if (innerMagic > 1) corrupt(start, `inner legacy message has magic ${innerMagic}`)
    const e = readLegacy(inner, p, verifyCrc).entry
    if ((e.attributes & 0x07) !== 0) corrupt(start, "nested compression in a legacy wrapper")
    entries.push(e)
    p += LOG_OVERHEAD + n
  }
  if (entries.length === 0) corrupt(start, "empty compressed legacy wrapper")
  if (entry.magic === 1) {
    // inner offsets are relative; the wrapper's offset is the absolute offset of the last one
    const shift = entry.offset - entries[entries.length - 1].offset
    for (let i = 0; i < entries.length; i++) entries[i] = { ...entries[i], offset: entries[i].offset + shift }
  }
  return { start, crc, magic: entry.magic, attributes: entry.attributes, batchLength: size, entries, logAppendTime }
}
