/**
 * Byte-for-byte cross-checks against two independent encoders (kafkajs, @platformatic/kafka),
 * and decoding in both directions.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { createRequire } from "node:module"
import { createRecordsBatch, readRecordsBatches, Reader as PReader } from "@platformatic/kafka"
import { decodeRecordBatchesSync, encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import type { BatchOptions, RecordBatch, RecordInput } from "../../src/Protocol/RecordBatch.ts"

const require = createRequire(import.meta.url)
type Long = { toString(): string }
const Long = require("kafkajs/src/utils/long") as { fromString(s: string): Long; fromValue(v: unknown): Long }
const { RecordBatch: KRecordBatch } = require("kafkajs/src/protocol/recordBatch/v0") as {
  RecordBatch: (o: Record<string, unknown>) => Promise<{ buffer: Buffer }>
}
const KRecord = require("kafkajs/src/protocol/recordBatch/record/v0") as (o: Record<string, unknown>) => unknown
const KDecoder = require("kafkajs/src/protocol/decoder") as new (b: Buffer) => unknown
const KRecordBatchDecoder = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (d: unknown) => Promise<{
  firstOffset: string
  records: Array<{ offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Array<Buffer>> }>
}>

const rng = (seed: number) => () => {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed
}

interface Case {
  readonly records: Array<{ key: Buffer | null; value: Buffer | null; headers: Array<{ key: string; value: Buffer }>; timestamp: number }>
  readonly firstTimestamp: number
  readonly maxTimestamp: number
}

/** Inputs both peers can express: unique ASCII header keys, non-null header values, record timestamps ≥ the first. */
const makeCase = (seed: number, n: number): Case => {
  const r = rng(seed)
  const firstTimestamp = 1_700_000_000_000 + (r() % 1_000_000)
  const records = Array.from({ length: n }, (_, i) => {
    const hc = r() % 3
    return {
      key: r() % 5 === 0 ? null : Buffer.from(`key-${r() % 1000}`),
      value: r() % 11 === 0 ? null : Buffer.from(JSON.stringify({ i, v: r(), pad: "z".repeat(r() % 300) })),
      headers: Array.from({ length: hc }, (_, h) => ({ key: `h${h}-${r() % 100}`, value: Buffer.from(`hv${r() % 1000}`) })),
      timestamp: i === 0 ? firstTimestamp : firstTimestamp + (r() % 100_000)
    }
  })
  const maxTimestamp = Math.max(...records.map((x) => x.timestamp))
  return { records, firstTimestamp, maxTimestamp }
}

const kafkajsBatch = async (c: Case, compression: number, o: { baseOffset: bigint; producerId: bigint; producerEpoch: number; baseSequence: number; partitionLeaderEpoch: number; transactional: boolean }) =>
  (await KRecordBatch({
    compression,
    firstOffset: Long.fromString(o.baseOffset.toString()),
    firstTimestamp: c.firstTimestamp,
    maxTimestamp: c.maxTimestamp,
    partitionLeaderEpoch: o.partitionLeaderEpoch,
    lastOffsetDelta: c.records.length - 1,
    transactional: o.transactional,
    producerId: Long.fromString(o.producerId.toString()),
    producerEpoch: o.producerEpoch,
    firstSequence: o.baseSequence,
    records: c.records.map((rec, i) =>
      KRecord({
        offsetDelta: i,
        timestampDelta: rec.timestamp - c.firstTimestamp,
        key: rec.key,
        value: rec.value,
        headers: Object.fromEntries(rec.headers.map((h) => [h.key, h.value]))
      })
    )
  })).buffer

const oursFor = (c: Case, o: BatchOptions) => encodeRecordBatchSync(c.records as Array<RecordInput>, o)

const decodeOk = (bytes: Uint8Array): ReadonlyArray<RecordBatch> => {
  const r = decodeRecordBatchesSync(bytes)
  if (Result.isFailure(r)) assert.fail(`decode failed: ${r.failure.message}`)
  return (r as Result.Success<ReadonlyArray<RecordBatch>, never>).success
}

const sameRecords = (batch: RecordBatch, c: Case) => {
  assert.strictEqual(batch.records.length, c.records.length)
  batch.records.forEach((rec, i) => {
    const want = c.records[i]
    assert.strictEqual(rec.timestamp, want.timestamp)
    assert.strictEqual(rec.offsetDelta, i)
    assert.deepStrictEqual(rec.key === null ? null : Buffer.from(rec.key), want.key)
    assert.deepStrictEqual(rec.value === null ? null : Buffer.from(rec.value), want.value)
    const got: Array<[string, Buffer | null]> = rec.headers.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value)])
    assert.deepStrictEqual(got, want.headers.map((h): [string, Buffer | null] => [h.key, h.value]))
  })
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

