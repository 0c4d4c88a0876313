import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { createRequire } from "node:module"
import zlib from "node:zlib"
import * as wasm from "@platformatic/wasm-utils"
import { Compression, CompressionError, compress, compressSync, decompress, decompressSync, SNAPPY_XERIAL_BLOCK } from "../../src/Protocol/Compression.ts"

const require = createRequire(import.meta.url)
// independent pure-JS implementations (no shared code with the native packages we use)
const lz4js = require("lz4js") as { compress(b: Uint8Array): Uint8Array; decompress(b: Uint8Array): Uint8Array }
const snappyjs = require("snappyjs") as { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array): Uint8Array }

const rng = (seed: number) => () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  return seed >>> 8
}
/** Compressible, Kafka-like bytes: JSON lines with repeated structure and some noise. */
const sample = (size: number, seed = 1): Buffer => {
  const r = rng(seed)
  const parts: Array<string> = []
  let n = 0
  while (n < size) {
    const s = JSON.stringify({ id: r() % 100000, user: `user-${r() % 500}`, event: ["click", "view", "buy"][r() % 3], v: r() })
    parts.push(s)
    n += s.length + 1
  }
  return Buffer.from(parts.join("\n")).subarray(0, size)
}
const random = (size: number, seed = 2): Buffer => {
  const r = rng(seed)
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = r()
  return b
}
const same = (a: Uint8Array, b: Uint8Array) => assert.isTrue(Buffer.from(a).equals(Buffer.from(b)), `bytes differ (${a.length} vs ${b.length})`)

const expectError = (f: () => unknown, reason: CompressionError["reason"]) => {
  try {
    f()
  } catch (e) {
    assert.instanceOf(e, CompressionError)
    assert.strictEqual((e as CompressionError).reason, reason, (e as CompressionError).message)
    return
  }
  assert.fail("expected a CompressionError")
}

const codecs = [Compression.none, Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]

