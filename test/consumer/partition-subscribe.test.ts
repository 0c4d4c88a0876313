/**
 * `Consumer` (group membership + fetcher + at-least-once commits) against the real broker:
 * subscribe and commit, a second member taking over partitions without loss or duplicates,
 * partitioned streams, manual acks, and a membership the coordinator refuses.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import type { ConsumerRecord, TopicPartition } from "../../src/Consumer/Record.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array | null) => (b === null ? "" : new TextDecoder().decode(b))
const fast = { heartbeatInterval: "300 millis", sessionTimeout: "10 seconds", maxWait: "100 millis", retryBackoff: "100 millis" } as const

const withCluster = <A, E>(f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>) =>
  Effect.scoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-consumer-group-test" })
    return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
  }))

const waitFor = (cond: () => boolean, what: string, timeout = 20_000) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

/** Runs `records` into an array in the background. */
const collect = (records: Stream.Stream<ConsumerRecord, unknown>) =>
  Effect.gen(function*() {
    const seen: Array<ConsumerRecord> = []
    const fiber = yield* records.pipe(Stream.runForEach((r) => Effect.sync(() => seen.push(r))), Effect.forkScoped)
    return { seen, fiber }
  })

const produce = (topic: string, partitions: number, n: number, tag: string) =>
  Effect.gen(function*() {
    const producer = yield* Producer.make()
    yield* producer.sendAll(Array.from({ length: n }, (_, i) => ({ topic, partition: i % partitions, value: utf8(`${tag}${i}`) })))
  })

const committedOf = (consumer: Consumer.ConsumerService, tps: ReadonlyArray<TopicPartition>) =>
  Effect.map(consumer.membership.committed(tps), (m) => tps.map((tp) => m.get(`${tp.topic}-${tp.partition}`)?.offset ?? -1n))

