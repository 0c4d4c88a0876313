/**
 * snappy and lz4 on the runtime that runs this file: kpax's codecs (the napi packages, through the
 * packed kpax's `Compression`) against the pure-JS packages a fallback would use (`snappyjs`,
 * `lz4js`), on a 128 KiB records section of JSON-like 100 B values. The measurement behind "no
 * fallback codecs": a fallback is only worth having where a runtime cannot load the napi modules.
 * Prints one JSON line per codec and implementation: `{ runtime, codec, impl, compressMBs, decompressMBs, ratio }`.
 *
 * Usage: KPAX_BENCH_ENTRY=<dist/index.js URL> <runtime> bench/runtimes/codecs.ts
 */
import { createRequire } from "node:module"

type Kpax = typeof import("../../src/index.ts")
const { Compression } = (await import(process.env.KPAX_BENCH_ENTRY!)) as Kpax
const require = createRequire(import.meta.url)
const snappyjs = require("snappyjs") as { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array): Uint8Array }
const lz4js = require("lz4js") as { compress(b: Uint8Array): Uint8Array; decompress(b: Uint8Array): Uint8Array }

const runtime = process.versions.bun !== undefined
  ? `bun ${process.versions.bun}`
  : process.versions.deno !== undefined
  ? `deno ${process.versions.deno}`
  : `node ${process.versions.node}`

const input = (() => {
  const parts: Array<string> = []
  let n = 0
  for (let i = 0; n < 128 * 1024; i++) {
    const s = JSON.stringify({ id: i, user: `user-${(i * 7919) % 5000}`, amount: (i * 37) % 1000, ok: i % 3 === 0 }).padEnd(100, " ")
    parts.push(s)
    n += s.length
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, 128 * 1024)
})()

/** MB/s of `f` over about `ms` milliseconds (after a short warm-up). */
const rate = (f: () => unknown, ms = 400): number => {
  for (let i = 0; i < 20; i++) f()
  let runs = 0
  const start = performance.now()
  while (performance.now() - start < ms) {
    f()
    runs++
  }
  return (runs * input.length) / ((performance.now() - start) / 1000) / 1e6
}

const impls = [
  { codec: "snappy", impl: "napi (snappy)", compress: (b: Uint8Array) => Compression.compressSync(Compression.Compression.snappy, b), decompress: (b: Uint8Array) => Compression.decompressSync(Compression.Compression.snappy, b) },
  { codec: "snappy", impl: "JS (snappyjs)", compress: snappyjs.compress, decompress: snappyjs.uncompress },
  { codec: "lz4", impl: "napi (lz4-napi)", compress: (b: Uint8Array) => Compression.compressSync(Compression.Compression.lz4, b), decompress: (b: Uint8Array) => Compression.decompressSync(Compression.Compression.lz4, b) },
  { codec: "lz4", impl: "JS (lz4js)", compress: lz4js.compress, decompress: lz4js.decompress }
] as const

for (const { codec, impl, compress, decompress } of impls) {
  const packed = compress(input)
  if (decompress(packed).length !== input.length) throw new Error(`${impl}: round trip lost bytes`)
  const compressMBs = rate(() => compress(input))
  const decompressMBs = rate(() => decompress(packed))
  process.stdout.write(JSON.stringify({ runtime, codec, impl, compressMBs, decompressMBs, ratio: input.length / packed.length }) + "\n")
}
