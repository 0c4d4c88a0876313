/**
 * The share consumer's plain-TypeScript parts: records kept by the AcquiredRecords ranges (with
 * their delivery counts), gaps acknowledged for offsets that hold no record, and acknowledgement
 * runs merged into AcknowledgementBatches.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { acquiredRecords, AckCode, toAckBatches } from "../../src/Consumer/internal/shareRecords.ts"
import type { AckRun, AckSink, ShareFetchedRecord } from "../../src/Consumer/internal/shareRecords.ts"
import { decodeRecordBatchesSync, encodeControlBatch, encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"

const te = new TextEncoder()
const sink: AckSink = { acknowledge: () => Effect.void }

const concat = (...parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Batches at 0..9 (offsets 3 and 4 compacted away), a control batch at 10, and 11..14. */
const bytes = concat(
  encodeRecordBatchSync([0, 1, 2, 5, 6, 7, 8, 9].map((d) => ({ value: te.encode(String(d)), offsetDelta: d })), { baseOffset: 0n }),
  encodeControlBatch({ type: "COMMIT", producerId: 1n, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: 10n }),
  encodeRecordBatchSync([11, 12, 13, 14].map((o) => ({ value: te.encode(String(o)) })), { baseOffset: 11n })
)

const decode = () => {
  const r = decodeRecordBatchesSync(bytes)
  if (Result.isFailure(r)) throw r.failure
  return r.success
}

describe("share records", () => {
  it("keeps only the records of the acquired ranges, each with its range's delivery count; gaps for offsets without a record", () => {
    const out: Array<ShareFetchedRecord> = []
    const gaps: Array<AckRun> = []
    acquiredRecords("t", 0, decode(), [
      { firstOffset: 1n, lastOffset: 5n, deliveryCount: 1 },
      { firstOffset: 9n, lastOffset: 12n, deliveryCount: 3 }
    ], 7, sink, out, gaps)
    assert.deepStrictEqual(out.map((r) => [Number(r.offset), r.deliveryCount]), [[1, 1], [2, 1], [5, 1], [9, 3], [11, 3], [12, 3]])
    assert.deepStrictEqual(gaps.map((g) => [Number(g.first), Number(g.last), g.type]), [[3, 4, AckCode.gap], [10, 10, AckCode.gap]])
    assert.strictEqual(out[0].node, 7)
    assert.strictEqual(out[0].acked, -1)
  })

  it("leaves alone acquired offsets that no decoded batch covers", () => {
    const out: Array<ShareFetchedRecord> = []
    const gaps: Array<AckRun> = []
    acquiredRecords("t", 0, decode(), [{ firstOffset: 13n, lastOffset: 20n, deliveryCount: 2 }], 0, sink, out, gaps)
    assert.deepStrictEqual(out.map((r) => Number(r.offset)), [13, 14])
    assert.deepStrictEqual(gaps, [])
  })

  it("merges adjacent runs of one type into acknowledgement batches, in offset order", () => {
    const runs: Array<AckRun> = [
      { first: 5n, last: 5n, type: AckCode.accept },
      { first: 3n, last: 3n, type: AckCode.accept },
      { first: 4n, last: 4n, type: AckCode.accept },
      { first: 6n, last: 7n, type: AckCode.gap },
      { first: 8n, last: 8n, type: AckCode.release },
      { first: 10n, last: 10n, type: AckCode.reject },
      { first: 10n, last: 10n, type: AckCode.accept }
    ]
    assert.deepStrictEqual(toAckBatches(runs), [
      { firstOffset: 3n, lastOffset: 5n, acknowledgeTypes: [1] },
      { firstOffset: 6n, lastOffset: 7n, acknowledgeTypes: [0] },
      { firstOffset: 8n, lastOffset: 8n, acknowledgeTypes: [2] },
      { firstOffset: 10n, lastOffset: 10n, acknowledgeTypes: [3] }
    ])
  })
})
