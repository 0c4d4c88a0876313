/**
 * The record accumulator: records gathered per partition into batches, in plain TypeScript.
 * One `Deferred` per batch (not per record) tells `sendAll`, `flush` and the sink how it ended;
 * a `send` waits in the batch's waiter list instead (its index and resume callback, resumed by the
 * sender when the batch settles: no Deferred or extra fiber per record).
 *
 * A batch is ready to send at `batchSize` bytes but keeps taking records until the sender takes
 * it or it reaches `maxBatchSize`: records that arrive faster than the sender can take batches
 * (a burst, or a partition behind its in-flight requests) go out in fewer, larger batches.
 *
 * @internal
 */
import { Deferred } from "effect"
import type { Effect } from "effect"
import type { Header } from "../../Protocol/RecordBatch.ts"
import type { ProducerError } from "../Errors.ts"
import type { RecordMetadata } from "./types.ts"

/** Resumes a waiting `send` with its outcome (the callback of its `Effect.callback`). */
export type SendResume = (result: Effect.Effect<RecordMetadata, ProducerError>) => void

/** A record as the accumulator keeps it (the user's object, not copied). */
export interface PendingRecord {
  readonly key?: Uint8Array | null | undefined
  readonly value: Uint8Array | null
  readonly headers?: ReadonlyArray<Header> | undefined
  readonly timestamp?: number | undefined
}

/**
 * How a run of a batch's records ended: appended at `baseOffset` (-1 when unknown: acks=0, a
 * duplicate), or failed with `error`. A batch ends as one part, or several when it was split
 * (too large for the broker, or some records rejected).
 */
export interface AckPart {
  readonly start: number
  readonly count: number
  readonly baseOffset: bigint
  /** Broker append time when the topic uses log-append time, else -1. */
  readonly logAppendTime: number
  readonly error: ProducerError | undefined
}

export type BatchAck = ReadonlyArray<AckPart>

let nextBatchId = 0

export class Batch {
  /** Send order within the partition; children of a split batch sit between it and the next. */
  order = nextBatchId++
  readonly topic: string
  readonly partition: number
  readonly createdAt: number
  records: Array<PendingRecord> = []
  readonly done: Deferred.Deferred<BatchAck> = Deferred.makeUnsafe<BatchAck>()
  /** Sends waiting for this batch: their records' indexes and resume callbacks (made at the first). */
  waitIndexes: Array<number> | undefined = undefined
  waitResumes: Array<SendResume> | undefined = undefined
  bytes = 0
  /** No more records join it (at `maxBatchSize`, a newer batch opened, or being sent). */
  sealed = false
  /** Stamped at the first send; kept across retries so the broker can de-duplicate. */
  producerId = -1n
  producerEpoch = -1
  baseSequence = -1
  encoded: Uint8Array | undefined = undefined
  /** The pooled memory `encoded` was written into (given back once the broker answered), if any. */
  pooled: ArrayBuffer | undefined = undefined
  /** The compressed records section, made once and kept across re-stamps (compressed batches only). */
  section: Uint8Array | undefined = undefined
  /** The section is being compressed on the thread pool: the batch cannot be sent yet. */
  compressing = false
  /** Compressing the section failed: the batch fails when it reaches the head of its queue. */
  compressError: ProducerError | undefined = undefined
  attempts = 0
  /** Not before this time (ms) when retrying. */
  retryAt = 0
  /** Step function of the retry schedule, made at the first failure. */
  retry: ((now: number, error: unknown) => number | undefined) | undefined = undefined
  /** For a piece of a split batch: the batch it came from and where its records start there. */
  parent: Batch | undefined = undefined
  parentStart = 0
  /** For a split batch: the parts gathered so far and how many pieces are still out. */
  parts: Array<AckPart> = []
  outstanding = 0
  constructor(topic: string, partition: number, createdAt: number) {
    this.topic = topic
    this.partition = partition
    this.createdAt = createdAt
  }
  /** A send waits for record `index`: resumed when the batch settles. */
  addWaiter(index: number, resume: SendResume): void {
    if (this.waitIndexes === undefined) {
      this.waitIndexes = [index]
      this.waitResumes = [resume]
    } else {
      this.waitIndexes.push(index)
      this.waitResumes!.push(resume)
    }
  }
}

