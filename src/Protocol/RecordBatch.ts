/**
 * Kafka record batches (magic v2): encode and decode; legacy message sets (magic 0 and 1): decode.
 *
 * The `records` bytes of a Fetch response hold batches back to back; the last one may be cut
 * short by the broker's size limit and is ignored. Legacy messages found in the same bytes are
 * returned as batches too (one per message, or one per compressed wrapper), so a consumer sees a
 * single shape.
 *
 * **Offsets and timestamps.** Offsets are int64: a batch's `baseOffset`, `producerId` (and each
 * record's computed `offset`) are `bigint`, exact over the whole range. Within a batch, deltas are
 * int32, so each record stores a `number` `offsetDelta` and `record.offset` is computed on access
 * (`baseOffset + BigInt(offsetDelta)`) — decoding allocates no bigint per record (measured: an
 * eager per-record bigint costs ≈ 20 ns, about 10–15% of decoding a small record). Timestamps are
 * `number` milliseconds: exact for any date within ±285,000 years; an int64 timestamp beyond ±2^53
 * (never produced by real clocks) is rounded.
 *
 * **Bytes.** Keys, values and header values are `Uint8Array` views into the fetched bytes (or
 * into the decompressed section for compressed batches): no copy. Keep them only as long as you
 * keep the fetch buffer alive, or copy them.
 *
 * **Errors.** Decoding never throws: malformed input gives a {@link RecordBatchError}
 * (`CrcMismatch`, `Corrupt`, `UnsupportedMagic`, `Compression`). Lengths and counts read from the
 * wire are checked against the bytes remaining before anything is allocated.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as RecordBatch from "kpax/RecordBatch"
 *
 * const program = Effect.gen(function*() {
 *   const bytes = yield* RecordBatch.encodeRecordBatch(
 *     [{ key: null, value: new TextEncoder().encode("hello"), timestamp: Date.now() }],
 *     { compression: "zstd" }
 *   )
 *   const [batch] = yield* RecordBatch.decodeRecordBatches(bytes)
 *   return batch.records[0].offset // 0n
 * })
 * ```
 *
 * @module
 */
import { Data, Effect, Result } from "effect"
import { Compression, CompressionError, DEFAULT_ASYNC_THRESHOLD, compress, decompress, decompressSync } from "./Compression.ts"
import type { CompressionCodec, CompressionName, DecompressOptions } from "./Compression.ts"
import {
  BATCH_HEADER_SIZE,
  BatchFailure,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  Record,
  assembleBatch,
  decodeLegacy,
  decodeRecords,
  encodeBatchSync,
  encodeSection,
  readBatchHeader
} from "./internal/RecordBatchCodec.ts"
import type { BatchHeader, Header, HeaderFields, RecordInput } from "./internal/RecordBatchCodec.ts"

export { Record }
/** {@link Record} under a name that does not shadow TypeScript's global `Record<K, V>` type. */
export { Record as KafkaRecord }
export type { Header, RecordInput }

// ---- constants ----------------------------------------------------------------------------

/** Timestamp types (attribute bit 3). */
export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType]

/** Control record types (the `type` in a control record's key). */
export const ControlType = { ABORT: 0, COMMIT: 1 } as const

/** Attribute bits of a v2 batch. */
export const Attributes = {
  compressionMask: 0x07,
  timestampType: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40
} as const

/** "No producer id" / "no epoch" / "no sequence", as Kafka writes them for non-idempotent batches. */
export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const NO_PARTITION_LEADER_EPOCH = -1

// ---- decoded batches ----------------------------------------------------------------------

/**
 * A decoded batch: the v2 header fields, the flags decoded from `attributes`, and the records.
 * Legacy messages (magic 0/1) come out in the same shape, with no producer id, sequence or
 * leader epoch.
 *
 * @example
 * ```ts
 * for (const batch of batches) {
 *   if (batch.isControl) continue
 *   for (const record of batch.records) console.log(record.offset, record.value)
 * }
 * ```
 */
