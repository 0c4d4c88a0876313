/**
 * Prototype (not kpax code): record batch decode with lazy byte views, measured against kpax's
 * decoder and @platformatic/kafka's on the batch of the decode cases (1,000 records, 16-byte key,
 * 100-byte value, one header; uncompressed).
 *
 *   npx node bench/codec/proto/recordDecode.ts [--reps 15]
 *
 * kpax builds three `Uint8Array` views per record while decoding (key, value, header value) plus
 * a headers array and a header object; a view costs ≈ 25–30 ns to create here, more than all
 * the varint reads of a record. The prototype validates every length exactly as kpax does (so a
 * malformed record still fails the decode, never a later access) but stores only offsets:
 * `key`, `value` and `headers` are getters that build the view (or the header list) on first
 * access and keep it. Same public shape as kpax's `Record`.
 *
 * Subjects: decode only; and decode + read every record's `value` (what any consumer does) —
 * the lazy form pays for that one view at access time, so the second pair is the honest one.
 */
import { Result } from "effect"
import { decodeRecordBatchesSync, encodeRecordBatchSync } from "../../../src/Protocol/RecordBatch.ts"
import type { Header } from "../../../src/Protocol/RecordBatch.ts"
import { BATCH_HEADER_SIZE, readBatchHeader } from "../../../src/Protocol/internal/RecordBatchCodec.ts"
import { runCase } from "../harness.ts"
import type { Case } from "../harness.ts"
import { kpaxRecords, makeRecords } from "../inputs.ts"
import { pReadRecordsBatches, pReader } from "../peers.ts"

const corrupt = (p: number, m: string): never => {
  throw new Error(`corrupt at ${p}: ${m}`)
}

let vpos = 0
const readVarint = (b: Uint8Array, p: number, end: number): number => {
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

const utf8Slice = (b: Buffer, s: number, e: number): string => (b as unknown as { utf8Slice(s: number, e: number): string }).utf8Slice(s, e)
const EMPTY: ReadonlyArray<Header> = Object.freeze([])

/** A record whose byte fields are views made on first access. */
class LazyRecord {
  readonly baseOffset: bigint
  readonly offsetDelta: number
  readonly timestamp: number
  readonly attributes: number
  private readonly buf: Buffer
  private readonly keyAt: number // -1: null
  private readonly keyLen: number
  private readonly valueAt: number
  private readonly valueLen: number
  /** Header section [headersAt, recEnd) and count, validated at decode time; 0 = none. */
  private readonly headersAt: number
  private readonly headerCount: number
  private readonly recEnd: number
  private _key: Uint8Array | null | undefined = undefined
  private _value: Uint8Array | null | undefined = undefined
  private _headers: ReadonlyArray<Header> | undefined = undefined
  constructor(
    buf: Buffer,
    baseOffset: bigint,
    offsetDelta: number,
    timestamp: number,
    attributes: number,
    keyAt: number,
    keyLen: number,
    valueAt: number,
    valueLen: number,
    headersAt: number,
    headerCount: number,
    recEnd: number
  ) {
    this.buf = buf
    this.baseOffset = baseOffset
    this.offsetDelta = offsetDelta
    this.timestamp = timestamp
    this.attributes = attributes
    this.keyAt = keyAt
    this.keyLen = keyLen
    this.valueAt = valueAt
    this.valueLen = valueLen
    this.headersAt = headersAt
    this.headerCount = headerCount
    this.recEnd = recEnd
  }
  get offset(): bigint {
    return this.baseOffset + BigInt(this.offsetDelta)
  }
  get key(): Uint8Array | null {
    if (this._key === undefined) this._key = this.keyAt < 0 ? null : new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.keyAt, this.keyLen)
    return this._key
  }
  get value(): Uint8Array | null {
    if (this._value === undefined) this._value = this.valueAt < 0 ? null : new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.valueAt, this.valueLen)
    return this._value
  }
  get headers(): ReadonlyArray<Header> {
    if (this._headers !== undefined) return this._headers
    if (this.headerCount === 0) return (this._headers = EMPTY)
    const b = this.buf
    const end = this.recEnd
    let p = this.headersAt
    const hs = new Array<Header>(this.headerCount)
    for (let h = 0; h < this.headerCount; h++) {
      const kn = readVarint(b, p, end) // already validated: cannot fail
      p = vpos
      const key = utf8Slice(b, p, p + kn)
      p += kn
      const vn = readVarint(b, p, end)
      p = vpos
      let value: Uint8Array | null = null
      if (vn >= 0) {
        value = new Uint8Array(b.buffer, b.byteOffset + p, vn)
        p += vn
      }
      hs[h] = { key, value }
    }
    return (this._headers = hs)
  }
}

