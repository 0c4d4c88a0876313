/**
 * Fuzz: over a million mutated inputs (bit flips, byte and int32 overwrites, truncation,
 * inflated lengths and varints, garbage, splices; CRC re-fixed for some so the mutation reaches
 * the record parser) must each give batches or a typed RecordBatchError — never an exception,
 * never an "unexpected" failure (an exception the decoder did not foresee), never a huge
 * allocation.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { setImmediate as tick } from "node:timers/promises"
import zlib from "node:zlib"
import { compressSync } from "../../src/Protocol/Compression.ts"
import { crc32c } from "../../src/Protocol/internal/Crc32c.ts"
import { decodeRecordBatchesSync, encodeControlBatch, encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import type { RecordBatch } from "../../src/Protocol/RecordBatch.ts"

const TOTAL = 1_050_000
const CHUNK = 10_000

const b = (s: string) => Buffer.from(s)

const legacy = (magic: 0 | 1, offset: bigint, attributes: number, key: Buffer | null, value: Buffer | null): Buffer => {
  const body = Buffer.alloc(2 + (magic === 1 ? 8 : 0) + 8 + (key?.length ?? 0) + (value?.length ?? 0))
  let p = 0
  body[p++] = magic
  body[p++] = attributes
  if (magic === 1) {
    body.writeBigInt64BE(1_700_000_000_000n, p)
    p += 8
  }
  for (const f of [key, value]) {
    body.writeInt32BE(f === null ? -1 : f.length, p)
    p += 4
    if (f !== null) p += f.copy(body, p)
  }
  const out = Buffer.alloc(16 + body.length)
  out.writeBigInt64BE(offset, 0)
  out.writeInt32BE(4 + body.length, 8)
  out.writeUInt32BE(zlib.crc32(body) >>> 0, 12)
  body.copy(out, 16)
  return out
}

const seeds: Array<{ name: string; bytes: Buffer; weight: number }> = (() => {
  const recs = [
    { key: b("k1"), value: b("value one"), headers: [{ key: "h1", value: b("x") }, { key: "ключ", value: null }], timestamp: 1_700_000_000_000 },
    { key: null, value: null, timestamp: 1_700_000_000_001 },
    { key: b(""), value: b("v".repeat(150)), headers: [{ key: "", value: b("") }], timestamp: 1_600_000_000_000 },
    { value: b("far future"), timestamp: 2 ** 50 },
    { key: b("k5"), value: b("x"), timestamp: 1_700_000_000_005, offsetDelta: 9 }
  ]
  const plain = Buffer.from(encodeRecordBatchSync(recs, { baseOffset: 1000n, producerId: 7n, producerEpoch: 1, baseSequence: 5, transactional: true }))
  const tiny = Buffer.from(encodeRecordBatchSync([{ value: b("v"), timestamp: 1 }]))
  const inner = Buffer.concat([legacy(1, 0n, 0, b("a"), b("1")), legacy(1, 1n, 0, null, b("2"))])
  const list = [
    { name: "plain", bytes: plain, weight: 80 },
    { name: "tiny", bytes: tiny, weight: 30 },
    { name: "two batches", bytes: Buffer.concat([tiny, plain]), weight: 30 },
    { name: "control", bytes: Buffer.from(encodeControlBatch({ type: "ABORT", producerId: 3n, producerEpoch: 0, coordinatorEpoch: 2, timestamp: 5 })), weight: 16 },
    { name: "legacy", bytes: Buffer.concat([legacy(0, 4n, 0, b("k"), b("v0")), legacy(1, 5n, 0, null, b("v1"))]), weight: 24 },
    { name: "legacy gzip", bytes: legacy(1, 11n, 1, null, zlib.gzipSync(inner)), weight: 1 },
    { name: "legacy lz4", bytes: legacy(1, 11n, 3, null, Buffer.from(compressSync(3, inner))), weight: 2 }
  ]
  // zlib and zstd set up a fresh (de)compression context per call: costly, so rarer
  for (const [codec, weight] of [[1, 1], [2, 3], [3, 3], [4, 1]] as const) {
    list.push({ name: `codec ${codec}`, bytes: Buffer.from(encodeRecordBatchSync(recs, { compression: codec })), weight })
  }
  return list
})()

const pickTable: Array<number> = seeds.flatMap((s, i) => Array.from({ length: s.weight }, () => i))

let state = 0x9e3779b9
const next = () => {
  state ^= state << 13
  state >>>= 0
  state ^= state >>> 17
  state ^= state << 5
  state >>>= 0
  return state
}
const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe]
const INTERESTING_INT32 = [0x7fffffff, -1, 0, -0x80000000, 0x10000, 61, 49, 1 << 24]

const mutate = (src: Buffer): Buffer => {
  let m: Buffer
  const kind = next() % 9
  switch (kind) {
    case 0: { // truncate
      return src.subarray(0, next() % (src.length + 1))
    }
    case 1: { // append garbage
      const extra = Buffer.allocUnsafe(1 + (next() % 40))
      for (let i = 0; i < extra.length; i++) extra[i] = next()
      return Buffer.concat([src, extra])
    }
    case 2: { // splice: a copy of a slice inserted elsewhere
      const a = next() % src.length
      const len = next() % Math.min(40, src.length - a)
      const at = next() % src.length
      return Buffer.concat([src.subarray(0, at), src.subarray(a, a + len), src.subarray(at)])
    }
    case 3: { // inflate a varint: insert continuation bytes
      const at = 12 + (next() % (src.length - 12))
      const ins = Buffer.from([0xff, 0xff, 0xff, 0xff, next() % 2 ? 0x0f : 0x7f].slice(0, 1 + (next() % 5)))
      return Buffer.concat([src.subarray(0, at), ins, src.subarray(at)])
    }
    default:
      m = Buffer.from(src)
  }
  const edits = 1 + (next() % 3)
  for (let e = 0; e < edits; e++) {
    const at = next() % m.length
    switch (kind) {
      case 4:
      case 5:
        m[at] ^= 1 << (next() % 8)
        break
      case 6:
        m[at] = next() % 2 ? INTERESTING_BYTES[next() % INTERESTING_BYTES.length] : next()
        break
      case 7:
        if (at + 4 <= m.length) m.writeInt32BE(next() % 2 ? INTERESTING_INT32[next() % INTERESTING_INT32.length] : next() | 0, at)
        break
      default: // the batch length field of the first batch
        if (m.length >= 12) m.writeInt32BE(next() % 2 ? INTERESTING_INT32[next() % INTERESTING_INT32.length] : ((m.readInt32BE(8) + (next() % 9) - 4) | 0), 8)
    }
  }
  return m
}

/** Re-computes the CRC of a first v2 batch so the mutation gets past the checksum. */
const fixCrc = (m: Buffer): void => {
  if (m.length < 61 || m[16] !== 2) return
  const end = 12 + m.readInt32BE(8)
  if (end > m.length || end < 21) return
  m.writeUInt32BE(crc32c(m, 21, end), 17)
}