export class RecordBatch {
  readonly baseOffset: bigint
  /** Bytes after the length field (v2), or the legacy message size. */
  readonly batchLength: number
  readonly partitionLeaderEpoch: number
  readonly magic: number
  /** The stored checksum (CRC-32C for v2, CRC-32 for legacy). */
  readonly crc: number
  readonly attributes: number
  readonly lastOffsetDelta: number
  /** The first timestamp of the batch (or, when `hasDeleteHorizon`, the delete horizon). */
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly records: ReadonlyArray<Record>
  readonly compression: CompressionCodec
  readonly timestampType: TimestampType
  readonly isTransactional: boolean
  readonly isControl: boolean
  readonly hasDeleteHorizon: boolean
  constructor(h: Omit<BatchHeader, "recordsStart" | "end" | "recordCount">, records: ReadonlyArray<Record>) {
    this.baseOffset = h.baseOffset
    this.batchLength = h.batchLength
    this.partitionLeaderEpoch = h.partitionLeaderEpoch
    this.magic = h.magic
    this.crc = h.crc
    this.attributes = h.attributes
    this.lastOffsetDelta = h.lastOffsetDelta
    this.baseTimestamp = h.baseTimestamp
    this.maxTimestamp = h.maxTimestamp
    this.producerId = h.producerId
    this.producerEpoch = h.producerEpoch
    this.baseSequence = h.baseSequence
    this.records = records
    this.compression = (h.attributes & 0x07) as CompressionCodec
    this.timestampType = h.magic > 0 && (h.attributes & 0x08) !== 0 ? 1 : 0
    this.isTransactional = h.magic === 2 && (h.attributes & 0x10) !== 0
    this.isControl = h.magic === 2 && (h.attributes & 0x20) !== 0
    this.hasDeleteHorizon = h.magic === 2 && (h.attributes & 0x40) !== 0
  }
  /** The offset of the batch's last record (even if compaction removed it). */
  get lastOffset(): bigint {
    return this.baseOffset + BigInt(this.lastOffsetDelta)
  }
  /** The offset to fetch next after this batch. */
  get nextOffset(): bigint {
    return this.baseOffset + BigInt(this.lastOffsetDelta) + 1n
  }
}

/**
 * Decoding failed. `reason`: `"CrcMismatch"` (checksum does not match the bytes),
 * `"Corrupt"` (a length, count or field is impossible), `"UnsupportedMagic"` (not 0, 1 or 2),
 * `"Compression"` (unknown codec or undecodable compressed section; see `cause`).
 * `position` is the byte offset in the input where the problem was found (for problems inside a
 * compressed section, the start of its batch).
 *
 * @example
 * ```ts
 * decodeRecordBatches(bytes).pipe(Effect.catchTag("RecordBatchError", (e) => Effect.logWarning(e.reason, e.position)))
 * ```
 */
export class RecordBatchError extends Data.TaggedError("RecordBatchError")<{
  readonly reason: "CrcMismatch" | "Corrupt" | "UnsupportedMagic" | "Compression"
  readonly position: number
  readonly message: string
  readonly cause?: unknown
}> {}

/** Options of the decoders. */
export interface DecodeOptions {
  /** Check each batch's CRC (default `true`, like the Java consumer's `check.crcs`). */
  readonly verifyCrc?: boolean
  /** Cap on each batch's decompressed records section. Default 256 MiB. */
  readonly maxDecompressedBytes?: number
  /** Effect form: compressed sections of at least this many bytes decompress on the thread pool. Default 256 KiB. */
  readonly asyncThreshold?: number
}

const asBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)

const toError = (e: unknown, position: number): RecordBatchError => {
  if (e instanceof RecordBatchError) return e
  if (e instanceof BatchFailure) return new RecordBatchError({ reason: e.reason, position: e.position, message: e.message })
  if (e instanceof CompressionError) return new RecordBatchError({ reason: "Compression", position, message: e.message, cause: e })
  // an exception we did not foresee: still a typed error, never an escaping throw
  return new RecordBatchError({ reason: "Corrupt", position, message: `unexpected decoder failure: ${String(e)}`, cause: e })
}

interface Pending {
  readonly index: number
  readonly header: BatchHeader
  readonly start: number
}

/** Records of a v2 batch whose (compressed) section has been decompressed into `section`. */
const recordsFromSection = (section: Uint8Array, h: BatchHeader, start: number): ReadonlyArray<Record> => {
  const s = asBuffer(section)
  try {
    return decodeRecords(s, 0, s.length, h.recordCount, h.baseOffset, h.baseTimestamp, logAppendTimeOf(h))
  } catch (e) {
    // positions inside the decompressed bytes mean nothing to the caller: report the batch start
    if (e instanceof BatchFailure) throw new BatchFailure(e.reason, start, `in the decompressed records: ${e.message}`)
    throw e
  }
}

const logAppendTimeOf = (h: BatchHeader): number | undefined => ((h.attributes & 0x08) !== 0 ? h.maxTimestamp : undefined)

