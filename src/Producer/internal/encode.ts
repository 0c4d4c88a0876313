/**
 * Record batches as the producer writes them. A compressed batch's records section is compressed
 * once and kept: a re-stamp (new producer id or sequence after a reset) only rewrites the 61-byte
 * header and its CRC. Sections of at least `ASYNC_COMPRESS_THRESHOLD` bytes compress on libuv's
 * thread pool (several partitions' batches at once, while the event loop keeps appending); smaller
 * ones inline, where a thread hop would cost more than it saves.
 *
 * @internal
 */
import { Cause, Effect, Exit } from "effect"
import { compress, CompressionError, compressSync } from "../../Protocol/Compression.ts"
import {
  assembleBatch,
  BATCH_HEADER_SIZE,
  encodeBatchSync,
  recordsSize,
  writeHeaderAndCrc,
  writeRecords
} from "../../Protocol/internal/RecordBatchCodec.ts"
import type { HeaderFields, RecordInput } from "../../Protocol/internal/RecordBatchCodec.ts"
import type { Batch } from "./accumulator.ts"
import { MIN_POOLED } from "./bufferPool.ts"
import type { BufferPool } from "./bufferPool.ts"

/**
 * Records sections from this size on compress on the thread pool. Measured with lz4-napi on the
 * bench's random A–Z payloads (this 2-core machine, under load; CPU time of all threads per call):
 * inline 20–35 µs for 4–16 KiB sections, ≈ 150 µs at 32 KiB, 300–400 µs at 64 KiB; through the
 * thread pool 45–100 µs for 4–16 KiB (the hop costs more than the work), ≈ 150–160 µs at 32 KiB
 * (the same CPU, none of it on the event loop). So from 32 KiB on the event loop gets the time back
 * at no extra CPU.
 */
export const ASYNC_COMPRESS_THRESHOLD = 32 * 1024

/** What the encoder needs of the producer's settings. */
export interface EncodeSettings {
  readonly compression: number
  readonly compressionLevel: number | undefined
  readonly transactionalId: string | null
}

/** The v2 header of a producer batch: the same fields `encodeRecordBatch` writes for the sender's options. */
export const headerOf = (b: Batch, s: EncodeSettings): HeaderFields => {
  const records = b.records as ReadonlyArray<RecordInput>
  const base = b.createdAt
  let maxTimestamp = records.length === 0 ? base : -Infinity
  for (let i = 0; i < records.length; i++) {
    const t = records[i].timestamp ?? base
    if (t > maxTimestamp) maxTimestamp = t
  }
  const n = records.length
  return {
    baseOffset: 0n,
    partitionLeaderEpoch: -1,
    attributes: (s.compression & 0x07) | (s.transactionalId !== null ? 0x10 : 0),
    lastOffsetDelta: n > 0 ? records[n - 1].offsetDelta ?? n - 1 : 0,
    baseTimestamp: base,
    maxTimestamp,
    producerId: b.producerId,
    producerEpoch: b.producerEpoch,
    baseSequence: b.baseSequence,
    recordCount: n
  }
}

let scratch = Buffer.allocUnsafe(64 * 1024)

/** The uncompressed records section: in a reused scratch buffer, or with `fresh` a buffer of its own. */
const rawSection = (b: Batch, fresh: boolean, size: number): Buffer => {
  let buf: Buffer
  if (fresh) buf = Buffer.allocUnsafe(size)
  else {
    if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2))
    buf = scratch
  }
  writeRecords(buf, 0, b.records as ReadonlyArray<RecordInput>, b.createdAt)
  return buf.subarray(0, size)
}

const levelOption = (s: EncodeSettings) => (s.compressionLevel === undefined ? undefined : { level: s.compressionLevel })

/**
 * Starts making a compressed batch's section: inline below the threshold (done on return), else
 * on the thread pool — then `compressing` is set until the returned effect has run, which sets
 * `section` or `compressError` and calls `done`. Does nothing for an uncompressed batch or one
 * whose section exists or is under way.
 */
export const startSection = (
  b: Batch,
  s: EncodeSettings,
  done: () => void,
  threshold = ASYNC_COMPRESS_THRESHOLD
): Effect.Effect<void> | undefined => {
  if (s.compression === 0 || b.section !== undefined || b.compressing || b.compressError !== undefined) return undefined
  const size = recordsSize(b.records as ReadonlyArray<RecordInput>, b.createdAt)
  if (size < threshold) {
    try {
      b.section = compressSync(s.compression, rawSection(b, false, size), levelOption(s))
    } catch (e) {
      b.compressError = asCompressionError(s.compression, e)
    }
    return undefined
  }
  b.compressing = true
  const level = levelOption(s)
  return compress(s.compression, rawSection(b, true, size), { asyncThreshold: 0, ...level }).pipe(
    Effect.exit,
    Effect.map((exit) => {
      b.compressing = false
      if (Exit.isSuccess(exit)) b.section = exit.value
      else b.compressError = asCompressionError(s.compression, Cause.squash(exit.cause))
      done()
    }),
    // interrupted (the producer is closing): nobody waits for the batch any more
    Effect.onInterrupt(() => Effect.sync(() => {
      b.compressing = false
    }))
  )
}

const asCompressionError = (codec: number, e: unknown): CompressionError =>
  e instanceof CompressionError
    ? e
    : new CompressionError({ codec, operation: "compress", reason: "Failed", message: `compression failed: ${String(e)}`, cause: e })

/**
 * The batch's bytes for its current stamp (producer id, epoch, base sequence): uncompressed
 * batches are written in one piece; compressed ones get the header in front of their section
 * (compressed inline first if it is not there yet). Throws a `CompressionError`.
 */
export const encodeBatch = (b: Batch, s: EncodeSettings, pool?: BufferPool): Uint8Array => {
  const h = headerOf(b, s)
  b.pooled = undefined
  if (s.compression === 0) {
    const records = b.records as ReadonlyArray<RecordInput>
    if (pool === undefined) return encodeBatchSync(records, h, 0, undefined)
    const size = BATCH_HEADER_SIZE + recordsSize(records, h.baseTimestamp)
    if (size < MIN_POOLED) return encodeBatchSync(records, h, 0, undefined)
    const out = pool.take(size)
    writeRecords(out, BATCH_HEADER_SIZE, records, h.baseTimestamp)
    writeHeaderAndCrc(out, h)
    b.pooled = out.buffer as ArrayBuffer
    return out
  }
  if (b.compressError !== undefined) throw b.compressError
  if (b.section === undefined) {
    startSection(b, s, () => {}, Infinity)
    if (b.compressError !== undefined) throw b.compressError
  }
  const section = b.section!
  if (pool === undefined || BATCH_HEADER_SIZE + section.length < MIN_POOLED) return assembleBatch(section, h)
  const out = pool.take(BATCH_HEADER_SIZE + section.length)
  out.set(section, BATCH_HEADER_SIZE)
  writeHeaderAndCrc(out, h)
  b.pooled = out.buffer as ArrayBuffer
  return out
}
