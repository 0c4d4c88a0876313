/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Kafka uses for record batch v2.
 *
 * Two implementations, picked per call by input size (numbers from docs/compression.md, this
 * project's 2-core machine):
 * - pure TypeScript slicing-by-16 over aligned 32-bit words: ≈ 1.1 GB/s from 1 KiB up, and the
 *   faster one below ≈ 512 bytes (no native call overhead);
 * - `@node-rs/crc32` (optional dependency, hardware CRC32 instruction): ≈ 3.4–3.8 GB/s from
 *   16 KiB up. Used for inputs of `NATIVE_MIN` bytes or more when it loads; if it is not
 *   installed (or fails to load) everything runs on the TypeScript version.
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode("123456789")) // 0xe3069283
 * ```
 */
import { createRequire } from "node:module"

const T = new Int32Array(256 * 16)
{
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    T[n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = T[n]
    for (let t = 1; t < 16; t++) {
      c = T[c & 0xff] ^ (c >>> 8)
      T[t * 256 + n] = c
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Pure TypeScript CRC-32C of `bytes[start, end)`, continuing from `crc`. */
export const crc32cTs = (bytes: Uint8Array, start = 0, end: number = bytes.length, crc = 0): number => {
  const t = T
  let c = ~crc
  let i = start
  if (end - i >= 64 && LITTLE_ENDIAN) {
    // bytes up to a 4-byte boundary, then 16 bytes per step as four aligned little-endian words
    while (((bytes.byteOffset + i) & 3) !== 0) c = t[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8)
    const words = (end - i) >>> 4 << 2
    const w = new Int32Array(bytes.buffer, bytes.byteOffset + i, words)
    for (let j = 0; j < words; j += 4) {
      const a = c ^ w[j]
      const b = w[j + 1]
      const d = w[j + 2]
      const e = w[j + 3]
      c = t[3840 + (a & 0xff)] ^ t[3584 + ((a >>> 8) & 0xff)] ^ t[3328 + ((a >>> 16) & 0xff)] ^ t[3072 + (a >>> 24)] ^
        t[2816 + (b & 0xff)] ^ t[2560 + ((b >>> 8) & 0xff)] ^ t[2304 + ((b >>> 16) & 0xff)] ^ t[2048 + (b >>> 24)] ^
        t[1792 + (d & 0xff)] ^ t[1536 + ((d >>> 8) & 0xff)] ^ t[1280 + ((d >>> 16) & 0xff)] ^ t[1024 + (d >>> 24)] ^
        t[768 + (e & 0xff)] ^ t[512 + ((e >>> 8) & 0xff)] ^ t[256 + ((e >>> 16) & 0xff)] ^ t[e >>> 24]
    }
    i += words << 2
  }
  while (i < end) c = t[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}

type NativeCrc = (input: Uint8Array, initialState?: number) => number

const loadNative = (): NativeCrc | undefined => {
  if (process.env.KPAX_CRC32C === "ts") return undefined
  try {
    const mod = createRequire(import.meta.url)("@node-rs/crc32") as { crc32c?: NativeCrc }
    const f = mod.crc32c
    // self-test before trusting it
    return typeof f === "function" && f(Buffer.from("123456789")) === 0xe3069283 ? f : undefined
  } catch {
    return undefined
  }
}

const native = loadNative()

/** Inputs of at least this many bytes go to the native implementation, when loaded. */
export const NATIVE_MIN = 512

/** Which implementation serves large inputs: `"native"` (`@node-rs/crc32`) or `"ts"`. */
export const implementation: "native" | "ts" = native ? "native" : "ts"

/**
 * CRC-32C of `bytes[start, end)`, continuing from `crc` (the unsigned result of a previous call,
 * or 0 to start). Returns an unsigned 32-bit number.
 */
export const crc32c = (bytes: Uint8Array, start = 0, end: number = bytes.length, crc = 0): number => {
  if (native !== undefined && end - start >= NATIVE_MIN) {
    const view = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end)
    return native(view, crc) >>> 0
  }
  return crc32cTs(bytes, start, end, crc)
}