/**
 * Walks the bytes, decoding every batch. With `defer`, compressed sections of at least
 * `threshold` bytes are left for the caller (slot `undefined` + a pending entry).
 */
const scan = (
  b: Buffer,
  options: DecodeOptions | undefined,
  defer: boolean
): { batches: Array<RecordBatch | undefined>; pending: Array<Pending> } => {
  const verifyCrc = options?.verifyCrc !== false
  const dopts: DecompressOptions = options?.maxDecompressedBytes === undefined ? {} : { maxDecompressedBytes: options.maxDecompressedBytes }
  const threshold = options?.asyncThreshold ?? DEFAULT_ASYNC_THRESHOLD
  const batches: Array<RecordBatch | undefined> = []
  const pending: Array<Pending> = []
  let p = 0
  while (b.length - p >= LOG_OVERHEAD) {
    const length = b.readInt32BE(p + 8)
    if (length > b.length - p - LOG_OVERHEAD) break // the last batch, cut short by the fetch size limit
    if (length < MAGIC_OFFSET + 1 - LOG_OVERHEAD) {
      throw new BatchFailure("Corrupt", p + 8, `batch length ${length} is too small to hold a header`)
    }
    const magic = b[p + MAGIC_OFFSET]
    if (magic === 2) {
      const h = readBatchHeader(b, p, verifyCrc)
      const codec = h.attributes & 0x07
      if (codec === 0) {
        batches.push(new RecordBatch(h, decodeRecords(b, h.recordsStart, h.end, h.recordCount, h.baseOffset, h.baseTimestamp, logAppendTimeOf(h))))
      } else if (defer && h.end - h.recordsStart >= threshold) {
        pending.push({ index: batches.length, header: h, start: p })
        batches.push(undefined)
      } else {
        const section = decompressSync(codec, b.subarray(h.recordsStart, h.end), dopts)
        batches.push(new RecordBatch(h, recordsFromSection(section, h, p)))
      }
    } else if (magic === 0 || magic === 1) {
      const legacy = decodeLegacy(b, p, verifyCrc, dopts)
      const entries = legacy.entries
      const base = entries[0].offset
      const records = new Array<Record>(entries.length)
      let maxTimestamp = -1
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]
        const delta = Number(e.offset - base)
        if (!(delta >= -0x80000000 && delta <= 0x7fffffff)) throw new BatchFailure("Corrupt", p, "legacy offsets span more than int32")
        const ts = legacy.logAppendTime ?? e.timestamp
        if (ts > maxTimestamp) maxTimestamp = ts
        records[i] = new Record(base, delta, ts, e.key, e.value, [], 0)
      }
      batches.push(
        new RecordBatch({
          baseOffset: base,
          batchLength: legacy.batchLength,
          partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
          magic: legacy.magic,
          crc: legacy.crc,
          attributes: legacy.attributes,
          lastOffsetDelta: records[records.length - 1].offsetDelta,
          baseTimestamp: records[0].timestamp,
          maxTimestamp,
          producerId: NO_PRODUCER_ID,
          producerEpoch: NO_PRODUCER_EPOCH,
          baseSequence: NO_SEQUENCE
        }, records)
      )
    } else {
      throw new BatchFailure("UnsupportedMagic", p + MAGIC_OFFSET, `unsupported record batch magic ${magic}`)
    }
    p += LOG_OVERHEAD + length
  }
  return { batches, pending }
}

/**
 * Decodes every complete batch in `bytes` (a Fetch response's `records`; `null` gives no
 * batches), synchronously. A cut-short last batch is ignored.
 *
 * @example
 * ```ts
 * const result = decodeRecordBatchesSync(partition.records)
 * if (Result.isSuccess(result)) for (const batch of result.success) handle(batch)
 * ```
 */
export const decodeRecordBatchesSync = (
  bytes: Uint8Array | null,
  options?: DecodeOptions
): Result.Result<ReadonlyArray<RecordBatch>, RecordBatchError> => {
  if (bytes === null) return Result.succeed([])
  try {
    return Result.succeed(scan(asBuffer(bytes), options, false).batches as Array<RecordBatch>)
  } catch (e) {
    return Result.fail(toError(e, 0))
  }
}

/**
 * Decodes every complete batch in `bytes` (a Fetch response's `records`; `null` gives no
 * batches). Compressed sections of
 * at least `asyncThreshold` bytes are decompressed on libuv's thread pool; everything else runs
 * inline. A cut-short last batch is ignored.
 *
 * @example
 * ```ts
 * const batches = yield* decodeRecordBatches(partition.records)
 * ```
 */
