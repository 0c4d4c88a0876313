/**
 * The records every client sends: keyless (or, keyed, `keyOf(i)`), values drawn in turn from a pool of 1024 distinct
 * payloads of random capital letters (A–Z, as Java's ProducerPerformance makes them), generated
 * from a fixed seed, so every client and Java's tool (through `--payload-file`) send the same
 * bytes and compressed runs compress alike (about 4.7 bits of entropy per byte).
 */
import * as fs from "node:fs"

export const POOL = 1024

/** xorshift32 from a fixed seed: the same payloads in every process. */
const rng = (seed: number) => {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x100000000
  }
}

/** `POOL` payloads of `size` bytes, as Buffers (a Buffer is a Uint8Array, which every client takes). */
export const payloads = (size: number): Array<Buffer> => {
  const next = rng(0x6b706178 ^ size)
  const out: Array<Buffer> = []
  for (let i = 0; i < POOL; i++) {
    const b = Buffer.allocUnsafe(size)
    for (let j = 0; j < size; j++) b[j] = 65 + Math.floor(next() * 26)
    out.push(b)
  }
  return out
}

/** The key of record `i` in keyed runs: one of 1,024 distinct 8-byte keys (`k0000000`…). */
export const keys = (): Array<Buffer> => Array.from({ length: POOL }, (_, i) => Buffer.from(`k${String(i).padStart(7, "0")}`))

/** The same payloads as a file for Java's `--payload-file` (one per line). */
export const writePayloadFile = (file: string, size: number): string => {
  fs.writeFileSync(file, payloads(size).map((b) => b.toString("latin1")).join("\n") + "\n")
  return file
}