/** kpax's `decodeRecords` with the same checks, storing offsets instead of views. */
const decodeRecordsLazy = (b: Buffer, p: number, end: number, count: number, baseOffset: bigint, baseTimestamp: number): Array<LazyRecord> => {
  if (count > (end - p) / 7) corrupt(p, "too many records")
  const records = new Array<LazyRecord>(count)
  for (let i = 0; i < count; i++) {
    let len: number
    if (p < end && b[p] < 0x80) {
      len = (b[p] >>> 1) ^ -(b[p] & 1)
      p += 1
    } else {
      len = readVarint(b, p, end)
      p = vpos
    }
    if (len < 6 || len > end - p) corrupt(p, "record length")
    const recEnd = p + len
    const attributes = b[p++]
    let timestamp: number
    if (p < recEnd && b[p] < 0x80) {
      timestamp = baseTimestamp + ((b[p] >>> 1) ^ -(b[p] & 1))
      p += 1
    } else {
      timestamp = baseTimestamp + readVarint(b, p, recEnd) // (prototype: deltas < 2^31 only)
      p = vpos
    }
    let offsetDelta: number
    if (p < recEnd && b[p] < 0x80) {
      offsetDelta = (b[p] >>> 1) ^ -(b[p] & 1)
      p += 1
    } else {
      offsetDelta = readVarint(b, p, recEnd)
      p = vpos
    }
    let n: number
    if (p < recEnd && b[p] < 0x80) {
      n = (b[p] >>> 1) ^ -(b[p] & 1)
      p += 1
    } else {
      n = readVarint(b, p, recEnd)
      p = vpos
    }
    let keyAt = -1
    const keyLen = n
    if (n >= 0) {
      if (n > recEnd - p) corrupt(p, "key length")
      keyAt = p
      p += n
    } else if (n !== -1) corrupt(p, "key length")
    if (p < recEnd && b[p] < 0x80) {
      n = (b[p] >>> 1) ^ -(b[p] & 1)
      p += 1
    } else {
      n = readVarint(b, p, recEnd)
      p = vpos
    }
    let valueAt = -1
    const valueLen = n
    if (n >= 0) {
      if (n > recEnd - p) corrupt(p, "value length")
      valueAt = p
      p += n
    } else if (n !== -1) corrupt(p, "value length")
    let headersAt = 0
    let hc = 0
    if (p < recEnd && b[p] === 0) p += 1
    else {
      hc = readVarint(b, p, recEnd)
      p = vpos
      if (hc < 0 || hc > (recEnd - p) / 2) corrupt(p, "header count")
      headersAt = p
      for (let h = 0; h < hc; h++) {
        const kn = readVarint(b, p, recEnd)
        p = vpos
        if (kn < 0 || kn > recEnd - p) corrupt(p, "header key length")
        p += kn
        const vn = readVarint(b, p, recEnd)
        p = vpos
        if (vn >= 0) {
          if (vn > recEnd - p) corrupt(p, "header value length")
          p += vn
        } else if (vn !== -1) corrupt(p, "header value length")
      }
    }
    if (p !== recEnd) corrupt(p, "record size")
    records[i] = new LazyRecord(b, baseOffset, offsetDelta, timestamp, attributes, keyAt, keyLen, valueAt, valueLen, headersAt, hc, recEnd)
  }
  if (p !== end) corrupt(p, "bytes left")
  return records
}

const decodeLazy = (bytes: Buffer): Array<LazyRecord> => {
  const h = readBatchHeader(bytes, 0, true)
  return decodeRecordsLazy(bytes, h.recordsStart, h.end, h.recordCount, h.baseOffset, h.baseTimestamp)
}

// ---- check and measure -------------------------------------------------------------------------

const args = process.argv.slice(2)
const reps = args.includes("--reps") ? Number(args[args.indexOf("--reps") + 1]) : 15

const recs = makeRecords(1000)
const bytes = Buffer.from(encodeRecordBatchSync(kpaxRecords(recs), {}))
if (BATCH_HEADER_SIZE !== 61) throw new Error("header size")
const lazy = decodeLazy(bytes)
lazy.forEach((r, i) => {
  const w = recs[i]
  if (Buffer.compare(r.key!, w.key) !== 0 || Buffer.compare(r.value!, w.value) !== 0 || r.timestamp !== w.timestamp || r.offset !== BigInt(i)) throw new Error(`record ${i}`)
  if (r.headers.length !== 1 || r.headers[0].key !== "trace-id" || Buffer.compare(r.headers[0].value!, w.headerValue) !== 0) throw new Error(`headers ${i}`)
})

const kpax = () => {
  const r = decodeRecordBatchesSync(bytes)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success[0].records
}
const plat = () => pReadRecordsBatches(pReader(bytes))[0].records

const sumValues = (rs: ReadonlyArray<{ readonly value: Uint8Array | null }>): number => {
  let s = 0
  for (let i = 0; i < rs.length; i++) s += rs[i].value!.length
  return s
}

const c: Case = {
  id: "proto-decode-none",
  title: "record batch decode, 1000 records, lazy views",
  bytes: bytes.length,
  bytesNote: "the batch",
  subjects: [
    { name: "kpax today", run: () => kpax().length },
    { name: "@platformatic/kafka", run: () => plat().length },
    { name: "proto: lazy views", run: () => decodeLazy(bytes).length },
    { name: "kpax today + read values", run: () => sumValues(kpax()) },
    { name: "@platformatic/kafka + read values", run: () => sumValues(plat()) },
    { name: "proto: lazy views + read values", run: () => sumValues(decodeLazy(bytes)) }
  ],
  kpax: "kpax today",
  peers: ["@platformatic/kafka"]
}
const result = await runCase(c, { reps, sampleMs: 150, warmupMs: 800 }, (l) => console.log(l))
const by = (n: string) => result.stats.find((s) => s.name === n)
const ratioOf = (a: string, b: string) => {
  const x = by(a)
  const y = by(b)
  if (x === undefined || y === undefined || !("median" in x) || !("median" in y)) return "?"
  return `${(x.samples.map((v, i) => v / y.samples[i]).sort((p, q) => p - q)[x.samples.length >> 1]).toFixed(2)}×`
}
console.log(`  lazy / platformatic: ${ratioOf("proto: lazy views", "@platformatic/kafka")}; with values read: ${ratioOf("proto: lazy views + read values", "@platformatic/kafka + read values")}`)
console.log(`  kpax / platformatic with values read: ${ratioOf("kpax today + read values", "@platformatic/kafka + read values")}`)