export class PartitionQueue {
  readonly topic: string
  readonly partition: number
  /** Batches not sent yet, or to send again, in order. */
  readonly queue: Array<Batch> = []
  inFlight = 0
  /** Sequence number of the next record (idempotence). */
  nextSequence = 0
  /** The producer id and epoch the sequence numbers belong to. */
  sequenceEpoch = -1
  sequenceProducerId = -1n
  /**
   * The broker acknowledged a batch of the current producer id/epoch here: it holds our sequence
   * state. Until then one batch at a time (a broker without state may accept a later batch first).
   */
  confirmed = false
  /** A batch failed and waits to be sent again: one batch in flight at a time until it is through. */
  retrying = false
  constructor(topic: string, partition: number) {
    this.topic = topic
    this.partition = partition
  }
  /** Puts a batch back, keeping the queue in send order. */
  requeue(batch: Batch): void {
    let i = 0
    while (i < this.queue.length && this.queue[i].order < batch.order) i++
    this.queue.splice(i, 0, batch)
  }
}

/** Size of the zigzag varint of a non-negative `n`. */
const varintSize = (n: number): number => (n < 0x40 ? 1 : n < 0x2000 ? 2 : n < 0x100000 ? 3 : n < 0x8000000 ? 4 : 5)

/**
 * Bytes a record takes in an uncompressed batch: an upper bound within a few bytes of the wire
 * size (lengths exact; the timestamp delta at its largest when the record has its own timestamp,
 * else 1 byte; the offset delta as 3 bytes; header keys as 3 bytes per UTF-16 unit).
 */
export const estimateSize = (r: PendingRecord): number => {
  const key = r.key
  const value = r.value
  // attributes + timestamp delta + offset delta
  let body = 1 + (r.timestamp === undefined ? 1 : 10) + 3
  body += key == null ? 1 : varintSize(key.length) + key.length
  body += value === null ? 1 : varintSize(value.length) + value.length
  const hs = r.headers
  if (hs === undefined || hs.length === 0) body += 1
  else {
    body += varintSize(hs.length)
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]
      const kn = h.key.length * 3
      body += varintSize(kn) + kn + (h.value === null ? 1 : varintSize(h.value.length) + h.value.length)
    }
  }
  return varintSize(body) + body
}

export class Accumulator {
  readonly topics = new Map<string, Array<PartitionQueue>>()
  /** Every batch not yet completed (queued or in flight). */
  readonly pending = new Set<Batch>()
  bufferedBytes = 0
  /** Bytes at which a batch is ready to send. */
  readonly batchSize: number
  /** Bytes at which a batch takes no more records (at least `batchSize`). */
  readonly maxBatchSize: number
  constructor(batchSize: number, maxBatchSize: number = batchSize) {
    this.batchSize = batchSize
    this.maxBatchSize = Math.max(batchSize, maxBatchSize)
  }

  queueOf(topic: string, partition: number): PartitionQueue {
    let parts = this.topics.get(topic)
    if (parts === undefined) {
      parts = []
      this.topics.set(topic, parts)
    }
    let q = parts[partition]
    if (q === undefined) {
      q = new PartitionQueue(topic, partition)
      parts[partition] = q
    }
    return q
  }

  /** Index of the last appended record in its batch (set by `append`, to avoid an object per record). */
  lastIndex = 0
  /** Whether the last `append` opened a batch or made one ready: the sender must look (linger timer, send). */
  lastWake = false

  /** Appends a record to its partition's open batch (or a new one) and returns that batch. */
  append(topic: string, partition: number, record: PendingRecord, size: number, now: () => number): Batch {
    const q = this.queueOf(topic, partition)
    let batch = q.queue.length > 0 ? q.queue[q.queue.length - 1] : undefined
    let wake = false
    if (batch === undefined || batch.sealed || (batch.records.length > 0 && batch.bytes + size > this.maxBatchSize)) {
      if (batch !== undefined && !batch.sealed) batch.sealed = true
      batch = new Batch(topic, partition, now())
      q.queue.push(batch)
      this.pending.add(batch)
      wake = true
    }
    this.lastIndex = batch.records.length
    batch.records.push(record)
    batch.bytes += size
    this.bufferedBytes += size
    if (batch.bytes >= this.maxBatchSize) {
      batch.sealed = true
      wake = true
    } else if (batch.bytes >= this.batchSize && batch.bytes - size < this.batchSize) wake = true // just became ready
    this.lastWake = wake
    return batch
  }

  /** A batch is done: forget it and give its bytes back to the buffer. */
  complete(batch: Batch): void {
    if (this.pending.delete(batch)) this.bufferedBytes -= batch.bytes
  }

  isEmpty(): boolean {
    return this.pending.size === 0
  }
}
