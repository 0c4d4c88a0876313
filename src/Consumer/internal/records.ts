/**
 * From fetched bytes to consumer records, in plain TypeScript: the batch-header walk that finds
 * where the next fetch starts (no decoding), and the conversion of decoded batches into records
 * (records below the fetch offset skipped, control batches skipped, aborted transactions filtered
 * for read_committed exactly as the Java consumer does).
 *
 * @internal
 */
import type { Header, KafkaRecord, RecordBatch } from "../../Protocol/RecordBatch.ts"
import { controlRecordType } from "../../Protocol/RecordBatch.ts"
import type { ConsumerRecord } from "../Record.ts"

/**
 * A consumer record over a decoded record: the batch's context (topic, partition, timestamp
 * type, leader epoch) as plain fields; offset, timestamp, key, value and headers read through
 * to the decoded `Record` on access. So building one allocates nothing else: no bigint, no
 * timestamp number, and no view before `key`/`value`/`headers` is read (the `Record` builds
 * and keeps those on first access).
 */
export class FetchedRecord implements ConsumerRecord {
  readonly topic: string
  readonly partition: number
  readonly timestampType: "CreateTime" | "LogAppendTime"
  readonly leaderEpoch: number
  readonly #record: KafkaRecord
  constructor(topic: string, partition: number, r: KafkaRecord, timestampType: "CreateTime" | "LogAppendTime", leaderEpoch: number) {
    this.topic = topic
    this.partition = partition
    this.timestampType = timestampType
    this.leaderEpoch = leaderEpoch
    this.#record = r
  }
  get offset(): bigint {
    return this.#record.offset
  }
  get timestamp(): number {
    return this.#record.timestamp
  }
  get key(): Uint8Array | null {
    return this.#record.key
  }
  get value(): Uint8Array | null {
    return this.#record.value
  }
  get headers(): ReadonlyArray<Header> {
    return this.#record.headers
  }
  toJSON(): unknown {
    return { ...this.fields(), offset: String(this.offset) }
  }
  /** What `console.log` / `util.inspect` show: every field of the record. */
  [Symbol.for("nodejs.util.inspect.custom")](): object {
    return this.fields()
  }
  /** Every field of the record (a subclass adds its own). */
  protected fields(): Record<string, unknown> {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset,
      timestamp: this.timestamp,
      timestampType: this.timestampType,
      key: this.key,
      value: this.value,
      headers: this.headers,
      leaderEpoch: this.leaderEpoch
    }
  }
}

const LOG_OVERHEAD = 12

/**
 * Walks the batch headers of a Fetch response's `records` without decoding them. Returns the
 * offset after the last complete batch, the byte length of the complete batches (`next < 0` when
 * there is none: the only batch is cut short by the size limit), and the leader epoch of the last
 * complete batch (-1 for old message formats).
 */
export const scanBatches = (bytes: Uint8Array): { readonly next: bigint; readonly end: number; readonly epoch: number } => {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let p = 0
  let next = -1n
  let epoch = -1
  while (b.length - p >= LOG_OVERHEAD) {
    const length = b.readInt32BE(p + 8)
    if (length < 5 || length > b.length - p - LOG_OVERHEAD) break
    const magic = b[p + 16]
    if (magic === 2) {
      if (length < 15) break
      next = b.readBigInt64BE(p) + BigInt(b.readInt32BE(p + 23)) + 1n
      epoch = b.readInt32BE(p + 12)
    } else {
      // legacy message (or compressed wrapper): its offset is its last inner record's offset
      next = b.readBigInt64BE(p) + 1n
      epoch = -1
    }
    p += LOG_OVERHEAD + length
  }
  return { next, end: p, epoch }
}

export interface AbortedTransaction {
  readonly producerId: bigint
  readonly firstOffset: bigint
}

/**
 * Appends the deliverable records of decoded batches to `out`: records below `fromOffset`
 * skipped (a compressed batch comes back whole), control batches skipped, and with
 * `readCommitted` the batches of aborted transactions dropped. As the Java consumer: aborted
 * transactions (from the response, by first offset) become active once a batch reaches their
 * first offset; an ABORT marker of that producer ends it.
 */
export const toRecords = (
  topic: string,
  partition: number,
  batches: ReadonlyArray<RecordBatch>,
  fromOffset: bigint,
  readCommitted: boolean,
  abortedTransactions: ReadonlyArray<AbortedTransaction> | null,
  out: Array<ConsumerRecord>
): void => {
  let aborted: Array<AbortedTransaction> | undefined
  let abortedProducers: Set<bigint> | undefined
  if (readCommitted && abortedTransactions !== null && abortedTransactions.length > 0) {
    aborted = abortedTransactions.slice().sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
    abortedProducers = new Set()
  }
  for (let bi = 0; bi < batches.length; bi++) {
    const batch = batches[bi]
    // transaction bookkeeping first: a marker below the fetch offset still ends its transaction
    if (aborted !== undefined && batch.producerId >= 0n) {
      const last = batch.lastOffset
      while (aborted.length > 0 && aborted[0].firstOffset <= last) abortedProducers!.add(aborted.shift()!.producerId)
      if (batch.isControl) {
        const first = batch.records[0]
        if (first !== undefined && controlRecordType(first) === "ABORT") abortedProducers!.delete(batch.producerId)
      } else if (batch.isTransactional && abortedProducers!.has(batch.producerId)) {
        continue
      }
    }
    if (batch.isControl || batch.lastOffset < fromOffset) continue
    const records = batch.records
    const tsType = batch.timestampType === 1 ? "LogAppendTime" : "CreateTime"
    const epoch = batch.partitionLeaderEpoch
    let i = 0
    if (batch.baseOffset < fromOffset) {
      // skip the records below the requested offset (offsets are increasing within a batch)
      const minDelta = Number(fromOffset - batch.baseOffset)
      while (i < records.length && records[i].offsetDelta < minDelta) i++
    }
    for (; i < records.length; i++) out.push(new FetchedRecord(topic, partition, records[i], tsType, epoch))
  }
}