export const decodeRecordBatches = (
  bytes: Uint8Array | null,
  options?: DecodeOptions
): Effect.Effect<ReadonlyArray<RecordBatch>, RecordBatchError> =>
  Effect.suspend(() => {
    if (bytes === null) return Effect.succeed([])
    let scanned: ReturnType<typeof scan>
    try {
      scanned = scan(asBuffer(bytes), options, true)
    } catch (e) {
      return Effect.fail(toError(e, 0))
    }
    const { batches, pending } = scanned
    if (pending.length === 0) return Effect.succeed(batches as Array<RecordBatch>)
    const b = asBuffer(bytes)
    const dopts: DecompressOptions = {
      asyncThreshold: 0,
      ...(options?.maxDecompressedBytes === undefined ? {} : { maxDecompressedBytes: options.maxDecompressedBytes })
    }
    return Effect.forEach(pending, (item) =>
      decompress(item.header.attributes & 0x07, b.subarray(item.header.recordsStart, item.header.end), dopts).pipe(
        Effect.mapError((e) => toError(e, item.start)),
        Effect.flatMap((section) => {
          try {
            batches[item.index] = new RecordBatch(item.header, recordsFromSection(section, item.header, item.start))
            return Effect.void
          } catch (e) {
            return Effect.fail(toError(e, item.start))
          }
        })
      ), { discard: true }).pipe(Effect.as(batches as ReadonlyArray<RecordBatch>))
  })

// ---- encoding -----------------------------------------------------------------------------

/**
 * How to write a batch. Every field has Kafka's default for a plain (non-idempotent) producer.
 */
export interface BatchOptions {
  /** Default `0n` (the broker assigns offsets on append). */
  readonly baseOffset?: bigint
  /** Default -1 (producers leave it to the broker). */
  readonly partitionLeaderEpoch?: number
  /** Codec of the records section: a code 0..4 or a name. Default none. */
  readonly compression?: CompressionCodec | CompressionName
  /** gzip 1–9 (default 6), zstd 1–22 (default 3). */
  readonly compressionLevel?: number
  /** Default create time. */
  readonly timestampType?: TimestampType
  readonly transactional?: boolean
  /** A control batch (transaction markers); see {@link encodeControlBatch}. */
  readonly control?: boolean
  /** Default -1 (not idempotent). */
  readonly producerId?: bigint
  /** Default -1. */
  readonly producerEpoch?: number
  /** Sequence number of the first record. Default -1. */
  readonly baseSequence?: number
  /** Default: the first record's timestamp, else the current time. */
  readonly baseTimestamp?: number
  /** Default: the largest record timestamp. */
  readonly maxTimestamp?: number
  /** Default: the last record's offset delta (0 for an empty batch). */
  readonly lastOffsetDelta?: number
  /** Sets the delete-horizon attribute and stores this time as the base timestamp (compaction). */
  readonly deleteHorizonMs?: number
  /** Effect form: sections of at least this many bytes compress on the thread pool. Default 256 KiB. */
  readonly asyncThreshold?: number
}

const codecOf = (c: CompressionCodec | CompressionName | undefined): number =>
  c === undefined ? 0 : typeof c === "number" ? c : Compression[c] ?? -1

const headerFields = (records: ReadonlyArray<RecordInput>, o: BatchOptions | undefined, codec: number): HeaderFields => {
  const first = records.length > 0 ? records[0].timestamp : undefined
  const baseTimestamp = o?.deleteHorizonMs ?? o?.baseTimestamp ?? first ?? Date.now()
  let maxTimestamp = o?.maxTimestamp
  if (maxTimestamp === undefined) {
    maxTimestamp = records.length === 0 ? baseTimestamp : -Infinity
    for (let i = 0; i < records.length; i++) {
      const t = records[i].timestamp ?? baseTimestamp
      if (t > maxTimestamp) maxTimestamp = t
    }
  }
  const last = records.length > 0 ? records[records.length - 1].offsetDelta ?? records.length - 1 : 0
  const attributes = (codec & 0x07) |
    (o?.timestampType === 1 ? 0x08 : 0) |
    (o?.transactional === true ? 0x10 : 0) |
    (o?.control === true ? 0x20 : 0) |
    (o?.deleteHorizonMs !== undefined ? 0x40 : 0)
  return {
    baseOffset: o?.baseOffset ?? 0n,
    partitionLeaderEpoch: o?.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    attributes,
    lastOffsetDelta: o?.lastOffsetDelta ?? last,
    baseTimestamp,
    maxTimestamp,
    producerId: o?.producerId ?? NO_PRODUCER_ID,
    producerEpoch: o?.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: o?.baseSequence ?? NO_SEQUENCE,
    recordCount: records.length
  }
}

