/** Shared bits of the peer drivers: versions, kafkajs codec plugins, a bounded send window. */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { compressSync, decompressSync } from "../../src/Protocol/Compression.ts"

const require = createRequire(import.meta.url)

export const versionOf = (pkg: string): string => {
  try {
    const main = require.resolve(pkg)
    let dir = main
    for (;;) {
      dir = dir.slice(0, dir.lastIndexOf("/"))
      const file = `${dir}/package.json`
      if (fs.existsSync(file)) {
        const j = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string }
        if (j.name === pkg) return j.version ?? "?"
      }
      if (dir.length <= 1) return "?"
    }
  } catch {
    return "not installed"
  }
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/**
 * kafkajs ships gzip only; lz4 and zstd come from codec plugins. These stand in for
 * `kafkajs-lz4` / `@kafkajs/zstd`, on the same libraries kpax uses (lz4-napi frames, node:zlib zstd).
 */
export const kafkajsCodecs = (kafkajs: typeof import("kafkajs")) => {
  const { CompressionCodecs, CompressionTypes } = kafkajs
  const plugin = (codec: number) => () => ({
    compress: async (encoder: { buffer: Buffer }) => asBuffer(compressSync(codec, encoder.buffer)),
    decompress: async (buffer: Buffer) => asBuffer(decompressSync(codec, buffer))
  })
  CompressionCodecs[CompressionTypes.LZ4] = plugin(3) as never
  CompressionCodecs[CompressionTypes.ZSTD] = plugin(4) as never
}

/** Runs `count` items in chunks of `chunk`, at most `window` chunk promises at once; sums their results. */
export const windowed = async (
  count: number,
  chunk: number,
  window: number,
  send: (from: number, n: number) => Promise<number>
): Promise<number> => {
  let total = 0
  const inFlight = new Set<Promise<void>>()
  let failure: unknown
  for (let i = 0; i < count; i += chunk) {
    const p: Promise<void> = send(i, Math.min(chunk, count - i)).then(
      (n) => {
        total += n
        inFlight.delete(p)
      },
      (e: unknown) => {
        failure ??= e
        inFlight.delete(p)
      }
    )
    inFlight.add(p)
    if (inFlight.size >= window) await Promise.race(inFlight)
    if (failure !== undefined) throw failure
  }
  await Promise.all(inFlight)
  if (failure !== undefined) throw failure
  return total
}