const ALLOWED = new Set(["CrcMismatch", "Corrupt", "UnsupportedMagic", "Compression"])

/** Touches every decoded field, so lazily computed ones (offset) are exercised too. */
const touch = (batches: ReadonlyArray<RecordBatch>): number => {
  let n = 0
  for (const batch of batches) {
    n += Number(batch.nextOffset & 1n) + batch.records.length
    for (const r of batch.records) {
      n += Number(r.offset & 1n) + (r.key?.length ?? 0) + (r.value?.length ?? 0) + r.headers.length + (r.timestamp > 0 ? 1 : 0)
      for (const h of r.headers) n += h.key.length + (h.value?.length ?? 0)
    }
  }
  return n
}

describe("RecordBatch fuzz", () => {
  it(`${TOTAL} mutated inputs give batches or typed errors, never exceptions`, async () => {
    const started = performance.now()
    const reasons: Record<string, number> = {}
    let ok = 0
    let sink = 0
    for (let done = 0; done < TOTAL; done += CHUNK) {
      for (let i = 0; i < CHUNK; i++) {
        const seed = seeds[pickTable[next() % pickTable.length]].bytes
        const m = mutate(seed)
        const mode = next() % 4 // 0: verify CRC; 1: re-fix CRC then verify; 2, 3: skip CRC checks
        if (mode === 1 && m !== seed) fixCrc(m)
        let r: Result.Result<ReadonlyArray<RecordBatch>, { reason: string; message: string }>
        try {
          r = decodeRecordBatchesSync(m, { verifyCrc: mode < 2, maxDecompressedBytes: 1 << 20 })
        } catch (e) {
          assert.fail(`decoder threw ${String(e)} for input ${m.toString("hex")}`)
        }
        if (Result.isSuccess(r)) {
          ok++
          sink += touch(r.success)
        } else {
          const f = r.failure
          if (!ALLOWED.has(f.reason) || f.message.startsWith("unexpected")) {
            assert.fail(`unforeseen failure ${f.reason}: ${f.message} for input ${m.toString("hex")}`)
          }
          reasons[f.reason] = (reasons[f.reason] ?? 0) + 1
        }
      }
      await tick() // lets native codecs' buffer finalizers run
    }
    const seconds = (performance.now() - started) / 1000
    // every kind of outcome was reached
    assert.isAbove(ok, 1000)
    for (const reason of ALLOWED) assert.isAbove(reasons[reason] ?? 0, 100, `reason ${reason}: ${JSON.stringify(reasons)}`)
    assert.isBelow(process.memoryUsage().arrayBuffers, 512 * 1024 * 1024)
    console.log(`fuzz: ${TOTAL} inputs in ${seconds.toFixed(1)} s: ${ok} decoded, failures ${JSON.stringify(reasons)} (${sink & 1})`)
  }, 120_000)
})
