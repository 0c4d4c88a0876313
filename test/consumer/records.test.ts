/**
 * `toRecords`' consumer records read through to the decoded records: the same values, the same
 * view objects, and everything in `toJSON` / `inspect`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { inspect } from "node:util"
import { toRecords } from "../../src/Consumer/internal/records.ts"
import type { ConsumerRecord } from "../../src/Consumer/Record.ts"
import { decodeRecordBatchesSync, encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"

const enc = (s: string) => Buffer.from(s)

const batches = (() => {
  const bytes = Buffer.concat([
    encodeRecordBatchSync([
      { key: enc("k0"), value: enc("v0"), headers: [{ key: "h", value: enc("x") }], timestamp: 1_700_000_000_000 },
      { key: null, value: null, timestamp: 1_700_000_000_001 }
    ], { baseOffset: 10n, partitionLeaderEpoch: 4 }),
    encodeRecordBatchSync([{ key: enc("k2"), value: enc("v2"), timestamp: 5 }], { baseOffset: 12n, partitionLeaderEpoch: 5, timestampType: 1, maxTimestamp: 77, compression: "lz4" })
  ])
  const r = decodeRecordBatchesSync(bytes)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
})()

describe("toRecords", () => {
  it("consumer records carry the batch context and read through to the decoded records", () => {
    const out: Array<ConsumerRecord> = []
    toRecords("orders", 3, batches, 0n, false, null, out)
    assert.strictEqual(out.length, 3)
    const decoded = batches.flatMap((b) => b.records)
    out.forEach((r, i) => {
      const d = decoded[i]
      assert.strictEqual(r.topic, "orders")
      assert.strictEqual(r.partition, 3)
      assert.strictEqual(r.offset, d.offset)
      assert.strictEqual(r.timestamp, d.timestamp)
      assert.strictEqual(r.key, d.key) // the same view object, not a copy
      assert.strictEqual(r.value, d.value)
      assert.strictEqual(r.headers, d.headers)
    })
    assert.deepStrictEqual(out.map((r) => [r.offset, r.leaderEpoch, r.timestampType, r.timestamp]), [
      [10n, 4, "CreateTime", 1_700_000_000_000],
      [11n, 4, "CreateTime", 1_700_000_000_001],
      [12n, 5, "LogAppendTime", 77]
    ])
    assert.strictEqual(Buffer.from(out[2].value!).toString(), "v2")
    assert.strictEqual(out[0].headers[0].key, "h")
  })

  it("toJSON and inspect show every field", () => {
    const out: Array<ConsumerRecord> = []
    toRecords("orders", 3, batches, 11n, false, null, out)
    assert.deepStrictEqual(out.map((r) => r.offset), [11n, 12n])
    const json = (x: unknown) => JSON.parse(JSON.stringify(x))
    assert.deepStrictEqual(json(out[1]), {
      topic: "orders",
      partition: 3,
      offset: "12",
      timestamp: 77,
      timestampType: "LogAppendTime",
      key: json(new Uint8Array(enc("k2"))),
      value: json(new Uint8Array(enc("v2"))),
      headers: [],
      leaderEpoch: 5
    })
    const shown = inspect(out[0])
    for (const field of ["topic", "partition", "offset: 11n", "timestamp", "key: null", "value: null", "headers", "leaderEpoch: 4"]) assert.include(shown, field)
  })
})
