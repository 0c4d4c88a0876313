/**
 * Fetch sessions (KIP-227) against the real broker, watched (and sometimes tampered with) through
 * a connection wrapper: the first request is full, later ones list only what changed, paused
 * partitions are forgotten, and session errors fall back to a full fetch without losing records.
 * Plus unit tests of the session bookkeeping itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Broker from "../../src/Connection/Broker.ts"
import type { BrokerService } from "../../src/Connection/Broker.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import { FetchSession } from "../../src/Consumer/internal/fetchSession.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import type { FetchRequest, FetchResponse } from "../../src/Protocol/generated/Fetch.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)

interface Seen {
  readonly req: FetchRequest
  readonly version: number | undefined
  res?: FetchResponse
}

/**
 * A cluster whose connections log every Fetch; `tamper` may rewrite a request before it is sent;
 * `maxFetchVersion` caps the Fetch version the client sees as negotiable.
 */
const watchedCluster = (tamper: { current: ((req: FetchRequest) => FetchRequest) | undefined }, maxFetchVersion = 17) =>
  Effect.gen(function*() {
    const seen: Array<Seen> = []
    const cluster = yield* Cluster.make({
      bootstrap: brokers(),
      clientId: "kpax-fetch-session-test",
      connect: (node) =>
        Effect.map(Broker.make({ host: node.host, port: node.port, nodeId: node.nodeId }), (b): BrokerService => ({
          ...b,
          versionFor: (api, forced) => Effect.map(b.versionFor(api, forced), (v) => (api.key === 1 ? Math.min(v, maxFetchVersion) : v)),
          request: (api, req, options) => {
            if (api.key !== 1) return b.request(api, req, options)
            let r = req as FetchRequest
            const t = tamper.current
            if (t !== undefined) {
              tamper.current = undefined
              r = t(r)
            }
            const entry: Seen = { req: r, version: options?.version }
            seen.push(entry)
            return Effect.tap(b.request(api, r as typeof req, options), (res) => Effect.sync(() => {
              entry.res = res as FetchResponse
            }))
          }
        }))
    })
    return { cluster, seen }
  })

const listed = (req: FetchRequest) => req.topics.flatMap((t) => t.partitions.map((p) => p.partition)).sort()
const forgotten = (req: FetchRequest) => (req.forgottenTopicsData ?? []).flatMap((t) => t.partitions).sort()

const waitFor = (cond: () => boolean, what: string) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

