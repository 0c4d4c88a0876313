/**
 * One partition's log: record batches stored as bytes with the offsets the broker assigned,
 * re-stamped on append as a broker does (base offset, partition leader epoch, CRC-32C; log-append
 * time when the topic asks for it), plus the high watermark, log start offset, last stable offset,
 * the aborted-transactions index, the leader-epoch cache and the idempotent producers' state.
 *
 * @internal
 */
import { Result } from "effect"
import { ErrorCode } from "../../Protocol/Errors.ts"
import { crc32c } from "../../Protocol/internal/Crc32c.ts"
import { BatchFailure, readBatchHeader } from "../../Protocol/internal/RecordBatchCodec.ts"
import type { BatchHeader } from "../../Protocol/internal/RecordBatchCodec.ts"
import { decodeRecordBatchesSync, encodeControlBatch } from "../../Protocol/RecordBatch.ts"
import type { RecordBatch } from "../../Protocol/RecordBatch.ts"
import { checkSequence, lastSequenceOf, recordBatch, recordMarker } from "./idempotence.ts"
import type { BatchMetadata, ProducerEntry } from "./idempotence.ts"
import { Wakeups } from "./wakeups.ts"

export interface StoredBatch {
  readonly baseOffset: bigint
  readonly lastOffset: bigint
  readonly bytes: Buffer
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly isTransactional: boolean
  readonly isControl: boolean
  readonly leaderEpoch: number
  readonly maxTimestamp: number
}

export interface AbortedTxn {
  readonly producerId: bigint
  readonly firstOffset: bigint
  readonly lastOffset: bigint
}

/** Checks a transactional batch against the transaction coordinator: 0 or an error code. */
export type TxnCheck = (producerId: bigint, epoch: number) => number

export interface AppendOptions {
  readonly now: number
  readonly leaderEpoch: number
  readonly logAppendTime: boolean
  readonly maxMessageBytes: number
  /** Compacted topics refuse records without a key. */
  readonly requireKeys: boolean
  readonly txnCheck: TxnCheck
}

export interface RecordError {
  readonly batchIndex: number
  readonly batchIndexErrorMessage: string | null
}

export type AppendResult =
  | { readonly errorCode: 0; readonly baseOffset: bigint; readonly logAppendTimeMs: bigint }
  | { readonly errorCode: number; readonly errorMessage: string; readonly recordErrors: ReadonlyArray<RecordError> }

const fail = (errorCode: number, errorMessage: string, recordErrors: ReadonlyArray<RecordError> = []): AppendResult => ({
  errorCode,
  errorMessage,
  recordErrors
})

interface Incoming {
  readonly header: BatchHeader
  readonly start: number
  readonly duplicate: BatchMetadata | undefined
}

const CRC_OFFSET = 17
const ATTRIBUTES_OFFSET = 21

export class PartitionLog {
  batches: Array<StoredBatch> = []
  logStartOffset = 0n
  logEndOffset = 0n
  /** Replication is instant in memory: the high watermark is the log end offset. */
  get highWatermark(): bigint {
    return this.logEndOffset
  }
  /** Producer id → first offset of its open transaction on this partition. */
  readonly openTxns = new Map<bigint, bigint>()
  aborted: Array<AbortedTxn> = []
  readonly producers = new Map<bigint, ProducerEntry>()
  /** Leader epoch → its first offset, ascending. */
  readonly epochs: Array<{ epoch: number; startOffset: bigint }> = []
  private readonly wakeups = new Wakeups()

  get lastStableOffset(): bigint {
    let lso = this.logEndOffset
    for (const first of this.openTxns.values()) if (first < lso) lso = first
    return lso
  }

  /** Calls `f` on the next change (append, marker, deletion); returns an unsubscribe. */
  onChange(f: () => void): () => void {
    return this.wakeups.on(f)
  }

  private changed(): void {
    this.wakeups.fire()
  }

  private noteEpoch(epoch: number, offset: bigint): void {
    const last = this.epochs[this.epochs.length - 1]
    if (last === undefined || epoch > last.epoch) this.epochs.push({ epoch, startOffset: offset })
  }

