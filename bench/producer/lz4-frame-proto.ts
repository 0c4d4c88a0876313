/**
 * Prototype for the producer owners (issue 8): a Kafka-compatible LZ4 frame assembled in
 * TypeScript around lz4-napi's *block* compressor, against lz4-napi's `compressFrameSync` (what
 * kpax's Compression.ts uses) and the all-TypeScript compressor of ./lz4-compress-proto.ts
 * (a prototype, not kpax code). Checks the frames round-trip through lz4-napi's frame decoder and
 * kpax's own `decompressSync`, then times them (CPU time: user + system, since most of
 * lz4-napi's cost is system time) on the bench's 1 KiB payload and on JSON text.
 *
 *   npx node bench/producer/lz4-frame-proto.ts
 *
 * Frame (LZ4 frame format 1.6.x, as Kafka's KafkaLZ4BlockOutputStream writes it): magic
 * 0x184D2204, FLG 0x60 (version 01, independent blocks, no checksums, no content size), BD 0x40
 * (64 KiB blocks), HC = second byte of xxh32(FLG, BD); then per 64 KiB block a little-endian
 * size (high bit set: stored uncompressed) and the bytes; an all-zero end mark.
 */
import { createRequire } from "node:module"
import { decompressSync } from "../../src/Protocol/Compression.ts"
import { lz4CompressFrame } from "./lz4-compress-proto.ts"
import { payloads } from "../lib/payloads.ts"

const lz4 = createRequire(import.meta.url)("lz4-napi") as {
  compressFrame: (b: Buffer) => Promise<Buffer>
  compressSync: (b: Buffer) => Buffer
  compressFrameSync: (b: Buffer) => Buffer
  decompressFrameSync: (b: Buffer) => Buffer
}

const BLOCK = 64 * 1024
const P1 = 0x9e3779b1
const P2 = 0x85ebca77
const P3 = 0xc2b2ae3d
const P4 = 0x27d4eb2f
const P5 = 0x165667b1
const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r))

/** xxh32 of a few bytes (< 16), seed 0: all the frame header checksum needs. */
const xxh32Small = (bytes: ReadonlyArray<number>): number => {
  let h = (P5 + bytes.length) >>> 0
  for (const b of bytes) h = Math.imul(rotl((h + Math.imul(b, P5)) >>> 0, 11), P1) >>> 0
  h ^= h >>> 15
  h = Math.imul(h, P2) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, P3) >>> 0
  h ^= h >>> 16
  return h >>> 0
}
void P4

const FLG = 0x60
const BD = 0x40
const HC = (xxh32Small([FLG, BD]) >>> 8) & 0xff

/** lz4-napi's `compressSync` prepends the uncompressed size (4 bytes, little-endian) to the raw block. */
const rawBlock = (chunk: Buffer): Buffer => lz4.compressSync(chunk).subarray(4)

export const compressKafkaLz4 = (data: Buffer): Buffer => {
  const parts: Array<Buffer> = [Buffer.from([0x04, 0x22, 0x4d, 0x18, FLG, BD, HC])]
  for (let off = 0; off < data.length; off += BLOCK) {
    const chunk = data.subarray(off, Math.min(data.length, off + BLOCK))
    const packed = rawBlock(chunk)
    const size = Buffer.allocUnsafe(4)
    if (packed.length < chunk.length) {
      size.writeUInt32LE(packed.length)
      parts.push(size, packed)
    } else {
      size.writeUInt32LE((chunk.length | 0x80000000) >>> 0)
      parts.push(size, chunk)
    }
  }
  parts.push(Buffer.alloc(4))
  return Buffer.concat(parts)
}

const time = (name: string, bytes: number, f: () => unknown) => {
  for (let i = 0; i < 20; i++) f()
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  let n = 0
  while (performance.now() - t0 < 1000) {
    f()
    n++
  }
  const c = process.cpuUsage(c0)
  const mbps = (n * bytes) / (c.user + c.system)
  console.log(`${name.padEnd(44)} ${mbps.toFixed(0).padStart(5)} MB/s of CPU (user ${(c.user / n).toFixed(0)} µs, system ${(c.system / n).toFixed(0)} µs per call)`)
  return mbps
}

/** CPU time of `n` calls of lz4-napi's thread-pool form, one at a time (the producer's path for sections ≥ 32 KiB). */
const timeAsync = async (name: string, bytes: number, f: () => Promise<unknown>, n = 200) => {
  for (let i = 0; i < 20; i++) await f()
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) await f()
  const c = process.cpuUsage(c0)
  const mbps = (n * bytes) / (c.user + c.system)
  console.log(`${name.padEnd(44)} ${mbps.toFixed(0).padStart(5)} MB/s of CPU (user ${(c.user / n).toFixed(0)} µs, system ${(c.system / n).toFixed(0)} µs per call)`)
  return mbps
}

if (import.meta.main) {
  const az = Buffer.concat(payloads(1024)).subarray(0, 256 * 1024)
  const text = Buffer.from(Array.from({ length: 6000 }, (_, i) => `{"id":${i},"user":"u${i % 97}","event":"click","ok":true}`).join("\n")).subarray(0, 256 * 1024)
  for (const [label, data] of [["random A–Z (the bench payload)", az], ["JSON-ish text", text]] as const) {
    const mine = compressKafkaLz4(data)
    const ts = lz4CompressFrame(data)
    for (const frame of [mine, ts]) {
      if (!lz4.decompressFrameSync(frame).equals(data)) throw new Error("lz4-napi cannot read the frame")
      if (!Buffer.from(decompressSync(3, frame)).equals(data)) throw new Error("kpax cannot read the frame")
    }
    console.log(`${label}: ${data.length} B → frame ${lz4.compressFrameSync(data).length} B (compressFrameSync), ${mine.length} B (block-based), ${ts.length} B (TypeScript); all decode ✓`)
    const a = time("  lz4-napi compressFrameSync", data.length, () => lz4.compressFrameSync(data))
    const b = time("  block-based Kafka frame (this prototype)", data.length, () => compressKafkaLz4(data))
    const c = time("  TypeScript compressor (prototype)   ", data.length, () => lz4CompressFrame(data))
    await timeAsync("  lz4-napi compressFrame (thread pool)", data.length, () => lz4.compressFrame(data))
    console.log(`  → block-based ${(b / a).toFixed(2)}×, TypeScript ${(c / a).toFixed(2)}× lz4-napi's frame`)
  }
}
