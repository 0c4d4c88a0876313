import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { createRequire } from "node:module"
import zlib from "node:zlib"
import { compressSync } from "../../src/Protocol/Compression.ts"
import {
  controlCoordinatorEpoch,
  controlRecordType,
  decodeRecordBatches,
  decodeRecordBatchesSync,
  encodeControlBatch,
  encodeRecordBatch,
  encodeRecordBatchSync,
  RecordBatch,
  RecordBatchError
} from "../../src/Protocol/RecordBatch.ts"
import type { BatchOptions, Header, RecordInput } from "../../src/Protocol/RecordBatch.ts"

const require = createRequire(import.meta.url)
type Enc = { buffer: Buffer }
// kafkajs' legacy message encoders (an independent implementation of magic 0 and 1 messages)
const MessageV0 = require("kafkajs/src/protocol/message/v0") as (m: { compression?: number; key: Buffer | null; value: Buffer | null }) => Enc
const MessageV1 = require("kafkajs/src/protocol/message/v1") as (m: { compression?: number; timestamp: number; key: Buffer | null; value: Buffer | null }) => Enc

// ---- deterministic random inputs ----------------------------------------------------------

export const makeRng = (seed: number) => {
  let s = seed >>> 0 || 1
  const next = () => {
    // xorshift32
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
  const int = (n: number) => next() % n
  const bytes = (n: number) => {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = next() & 0xff
    return b
  }
  return { next, int, bytes, chance: (p: number) => next() / 4294967296 < p }
}
type Rng = ReturnType<typeof makeRng>

const KEYS = ["", "trace-id", "content-type", "ключ", "🔑emoji", "k".repeat(40), "é", "x-" + "long".repeat(20)]

const randomBytesOrNull = (r: Rng, max: number): Buffer | null =>
  r.chance(0.15) ? null : r.chance(0.1) ? Buffer.alloc(0) : r.bytes(r.int(max))

const randomRecords = (r: Rng, baseTs: number): Array<RecordInput> => {
  const n = r.chance(0.05) ? 0 : 1 + r.int(r.chance(0.2) ? 200 : 12)
  const gaps = r.chance(0.2)
  let od = 0
  const records: Array<RecordInput> = []
  for (let i = 0; i < n; i++) {
    const headers: Array<Header> = []
    const hc = r.chance(0.5) ? 0 : r.int(5)
    for (let h = 0; h < hc; h++) headers.push({ key: KEYS[r.int(KEYS.length)], value: randomBytesOrNull(r, 40) })
    const big = r.chance(0.01)
    const rec: { -readonly [K in keyof RecordInput]: RecordInput[K] } = {
      key: r.chance(0.1) ? undefined : randomBytesOrNull(r, 60),
      value: big ? r.bytes(70_000 + r.int(1000)) : randomBytesOrNull(r, 400),
      headers: r.chance(0.2) ? undefined : headers
    }
    // timestamps: usually near the base, sometimes far (varlong beyond 32 bits), sometimes absent
    if (!r.chance(0.1)) rec.timestamp = baseTs + (r.chance(0.1) ? (r.int(2 ** 31) - 2 ** 30) * 64 : r.int(100_000) - 1000)
    if (gaps) {
      od += 1 + r.int(r.chance(0.1) ? 100_000 : 3)
      rec.offsetDelta = od
    }
    records.push(rec)
  }
  return records
}

const randomOptions = (r: Rng, compression: 0 | 1 | 2 | 3 | 4): BatchOptions => {
  const o: { -readonly [K in keyof BatchOptions]: BatchOptions[K] } = {
    compression,
    baseOffset: BigInt(r.int(2 ** 31)) * BigInt(r.int(2 ** 31)) + BigInt(r.int(1000)),
    partitionLeaderEpoch: r.chance(0.3) ? -1 : r.int(2 ** 31)
  }
  if (r.chance(0.5)) {
    o.producerId = BigInt(r.int(2 ** 31)) << BigInt(r.int(32))
    o.producerEpoch = r.int(32768)
    o.baseSequence = r.int(2 ** 31)
  }
  if (r.chance(0.3)) o.transactional = true
  if (r.chance(0.2)) o.timestampType = 1
  if (r.chance(0.1)) o.deleteHorizonMs = 1_700_000_000_000 + r.int(1_000_000)
  if (r.chance(0.1)) o.maxTimestamp = 1_600_000_000_000 + r.int(2 ** 30)
  return o
}

// ---- checks -------------------------------------------------------------------------------

const bytesEqual = (a: Uint8Array | null, b: Uint8Array | null | undefined, what: string) => {
  if (b == null) return assert.isNull(a, what)
  assert.isNotNull(a, what)
  assert.isTrue(Buffer.from(a!.buffer, a!.byteOffset, a!.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), what)
}

/** Checks a decoded batch against what was encoded, field by field. */
const checkBatch = (batch: RecordBatch, records: ReadonlyArray<RecordInput>, o: BatchOptions) => {
  const firstTs = records.length > 0 ? records[0].timestamp : undefined
  const baseTs = o.deleteHorizonMs ?? o.baseTimestamp ?? firstTs
  assert.strictEqual(batch.magic, 2)
  assert.strictEqual(batch.baseOffset, o.baseOffset ?? 0n)
  assert.strictEqual(batch.partitionLeaderEpoch, o.partitionLeaderEpoch ?? -1)
  assert.strictEqual(batch.compression, typeof o.compression === "number" ? o.compression : 0)
  assert.strictEqual(batch.isTransactional, o.transactional === true)
  assert.strictEqual(batch.isControl, o.control === true)
  assert.strictEqual(batch.timestampType, o.timestampType ?? 0)
  assert.strictEqual(batch.hasDeleteHorizon, o.deleteHorizonMs !== undefined)
  assert.strictEqual(batch.producerId, o.producerId ?? -1n)
  assert.strictEqual(batch.producerEpoch, o.producerEpoch ?? -1)
  assert.strictEqual(batch.baseSequence, o.baseSequence ?? -1)
  if (baseTs !== undefined) assert.strictEqual(batch.baseTimestamp, baseTs)
  const stamps = records.map((r) => r.timestamp ?? batch.baseTimestamp)
  const maxTs = o.maxTimestamp ?? (records.length === 0 ? batch.baseTimestamp : Math.max(...stamps))
  assert.strictEqual(batch.maxTimestamp, maxTs)
  const lastDelta = records.length === 0 ? 0 : records[records.length - 1].offsetDelta ?? records.length - 1
  assert.strictEqual(batch.lastOffsetDelta, lastDelta)
  assert.strictEqual(batch.lastOffset, batch.baseOffset + BigInt(lastDelta))
  assert.strictEqual(batch.records.length, records.length)
  for (let i = 0; i < records.length; i++) {
    const want = records[i]
    const got = batch.records[i]
    assert.strictEqual(got.offsetDelta, want.offsetDelta ?? i)
    assert.strictEqual(got.offset, batch.baseOffset + BigInt(want.offsetDelta ?? i))
    assert.strictEqual(got.timestamp, batch.timestampType === 1 ? batch.maxTimestamp : stamps[i], `timestamp of record ${i}`)
    bytesEqual(got.key, want.key, `key ${i}`)
    bytesEqual(got.value, want.value, `value ${i}`)
    const hs = want.headers ?? []
    assert.strictEqual(got.headers.length, hs.length)
    for (let h = 0; h < hs.length; h++) {
      assert.strictEqual(got.headers[h].key, hs[h].key)
      bytesEqual(got.headers[h].value, hs[h].value, `header ${h} of record ${i}`)
    }
  }
}

const decodeOk = (bytes: Uint8Array | null, options?: Parameters<typeof decodeRecordBatchesSync>[1]): ReadonlyArray<RecordBatch> => {
  const r = decodeRecordBatchesSync(bytes, options)
  if (Result.isFailure(r)) assert.fail(`decode failed: ${r.failure.reason} at ${r.failure.position}: ${r.failure.message}`)
  return (r as Result.Success<ReadonlyArray<RecordBatch>, RecordBatchError>).success
}

const decodeErr = (bytes: Uint8Array, options?: Parameters<typeof decodeRecordBatchesSync>[1]): RecordBatchError => {
  const r = decodeRecordBatchesSync(bytes, options)
  if (Result.isSuccess(r)) assert.fail(`expected a RecordBatchError, decoded ${r.success.length} batches`)
  return (r as Result.Failure<ReadonlyArray<RecordBatch>, RecordBatchError>).failure
}

const enc = (s: string) => Buffer.from(s, "utf8")

// ---- tests --------------------------------------------------------------------------------

describe("RecordBatch v2", () => {
  for (const compression of [0, 1, 2, 3, 4] as const) {
    it(`round-trips random batches, compression ${compression}`, () => {
      const r = makeRng(1000 + compression)
      const runs = compression === 0 ? 600 : 250
      for (let i = 0; i < runs; i++) {
        const records = randomRecords(r, 1_600_000_000_000 + r.int(2 ** 30))
        const o = randomOptions(r, compression)
        const bytes = encodeRecordBatchSync(records, o)
        const batches = decodeOk(bytes)
        assert.strictEqual(batches.length, 1)
        checkBatch(batches[0], records, o)
        assert.strictEqual(batches[0].batchLength, bytes.length - 12)
      }
    })
  }

  it.effect("the Effect forms agree with the sync forms, inline and on the thread pool", () =>
    Effect.gen(function*() {
      const r = makeRng(77)
      for (const compression of [0, 1, 2, 3, 4] as const) {
        for (let i = 0; i < 20; i++) {
          const records = randomRecords(r, 1_700_000_000_000)
          const o = { ...randomOptions(r, compression), asyncThreshold: i % 2 === 0 ? 0 : Infinity }
          const bytes = yield* encodeRecordBatch(records, o)
          const batches = yield* decodeRecordBatches(Buffer.concat([bytes, bytes]), { asyncThreshold: i % 3 === 0 ? 0 : Infinity })
          assert.strictEqual(batches.length, 2)
          checkBatch(batches[0], records, o)
          checkBatch(batches[1], records, o)
        }
      }
    }))

  it("null keys, null values, empty headers and empty batches", () => {
    const records: Array<RecordInput> = [
      { key: null, value: null, timestamp: 5 },
      { value: enc("v"), headers: [], timestamp: 6 },
      { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [{ key: "", value: null }, { key: "h", value: Buffer.alloc(0) }], timestamp: 7 }
    ]
    const [b] = decodeOk(encodeRecordBatchSync(records))
    checkBatch(b, records, {})
    assert.isNull(b.records[0].key)
    assert.isNull(b.records[0].value)
    assert.isNull(b.records[1].key)
    assert.strictEqual(b.records[2].key!.length, 0)
    assert.strictEqual(decodeOk(null).length, 0) // a Fetch partition with no records
    assert.strictEqual(decodeOk(new Uint8Array(0)).length, 0)
    const empty = decodeOk(encodeRecordBatchSync([], { baseOffset: 10n, lastOffsetDelta: 4, baseTimestamp: 1 }))[0]
    assert.strictEqual(empty.records.length, 0)
    assert.strictEqual(empty.nextOffset, 15n)
  })

  it("keys and values are views into the fetched bytes when uncompressed", () => {
    const bytes = Buffer.from(encodeRecordBatchSync([{ key: enc("key"), value: enc("value"), timestamp: 1 }]))
    const [b] = decodeOk(bytes)
    assert.strictEqual(b.records[0].value!.buffer, bytes.buffer)
    bytes[bytes.length - 2] = "E".charCodeAt(0) // the view sees the change (no copy); the last byte is the header count
    assert.strictEqual(Buffer.from(b.records[0].value!).toString(), "valuE")
  })

  it("timestamps: create time per record, log-append time from maxTimestamp", () => {
    const records = [{ value: enc("a"), timestamp: 1000 }, { value: enc("b"), timestamp: 900 }, { value: enc("c"), timestamp: 5000 }]
    const create = decodeOk(encodeRecordBatchSync(records))[0]
    assert.deepStrictEqual(create.records.map((r) => r.timestamp), [1000, 900, 5000])
    assert.strictEqual(create.baseTimestamp, 1000)
    assert.strictEqual(create.maxTimestamp, 5000)
    const append = decodeOk(encodeRecordBatchSync(records, { timestampType: 1, maxTimestamp: 777 }))[0]
    assert.strictEqual(append.timestampType, 1)
    assert.deepStrictEqual(append.records.map((r) => r.timestamp), [777, 777, 777])
  })

  it("int64 fields over the full range", () => {
    const o = { baseOffset: 2n ** 62n + 12345n, producerId: 2n ** 63n - 1n, producerEpoch: 32767, baseSequence: 2 ** 31 - 1, partitionLeaderEpoch: 2 ** 31 - 1 }
    const records = [{ value: enc("x"), timestamp: 2 ** 52 }, { value: enc("y"), timestamp: -(2 ** 40) }]
    const [b] = decodeOk(encodeRecordBatchSync(records, o))
    checkBatch(b, records, o)
    assert.strictEqual(b.records[1].offset, 2n ** 62n + 12346n)
  })

  it("transactional and control batches (COMMIT / ABORT markers)", () => {
    const data = decodeOk(encodeRecordBatchSync([{ value: enc("in txn"), timestamp: 1 }], { transactional: true, producerId: 42n, producerEpoch: 3, baseSequence: 0 }))[0]
    assert.isTrue(data.isTransactional)
    assert.isFalse(data.isControl)
    for (const type of ["COMMIT", "ABORT"] as const) {
      const bytes = encodeControlBatch({ type, producerId: 42n, producerEpoch: 3, coordinatorEpoch: 9, baseOffset: 1n, timestamp: 2 })
      const [marker] = decodeOk(bytes)
      assert.isTrue(marker.isControl)
      assert.isTrue(marker.isTransactional)
      assert.strictEqual(marker.attributes, 0x30)
      assert.strictEqual(marker.producerId, 42n)
      assert.strictEqual(marker.records.length, 1)
      assert.strictEqual(controlRecordType(marker.records[0]), type)
      assert.strictEqual(controlCoordinatorEpoch(marker.records[0]), 9)
      assert.deepStrictEqual([...marker.records[0].key!], [0, 0, 0, type === "COMMIT" ? 1 : 0])
    }
  })

  it("several batches back to back; a cut-short last batch is ignored at every cut", () => {
    const parts = [0, 1, 2].map((i) =>
      Buffer.from(encodeRecordBatchSync([{ key: enc(`k${i}`), value: enc("v".repeat(20 * (i + 1))), timestamp: i }], { baseOffset: BigInt(i * 10), compression: i === 1 ? "gzip" : "none" }))
    )
    const all = Buffer.concat(parts)
    const ends = [parts[0].length, parts[0].length + parts[1].length, all.length]
    for (let cut = 0; cut <= all.length; cut++) {
      const batches = decodeOk(all.subarray(0, cut))
      const complete = ends.filter((e) => e <= cut).length
      assert.strictEqual(batches.length, complete, `cut at ${cut}`)
      batches.forEach((b, i) => assert.strictEqual(b.baseOffset, BigInt(i * 10)))
    }
  })

  it("a CRC mismatch is detected for a change anywhere the CRC covers", () => {
    const bytes = Buffer.from(encodeRecordBatchSync([{ key: enc("k"), value: enc("value"), headers: [{ key: "h", value: enc("x") }], timestamp: 1 }, { value: null, timestamp: 2 }]))
    for (let i = 21; i < bytes.length; i++) {
      for (const bit of [0, 7]) {
        const m = Buffer.from(bytes)
        m[i] ^= 1 << bit
        assert.strictEqual(decodeErr(m).reason, "CrcMismatch", `byte ${i} bit ${bit}`)
      }
    }
    // the stored CRC itself
    const m = Buffer.from(bytes)
    m[18] ^= 0x10
    const e = decodeErr(m)
    assert.instanceOf(e, RecordBatchError)
    assert.strictEqual(e.reason, "CrcMismatch")
    assert.strictEqual(e.position, 17)
    // with verification off, the same bytes decode
    assert.strictEqual(decodeOk(m, { verifyCrc: false }).length, 1)
  })

  it("unsupported magic and impossible lengths are typed errors", () => {
    const bytes = Buffer.from(encodeRecordBatchSync([{ value: enc("v"), timestamp: 1 }]))
    const m3 = Buffer.from(bytes)
    m3[16] = 3
    assert.strictEqual(decodeErr(m3).reason, "UnsupportedMagic")
    const short = Buffer.from(bytes)
    short.writeInt32BE(10, 8) // length below the v2 header
    assert.strictEqual(decodeErr(short).reason, "Corrupt")
    const negative = Buffer.from(bytes)
    negative.writeInt32BE(-5, 8)
    assert.strictEqual(decodeErr(negative).reason, "Corrupt")
    // a huge record count in a valid-CRC batch: refused before allocating
    const huge = Buffer.from(bytes)
    huge.writeInt32BE(2 ** 31 - 1, 57)
    assert.strictEqual(decodeErr(huge, { verifyCrc: false }).reason, "Corrupt")
    // a compression code beyond 4
    const codec = Buffer.from(bytes)
    codec[22] = (codec[22] & ~7) | 6
    assert.strictEqual(decodeErr(codec, { verifyCrc: false }).reason, "Compression")
    // an inflated batch length at the end reads as a cut-short batch: ignored
    const inflated = Buffer.from(bytes)
    inflated.writeInt32BE(2 ** 31 - 1, 8)
    assert.strictEqual(decodeOk(inflated).length, 0)
  })

  it.effect("the Effect decoder fails with RecordBatchError, also from the thread pool", () =>
    Effect.gen(function*() {
      const bytes = Buffer.from(encodeRecordBatchSync([{ value: Buffer.alloc(5000, 1), timestamp: 1 }], { compression: "zstd" }))
      bytes[bytes.length - 3] ^= 0xff
      for (const asyncThreshold of [0, Infinity]) {
        const e = yield* Effect.flip(decodeRecordBatches(bytes, { verifyCrc: false, asyncThreshold }))
        assert.strictEqual(e._tag, "RecordBatchError")
        assert.strictEqual(e.reason, "Compression")
        assert.strictEqual(e.position, 0)
      }
      const e = yield* Effect.flip(decodeRecordBatches(bytes))
      assert.strictEqual(e.reason, "CrcMismatch")
    }))
})

// ---- legacy message sets ------------------------------------------------------------------

const entry = (offset: bigint, message: Buffer): Buffer => {
  const head = Buffer.alloc(12)
  head.writeBigInt64BE(offset, 0)
  head.writeInt32BE(message.length, 8)
  return Buffer.concat([head, message])
}
/** A magic-1 wrapper with attributes written by hand (kafkajs sets only the codec bits). */
const wrapperV1 = (offset: bigint, attributes: number, timestamp: number, value: Buffer): Buffer => {
  const body = Buffer.alloc(18 + value.length)
  body[0] = 1
  body[1] = attributes
  body.writeBigInt64BE(BigInt(timestamp), 2)
  body.writeInt32BE(-1, 10)
  body.writeInt32BE(value.length, 14)
  value.copy(body, 18)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(zlib.crc32(body) >>> 0)
  return entry(offset, Buffer.concat([crc, body]))
}

describe("legacy message sets (magic 0 and 1)", () => {
  it("decodes uncompressed v0 and v1 messages written by kafkajs", () => {
    const v0 = entry(5n, MessageV0({ key: enc("k0"), value: enc("v0") }).buffer)
    const v1 = entry(6n, MessageV1({ key: null, value: enc("v1"), timestamp: 1_600_000_000_123 }).buffer)
    const v1null = entry(7n, MessageV1({ key: enc("k"), value: null, timestamp: 1_600_000_000_124 }).buffer)
    const batches = decodeOk(Buffer.concat([v0, v1, v1null]))
    assert.strictEqual(batches.length, 3)
    assert.deepStrictEqual(batches.map((b) => b.magic), [0, 1, 1])
    assert.deepStrictEqual(batches.map((b) => b.records[0].offset), [5n, 6n, 7n])
    assert.strictEqual(batches[0].records[0].timestamp, -1)
    assert.strictEqual(batches[1].records[0].timestamp, 1_600_000_000_123)
    assert.strictEqual(Buffer.from(batches[0].records[0].key!).toString(), "k0")
    assert.isNull(batches[1].records[0].key)
    assert.isNull(batches[2].records[0].value)
    assert.strictEqual(batches[1].producerId, -1n)
    assert.isFalse(batches[1].isTransactional)
  })

  it("v1 compressed wrappers: relative inner offsets, create and log-append time, every codec", () => {
    for (const codec of [1, 2, 3, 4]) {
      const inner = Buffer.concat([0, 1, 2].map((i) => entry(BigInt(i), MessageV1({ key: enc(`k${i}`), value: enc(`v${i}`), timestamp: 1000 + i }).buffer)))
      const packed = Buffer.from(compressSync(codec, inner))
      // the wrapper carries the absolute offset of the last inner message
      const create = decodeOk(wrapperV1(102n, codec, 1002, packed))
      assert.strictEqual(create.length, 1)
      assert.deepStrictEqual(create[0].records.map((r) => r.offset), [100n, 101n, 102n])
      assert.deepStrictEqual(create[0].records.map((r) => r.timestamp), [1000, 1001, 1002])
      assert.deepStrictEqual(create[0].records.map((r) => Buffer.from(r.value!).toString()), ["v0", "v1", "v2"])
      assert.strictEqual(create[0].compression, codec)
      assert.strictEqual(create[0].lastOffset, 102n)
      const append = decodeOk(wrapperV1(102n, codec | 0x08, 5555, packed))
      assert.strictEqual(append[0].timestampType, 1)
      assert.deepStrictEqual(append[0].records.map((r) => r.timestamp), [5555, 5555, 5555])
    }
  })

  it("v0 compressed wrappers: absolute inner offsets; lz4 with the pre-KIP-57 header checksum", () => {
    const inner = Buffer.concat([40n, 41n].map((o) => entry(o, MessageV0({ key: null, value: enc(`m${o}`) }).buffer)))
    const gz = entry(41n, MessageV0({ compression: 1, key: null, value: zlib.gzipSync(inner) }).buffer)
    assert.deepStrictEqual(decodeOk(gz)[0].records.map((r) => r.offset), [40n, 41n])
    const lz = Buffer.from(compressSync(3, inner))
    lz[6] = (xxh32(lz.subarray(0, 6)) >>> 8) & 0xff // the broken checksum old Java clients wrote
    const lzEntry = entry(41n, MessageV0({ compression: 3, key: null, value: lz }).buffer)
    const [b] = decodeOk(lzEntry)
    assert.deepStrictEqual(b.records.map((r) => Buffer.from(r.value!).toString()), ["m40", "m41"])
  })

  it("legacy CRC-32 mismatches and malformed messages are typed errors", () => {
    const good = entry(1n, MessageV1({ key: enc("k"), value: enc("value"), timestamp: 7 }).buffer)
    for (let i = 16; i < good.length; i++) {
      const m = Buffer.from(good)
      m[i] ^= 0x04
      const e = decodeErr(m)
      assert.include(["CrcMismatch", "UnsupportedMagic"], e.reason, `byte ${i}`)
    }
    const m = Buffer.from(good)
    m.writeInt32BE(100, 12 + 4 + 1 + 1 + 8) // key length beyond the message
    assert.strictEqual(decodeErr(m, { verifyCrc: false }).reason, "Corrupt")
  })

  it("a fetch may mix legacy messages and v2 batches", () => {
    const legacy = entry(0n, MessageV1({ key: null, value: enc("old"), timestamp: 1 }).buffer)
    const v2 = encodeRecordBatchSync([{ value: enc("new"), timestamp: 2 }], { baseOffset: 1n })
    const batches = decodeOk(Buffer.concat([legacy, v2, legacy.subarray(0, 20)]))
    assert.deepStrictEqual(batches.map((b) => [b.magic, b.records[0].offset]), [[1, 0n], [2, 1n]])
  })
})

/** xxHash32, seed 0, for short inputs (< 16 bytes). */
function xxh32(b: Uint8Array): number {
  const P1 = 0x9e3779b1, P2 = 0x85ebca77, P3 = 0xc2b2ae3d, P4 = 0x27d4eb2f, P5 = 0x165667b1
  let h = (P5 + b.length) | 0
  let i = 0
  for (; i + 4 <= b.length; i += 4) {
    h = (h + Math.imul(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24), P3)) | 0
    h = Math.imul((h << 17) | (h >>> 15), P4)
  }
  for (; i < b.length; i++) {
    h = (h + Math.imul(b[i], P5)) | 0
    h = Math.imul((h << 11) | (h >>> 21), P1)
  }
  h ^= h >>> 15
  h = Math.imul(h, P2)
  h ^= h >>> 13
  h = Math.imul(h, P3)
  h ^= h >>> 16
  return h >>> 0
}