  /** Validates and appends the batches of a Produce request's partition (all or nothing). */
  append(records: Uint8Array | null, o: AppendOptions): AppendResult {
    if (records === null || records.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, "no record batch in the request")
    const buf = Buffer.isBuffer(records) ? records : Buffer.from(records.buffer, records.byteOffset, records.byteLength)
    const incoming: Array<Incoming> = []
    // the sequence state as it will be after the batches before this one
    const pending = new Map<bigint, ProducerEntry>()
    const entryOf = (pid: bigint): ProducerEntry | undefined => pending.get(pid) ?? this.producers.get(pid)
    let p = 0
    while (p < buf.length) {
      if (buf.length - p < 61) return fail(ErrorCode.CORRUPT_MESSAGE, `truncated record batch at byte ${p}`)
      const length = buf.readInt32BE(p + 8)
      const end = p + 12 + length
      if (length < 49 || end > buf.length) return fail(ErrorCode.CORRUPT_MESSAGE, `record batch at byte ${p} has a bad length ${length}`)
      const magic = buf[p + 16]
      if (magic !== 2) return fail(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `record batch magic ${magic} is not supported (only v2)`)
      let header: BatchHeader
      try {
        header = readBatchHeader(buf, p, true)
      } catch (e) {
        return fail(ErrorCode.CORRUPT_MESSAGE, e instanceof BatchFailure ? e.message : String(e))
      }
      if (12 + length > o.maxMessageBytes) {
        return fail(ErrorCode.MESSAGE_TOO_LARGE, `the record batch of ${12 + length} bytes exceeds max.message.bytes (${o.maxMessageBytes})`)
      }
      const decoded = decodeRecordBatchesSync(buf.subarray(p, end))
      if (Result.isFailure(decoded)) return fail(ErrorCode.CORRUPT_MESSAGE, decoded.failure.message)
      const batch = decoded.success[0]
      if (batch === undefined) return fail(ErrorCode.CORRUPT_MESSAGE, `record batch at byte ${p} could not be read`)
      if (batch.isControl) return fail(ErrorCode.INVALID_RECORD, "clients may not write control batches")
      if (batch.records.length === 0 || header.lastOffsetDelta !== batch.records.length - 1) {
        return fail(ErrorCode.INVALID_RECORD, `record count ${batch.records.length} does not match lastOffsetDelta ${header.lastOffsetDelta}`)
      }
      for (let i = 0; i < batch.records.length; i++) {
        if (batch.records[i].offsetDelta !== i) return fail(ErrorCode.INVALID_RECORD, `record ${i} has offset delta ${batch.records[i].offsetDelta}`)
      }
      if (o.requireKeys) {
        const errors: Array<RecordError> = []
        for (let i = 0; i < batch.records.length; i++) {
          if (batch.records[i].key === null) errors.push({ batchIndex: i, batchIndexErrorMessage: "Compacted topic cannot accept message without key." })
        }
        if (errors.length > 0) return fail(ErrorCode.INVALID_RECORD, "compacted topic cannot accept records without a key", errors)
      }
      let duplicate: BatchMetadata | undefined
      if (header.producerId >= 0n) {
        if (batch.isTransactional) {
          const code = o.txnCheck(header.producerId, header.producerEpoch)
          if (code === ErrorCode.INVALID_PRODUCER_EPOCH) {
            return fail(code, `producer ${header.producerId} epoch ${header.producerEpoch} is fenced by a newer epoch of its transactional id`)
          }
          if (code !== 0) return fail(code, `producer ${header.producerId} has no open transaction with this partition`)
        }
        if (header.baseSequence >= 0) {
          const last = lastSequenceOf(header.baseSequence, batch.records.length)
          const entry = entryOf(header.producerId)
          const check = checkSequence(entry, header.producerId, header.producerEpoch, header.baseSequence, last)
          if (check._tag === "Error") return fail(check.code, check.message)
          if (check._tag === "Duplicate") duplicate = check.batch
          else {
            const next: ProducerEntry = entry === undefined || header.producerEpoch > entry.epoch
              ? { epoch: header.producerEpoch, batches: [] }
              : { epoch: entry.epoch, batches: [...entry.batches] }
            next.batches.push({ firstSequence: header.baseSequence, lastSequence: last, firstOffset: -1n, lastOffset: -1n, timestamp: 0 })
            pending.set(header.producerId, next)
          }
        }
      } else if (batch.isTransactional) {
        return fail(ErrorCode.INVALID_RECORD, "a transactional batch needs a producer id")
      }
      incoming.push({ header, start: p, duplicate })
      p = end
    }
    if (incoming.length === 1 && incoming[0].duplicate !== undefined) {
      return { errorCode: 0, baseOffset: incoming[0].duplicate.firstOffset, logAppendTimeMs: -1n }
    }
    let first = -1n
    for (const { header: h, start, duplicate } of incoming) {
      if (duplicate !== undefined) {
        if (first < 0n) first = duplicate.firstOffset
        continue
      }
      const base = this.logEndOffset
      const bytes = Buffer.from(buf.subarray(start, h.end))
      bytes.writeBigInt64BE(base, 0)
      bytes.writeInt32BE(o.leaderEpoch, 12)
      let maxTimestamp = h.maxTimestamp
      if (o.logAppendTime) {
        bytes.writeInt16BE(h.attributes | 0x08, ATTRIBUTES_OFFSET)
        maxTimestamp = o.now
        bytes.writeBigInt64BE(BigInt(o.now), 35)
      }
      bytes.writeUInt32BE(crc32c(bytes, ATTRIBUTES_OFFSET, bytes.length), CRC_OFFSET)
      const last = base + BigInt(h.lastOffsetDelta)
      const isTransactional = (h.attributes & 0x10) !== 0
      this.noteEpoch(o.leaderEpoch, base)
      this.batches.push({
        baseOffset: base,
        lastOffset: last,
        bytes,
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        isTransactional,
        isControl: false,
        leaderEpoch: o.leaderEpoch,
        maxTimestamp
      })
      this.logEndOffset = last + 1n
      if (h.producerId >= 0n && h.baseSequence >= 0) {
        recordBatch(this.producers, h.producerId, h.producerEpoch, {
          firstSequence: h.baseSequence,
          lastSequence: lastSequenceOf(h.baseSequence, h.lastOffsetDelta + 1),
          firstOffset: base,
          lastOffset: last,
          timestamp: maxTimestamp
        })
      }
      if (isTransactional && !this.openTxns.has(h.producerId)) this.openTxns.set(h.producerId, base)
      if (first < 0n) first = base
    }
    this.changed()
    return { errorCode: 0, baseOffset: first, logAppendTimeMs: o.logAppendTime ? BigInt(o.now) : -1n }
  }

