/**
 * Share-group records and acknowledgements in plain TypeScript: the record handed out (a fetched
 * record with its delivery count and its acknowledgement state), the acquired-range filter over
 * decoded batches (records outside the AcquiredRecords ranges dropped, offsets inside a range
 * that hold no record — control batches, compacted-away records — acknowledged as gaps), and
 * acknowledgement runs merged into AcknowledgementBatches.
 *
 * @internal
 */
import type { Effect } from "effect"
import type { KafkaRecord, RecordBatch } from "../../Protocol/RecordBatch.ts"
import type { ConsumerRecord } from "../Record.ts"
import { FetchedRecord } from "./records.ts"

/** Acknowledge types of ShareFetch / ShareAcknowledge v1-2 (0 is a gap, 4 renew is v2+). */
export const AckCode = { gap: 0, accept: 1, release: 2, reject: 3, renew: 4 } as const

/**
 * `accept`, `release`, `reject` settle a record; `renew` (ShareAcknowledge v2+, KIP-1222) extends
 * its acquisition lock and leaves it to be settled later.
 */
export type AcknowledgeType = "accept" | "release" | "reject" | "renew"

/** A share-group record: a record plus how many times it was delivered (1 the first time). */
export interface ShareRecord extends ConsumerRecord {
  /** How many times the record was delivered, this delivery included. */
  readonly deliveryCount: number
  /**
   * Acknowledges this record (default `"accept"`); a record is settled once (`accept`, `release`,
   * `reject`), later calls are ignored; `renew` extends its lock and can be repeated until then.
   */
  readonly ack: (type?: AcknowledgeType) => Effect.Effect<void>
}

/** Who takes acknowledgements: one per consumer (no closure per record). */
export interface AckSink {
  readonly acknowledge: (record: ShareFetchedRecord, type: AcknowledgeType) => Effect.Effect<void>
}

/** A run of offsets with one acknowledge type, in a partition, acquired from one broker. */
export interface AckRun {
  readonly first: bigint
  readonly last: bigint
  readonly type: number
}

export class ShareFetchedRecord extends FetchedRecord implements ShareRecord {
  readonly deliveryCount: number
  /** The broker the record was acquired from (its acknowledgement goes there). */
  readonly node: number
  /** The acknowledge type given, -1 while unacknowledged. */
  acked = -1
  readonly #sink: AckSink
  constructor(
    topic: string,
    partition: number,
    r: KafkaRecord,
    timestampType: "CreateTime" | "LogAppendTime",
    leaderEpoch: number,
    deliveryCount: number,
    node: number,
    sink: AckSink
  ) {
    super(topic, partition, r, timestampType, leaderEpoch)
    this.deliveryCount = deliveryCount
    this.node = node
    this.#sink = sink
  }
  ack(type: AcknowledgeType = "accept"): Effect.Effect<void> {
    return this.#sink.acknowledge(this, type)
  }
  protected override fields(): Record<string, unknown> {
    return { ...super.fields(), deliveryCount: this.deliveryCount }
  }
}

export interface AcquiredRange {
  readonly firstOffset: bigint
  readonly lastOffset: bigint
  readonly deliveryCount: number
}

/**
 * The records of decoded `batches` within the acquired ranges (sorted by first offset), in offset
 * order. Offsets of the ranges that a decoded batch covers but that hold no deliverable record (a
 * control batch, records compacted away) are appended to `gaps`; offsets no decoded batch covers
 * are left alone (their lock expires and they are delivered again).
 */
export const acquiredRecords = (
  topic: string,
  partition: number,
  batches: ReadonlyArray<RecordBatch>,
  ranges: ReadonlyArray<AcquiredRange>,
  node: number,
  sink: AckSink,
  out: Array<ShareFetchedRecord>,
  gaps: Array<AckRun>
): void => {
  if (ranges.length === 0) return
  const hole = (first: bigint, last: bigint) => {
    if (first > last) return
    for (const r of ranges) {
      const a = first > r.firstOffset ? first : r.firstOffset
      const b = last < r.lastOffset ? last : r.lastOffset
      if (a <= b) gaps.push({ first: a, last: b, type: AckCode.gap })
    }
  }
  let ri = 0
  for (let bi = 0; bi < batches.length; bi++) {
    const batch = batches[bi]
    if (batch.isControl) {
      hole(batch.baseOffset, batch.lastOffset)
      continue
    }
    const tsType = batch.timestampType === 1 ? "LogAppendTime" : "CreateTime"
    const records = batch.records
    let next = batch.baseOffset
    for (let i = 0; i < records.length; i++) {
      const r = records[i]
      const offset = r.offset
      if (offset < next) continue
      hole(next, offset - 1n)
      next = offset + 1n
      while (ri < ranges.length && ranges[ri].lastOffset < offset) ri++
      if (ri >= ranges.length || offset < ranges[ri].firstOffset) continue
      out.push(new ShareFetchedRecord(topic, partition, r, tsType, batch.partitionLeaderEpoch, ranges[ri].deliveryCount, node, sink))
    }
    hole(next, batch.lastOffset)
  }
}

/** Sorts runs and merges adjacent ones of the same type into AcknowledgementBatches. */
export const toAckBatches = (
  runs: ReadonlyArray<AckRun>
): Array<{ firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: Array<number> }> => {
  const sorted = runs.slice().sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
  const out: Array<{ firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: Array<number> }> = []
  let cur: { firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: Array<number> } | undefined
  for (const r of sorted) {
    if (cur !== undefined && cur.acknowledgeTypes[0] === r.type && cur.lastOffset + 1n === r.first) {
      cur.lastOffset = r.last
      continue
    }
    if (cur !== undefined && r.first <= cur.lastOffset) continue // acknowledged twice: the first one counts
    cur = { firstOffset: r.first, lastOffset: r.last, acknowledgeTypes: [r.type] }
    out.push(cur)
  }
  return out
}