describe.concurrent("fetch sessions (real broker)", () => {
  it.live("one full fetch, then incremental ones listing only changed partitions; pause forgets, resume re-adds; topic ids on v13+", () =>
    Effect.scoped(Effect.gen(function*() {
      const tamper = { current: undefined as ((req: FetchRequest) => FetchRequest) | undefined }
      const { cluster, seen } = yield* watchedCluster(tamper)
      const topic = uniqueTopic("session")
      yield* createTopic(cluster, topic, { partitions: 4 })
      const producer = yield* Producer.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* producer.sendAll([0, 1, 2, 3].flatMap((partition) => [0, 1, 2].map((i) => ({ topic, partition, value: utf8(`${partition}-${i}`) }))))
      const consumer = yield* PartitionConsumer.make({ maxWait: "100 millis" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* consumer.assign([0, 1, 2, 3].map((partition) => ({ topic, partition, from: "earliest" as const })))
      const got: Array<string> = []
      yield* consumer.records.pipe(Stream.runForEach((r) => Effect.sync(() => got.push(new TextDecoder().decode(r.value!)))), Effect.forkScoped)
      yield* waitFor(() => got.length === 12, "the first records")

      // steady state: records to partition 2 only, with idle spells longer than the long poll
      // between them (the consumer fetches on a connection of its own, so a send does not wait
      // for its parked Fetch to expire: without the pause every fetch would carry a change)
      const start = seen.length
      for (let i = 3; i < 8; i++) {
        yield* producer.send({ topic, partition: 2, value: utf8(`2-${i}`) })
        yield* waitFor(() => got.length === 12 + i - 2, "a new record")
        yield* Effect.sleep("500 millis")
      }
      const steady = seen.slice(start)
      assert.isAbove(steady.length, 5)
      for (const s of steady) {
        assert.isAbove(s.req.sessionId!, 0)
        assert.isAbove(s.req.sessionEpoch!, 0)
        assert.isTrue(listed(s.req).every((p) => p === 2), `only partition 2 changes, got ${listed(s.req)}`)
      }
      assert.isTrue(steady.some((s) => listed(s.req).length === 0), "idle incremental fetches list nothing")
      const first = seen[0]
      assert.strictEqual(first.req.sessionId, 0)
      assert.strictEqual(first.req.sessionEpoch, 0)
      assert.deepStrictEqual(listed(first.req), [0, 1, 2, 3])
      const stats = consumer.stats()
      assert.strictEqual(stats.fullFetchRequests, 1)
      assert.strictEqual(stats.incrementalFetchRequests, stats.fetchRequests - 1)
      // topic ids where the broker speaks Fetch v13+
      assert.isAtLeast(first.version!, 13)
      assert.isString(first.req.topics[0].topicId)
      assert.isUndefined(first.req.topics[0].topic)

      // pause: the partition leaves the session; resume: it comes back
      const beforePause = seen.length
      yield* consumer.pause([{ topic, partition: 1 }])
      yield* waitFor(() => seen.slice(beforePause).some((s) => forgotten(s.req).includes(1)), "partition 1 forgotten")
      const beforeResume = seen.length
      yield* consumer.resume([{ topic, partition: 1 }])
      yield* waitFor(() => seen.slice(beforeResume).some((s) => listed(s.req).includes(1)), "partition 1 listed again")
      assert.strictEqual(consumer.stats().fullFetchRequests, 1)
    })))

  it.live("FETCH_SESSION_ID_NOT_FOUND and INVALID_FETCH_SESSION_EPOCH: a full fetch starts over, no record lost or repeated", () =>
    Effect.scoped(Effect.gen(function*() {
      const tamper = { current: undefined as ((req: FetchRequest) => FetchRequest) | undefined }
      const { cluster, seen } = yield* watchedCluster(tamper)
      const topic = uniqueTopic("session-reset")
      yield* createTopic(cluster, topic, { partitions: 2 })
      const producer = yield* Producer.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      const consumer = yield* PartitionConsumer.make({ maxWait: "100 millis" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* consumer.assign([0, 1].map((partition) => ({ topic, partition, from: "earliest" as const })))
      const got: Array<string> = []
      yield* consumer.records.pipe(Stream.runForEach((r) => Effect.sync(() => got.push(`${r.partition}@${r.offset}`))), Effect.forkScoped)
      let n = 0
      const produceAndRead = Effect.gen(function*() {
        yield* producer.sendAll([0, 1].map((partition) => ({ topic, partition, value: utf8(`${n}`) })))
        n++
        yield* waitFor(() => got.length === 2 * n, `round ${n}`)
      })
      yield* produceAndRead
      yield* produceAndRead

      const broken = (f: (req: FetchRequest) => FetchRequest, code: number) =>
        Effect.gen(function*() {
          const at = seen.length
          tamper.current = f
          yield* waitFor(() => seen.slice(at).some((s) => s.res?.errorCode === code), `error ${code}`)
          yield* produceAndRead
          const after = seen.slice(at)
          const failed = after.findIndex((s) => s.res?.errorCode === code)
          assert.strictEqual(after[failed + 1].req.sessionEpoch, 0, "the request after a session error is full")
          assert.deepStrictEqual(listed(after[failed + 1].req), [0, 1])
        })
      yield* broken((req) => ({ ...req, sessionId: req.sessionId! + 7777 }), 70) // FETCH_SESSION_ID_NOT_FOUND
      yield* broken((req) => ({ ...req, sessionEpoch: req.sessionEpoch! + 5 }), 71) // INVALID_FETCH_SESSION_EPOCH
      yield* produceAndRead
      assert.strictEqual(consumer.stats().fetchSessionErrors, 2)
      assert.strictEqual(consumer.stats().fullFetchRequests, 3)
      const expected = [0, 1].flatMap((p) => Array.from({ length: n }, (_, i) => `${p}@${i}`)).sort()
      assert.deepStrictEqual([...got].sort(), expected)
    })))

  it.live("fetchSessions: false sends sessionless full fetches", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cluster, seen } = yield* watchedCluster({ current: undefined })
      const topic = uniqueTopic("sessionless")
      yield* createTopic(cluster, topic, { partitions: 1 })
      const records = yield* PartitionConsumer.make({ fetchSessions: false, maxWait: "50 millis" }).pipe(
        Effect.tap((c) => c.assign([{ topic, partition: 0, from: "earliest" }])),
        Effect.tap(() => waitFor(() => seen.filter((s) => s.res !== undefined).length >= 4, "four fetches")),
        Effect.map((c) => c.stats()),
        Effect.provideService(Cluster.Cluster, cluster)
      )
      for (const s of seen) {
        assert.strictEqual(s.req.sessionId, 0)
        assert.strictEqual(s.req.sessionEpoch, -1)
      }
      assert.strictEqual(records.incrementalFetchRequests, 0)
    })))

  it.live("closing the consumer closes its session on the broker (final epoch)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cluster, seen } = yield* watchedCluster({ current: undefined })
      const topic = uniqueTopic("session-close")
      yield* createTopic(cluster, topic, { partitions: 1 })
      const scope = yield* Scope.make()
      const consumer = yield* PartitionConsumer.make({ maxWait: "50 millis" }).pipe(Scope.provide(scope), Effect.provideService(Cluster.Cluster, cluster))
      yield* consumer.assign([{ topic, partition: 0, from: "earliest" }])
      yield* waitFor(() => seen.some((s) => (s.res?.sessionId ?? 0) > 0), "a session")
      const id = seen.find((s) => (s.res?.sessionId ?? 0) > 0)!.res!.sessionId
      yield* Scope.close(scope, { _tag: "Success", value: undefined } as never)
      const last = seen[seen.length - 1]
      assert.strictEqual(last.req.sessionId, id)
      assert.strictEqual(last.req.sessionEpoch, -1)
      assert.strictEqual(last.res?.errorCode, 0)
      // nothing runs any more
      const after = seen.length
      yield* Effect.sleep("300 millis")
      assert.strictEqual(seen.length, after)
    })))

  it.live("brokers capped below Fetch v13 get topic names, in sessions too", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cluster, seen } = yield* watchedCluster({ current: undefined }, 12)
      const topic = uniqueTopic("session-names")
      yield* createTopic(cluster, topic, { partitions: 2 })
      const producer = yield* Producer.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* producer.sendAll([0, 1].flatMap((partition) => [0, 1, 2].map((i) => ({ topic, partition, value: utf8(`${partition}-${i}`) }))))
      const consumer = yield* PartitionConsumer.make({ maxWait: "50 millis" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* consumer.assign([0, 1].map((partition) => ({ topic, partition, from: "earliest" as const })))
      const records = yield* consumer.records.pipe(Stream.take(6), Stream.runCollect)
      yield* producer.send({ topic, partition: 1, value: utf8("1-3") })
      const more = yield* consumer.records.pipe(Stream.take(1), Stream.runCollect)
      assert.strictEqual(more[0].offset, 3n)
      assert.deepStrictEqual(records.map((r) => `${r.partition}@${r.offset}`).sort(), ["0@0", "0@1", "0@2", "1@0", "1@1", "1@2"])
      assert.isTrue(seen.every((s) => s.version === 12))
      assert.strictEqual(seen[0].req.topics[0].topic, topic)
      assert.isUndefined(seen[0].req.topics[0].topicId)
      assert.isAbove(seen.filter((s) => s.req.sessionEpoch! > 0).length, 0, "incremental fetches by name")
    })))
})