  /** Writes a COMMIT or ABORT marker for a producer's transaction on this partition. */
  writeMarker(producerId: bigint, epoch: number, commit: boolean, coordinatorEpoch: number, leaderEpoch: number, now: number): void {
    const base = this.logEndOffset
    const bytes = Buffer.from(encodeControlBatch({
      type: commit ? "COMMIT" : "ABORT",
      producerId,
      producerEpoch: epoch,
      coordinatorEpoch,
      baseOffset: base,
      timestamp: now,
      partitionLeaderEpoch: leaderEpoch
    }))
    this.noteEpoch(leaderEpoch, base)
    this.batches.push({
      baseOffset: base,
      lastOffset: base,
      bytes,
      producerId,
      producerEpoch: epoch,
      isTransactional: true,
      isControl: true,
      leaderEpoch,
      maxTimestamp: now
    })
    this.logEndOffset = base + 1n
    const firstOffset = this.openTxns.get(producerId)
    this.openTxns.delete(producerId)
    if (!commit && firstOffset !== undefined) this.aborted.push({ producerId, firstOffset, lastOffset: base })
    recordMarker(this.producers, producerId, epoch)
    this.changed()
  }

  /** Index of the first batch holding `offset` or later, or `batches.length`. */
  private indexFor(offset: bigint): number {
    let lo = 0
    let hi = this.batches.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.batches[mid].lastOffset < offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** The stored batches from the one holding `offset` (or the first after it) on, in offset order. */
  *batchesFrom(offset: bigint): Generator<StoredBatch> {
    for (let i = this.indexFor(offset); i < this.batches.length; i++) yield this.batches[i]
  }

  /**
   * Batches from `fetchOffset` up to (not including) `upTo`, at most `maxBytes` unless
   * `atLeastOne` lets a first oversize batch through (KIP-74).
   */
  read(fetchOffset: bigint, upTo: bigint, maxBytes: number, atLeastOne: boolean): { readonly bytes: Buffer | null; readonly last: bigint } {
    const parts: Array<Buffer> = []
    let size = 0
    let last = -1n
    for (let i = this.indexFor(fetchOffset); i < this.batches.length; i++) {
      const b = this.batches[i]
      if (b.lastOffset >= upTo) break
      if (size + b.bytes.length > maxBytes && !(atLeastOne && parts.length === 0)) break
      parts.push(b.bytes)
      size += b.bytes.length
      last = b.lastOffset
    }
    return { bytes: parts.length === 0 ? null : parts.length === 1 ? parts[0] : Buffer.concat(parts, size), last }
  }

  /** Aborted transactions overlapping [from, to]. */
  abortedBetween(from: bigint, to: bigint): ReadonlyArray<AbortedTxn> {
    return this.aborted.filter((a) => a.lastOffset >= from && a.firstOffset <= to)
  }

  /** The decoded batches, in offset order (CRCs checked: a stored batch that does not decode is a bug). */
  decoded(): ReadonlyArray<RecordBatch> {
    const out: Array<RecordBatch> = []
    for (const b of this.batches) {
      const r = decodeRecordBatchesSync(b.bytes)
      if (Result.isFailure(r)) throw new Error(`in-memory log: the batch at offset ${b.baseOffset} does not decode: ${r.failure.message}`)
      out.push(...r.success)
    }
    return out
  }

  /** The first offset whose record timestamp is at least `ts` (below `upTo`), with that timestamp. */
  offsetForTimestamp(ts: number, upTo: bigint): { readonly offset: bigint; readonly timestamp: number; readonly leaderEpoch: number } | undefined {
    for (const b of this.batches) {
      if (b.isControl || b.maxTimestamp < ts || b.baseOffset >= upTo) continue
      const r = decodeRecordBatchesSync(b.bytes)
      if (Result.isFailure(r)) continue
      for (const batch of r.success) {
        for (const rec of batch.records) {
          if (rec.timestamp >= ts && rec.offset >= this.logStartOffset && rec.offset < upTo) {
            return { offset: rec.offset, timestamp: rec.timestamp, leaderEpoch: b.leaderEpoch }
          }
        }
      }
    }
    return undefined
  }

  /** The record with the largest timestamp (the first of them), for ListOffsets MAX_TIMESTAMP. */
  maxTimestampOffset(upTo: bigint): { readonly offset: bigint; readonly timestamp: number; readonly leaderEpoch: number } | undefined {
    let best: { offset: bigint; timestamp: number; leaderEpoch: number } | undefined
    for (const b of this.batches) {
      if (b.isControl || b.baseOffset >= upTo) continue
      if (best !== undefined && b.maxTimestamp <= best.timestamp) continue
      const r = decodeRecordBatchesSync(b.bytes)
      if (Result.isFailure(r)) continue
      for (const batch of r.success) {
        for (const rec of batch.records) {
          if (rec.offset < this.logStartOffset || rec.offset >= upTo) continue
          if (best === undefined || rec.timestamp > best.timestamp) best = { offset: rec.offset, timestamp: rec.timestamp, leaderEpoch: b.leaderEpoch }
        }
      }
    }
    return best
  }

  /** DeleteRecords: moves the log start offset up and drops the batches wholly below it. */
  deleteBefore(offset: bigint): void {
    if (offset <= this.logStartOffset) return
    this.logStartOffset = offset
    let i = 0
    while (i < this.batches.length && this.batches[i].lastOffset < offset) i++
    if (i > 0) this.batches = this.batches.slice(i)
    this.aborted = this.aborted.filter((a) => a.lastOffset >= offset)
    this.changed()
  }

  /** OffsetForLeaderEpoch: the end offset of `epoch` and the largest epoch not above it. */
  endOffsetForEpoch(epoch: number, currentEpoch: number): { readonly epoch: number; readonly endOffset: bigint } {
    if (epoch === currentEpoch) return { epoch, endOffset: this.logEndOffset }
    let found = -1
    for (let i = 0; i < this.epochs.length; i++) {
      if (this.epochs[i].epoch <= epoch) found = i
      else break
    }
    if (found < 0) return { epoch: -1, endOffset: -1n }
    const next = this.epochs[found + 1]
    return { epoch: this.epochs[found].epoch, endOffset: next === undefined ? this.logEndOffset : next.startOffset }
  }
}
