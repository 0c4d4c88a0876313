/**
 * Per-record `send` under heavy concurrency (issue 14): sends blocked on buffer space wait in a
 * FIFO and are woken only when their record fits, so 200k concurrent sends through a 4 MiB buffer
 * all land, per partition in send order; `maxBlock` is a typed `MaxBlockTimeout` naming what it
 * waited for. The waiter queue itself is tested alone at the end.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Scope } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { SpaceQueue } from "../../src/Producer/internal/spaceQueue.ts"
import { partitionForKey } from "../../src/Producer/Partitioner.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const te = new TextEncoder()
const utf8 = (s: string) => te.encode(s)

const withCluster = <A, E>(f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-send-concurrency-test" })
      return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  )

describe("send under concurrency (real broker)", () => {
  it.live("200k concurrent sends of 1 KiB through a 4 MiB buffer: all acknowledged, per partition in send order", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("send-herd")
        yield* createTopic(cluster, topic, { partitions: 3 })
        const producer = yield* Producer.make({ acks: "all", bufferMemory: 4 * 1024 * 1024 })
        const n = 200_000
        const value = new Uint8Array(1024).fill(120)
        const keys = [utf8("a"), utf8("b"), utf8("c"), utf8("d"), utf8("e")]
        const records = Array.from({ length: n }, (_, i) => ({ topic, key: keys[i % keys.length], value }))
        const metas = yield* Effect.forEach(records, producer.send, { concurrency: "unbounded" })
        assert.strictEqual(metas.length, n)
        const last = new Map<number, bigint>()
        for (let i = 0; i < n; i++) {
          const m = metas[i]
          assert.strictEqual(m.partition, partitionForKey(keys[i % keys.length], 3))
          const prev = last.get(m.partition)
          if (prev !== undefined && !(m.offset > prev)) {
            assert.fail(`record ${i}: offset ${m.offset} on partition ${m.partition} not after ${prev}`)
          }
          last.set(m.partition, m.offset)
        }
        assert.isAtLeast(last.size, 2)
      })), 180_000)

  it.live("a topic that does not exist: MaxBlockTimeout naming metadata, with topic, size and time", () =>
    withCluster(() =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ maxBlock: "300 millis" })
        const topic = uniqueTopic("nowhere")
        const e = yield* Effect.flip(producer.send({ topic, value: new Uint8Array(100) }))
        assert.strictEqual(e._tag, "MaxBlockTimeout")
        if (e._tag !== "MaxBlockTimeout") return
        assert.strictEqual(e.waitedFor, "metadata")
        assert.strictEqual(e.topic, topic)
        assert.strictEqual(e.timeoutMs, 300)
        assert.isAtLeast(e.size, 100)
      })))

  it.live("a full buffer that nothing drains: MaxBlockTimeout naming buffer space; the timed-out waiter does not block later ones", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("send-full")
        yield* createTopic(cluster, topic, { partitions: 1 })
        // batches never fill and linger is long: nothing leaves until flush
        const producer = yield* Producer.make({ bufferMemory: 4096, batchSize: 1_000_000, linger: "1 hour", maxBlock: "300 millis" })
        const value = new Uint8Array(1000)
        const first = yield* Effect.forEach([0, 1, 2, 3], () => Effect.forkChild(producer.send({ topic, value })))
        yield* Effect.sleep("20 millis") // let the forked sends append
        assert.isAbove(producer.bufferedBytes(), 4000)
        // the buffer holds 4 records of ~1 KiB; the fifth waits for space and times out
        const e = yield* Effect.flip(producer.send({ topic, value }))
        assert.strictEqual(e._tag, "MaxBlockTimeout")
        if (e._tag !== "MaxBlockTimeout") return
        assert.strictEqual(e.waitedFor, "buffer-space")
        assert.strictEqual(e.topic, topic)
        assert.strictEqual(e.timeoutMs, 300)
        assert.isAtLeast(e.size, 1000)
        // an interrupted waiter leaves the queue too
        const interrupted = yield* Effect.forkChild(producer.send({ topic, value }))
        yield* Effect.sleep("20 millis")
        yield* Fiber.interrupt(interrupted)
        // a later waiter gets the space the flush frees (the dead ones are skipped)
        const later = yield* Effect.forkChild(producer.send({ topic, value: utf8("later") }))
        yield* Effect.sleep("20 millis")
        yield* producer.flush
        const metas = yield* Effect.forEach(first, Fiber.join)
        assert.deepStrictEqual(metas.map((m) => m.offset), [0n, 1n, 2n, 3n])
        yield* producer.flush
        const m = yield* Fiber.join(later)
        assert.strictEqual(m.offset, 4n)
      })))
})

describe("SpaceQueue", () => {
  /** A buffer of `capacity` bytes: takes a waiter when it fits, recording the order. */
  const buffer = (capacity: number) => {
    const state = { used: 0, woken: [] as Array<string> }
    const take = (size: number, name: string) => {
      if (state.used > 0 && state.used + size > capacity) return false
      state.used += size
      state.woken.push(name)
      return true
    }
    return { state, take }
  }

  it("FIFO: wakes from the head only while the head fits, never a smaller one behind it", () => {
    const q = new SpaceQueue<string>()
    const { state, take } = buffer(100)
    state.used = 100
    q.push(60, "a")
    q.push(10, "b")
    q.push(30, "c")
    assert.strictEqual(q.drain(take), 0)
    state.used = 50 // 50 free: "a" (60) does not fit, so "b" (10) must not overtake it
    assert.strictEqual(q.drain(take), 0)
    assert.deepStrictEqual(state.woken, [])
    state.used = 30 // 70 free: a (60) and b (10) fit, c (30) does not
    assert.strictEqual(q.drain(take), 2)
    assert.deepStrictEqual(state.woken, ["a", "b"])
    assert.strictEqual(q.length, 1)
    state.used = 0
    assert.strictEqual(q.drain(take), 1)
    assert.deepStrictEqual(state.woken, ["a", "b", "c"])
    assert.strictEqual(q.length, 0)
  })

  it("a cancelled (timed-out) waiter is skipped, also at the head; cancelling twice or after waking is a no-op", () => {
    const q = new SpaceQueue<string>()
    const { state, take } = buffer(100)
    state.used = 100
    const a = q.push(90, "a")
    q.push(20, "b")
    const c = q.push(20, "c")
    q.push(20, "d")
    assert.isTrue(q.cancel(c))
    assert.isFalse(q.cancel(c))
    assert.isTrue(q.cancel(a)) // the head: b is now first
    assert.strictEqual(q.length, 2)
    state.used = 60
    assert.strictEqual(q.drain(take), 2)
    assert.deepStrictEqual(state.woken, ["b", "d"])
    assert.isFalse(q.cancel(a))
    assert.strictEqual(q.length, 0)
  })

  it("many waiters: tickets stay valid across compaction, order kept", () => {
    const q = new SpaceQueue<number>()
    const n = 10_000
    const tickets: Array<number> = []
    for (let i = 0; i < n; i++) tickets.push(q.push(1, i))
    let budget = 0
    const order: Array<number> = []
    const take = (_: number, v: number) => {
      if (budget === 0) return false
      budget--
      order.push(v)
      return true
    }
    budget = 6000
    assert.strictEqual(q.drain(take), 6000) // compacts the taken prefix
    for (let i = 6000; i < n; i += 2) assert.isTrue(q.cancel(tickets[i]))
    assert.isFalse(q.cancel(tickets[10])) // already taken
    budget = n
    assert.strictEqual(q.drain(take), 2000)
    for (let i = 0; i < order.length; i++) {
      const expected = i < 6000 ? i : 6001 + 2 * (i - 6000)
      if (order[i] !== expected) assert.fail(`position ${i}: ${order[i]} instead of ${expected}`)
    }
    assert.strictEqual(q.length, 0)
  })
})
