/**
 * Prototype (not kpax code): an LZ4 *frame* decompressor in plain TypeScript, bounds-checked on
 * every read and write, measured against the `lz4-napi` call kpax makes today and the wasm build
 * @platformatic/kafka uses, on the records section of the batch cases.
 *
 *   npx node bench/codec/proto/lz4.ts [--reps 15]
 *
 * The point: `lz4-napi`'s `decompressFrameSync` (lz4_flex's frame reader behind N-API) is the
 * slowest step of kpax's lz4 batch decode (≈ 300 MB/s here, below the wasm build), and LZ4 block
 * decoding is simple enough to do in TypeScript: a token loop of literal runs and back-copies.
 * Corrupt input ends in a thrown `Error` at a known position, never an out-of-bounds access
 * (typed arrays would not fault anyway, but every length is checked before it is used).
 */
import { compressSync, decompressSync } from "../../../src/Protocol/Compression.ts"
import { encodeSection } from "../../../src/Protocol/internal/RecordBatchCodec.ts"
import { runCase } from "../harness.ts"
import type { Case } from "../harness.ts"
import { kpaxRecords, makeRecords, rng } from "../inputs.ts"
import { plat } from "../peers.ts"

const MAGIC = 0x184d2204
const BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024]

const corrupt = (at: number, what: string): never => {
  throw new Error(`corrupt lz4 frame at ${at}: ${what}`)
}