describe("FetchSession bookkeeping", () => {
  const part = (partition: number, fetchOffset: bigint, topic = "t", topicId = "id-t") =>
    ({ topic, topicId, partition, fetchOffset, partitionMaxBytes: 100, currentLeaderEpoch: 0 })

  it("full, then incremental with only changes, forgets removed partitions, replaces a recreated topic", () => {
    const s = new FetchSession(true)
    const full = s.build([part(0, 0n), part(1, 0n)], 17)
    assert.isTrue(full.full)
    assert.strictEqual(full.sessionEpoch, 0)
    assert.isFalse(s.handleResponse(0, 42))
    const inc = s.build([part(0, 5n), part(1, 0n), part(2, 0n)], 17)
    assert.isFalse(inc.full)
    assert.strictEqual(inc.sessionId, 42)
    assert.strictEqual(inc.sessionEpoch, 1)
    assert.deepStrictEqual(inc.topics.flatMap((t) => t.partitions.map((p) => p.partition)), [0, 2])
    s.handleResponse(0, 42)
    const drop = s.build([part(2, 0n)], 17)
    assert.strictEqual(drop.sessionEpoch, 2)
    assert.deepStrictEqual(drop.topics, [])
    assert.deepStrictEqual(drop.forgottenTopicsData, [{ topicId: "id-t", partitions: [0, 1] }])
    s.handleResponse(0, 42)
    const recreated = s.build([part(2, 0n, "t", "id-t2")], 17)
    assert.deepStrictEqual(recreated.forgottenTopicsData, [{ topicId: "id-t", partitions: [2] }])
    assert.deepStrictEqual(recreated.topics.map((t) => t.topicId), ["id-t2"])
    assert.strictEqual(s.topicName("id-t2"), "t")
  })

  it("errors: unknown session → new session; bad epoch or failed request → full fetch replacing the session; names ↔ ids starts over", () => {
    const s = new FetchSession(true)
    s.build([part(0, 0n)], 17)
    s.handleResponse(0, 9)
    assert.isTrue(s.handleResponse(70, 0))
    let r = s.build([part(0, 0n)], 17)
    assert.deepStrictEqual([r.full, r.sessionId, r.sessionEpoch], [true, 0, 0])
    s.handleResponse(0, 10)
    assert.isTrue(s.handleResponse(71, 0))
    r = s.build([part(0, 0n)], 17)
    assert.deepStrictEqual([r.full, r.sessionId, r.sessionEpoch], [true, 10, 0])
    s.handleResponse(0, 11)
    s.handleError()
    r = s.build([part(0, 0n)], 17)
    assert.deepStrictEqual([r.full, r.sessionId, r.sessionEpoch], [true, 11, 0])
    s.handleResponse(0, 11)
    r = s.build([part(0, 0n)], 12)
    assert.isTrue(r.full)
    assert.deepStrictEqual(r.topics.map((t) => t.topic), ["t"])
    s.handleResponse(0, 0) // the broker created no session: keep sending full requests
    assert.isTrue(s.build([part(0, 0n)], 12).full)
    const off = new FetchSession(false)
    const f = off.build([part(0, 0n)], 17)
    assert.deepStrictEqual([f.full, f.sessionId, f.sessionEpoch], [true, 0, -1])
    assert.isUndefined(off.closeRequest())
  })
})
