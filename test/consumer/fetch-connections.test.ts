/**
 * Each consumer fetches through connections of its own (a broker answers one request per
 * connection at a time and parks a Fetch for up to its maxWait), on the real broker: a Producer's
 * send on the consumer's Cluster is acknowledged while the consumer's Fetch is parked, and two
 * PartitionConsumers on one Cluster get their records while the other's Fetch is parked. The long
 * polls wait 20 s for data that never comes, so "still parked" holds however slow the machine is.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Broker from "../../src/Connection/Broker.ts"
import type { BrokerService } from "../../src/Connection/Broker.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import type { FetchRequest } from "../../src/Protocol/generated/Fetch.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)
const maxWait = "20 seconds"

interface Seen {
  readonly connection: number
  readonly api: "Fetch" | "Produce"
  /** The topics (names, or ids from Fetch v13) a Fetch lists; empty for an incremental one without changes. */
  readonly topics: ReadonlyArray<string>
  answered: boolean
}

/** A cluster whose connections are numbered and log every Fetch and Produce, and when it is answered. */
const watchedCluster = (clientId: string) =>
  Effect.gen(function*() {
    const seen: Array<Seen> = []
    let connections = 0
    const cluster = yield* Cluster.make({
      bootstrap: brokers(),
      clientId,
      connect: (node) =>
        Effect.map(Broker.make({ host: node.host, port: node.port, nodeId: node.nodeId, clientId }), (b): BrokerService => {
          const connection = ++connections
          return {
            ...b,
            request: (api, req, options) => {
              if (api.key !== 0 && api.key !== 1) return b.request(api, req, options)
              const topics = api.key === 1 ? (req as FetchRequest).topics.map((t) => t.topic ?? t.topicId ?? "") : []
              const entry: Seen = { connection, api: api.key === 1 ? "Fetch" : "Produce", topics, answered: false }
              seen.push(entry)
              return Effect.tap(b.request(api, req, options), () => Effect.sync(() => {
                entry.answered = true
              }))
            }
          }
        })
    })
    return { cluster, seen }
  })

const waitFor = <A>(find: () => A | undefined, what: string) =>
  Effect.gen(function*() {
    for (;;) {
      const found = find()
      if (found !== undefined) return found
      yield* Effect.sleep("20 millis")
    }
  }).pipe(Effect.timeoutOrElse({ duration: "15 seconds", orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

/** The Fetch in flight on the connection that fetched `topic` (by name or id) before. */
const parkedFetchOf = (seen: ReadonlyArray<Seen>, topic: string) => {
  const connection = seen.find((s) => s.api === "Fetch" && s.topics.includes(topic))?.connection
  if (connection === undefined) return undefined
  return seen.find((s) => s.api === "Fetch" && s.connection === connection && !s.answered)
}

const idOf = (cluster: Cluster.ClusterService, topic: string) => cluster.snapshot().topics.get(topic)?.topicId ?? topic

describe.concurrent("fetch connections (real broker)", () => {
  it.live("a Producer's send on the Consumer's Cluster is acknowledged while the consumer's Fetch is parked", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cluster, seen } = yield* watchedCluster("kpax-fetch-connections-produce")
      const idle = uniqueTopic("fetchconn-idle")
      const out = uniqueTopic("fetchconn-out")
      yield* createTopic(cluster, idle, { partitions: 1 })
      yield* createTopic(cluster, out, { partitions: 1 })
      const producer = yield* Producer.make({ linger: "0 millis" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* producer.send({ topic: out, value: utf8("warm-up") })
      yield* cluster.leader(idle, 0)
      const before = cluster.connectionCount()

      const scope = yield* Scope.make()
      const consumer = yield* PartitionConsumer.make({ maxWait }).pipe(Scope.provide(scope), Effect.provideService(Cluster.Cluster, cluster))
      yield* consumer.assign([{ topic: idle, partition: 0, from: "earliest" }])
      const fetch = yield* waitFor(() => parkedFetchOf(seen, idOf(cluster, idle)) ?? parkedFetchOf(seen, idle), "a parked Fetch")
      const meta = yield* producer.send({ topic: out, value: utf8("x") })
      assert.strictEqual(meta.offset, 1n)
      assert.isFalse(fetch.answered, "the send was acknowledged while the Fetch was parked")
      const produce = seen.filter((s) => s.api === "Produce").at(-1)!
      assert.notStrictEqual(produce.connection, fetch.connection)
      assert.strictEqual(cluster.connectionCount(), before + 1, "the consumer has one connection of its own")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(cluster.connectionCount(), before, "closed with the consumer")
    })), 60_000)

  it.live("two PartitionConsumers on one Cluster each get their records while the other's Fetch is parked", () =>
    Effect.scoped(Effect.gen(function*() {
      const { cluster, seen } = yield* watchedCluster("kpax-fetch-connections-two")
      const a = uniqueTopic("fetchconn-a")
      const b = uniqueTopic("fetchconn-b")
      yield* createTopic(cluster, a, { partitions: 1 })
      yield* createTopic(cluster, b, { partitions: 1 })
      const producer = yield* Producer.make({ linger: "0 millis" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      yield* cluster.leader(a, 0)
      yield* cluster.leader(b, 0)
      const before = cluster.connectionCount()

      const scope = yield* Scope.make()
      const make = PartitionConsumer.make({ maxWait }).pipe(Scope.provide(scope), Effect.provideService(Cluster.Cluster, cluster))
      const ca = yield* make
      const cb = yield* make
      yield* ca.assign([{ topic: a, partition: 0, from: "earliest" }])
      yield* cb.assign([{ topic: b, partition: 0, from: "earliest" }])
      const readA = yield* Effect.forkChild(ca.records.pipe(Stream.take(1), Stream.runCollect))
      const readB = yield* Effect.forkChild(cb.records.pipe(Stream.take(1), Stream.runCollect))
      const parkedOf = (topic: string) => () => parkedFetchOf(seen, idOf(cluster, topic)) ?? parkedFetchOf(seen, topic)
      const fetchA = yield* waitFor(parkedOf(a), "a's parked Fetch")
      const fetchB = yield* waitFor(parkedOf(b), "b's parked Fetch")
      assert.notStrictEqual(fetchA.connection, fetchB.connection, "one connection per consumer")

      yield* producer.send({ topic: b, value: utf8("to b") })
      const gotB = yield* Fiber.join(readB)
      assert.deepStrictEqual(gotB.map((r) => new TextDecoder().decode(r.value!)), ["to b"])
      assert.isFalse(fetchA.answered, "b got its record while a's Fetch was parked")

      const nextB = yield* waitFor(parkedOf(b), "b's next parked Fetch")
      yield* producer.send({ topic: a, value: utf8("to a") })
      const gotA = yield* Fiber.join(readA)
      assert.deepStrictEqual(gotA.map((r) => new TextDecoder().decode(r.value!)), ["to a"])
      assert.isFalse(nextB.answered, "a got its record while b's Fetch was parked")

      assert.strictEqual(cluster.connectionCount(), before + 2)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(cluster.connectionCount(), before, "the consumers' connections closed with them")
    })), 60_000)
})
