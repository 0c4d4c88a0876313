/**
 * The fetcher's state of one assigned partition: where to fetch next, where the reader is, what
 * is buffered (raw fetched bytes, decoded only when pulled), and where to fetch from.
 *
 * @internal
 */
import type { ConsumerError } from "../Errors.ts"
import type { ConsumerRecord } from "../Record.ts"
import type { AbortedTransaction } from "./records.ts"

/** Where to start reading a partition. */
export type StartPosition = "earliest" | "latest" | { readonly timestamp: number } | bigint

/** Fetched bytes of one partition, waiting to be pulled. */
export interface DataChunk {
  readonly _tag: "Data"
  readonly generation: number
  /** The offset that was fetched: records below it are skipped. */
  readonly fetchOffset: bigint
  /** Complete batches only. */
  readonly bytes: Uint8Array
  /** The offset after the last batch. */
  readonly nextOffset: bigint
  /** Bytes charged to the prefetch bound. */
  readonly size: number
  readonly abortedTransactions: ReadonlyArray<AbortedTransaction> | null
  readonly highWatermark: bigint
  readonly lastStableOffset: bigint
  readonly logStartOffset: bigint
}

/** An error to raise once the reader reaches it (after the data before it). */
export interface ErrorChunk {
  readonly _tag: "Error"
  readonly generation: number
  readonly error: ConsumerError
}

export type Chunk = DataChunk | ErrorChunk

export class PartitionState {
  readonly topic: string
  readonly partition: number
  readonly key: string
  assigned = true
  paused = false
  /** Bumped by seek, reset and unassign: fetches and decodes of an older generation are dropped. */
  generation = 0
  /** Next offset to fetch; -1 while unknown. */
  fetchOffset = -1n
  /** Offset of the next record the reader gets; -1 while unknown. */
  position = -1n
  /** A start position to resolve with ListOffsets before fetching. */
  reset: StartPosition | undefined
  resolving = false
  inFlight = false
  /** An error chunk is waiting: fetch nothing more until the reader takes it. */
  stalled = false
  readonly chunks: Array<Chunk> = []
  bufferedBytes = 0
  /** In the fetcher's ready queue. */
  inReady = false
  highWatermark = -1n
  lastStableOffset = -1n
  logStartOffset = -1n
  /** KIP-392: the replica to fetch from instead of the leader, until `preferredUntil`. */
  preferredReplica = -1
  preferredUntil = 0
  /** Backoff after a retriable error. */
  retryAt = 0
  failures = 0
  /** Multiplies the partition's fetch size after a batch did not fit. */
  sizeBoost = 1
  /** KIP-320: the leader epoch of the last batch fetched (-1: none since the position was set). */
  lastFetchedEpoch = -1
  /** KIP-320: the leader epoch the fetch position was last fetched or validated at (-1: none). */
  fetchEpoch = -1
  /** An OffsetForLeaderEpoch request for the position is in flight. */
  validating = false
  /**
   * Decoded records of the chunk last taken that were not handed out yet (a reader hands out at
   * most `maxRecords` at a time): `rest[restAt..]`, then the position is `restNext`.
   */
  rest: Array<ConsumerRecord> | undefined = undefined
  restAt = 0
  restNext = -1n
  restChunk: DataChunk | undefined = undefined
  /** The offset after the last record a group consumer's stream was handed (-1: none outstanding). */
  handed = -1n
  /** Being revoked: nothing more is fetched or handed out; it is released once what was handed is processed. */
  revoking = false

  constructor(topic: string, partition: number) {
    this.topic = topic
    this.partition = partition
    this.key = partitionKey(topic, partition)
  }

  /** Drops what is buffered; returns the bytes released. */
  clearChunks(): number {
    const released = this.bufferedBytes
    this.chunks.length = 0
    this.bufferedBytes = 0
    this.stalled = false
    this.rest = undefined
    this.restChunk = undefined
    this.handed = -1n
    return released
  }
}

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`
