/**
 * Produce frames in parts (scatter-gather) are byte-identical to `encodeRequestFrame`, and the
 * producer's own batch encoding is byte-identical to `encodeRecordBatchSync` for the same options.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { encodeRequestFrame } from "../../src/Protocol/Frame.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import type { ProduceRequest } from "../../src/Protocol/generated/Produce.ts"
import { concatFrame, encodeProduceFrame, FrameParts, INLINE_MAX } from "../../src/Protocol/internal/ProduceFrame.ts"
import { encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import { Batch } from "../../src/Producer/internal/accumulator.ts"
import { BufferPool } from "../../src/Producer/internal/bufferPool.ts"
import { encodeBatch, startSection } from "../../src/Producer/internal/encode.ts"

const rng = (seed: number) => () => {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed / 4294967296
}

const bytes = (n: number, next: () => number): Uint8Array => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256)
  return b
}

const randomRequest = (next: () => number): ProduceRequest => {
  const sizes = [0, 1, 61, INLINE_MAX - 1, INLINE_MAX, INLINE_MAX + 1, 5000, 70_000]
  const topics = Array.from({ length: 1 + Math.floor(next() * 3) }, (_, t) => ({
    name: `topic-${t}-${"x".repeat(Math.floor(next() * 40))}`,
    partitionData: Array.from({ length: Math.floor(next() * 4) }, (_, i) => ({
      index: i * 7 + t,
      records: next() < 0.1 ? null : bytes(sizes[Math.floor(next() * sizes.length)], next)
    }))
  }))
  return {
    transactionalId: next() < 0.5 ? null : `txn-${Math.floor(next() * 1000)}`,
    acks: [-1, 0, 1][Math.floor(next() * 3)],
    timeoutMs: Math.floor(next() * 60_000),
    topicData: topics
  }
}

describe("Produce frames in parts", () => {
  it("concatenated, equal encodeRequestFrame byte for byte (versions 3–11, 300 random requests each)", () => {
    const next = rng(0x5eed)
    let referenced = 0
    for (let version = 3; version <= 11; version++) {
      for (let n = 0; n < 300; n++) {
        const req = randomRequest(next)
        const clientId = next() < 0.2 ? null : "kpax-test"
        const expected = encodeRequestFrame(Produce, version, n, clientId, req)
        const got = encodeProduceFrame(version, n, clientId, req)
        assert.isTrue(Result.isSuccess(got))
        const frame = Result.getOrThrow(got)
        assert.strictEqual(frame.length, expected.length)
        assert.deepStrictEqual(Buffer.from(concatFrame(frame)), Buffer.from(expected), `v${version} request ${n}`)
        if (frame instanceof FrameParts) {
          // every large batch is referenced, not copied
          const large = req.topicData.flatMap((t) => t.partitionData).filter((p) => p.records !== null && p.records.length >= INLINE_MAX)
          for (const p of large) assert.isTrue(frame.parts.includes(p.records!))
          referenced += large.length
        }
      }
    }
    assert.isAbove(referenced, 100)
  })

  it("other versions and unencodable requests take the one-buffer encoder and its typed error", () => {
    const req: ProduceRequest = { transactionalId: "t", acks: 1, timeoutMs: 1000, topicData: [{ name: "a", partitionData: [{ index: 0, records: new Uint8Array(2000) }] }] }
    // Kafka 4.0 removed Produce v0-2 (KIP-896): no version below 3 encodes
    assert.isTrue(Result.isFailure(encodeProduceFrame(2, 1, "c", req)))
    assert.isTrue(Result.isFailure(encodeProduceFrame(2, 1, "c", { ...req, transactionalId: null })))
    assert.isTrue(Result.isFailure(encodeProduceFrame(Produce.maxVersion + 1, 1, "c", req)))
    // v13 addresses the topic by id: the parts carry the same bytes as the one-buffer encoder
    const byId = { ...req, topicData: [{ ...req.topicData[0], topicId: "AQIDBAUGBwgJCgsMDQ4PEA" }] }
    const v13 = encodeProduceFrame(13, 1, "c", byId)
    assert.isTrue(Result.isSuccess(v13))
    assert.deepStrictEqual(Buffer.from(concatFrame(Result.getOrThrow(v13))), Buffer.from(encodeRequestFrame(Produce, 13, 1, "c", byId)))
  })
})

describe("producer batches", () => {
  const settings = (compression: number, transactionalId: string | null = null) => ({ compression, compressionLevel: undefined, transactionalId })
  const makeBatch = (n: number, size: number, withTimestamps: boolean) => {
    const next = rng(n * 31 + size)
    const b = new Batch("t", 0, 1_700_000_000_000)
    for (let i = 0; i < n; i++) {
      b.records.push({
        key: next() < 0.3 ? null : bytes(8, next),
        value: next() < 0.05 ? null : bytes(size, next),
        ...(next() < 0.3 ? { headers: [{ key: "h", value: bytes(3, next) }] } : {}),
        ...(withTimestamps ? { timestamp: 1_700_000_000_000 + Math.floor(next() * 10_000) - 5000 } : {})
      })
    }
    b.producerId = 42n
    b.producerEpoch = 3
    b.baseSequence = 17
    return b
  }

  for (const codec of [0, 1, 2, 3, 4]) {
    it(`codec ${codec}: the same bytes as encodeRecordBatchSync, also after a re-stamp`, () => {
      for (const [n, size, ts] of [[1, 10, false], [50, 100, true], [300, 1024, false]] as const) {
        const b = makeBatch(n, size, ts)
        for (const txn of [null, "tx"]) {
          const s = settings(codec, txn)
          b.section = undefined
          const got = encodeBatch(b, s)
          const expected = encodeRecordBatchSync(b.records, {
            compression: codec as 0,
            producerId: b.producerId,
            producerEpoch: b.producerEpoch,
            baseSequence: b.baseSequence,
            transactional: txn !== null,
            baseTimestamp: b.createdAt
          })
          // every codec here is deterministic for a given input (lz4-napi, snappy, zlib at its default level)
          assert.deepStrictEqual(Buffer.from(got), Buffer.from(expected))
          // a new stamp rewrites only the header: the kept section is reused
          const section = b.section
          b.baseSequence = 1000
          const again = encodeBatch(b, s)
          assert.strictEqual(b.section, section)
          assert.deepStrictEqual(
            Buffer.from(again),
            Buffer.from(encodeRecordBatchSync(b.records, {
              compression: codec as 0, producerId: 42n, producerEpoch: 3, baseSequence: 1000, transactional: txn !== null, baseTimestamp: b.createdAt
            }))
          )
          b.baseSequence = 17
        }
      }
    })
  }

  it("large sections compress off the event loop: the effect fills the section, then the batch encodes as inline would", async () => {
    const b = makeBatch(200, 1024, false)
    const s = settings(3)
    let woken = 0
    const work = startSection(b, s, () => woken++, 1024)
    assert.isDefined(work)
    assert.isTrue(b.compressing)
    const { Effect } = await import("effect")
    await Effect.runPromise(work!)
    assert.isFalse(b.compressing)
    assert.strictEqual(woken, 1)
    assert.isDefined(b.section)
    const inline = makeBatch(200, 1024, false)
    assert.deepStrictEqual(Buffer.from(encodeBatch(b, s)), Buffer.from(encodeBatch(inline, s)))
  })
  for (const codec of [0, 3]) {
    it(`codec ${codec}: batches written into pooled memory are the same bytes, also when the memory held a larger batch`, () => {
      const pool = new BufferPool()
      const s = settings(codec)
      const big = makeBatch(300, 1024, false)
      const first = encodeBatch(big, s, pool)
      assert.deepStrictEqual(Buffer.from(first), Buffer.from(encodeBatch(makeBatch(300, 1024, false), s)))
      assert.isDefined(big.pooled)
      const memory = big.pooled!
      pool.give(memory)
      // a smaller batch reuses that memory: exactly its own bytes, nothing of the old batch after them
      const small = makeBatch(100, 512, true)
      const second = encodeBatch(small, s, pool)
      assert.strictEqual(small.pooled, memory)
      assert.strictEqual(second.byteLength, encodeBatch(makeBatch(100, 512, true), s).byteLength)
      assert.deepStrictEqual(Buffer.from(second), Buffer.from(encodeBatch(makeBatch(100, 512, true), s)))
      // memory not given back is not handed out again
      const third = encodeBatch(makeBatch(300, 1024, false), s, pool)
      assert.notStrictEqual(third.buffer, memory)
      // small batches are not pooled (Node's own pool serves them)
      const tiny = makeBatch(1, 10, false)
      encodeBatch(tiny, s, pool)
      assert.isUndefined(tiny.pooled)
    })
  }
})