describe("cross-check with kafkajs", () => {
  for (const compression of [0, 1] as const) {
    it(`identical bytes for the same inputs, compression ${compression === 0 ? "none" : "gzip"}`, async () => {
      for (let seed = 1; seed <= 60; seed++) {
        const c = makeCase(seed, 1 + (seed % 17))
        const o = {
          baseOffset: BigInt(seed) * 1_000_003n,
          producerId: seed % 2 === 0 ? -1n : BigInt(seed) * 7919n,
          producerEpoch: seed % 2 === 0 ? 0 : seed,
          baseSequence: seed % 2 === 0 ? 0 : seed * 3,
          partitionLeaderEpoch: seed % 3,
          transactional: seed % 4 === 1
        }
        const theirs = await kafkajsBatch(c, compression, o)
        const ours = oursFor(c, { ...o, compression, baseTimestamp: c.firstTimestamp, maxTimestamp: c.maxTimestamp })
        assert.strictEqual(hex(ours), hex(theirs), `seed ${seed}`)
        const [batch] = decodeOk(theirs)
        sameRecords(batch, c)
        assert.strictEqual(batch.isTransactional, o.transactional)
      }
    })
  }

  it("kafkajs decodes our batches (uncompressed and gzip)", async () => {
    for (const compression of [0, 1] as const) {
      const c = makeCase(99 + compression, 25)
      const ours = Buffer.from(oursFor(c, { compression, baseOffset: 500n }))
      const decoded = await KRecordBatchDecoder(new KDecoder(ours))
      assert.strictEqual(decoded.records.length, 25)
      decoded.records.forEach((rec, i) => {
        const want = c.records[i]
        assert.strictEqual(rec.offset, String(500 + i))
        assert.strictEqual(rec.timestamp, String(want.timestamp))
        assert.deepStrictEqual(rec.key, want.key)
        assert.deepStrictEqual(rec.value, want.value)
        assert.deepStrictEqual(Object.keys(rec.headers), want.headers.map((h) => h.key))
      })
    }
  })
})

describe("cross-check with @platformatic/kafka", () => {
  const platformaticBatch = (c: Case, compression: string, o: { producerId: bigint; producerEpoch: number; partitionLeaderEpoch: number; transactional: boolean }) => {
    const messages = c.records.map((rec) => ({
      topic: "t",
      key: rec.key,
      value: rec.value,
      headers: new Map(rec.headers.map((h) => [Buffer.from(h.key), h.value])),
      timestamp: BigInt(rec.timestamp)
    }))
    const w = createRecordsBatch(messages as never, {
      compression: compression as never,
      producerId: o.producerId,
      producerEpoch: o.producerEpoch,
      partitionLeaderEpoch: o.partitionLeaderEpoch,
      ...(o.transactional ? { transactionalId: "tx" } : {})
    } as never)
    return Buffer.from(w.buffer)
  }

  // gzip and zstd use node:zlib on both sides with the same defaults, so the compressed bytes match too
  for (const [name, code] of [["none", 0], ["gzip", 1], ["zstd", 4]] as const) {
    it(`identical bytes for the same inputs, compression ${name}`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const c = makeCase(1000 + seed, 1 + (seed % 13))
        const o = { producerId: seed % 2 ? -1n : BigInt(seed) << 33n, producerEpoch: seed % 5, partitionLeaderEpoch: seed % 7, transactional: seed % 3 === 0 }
        const theirs = platformaticBatch(c, name, o)
        const ours = oursFor(c, { ...o, compression: code, baseSequence: 0 })
        assert.strictEqual(hex(ours), hex(theirs), `seed ${seed}`)
      }
    })
  }

  it("snappy and lz4: we decode their batches, they decode our lz4/zstd/gzip/none batches", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = makeCase(2000 + seed, 1 + (seed % 9))
      for (const [name, code] of [["snappy", 2], ["lz4", 3]] as const) {
        const theirs = platformaticBatch(c, name, { producerId: -1n, producerEpoch: 0, partitionLeaderEpoch: 0, transactional: false })
        const [batch] = decodeOk(theirs)
        assert.strictEqual(batch.compression, code)
        sameRecords(batch, c)
      }
      // @platformatic/kafka reads raw snappy only, so our (Java-style) xerial snappy is not offered to it
      for (const code of [0, 1, 3, 4] as const) {
        const ours = Buffer.from(oursFor(c, { compression: code, baseOffset: 77n, producerEpoch: 0, baseSequence: 0 }))
        const [batch] = readRecordsBatches(PReader.from(ours)) as Array<{ firstOffset: bigint; records: Array<{ key: Buffer; value: Buffer; offsetDelta: number; timestampDelta: bigint; headers: Array<[Buffer, Buffer]> }> }>
        assert.strictEqual(batch.firstOffset, 77n)
        assert.strictEqual(batch.records.length, c.records.length)
        batch.records.forEach((rec, i) => {
          const want = c.records[i]
          assert.strictEqual(rec.offsetDelta, i)
          assert.strictEqual(Number(rec.timestampDelta), want.timestamp - c.firstTimestamp)
          assert.deepStrictEqual(rec.value, want.value ?? null)
          assert.deepStrictEqual(rec.headers.map(([k, v]) => [k.toString(), v]), want.headers.map((h) => [h.key, h.value]))
        })
      }
    }
  })
})