const u32le = (b: Uint8Array, p: number): number => (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0

/** Decodes one LZ4 block `src[ip, end)` into `out[op, limit)`; `floor` is the lowest position a match may reach back to. Returns the new output position. */
const decodeBlock = (src: Uint8Array, ip: number, end: number, out: Uint8Array, op: number, limit: number, floor: number): number => {
  for (;;) {
    if (ip >= end) corrupt(ip, "truncated block")
    const token = src[ip++]
    // literals
    let n = token >>> 4
    if (n === 15) {
      let b: number
      do {
        if (ip >= end) corrupt(ip, "truncated literal length")
        b = src[ip++]
        n += b
      } while (b === 255)
    }
    if (n > end - ip) corrupt(ip, `literal run of ${n} exceeds the block`)
    if (n > limit - op) corrupt(ip, `literal run of ${n} exceeds the output`)
    if (n < 32) for (let i = 0; i < n; i++) out[op + i] = src[ip + i]
    else out.set(src.subarray(ip, ip + n), op)
    ip += n
    op += n
    if (ip === end) return op // the last sequence has literals only
    // match
    if (end - ip < 2) corrupt(ip, "truncated match offset")
    const offset = src[ip] | (src[ip + 1] << 8)
    ip += 2
    if (offset === 0 || offset > op - floor) corrupt(ip - 2, `match offset ${offset} reaches before the block`)
    let m = (token & 15) + 4
    if (m === 19) {
      let b: number
      do {
        if (ip >= end) corrupt(ip, "truncated match length")
        b = src[ip++]
        m += b
      } while (b === 255)
    }
    if (m > limit - op) corrupt(ip, `match of ${m} exceeds the output`)
    const from = op - offset
    // overlapping copies (offset < m) repeat the last `offset` bytes: copy forward byte by byte
    if (offset >= m && m >= 32) out.copyWithin(op, from, from + m)
    else for (let i = 0; i < m; i++) out[op + i] = out[from + i]
    op += m
  }
}

/** Decompresses a whole LZ4 frame (no dictionary), at most `max` output bytes. */
export const lz4DecompressFrame = (src: Uint8Array, max = 256 * 1024 * 1024): Uint8Array => {
  if (src.length < 7 || u32le(src, 0) !== MAGIC) corrupt(0, "bad magic")
  const flg = src[4]
  const bd = src[5]
  if (flg >>> 6 !== 1) corrupt(4, "unsupported version")
  if ((flg & 0x01) !== 0) corrupt(4, "dictionaries are not supported")
  const independent = (flg & 0x20) !== 0
  const blockChecksum = (flg & 0x10) !== 0
  const contentChecksum = (flg & 0x04) !== 0
  const blockMax = BLOCK_MAX[(bd >>> 4) & 7]
  if (blockMax === 0) corrupt(5, "invalid block maximum size")
  let ip = 6
  let declared = -1
  if ((flg & 0x08) !== 0) {
    if (src.length < ip + 8) corrupt(ip, "truncated content size")
    declared = u32le(src, ip) + u32le(src, ip + 4) * 4294967296
    ip += 8
  }
  ip += 1 // header checksum (checked by the caller's frame check in kpax)
  // size the output: the declared size, else (number of blocks) × (block maximum), capped
  let capacity = declared
  if (capacity < 0) {
    let blocks = 0
    for (let p = ip; ;) {
      if (src.length - p < 4) corrupt(p, "truncated block size")
      const size = u32le(src, p) & 0x7fffffff
      if (size === 0 && (src[p + 3] & 0x80) === 0) break
      p += 4 + size + (blockChecksum ? 4 : 0)
      if (p > src.length) corrupt(p, "block exceeds the frame")
      blocks++
    }
    capacity = blocks * blockMax
  }
  if (capacity > max) corrupt(0, `output would exceed ${max} bytes`)
  const out = Buffer.allocUnsafe(capacity)
  let op = 0
  for (;;) {
    if (src.length - ip < 4) corrupt(ip, "truncated block size")
    const word = u32le(src, ip)
    ip += 4
    if (word === 0) break
    const size = word & 0x7fffffff
    if (size > blockMax || size > src.length - ip) corrupt(ip, `block of ${size} bytes`)
    const limit = Math.min(capacity, op + blockMax)
    if ((word & 0x80000000) !== 0) {
      if (size > limit - op) corrupt(ip, "stored block exceeds the output")
      out.set(src.subarray(ip, ip + size), op)
      op += size
    } else {
      op = decodeBlock(src, ip, ip + size, out, op, limit, independent ? op : 0)
    }
    ip += size + (blockChecksum ? 4 : 0)
  }
  if (contentChecksum) ip += 4 // not verified in this prototype (lz4-napi does when present; lz4_flex writes none)
  if (declared >= 0 && op !== declared) corrupt(ip, `content size ${declared} but ${op} bytes decoded`)
  return out.subarray(0, op)
}

// ---- check and measure -------------------------------------------------------------------------

const args = process.argv.slice(2)
const reps = args.includes("--reps") ? Number(args[args.indexOf("--reps") + 1]) : 15

const recs = kpaxRecords(makeRecords(1000))
const section = Buffer.from(encodeSection(recs, recs[0].timestamp!, true))
const packed = Buffer.from(compressSync(3, section))
const pLz4 = (plat.compressionsAlgorithms as unknown as Record<string, { compressSync(b: Buffer): Buffer; decompressSync(b: Buffer): Buffer }>).lz4

// correctness: our section, the wasm build's frames, random data of many sizes, and corrupt inputs
if (Buffer.compare(Buffer.from(lz4DecompressFrame(packed)), section) !== 0) throw new Error("differs on the section")
if (Buffer.compare(Buffer.from(lz4DecompressFrame(pLz4.compressSync(section))), section) !== 0) throw new Error("differs on wasm's frame")
const r = rng(5)
for (let i = 0; i < 300; i++) {
  const n = r() % 300_000
  const words = ["kafka", "record", "{\"id\":", "value", "x", "0123456789"]
  const parts: Array<string> = []
  let len = 0
  while (len < n) {
    const w = r() % 3 === 0 ? String.fromCharCode(32 + (r() % 90)) : words[r() % words.length]
    parts.push(w)
    len += w.length
  }
  const data = Buffer.from(parts.join("").slice(0, n))
  const f = Buffer.from(compressSync(3, data))
  if (Buffer.compare(Buffer.from(lz4DecompressFrame(f)), data) !== 0) throw new Error(`differs on random input ${i}`)
}
let typed = 0
for (let i = 0; i < 20000; i++) {
  const bad = Buffer.from(packed)
  for (let k = 0; k < 1 + (r() % 4); k++) bad[7 + (r() % (bad.length - 7))] = r() & 0xff
  try {
    lz4DecompressFrame(bad.subarray(0, r() % 2 === 0 ? bad.length : r() % bad.length))
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith("corrupt lz4")) throw e
    typed++
  }
}
console.log(`checked: section, wasm frames, 300 random inputs; 20,000 corrupted frames → ${typed} typed failures, no other exception`)

const c: Case = {
  id: "proto-lz4-decompress",
  title: "lz4 frame decompress, the 1000-record section",
  bytes: section.length,
  bytesNote: "uncompressed output",
  subjects: [
    { name: "kpax today (lz4-napi)", run: () => decompressSync(3, packed).length },
    { name: "@platformatic/kafka (wasm)", run: () => pLz4.decompressSync(packed).length },
    { name: "proto: TypeScript lz4", run: () => lz4DecompressFrame(packed).length }
  ],
  kpax: "kpax today (lz4-napi)",
  peers: ["@platformatic/kafka (wasm)"]
}
const result = await runCase(c, { reps, sampleMs: 150, warmupMs: 800 }, (l) => console.log(l))
const [k, p, t] = result.stats
if ("median" in k && "median" in p && "median" in t) console.log(`  proto / lz4-napi: ${(t.median / k.median).toFixed(2)}×, proto / wasm: ${(t.median / p.median).toFixed(2)}×`)