/**
 * Encodes one v2 batch, compressing the records section inline. Throws a `CompressionError` if
 * the codec is unknown or unavailable (use {@link encodeRecordBatch} for the Effect form).
 *
 * @example
 * ```ts
 * const bytes = encodeRecordBatchSync([{ value: payload, timestamp: Date.now() }], { compression: "lz4" })
 * ```
 */
export const encodeRecordBatchSync = (records: ReadonlyArray<RecordInput>, options?: BatchOptions): Uint8Array => {
  const codec = codecOf(options?.compression)
  return encodeBatchSync(records, headerFields(records, options, codec), codec, options?.compressionLevel)
}

/**
 * Encodes one v2 batch. Sections of at least `asyncThreshold` bytes compress on the thread pool.
 *
 * @example
 * ```ts
 * const bytes = yield* encodeRecordBatch(records, { compression: "zstd", producerId, producerEpoch, baseSequence })
 * ```
 */
export const encodeRecordBatch = (records: ReadonlyArray<RecordInput>, options?: BatchOptions): Effect.Effect<Uint8Array, CompressionError> =>
  Effect.suspend(() => {
    const codec = codecOf(options?.compression)
    const h = headerFields(records, options, codec)
    if (codec === 0) return Effect.succeed(encodeBatchSync(records, h, 0, undefined))
    const section = encodeSection(records, h.baseTimestamp, true)
    const copts = {
      asyncThreshold: options?.asyncThreshold ?? DEFAULT_ASYNC_THRESHOLD,
      ...(options?.compressionLevel === undefined ? {} : { level: options.compressionLevel })
    }
    return compress(codec, section, copts).pipe(Effect.map((packed): Uint8Array => assembleBatch(packed, h)))
  })

// ---- control batches ----------------------------------------------------------------------

/**
 * A transaction marker batch (one control record), as a transaction coordinator writes it:
 * key = version 0 + type (ABORT 0 / COMMIT 1), value = version 0 + coordinator epoch.
 *
 * @example
 * ```ts
 * const marker = encodeControlBatch({ type: "COMMIT", producerId: 42n, producerEpoch: 0, coordinatorEpoch: 3, baseOffset: 17n })
 * ```
 */
export const encodeControlBatch = (marker: {
  readonly type: keyof typeof ControlType
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly coordinatorEpoch: number
  readonly baseOffset?: bigint
  readonly timestamp?: number
  readonly partitionLeaderEpoch?: number
}): Uint8Array => {
  const key = Buffer.alloc(4)
  key.writeInt16BE(0, 0)
  key.writeInt16BE(ControlType[marker.type], 2)
  const value = Buffer.alloc(6)
  value.writeInt16BE(0, 0)
  value.writeInt32BE(marker.coordinatorEpoch, 2)
  const timestamp = marker.timestamp ?? Date.now()
  return encodeRecordBatchSync([{ key, value, timestamp }], {
    baseOffset: marker.baseOffset ?? 0n,
    partitionLeaderEpoch: marker.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    producerId: marker.producerId,
    producerEpoch: marker.producerEpoch,
    transactional: true,
    control: true
  })
}

/**
 * The control type of a record in a control batch: `"ABORT"`, `"COMMIT"`, another type code
 * (number) for markers this version does not know, or `undefined` if the key is not a control key.
 *
 * @example
 * ```ts
 * if (batch.isControl && controlRecordType(batch.records[0]) === "ABORT") dropAborted(batch.producerId)
 * ```
 */
export const controlRecordType = (record: Record): "ABORT" | "COMMIT" | number | undefined => {
  const k = record.key
  if (k === null || k.length < 4) return undefined
  const type = (k[2] << 8) | k[3]
  return type === 0 ? "ABORT" : type === 1 ? "COMMIT" : type
}

/** The coordinator epoch of an ABORT/COMMIT marker record, or `undefined` if its value is malformed. */
export const controlCoordinatorEpoch = (record: Record): number | undefined => {
  const v = record.value
  if (v === null || v.length < 6) return undefined
  return ((v[2] << 24) | (v[3] << 16) | (v[4] << 8) | v[5])
}

/** Size of a v2 batch header in bytes (everything before the records). */
export const RECORD_BATCH_OVERHEAD = BATCH_HEADER_SIZE
