/**
 * Fetchers' connections of their own, on the in-memory cluster (a broker answers one request per
 * connection at a time, as Kafka does): a consumer's long-polling Fetch must not hold up a
 * Producer's Produce on the same Cluster, nor another consumer's Fetch. Time is the TestClock's:
 * every long poll here waits 5 s, and each step is run with less than that of simulated time, so
 * a request queued behind a parked Fetch cannot complete in it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import type * as InMemory from "../../src/Testing/InMemory.ts"
import { runWithClock, str, utf8, withKafka } from "./inMemoryHelpers.ts"

/** Less simulated time than one long poll (`maxWait` below): what is queued behind one cannot finish in it. */
const lessThanALongPoll = { limit: 2_000, step: 10 } as const
const maxWait = "5 seconds"

const parked = (r: InMemory.LoggedRequest) => r.response === undefined && r.failure === undefined

/**
 * Runs `f` in a scope of its own that is closed with the TestClock running (clients' finalizers
 * wait on timers), also when `f` fails; `f` gets it to fork consumer scopes from.
 */
const clocked = <A, E, R>(f: (scope: Scope.Scope) => Effect.Effect<A, E, R | Scope.Scope>) =>
  Effect.flatMap(Scope.make(), (scope) =>
    f(scope).pipe(
      Scope.provide(scope),
      Effect.onExit((exit) => runWithClock(Scope.close(scope, exit)))
    ))

/** Advances the clock until `n` Fetches are parked at once; returns them. */
const parkedFetches = (kafka: InMemory.ControlService, n: number) =>
  runWithClock(Effect.gen(function*() {
    for (;;) {
      const waiting = (yield* kafka.requests({ api: "Fetch" })).filter(parked)
      if (waiting.length >= n) return waiting
      yield* Effect.sleep("1 millis")
    }
  }), lessThanALongPoll)

describe("fetchers have connections of their own", () => {
  it.effect("a Producer's send on the Consumer's Cluster is acknowledged while the consumer's Fetch is parked", () =>
    withKafka({ brokers: 1, topics: [{ name: "in", partitions: 1 }, { name: "out", partitions: 1 }] }, (kafka, cluster) =>
      clocked((outer) => Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* runWithClock(producer.send({ topic: "out", value: utf8("warm-up") }))
        const before = cluster.connectionCount()
        const scope = yield* Scope.fork(outer)
        const consumer = yield* PartitionConsumer.make({ maxWait }).pipe(Scope.provide(scope))
        yield* consumer.assign([{ topic: "in", partition: 0, from: "earliest" }])
        const [fetch] = yield* parkedFetches(kafka, 1)
        const meta = yield* runWithClock(producer.send({ topic: "out", value: utf8("x") }), lessThanALongPoll)
        assert.strictEqual(meta.offset, 1n)
        assert.isTrue(parked(fetch), "the Fetch is still parked")
        const produce = (yield* kafka.requests({ api: "Produce" })).at(-1)!
        assert.notStrictEqual(produce.connection, fetch.connection, "the Produce did not queue on the Fetch's connection")
        assert.isDefined(produce.response)
        assert.strictEqual(cluster.connectionCount(), before + 1, "the consumer has one connection of its own")
        yield* runWithClock(Scope.close(scope, Exit.void))
        assert.strictEqual(cluster.connectionCount(), before, "closed with the consumer")
      }))))

  it.effect("two PartitionConsumers on one Cluster each get their records while the other's Fetch is parked", () =>
    withKafka({ brokers: 1, topics: [{ name: "a", partitions: 1 }, { name: "b", partitions: 1 }] }, (kafka, cluster) =>
      clocked((outer) => Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* runWithClock(producer.sendAll([{ topic: "a", value: utf8("warm-up") }, { topic: "b", value: utf8("warm-up") }]))
        const before = cluster.connectionCount()
        const scope = yield* Scope.fork(outer)
        const ca = yield* PartitionConsumer.make({ maxWait }).pipe(Scope.provide(scope))
        const cb = yield* PartitionConsumer.make({ maxWait }).pipe(Scope.provide(scope))
        yield* ca.assign([{ topic: "a", partition: 0, from: 1n }])
        yield* cb.assign([{ topic: "b", partition: 0, from: 1n }])
        const readA = yield* Effect.forkChild(ca.records.pipe(Stream.take(1), Stream.runCollect))
        const readB = yield* Effect.forkChild(cb.records.pipe(Stream.take(1), Stream.runCollect))
        const both = yield* parkedFetches(kafka, 2)
        assert.notStrictEqual(both[0].connection, both[1].connection, "one connection per consumer")
        const fetchOf = (topic: string) => both.find((r) => (r.request as { topics: ReadonlyArray<{ topicId: string }> }).topics[0].topicId === cluster.snapshot().topics.get(topic)?.topicId)!
        // b's records arrive while a's Fetch waits, and then a's while b's next one waits
        yield* runWithClock(producer.send({ topic: "b", value: utf8("to b") }), lessThanALongPoll)
        const gotB = yield* runWithClock(Fiber.join(readB), lessThanALongPoll)
        assert.deepStrictEqual(gotB.map((r) => str(r.value)), ["to b"])
        assert.isTrue(parked(fetchOf("a")), "a's Fetch is still parked")
        yield* runWithClock(producer.send({ topic: "a", value: utf8("to a") }), lessThanALongPoll)
        const gotA = yield* runWithClock(Fiber.join(readA), lessThanALongPoll)
        assert.deepStrictEqual(gotA.map((r) => str(r.value)), ["to a"])
        assert.strictEqual(cluster.connectionCount(), before + 2)
        yield* runWithClock(Scope.close(scope, Exit.void))
        assert.strictEqual(cluster.connectionCount(), before, "the consumers' connections closed with them")
      }))))

  it.effect("a consumer following a partition's leader lets go of its connection to the old leader", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", partitions: 1, replicationFactor: 3 }] }, (kafka, cluster) =>
      clocked((outer) => Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* runWithClock(producer.send({ topic: "t", value: utf8("r0") }))
        // the cluster's shared connections to every broker, so that only the consumer's own ones change
        yield* Effect.forEach(kafka.nodeIds, (n) => cluster.broker(n), { discard: true })
        const shared = cluster.connectionCount()
        const scope = yield* Scope.fork(outer)
        const consumer = yield* PartitionConsumer.make({ maxWait: "100 millis" }).pipe(Scope.provide(scope))
        yield* consumer.assign([{ topic: "t", partition: 0, from: "earliest" }])
        const reader = yield* Effect.forkChild(consumer.records.pipe(Stream.take(2), Stream.runCollect))
        const [first] = yield* parkedFetches(kafka, 1)
        assert.strictEqual(cluster.connectionCount(), shared + 1)
        const to = first.nodeId === 1 ? 2 : 1
        yield* kafka.moveLeader("t", 0, to)
        yield* runWithClock(producer.send({ topic: "t", value: utf8("r1") }))
        const records = yield* runWithClock(Fiber.join(reader))
        assert.deepStrictEqual(records.map((r) => str(r.value)), ["r0", "r1"])
        const last = (yield* kafka.requests({ api: "Fetch" })).at(-1)!
        assert.strictEqual(last.nodeId, to, "fetching from the new leader")
        assert.notStrictEqual(last.connection, first.connection)
        yield* runWithClock(Effect.sleep("1 second"))
        assert.strictEqual(cluster.connectionCount(), shared + 1, "one connection of the consumer's own: to the new leader only")
        yield* runWithClock(Scope.close(scope, Exit.void))
        assert.strictEqual(cluster.connectionCount(), shared)
      }))))
})