describe.concurrent("Consumer (real broker)", () => {
  it.live("subscribe: every record once; closing commits what was processed; the next member starts there", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("subscribe")
        const groupId = uniqueTopic("g")
        yield* createTopic(cluster, topic, { partitions: 3 })
        yield* produce(topic, 3, 90, "a")
        const first = yield* Scope.make()
        const a = yield* Consumer.make({ groupId, topics: [topic], offsetReset: "earliest", ...fast }).pipe(Scope.provide(first))
        const ca = yield* collect(a.records)
        yield* waitFor(() => ca.seen.length >= 90, "90 records")
        yield* Effect.sleep("200 millis")
        assert.strictEqual(ca.seen.length, 90)
        assert.strictEqual(new Set(ca.seen.map((r) => str(r.value))).size, 90)
        assert.deepStrictEqual(a.assignment().map((tp) => tp.partition).sort(), [0, 1, 2])
        yield* Scope.close(first, Exit.void)

        // the group's offsets: everything processed
        const second = yield* Scope.make()
        const b = yield* Consumer.make({ groupId, topics: [topic], offsetReset: "earliest", ...fast }).pipe(Scope.provide(second))
        const cb = yield* collect(b.records)
        yield* waitFor(() => b.assignment().length === 3, "the assignment")
        assert.deepStrictEqual(yield* committedOf(b, [0, 1, 2].map((partition) => ({ topic, partition }))), [30n, 30n, 30n])
        yield* produce(topic, 3, 6, "b")
        yield* waitFor(() => cb.seen.length >= 6, "6 new records")
        yield* Effect.sleep("300 millis")
        assert.deepStrictEqual(cb.seen.map((r) => str(r.value)).sort(), ["b0", "b1", "b2", "b3", "b4", "b5"])
        yield* Scope.close(second, Exit.void)
      })), 60_000)

  it.live("a second member takes over partitions at the offsets the first committed on revoke: nothing lost, nothing twice", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("rebalance")
        const groupId = uniqueTopic("g")
        yield* createTopic(cluster, topic, { partitions: 4 })
        yield* produce(topic, 4, 200, "a")
        // each member has its own connections, as separate processes would: a broker handles one
        // request at a time per connection, and JoinGroup waits there for the whole rebalance
        const member = Effect.gen(function*() {
          const own = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-consumer-group-test" })
          return yield* Consumer.make({ groupId, topics: [topic], offsetReset: "earliest", autoCommit: false, ...fast }).pipe(
            Effect.provideService(Cluster.Cluster, own)
          )
        })
        const a = yield* member
        const ca = yield* collect(a.records)
        yield* waitFor(() => ca.seen.length >= 200, "200 records")
        const b = yield* member
        const cb = yield* collect(b.records)
        yield* waitFor(() => a.assignment().length === 2 && b.assignment().length === 2, "two partitions each")
        // without auto-commit, only the revoke committed: B starts where A stopped
        yield* produce(topic, 4, 100, "b")
        yield* waitFor(() => ca.seen.length + cb.seen.length >= 300, "300 records")
        yield* Effect.sleep("500 millis")
        const all = [...ca.seen, ...cb.seen].map((r) => `${r.partition}@${r.offset}`)
        assert.strictEqual(all.length, 300)
        assert.strictEqual(new Set(all).size, 300)
        const bParts = new Set(b.assignment().map((tp) => tp.partition))
        assert.strictEqual(cb.seen.length, 50)
        assert.isTrue(cb.seen.every((r) => bParts.has(r.partition) && str(r.value).startsWith("b")))
      })), 60_000)

  it.live("partitionedStream: one ordered stream per partition, processed in parallel", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("partitioned")
        yield* createTopic(cluster, topic, { partitions: 3 })
        yield* produce(topic, 3, 60, "p")
        const byPartition = new Map<number, Array<bigint>>()
        yield* Consumer.partitionedStream({ groupId: uniqueTopic("g"), topics: [topic], offsetReset: "earliest", ...fast }).pipe(
          Stream.flatMap(([tp, records]) =>
            records.pipe(
              Stream.take(20),
              Stream.mapEffect((r) => Effect.sync(() => byPartition.set(tp.partition, [...(byPartition.get(tp.partition) ?? []), r.offset])))
            ), { concurrency: "unbounded" }),
          Stream.take(60),
          Stream.runDrain
        )
        assert.deepStrictEqual([...byPartition.keys()].sort(), [0, 1, 2])
        for (const offsets of byPartition.values()) assert.deepStrictEqual(offsets, Array.from({ length: 20 }, (_, i) => BigInt(i)))
      })), 60_000)

  it.live("manual acks: only acknowledged records are committed", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("manual")
        const groupId = uniqueTopic("g")
        yield* createTopic(cluster, topic, { partitions: 1 })
        yield* produce(topic, 1, 10, "m")
        const scope = yield* Scope.make()
        const c = yield* Consumer.make({ groupId, topics: [topic], offsetReset: "earliest", ackMode: "manual", ...fast }).pipe(Scope.provide(scope))
        yield* c.records.pipe(Stream.take(10), Stream.filter((r) => r.offset < 6n), Stream.mapEffect(c.ack), Stream.runDrain)
        yield* c.commit
        assert.deepStrictEqual(yield* committedOf(c, [{ topic, partition: 0 }]), [6n])
        yield* Scope.close(scope, Exit.void)
      })), 60_000)

  it.live("a membership the coordinator refuses ends the records stream with its error", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("refused")
        yield* createTopic(cluster, topic, { partitions: 1 })
        // below the broker's group.min.session.timeout.ms (6 s)
        const exit = yield* Consumer.subscribe({ groupId: uniqueTopic("g"), topics: [topic], sessionTimeout: "1 second", heartbeatInterval: "200 millis" }).pipe(
          Stream.runDrain,
          Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error("the stream did not end")) }),
          Effect.exit
        )
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), "GroupRejected")
      })), 60_000)
})