describe("Compression", () => {
  it("every codec round-trips, sync, across sizes and content", () => {
    for (const codec of codecs) {
      for (const data of [Buffer.alloc(0), Buffer.from([7]), sample(1000), random(5000), sample(SNAPPY_XERIAL_BLOCK * 3 + 17), random(200_000, 9)]) {
        const packed = compressSync(codec, data)
        same(decompressSync(codec, packed), data)
      }
      // a plain Uint8Array (not a Buffer), and a view at an offset
      const u = new Uint8Array(sample(3000, 5).buffer.slice(0)).subarray(10, 2010)
      same(decompressSync(codec, compressSync(codec, u)), u)
    }
  })

  it.effect("every codec round-trips through the Effect forms, inline and on the thread pool", () =>
    Effect.gen(function*() {
      for (const codec of codecs) {
        for (const asyncThreshold of [0, Infinity]) {
          const data = sample(70_000, codec + 3)
          const packed = yield* compress(codec, data, { asyncThreshold })
          same(yield* decompress(codec, packed, { asyncThreshold }), data)
        }
      }
    }))

  it.effect("the Effect forms fail with CompressionError on corrupt input, also on the thread pool", () =>
    Effect.gen(function*() {
      for (const codec of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) {
        for (const asyncThreshold of [0, Infinity]) {
          const packed = Buffer.from(compressSync(codec, sample(50_000)))
          const bad = packed.subarray(0, packed.length >> 1)
          const exit = yield* Effect.exit(decompress(codec, bad, { asyncThreshold }))
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isFailure(exit)) {
            const err = exit.cause.reasons[0]
            assert.strictEqual(err?._tag, "Fail", `codec ${codec}`)
          }
        }
      }
    }))

  it("gzip and zstd honour the level", () => {
    const data = sample(100_000)
    assert.isBelow(compressSync(Compression.gzip, data, { level: 9 }).length, compressSync(Compression.gzip, data, { level: 1 }).length)
    assert.isBelow(compressSync(Compression.zstd, data, { level: 19 }).length, compressSync(Compression.zstd, data, { level: 1 }).length)
    same(zlib.gunzipSync(compressSync(Compression.gzip, data, { level: 1 })), data)
  })

  describe("snappy", () => {
    it("writes the xerial framing with 32 KiB blocks, each readable by an independent raw snappy decoder", () => {
      const data = sample(SNAPPY_XERIAL_BLOCK * 2 + 1000)
      const out = Buffer.from(compressSync(Compression.snappy, data))
      same(out.subarray(0, 8), Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]))
      assert.strictEqual(out.readInt32BE(8), 1)
      assert.strictEqual(out.readInt32BE(12), 1)
      const parts: Array<Uint8Array> = []
      for (let p = 16; p < out.length;) {
        const n = out.readInt32BE(p)
        parts.push(snappyjs.uncompress(out.subarray(p + 4, p + 4 + n)))
        p += 4 + n
      }
      assert.deepStrictEqual(parts.map((p) => p.length), [SNAPPY_XERIAL_BLOCK, SNAPPY_XERIAL_BLOCK, 1000])
      same(Buffer.concat(parts), data)
    })

    it("reads raw snappy (from two other implementations) and xerial built by hand", () => {
      const data = sample(90_000, 4)
      same(decompressSync(Compression.snappy, snappyjs.compress(data)), data)
      same(decompressSync(Compression.snappy, wasm.snappyCompress(data)), data)
      const blocks = [data.subarray(0, 10_000), data.subarray(10_000, 80_000), data.subarray(80_000)].map((b) => Buffer.from(snappyjs.compress(b)))
      const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
      const framed = Buffer.concat([header, ...blocks.flatMap((b) => { const len = Buffer.alloc(4); len.writeInt32BE(b.length); return [len, b] })])
      same(decompressSync(Compression.snappy, framed), data)
      // header only: no blocks, no bytes
      assert.strictEqual(decompressSync(Compression.snappy, header).length, 0)
    })

    it("rejects a declared length the input cannot produce, before allocating", () => {
      expectError(() => decompressSync(Compression.snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])), "Corrupt")
      expectError(() => decompressSync(Compression.snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), "Corrupt")
      const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 1])
      expectError(() => decompressSync(Compression.snappy, header), "Corrupt")
      const big = compressSync(Compression.snappy, Buffer.alloc(100_000))
      expectError(() => decompressSync(Compression.snappy, big, { maxDecompressedBytes: 50_000 }), "TooLarge")
    })
  })

  describe("lz4", () => {
    it("our frames are read by independent decoders, and theirs by us", () => {
      for (const data of [sample(100), sample(70_000, 3), random(20_000)]) {
        const ours = compressSync(Compression.lz4, data)
        same(lz4js.decompress(ours), data)
        same(wasm.lz4Decompress(Buffer.from(ours)), data)
        same(decompressSync(Compression.lz4, lz4js.compress(data)), data)
        same(decompressSync(Compression.lz4, wasm.lz4Compress(data)), data)
      }
    })

    it("writes KIP-57 frames: version 1, independent blocks, correct header checksum", () => {
      const out = Buffer.from(compressSync(Compression.lz4, sample(1000)))
      assert.strictEqual(out.readUInt32LE(0), 0x184d2204)
      assert.strictEqual(out[4] >>> 6, 1)
      assert.strictEqual(out[4] & 0x20, 0x20)
    })

    it("accepts the pre-KIP-57 (broken) header checksum only when asked", () => {
      const data = sample(5000)
      const good = Buffer.from(compressSync(Compression.lz4, data))
      // old Java clients hashed the magic number too: xxh32 over bytes [0, 6) instead of [4, 6)
      const broken = Buffer.from(good)
      broken[6] = (xxh32(broken.subarray(0, 6)) >>> 8) & 0xff
      assert.notStrictEqual(broken[6], good[6])
      expectError(() => decompressSync(Compression.lz4, broken), "Corrupt")
      same(decompressSync(Compression.lz4, broken, { brokenLz4Checksum: true }), data)
      same(decompressSync(Compression.lz4, good, { brokenLz4Checksum: true }), data)
    })

    it("rejects bad magic, bad version and impossible content sizes", () => {
      expectError(() => decompressSync(Compression.lz4, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])), "Corrupt")
      const good = Buffer.from(compressSync(Compression.lz4, sample(1000)))
      const v = Buffer.from(good)
      v[4] = (v[4] & 0x3f) | 0x80
      expectError(() => decompressSync(Compression.lz4, v), "Corrupt")
      // content-size flag with a 1 TiB size
      const withSize = Buffer.concat([good.subarray(0, 4), Buffer.from([good[4] | 0x08, good[5]]), Buffer.from([0, 0, 0, 0, 0, 1, 0, 0]), good.subarray(6)])
      expectError(() => decompressSync(Compression.lz4, withSize), "TooLarge")
    })
  })

  describe("lz4 frames as the Java client writes them (read block by block)", () => {
    const lz4napi = require("lz4-napi") as { compressSync(b: Uint8Array): Buffer }
    /** An LZ4 frame by hand: independent blocks of `blockSize`, optional content size, some blocks stored raw. */
    const frame = (data: Buffer, o: { bd?: number; blockSize?: number; contentSize?: boolean; raw?: (i: number) => boolean; flg?: number } = {}): Buffer => {
      const blockSize = o.blockSize ?? 64 * 1024
      const flg = (o.flg ?? 0x60) | (o.contentSize === true ? 0x08 : 0)
      const descriptor = [flg, o.bd ?? 0x40]
      if (o.contentSize === true) {
        const size = Buffer.alloc(8)
        size.writeUInt32LE(data.length, 0)
        descriptor.push(...size)
      }
      const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, ...descriptor, (xxh32(Buffer.from(descriptor)) >>> 8) & 0xff])
      const blocks: Array<Buffer> = []
      for (let i = 0, off = 0; off < data.length; i++, off += blockSize) {
        const chunk = data.subarray(off, off + blockSize)
        const packed = lz4napi.compressSync(chunk).subarray(4) // strip lz4-napi's size prefix: a raw block
        const raw = o.raw?.(i) === true || packed.length >= chunk.length // incompressible: stored, as encoders do
        const body = raw ? chunk : packed
        const len = Buffer.alloc(4)
        len.writeUInt32LE((body.length | (raw ? 0x80000000 : 0)) >>> 0)
        blocks.push(len, body)
      }
      return Buffer.concat([header, ...blocks, Buffer.alloc(4)])
    }

    it("reads 64 KiB independent blocks, stored (raw) blocks, a content size, an empty frame", () => {
      for (const data of [sample(150_000, 8), random(200_000, 3), sample(64 * 1024), sample(10), Buffer.alloc(0)]) {
        same(decompressSync(Compression.lz4, frame(data)), data)
        same(decompressSync(Compression.lz4, frame(data, { contentSize: true })), data)
        same(decompressSync(Compression.lz4, frame(data, { raw: (i) => i % 2 === 1 })), data)
        same(decompressSync(Compression.lz4, frame(data, { bd: 0x70, blockSize: 1 << 20 })), data)
      }
    })

    it("stops at maxDecompressedBytes while inflating, compressed or stored blocks", () => {
      const data = sample(300_000, 2)
      expectError(() => decompressSync(Compression.lz4, frame(data), { maxDecompressedBytes: 100_000 }), "TooLarge")
      expectError(() => decompressSync(Compression.lz4, frame(data, { raw: () => true }), { maxDecompressedBytes: 100_000 }), "TooLarge")
      same(decompressSync(Compression.lz4, frame(data), { maxDecompressedBytes: 300_000 }), data)
    })

    it("rejects a content size that does not match, a block beyond its maximum size, a bad header checksum", () => {
      const data = sample(100_000, 4)
      const sized = frame(data, { contentSize: true })
      sized.writeUInt32LE(data.length - 1, 6)
      sized[14] = (xxh32(sized.subarray(4, 14)) >>> 8) & 0xff
      expectError(() => decompressSync(Compression.lz4, sized), "Corrupt")
      // 100 KB blocks in a frame that says 64 KiB
      expectError(() => decompressSync(Compression.lz4, frame(data, { blockSize: 100_000 })), "Corrupt")
      const badSum = frame(data)
      badSum[6] ^= 0x55
      expectError(() => decompressSync(Compression.lz4, badSum), "Corrupt")
      same(decompressSync(Compression.lz4, badSum, { brokenLz4Checksum: true }), data)
    })

    it("a block that inflates past its frame's block size is corrupt", () => {
      const data = Buffer.concat([sample(20_000, 6), Buffer.alloc(180_000)])
      // one 200 KB block in a frame that says 64 KiB blocks (its compressed form is below 64 KiB)
      const f = frame(data, { blockSize: 200_000, bd: 0x40 })
      assert.isBelow(f.readUInt32LE(7), 64 * 1024)
      expectError(() => decompressSync(Compression.lz4, f), "Corrupt")
    })

    it("corrupt or truncated multi-block frames are a CompressionError, never anything else", () => {
      const r = rng(91)
      const packed = frame(Buffer.concat([sample(100_000, 7), random(70_000, 8)]), { contentSize: true })
      for (let i = 0; i < 3000; i++) {
        const m = Buffer.from(packed.subarray(0, i % 3 === 0 ? r() % packed.length : packed.length))
        for (let k = 0; k < 1 + (r() % 4); k++) if (m.length > 0) m[r() % m.length] ^= 1 << (r() % 8)
        try {
          decompressSync(Compression.lz4, m, { brokenLz4Checksum: i % 2 === 0, maxDecompressedBytes: 1 << 20 })
        } catch (e) {
          assert.instanceOf(e, CompressionError)
        }
      }
    })

    it("frames with checksums or linked blocks still go through the frame decoder", () => {
      const data = sample(100_000, 9)
      same(decompressSync(Compression.lz4, lz4js.compress(data)), data) // linked blocks
      // block checksums flagged: the frame decoder insists on them being there
      expectError(() => decompressSync(Compression.lz4, frame(data, { flg: 0x70 })), "Corrupt")
    })
  })

  describe("gzip and zstd output chunks", () => {
    it("multi-member gzip and streamed zstd (no content size) decode whole", async () => {
      const a = sample(100_000, 1)
      const b = sample(50_000, 2)
      same(decompressSync(Compression.gzip, Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b)])), Buffer.concat([a, b]))
      // a zstd frame written in pieces, as the Java client's stream does: no content size in its header
      const z = zlib.createZstdCompress()
      const parts: Array<Buffer> = []
      z.on("data", (c: Buffer) => parts.push(c))
      const ended = new Promise((resolve) => z.on("end", resolve))
      z.write(a.subarray(0, 1000))
      z.end(a.subarray(1000))
      await ended
      const streamed = Buffer.concat(parts)
      assert.strictEqual(streamed[4] >>> 6, 0)
      assert.strictEqual(streamed[4] & 0x20, 0)
      same(decompressSync(Compression.zstd, streamed), a)
      const out = decompressSync(Compression.zstd, streamed)
      assert.isAtMost(out.buffer.byteLength, 2 * out.length)
    })

    it("the output does not keep a much larger chunk alive", () => {
      for (const codec of [Compression.gzip, Compression.zstd]) {
        for (const data of [sample(150_000, 3), random(300_000, 4), sample(3_000_000, 5)]) {
          const out = decompressSync(codec, compressSync(codec, data))
          same(out, data)
          assert.isAtMost(out.buffer.byteLength, Math.max(2 * out.length, out.length + 64 * 1024), `codec ${codec}, ${data.length} B`)
        }
      }
      // a gzip trailer that declares far more than the stream holds (only a sizing hint)
      const packed = Buffer.from(compressSync(Compression.gzip, sample(20_000)))
      packed.writeUInt32LE(900_000, packed.length - 4)
      expectError(() => decompressSync(Compression.gzip, packed), "Corrupt")
    })
  })

  it.effect("bombs stop at maxDecompressedBytes, inline and on the thread pool", () =>
    Effect.gen(function*() {
      for (const codec of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) {
        const bomb = compressSync(codec, Buffer.alloc(10_000_000))
        assert.isBelow(bomb.length, 600_000)
        expectError(() => decompressSync(codec, bomb, { maxDecompressedBytes: 1_000_000 }), "TooLarge")
        const e = yield* Effect.flip(decompress(codec, bomb, { maxDecompressedBytes: 1_000_000, asyncThreshold: 0 }))
        assert.strictEqual(e.reason, "TooLarge", `codec ${codec}: ${e.message}`)
      }
    }))

  it("corrupt or truncated input of every codec is a CompressionError, never anything else", () => {
    const r = rng(77)
    for (const codec of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) {
      const packed = Buffer.from(compressSync(codec, sample(4000, codec)))
      for (let i = 0; i < 300; i++) {
        const m = Buffer.from(packed.subarray(0, i % 3 === 0 ? r() % packed.length : packed.length))
        for (let k = 0; k < 1 + (r() % 4); k++) if (m.length > 0) m[r() % m.length] ^= 1 << (r() % 8)
        try {
          decompressSync(codec, m)
        } catch (e) {
          assert.instanceOf(e, CompressionError)
        }
      }
    }
  })

  it("unknown codecs are Unsupported", () => {
    expectError(() => compressSync(5, Buffer.from("x")), "Unsupported")
    expectError(() => decompressSync(7, Buffer.from("x")), "Unsupported")
  })
})

/** xxHash32, seed 0, for short inputs (< 16 bytes) — test helper. */
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
