/**
 * The group consumer's engine (assignment changes drive the fetcher; at-least-once commits of
 * processed offsets) against the real broker, with a scripted membership: the test calls the
 * engine's rebalance handlers as the membership's hooks would, commits land in a map.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { resolveOptions } from "../../src/Consumer/PartitionConsumer.ts"
import type { ConsumerRecord, TopicPartition } from "../../src/Consumer/Record.ts"
import type { OffsetToCommit } from "../../src/Consumer/internal/commits.ts"
import type { EngineSettings, Membership } from "../../src/Consumer/internal/consumer.ts"
import { makeEngine } from "../../src/Consumer/internal/consumer.ts"
import { startFetcher } from "../../src/Consumer/internal/fetcher.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)
const key = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`

const setup = (settings: Partial<EngineSettings> = {}) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.Cluster
    const commits = new Map<string, bigint>()
    const log: Array<string> = []
    const membership: Membership<never> = {
      commit: (offsets: ReadonlyArray<OffsetToCommit>) =>
        Effect.sync(() => {
          for (const o of offsets) {
            commits.set(key(o), o.offset)
            log.push(`commit ${key(o)}@${o.offset}`)
          }
        }),
      committed: (partitions) => Effect.sync(() => partitions.map((tp) => ({ ...tp, offset: commits.get(key(tp)) ?? -1n })))
    }
    const fetcherSettings = yield* resolveOptions({ maxWait: "100 millis" })
    const fetcher = yield* startFetcher(cluster, fetcherSettings)
    const engine = yield* makeEngine(fetcher, membership, { ackMode: "onPull", autoCommitMs: 0, offsetReset: "earliest", maxPollRecords: 500, revokeTimeoutMs: 10_000, ...settings })
    /** What the membership's hooks do: the change, then the confirmation. */
    const change = (tag: "Assigned" | "Revoked" | "Lost", partitions: ReadonlyArray<TopicPartition>) =>
      (tag === "Assigned" ? engine.assigned(partitions) : tag === "Revoked" ? engine.revoked(partitions) : engine.lost(partitions)).pipe(
        Effect.andThen(Effect.sync(() => log.push(`done ${tag}`)))
      )
    return { commits, log, change, engine, fetcher }
  })

const withTopic = <A, E>(partitions: number, records: number, f: (topic: string) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>) =>
  Effect.scoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-commits-test" })
    return yield* Effect.gen(function*() {
      const topic = uniqueTopic("commits")
      yield* createTopic(cluster, topic, { partitions })
      const producer = yield* Producer.make()
      for (let p = 0; p < partitions; p++) {
        yield* producer.sendAll(Array.from({ length: records }, (_, i) => ({ topic, partition: p, value: utf8(`${p}-${i}`) })))
      }
      return yield* f(topic)
    }).pipe(Effect.provideService(Cluster.Cluster, cluster))
  }))

describe.concurrent("consumer engine: at-least-once commits (real broker, scripted membership)", () => {
  it.live("onPull: a chunk counts as processed once the stream pulls again; what a stream did not finish is delivered again", () =>
    withTopic(1, 10, (topic) =>
      Effect.gen(function*() {
        const tp = { topic, partition: 0 }
        const { engine, commits, change } = yield* setup()
        yield* change("Assigned", [tp])
        // the first pull returns all ten records as one chunk; failing at offset 5 acknowledges none
        const failed = yield* engine.records.pipe(
          Stream.mapEffect((r) => (r.offset === 5n ? Effect.fail("boom" as const) : Effect.void)),
          Stream.runDrain,
          Effect.flip
        )
        assert.strictEqual(failed, "boom")
        yield* engine.commit
        assert.strictEqual(commits.get(key(tp)), 0n) // the start position, nothing processed
        // the next stream gets the same records again
        const again = yield* engine.records.pipe(Stream.take(3), Stream.map((r) => r.offset), Stream.runCollect)
        assert.deepStrictEqual(again, [0n, 1n, 2n])

        // a reader that got through the chunk and waits for more: offsets 0..9 are processed
        const seen: Array<bigint> = []
        const reader = yield* engine.records.pipe(Stream.runForEach((r) => Effect.sync(() => seen.push(r.offset))), Effect.forkScoped)
        while (seen.length < 10) yield* Effect.sleep("20 millis")
        yield* Effect.sleep("100 millis")
        yield* engine.commit
        assert.strictEqual(commits.get(key(tp)), 10n)
        assert.deepStrictEqual(seen, Array.from({ length: 10 }, (_, i) => BigInt(i)))
        yield* Fiber.interrupt(reader)
      })))

  it.live("revoke: the partition stops, its processed offsets are committed before the revoke is confirmed; lost: nothing committed", () =>
    withTopic(3, 20, (topic) =>
      Effect.gen(function*() {
        const [p0, p1, p2] = [0, 1, 2].map((partition) => ({ topic, partition }))
        const { engine, commits, log, change } = yield* setup()
        yield* change("Assigned", [p0, p1, p2])
        const seen: Array<ConsumerRecord> = []
        const reader = yield* engine.records.pipe(Stream.runForEach((r) => Effect.sync(() => seen.push(r))), Effect.forkScoped)
        const of = (p: number) => seen.filter((r) => r.partition === p).length
        while (of(0) < 20 || of(1) < 20 || of(2) < 20) yield* Effect.sleep("20 millis")
        // the reader is waiting for more: every chunk it got is processed
        yield* change("Revoked", [p1])
        assert.deepStrictEqual(log.slice(-2), [`commit ${key(p1)}@20`, "done Revoked"])
        yield* change("Lost", [p2])
        assert.isFalse(commits.has(key(p2)))
        yield* engine.commit
        assert.strictEqual(commits.get(key(p0)), 20n)
        assert.isFalse(commits.has(key(p2)))
        // records produced now reach the reader for p0 only
        const producer = yield* Producer.make()
        yield* producer.sendAll([0, 1, 2].map((partition) => ({ topic, partition, value: utf8("new") })))
        while (of(0) < 21) yield* Effect.sleep("20 millis")
        yield* Effect.sleep("300 millis")
        assert.strictEqual(of(1), 20)
        assert.strictEqual(of(2), 20)
        // reassigned: p1 resumes from its committed offset
        yield* change("Assigned", [p1])
        while (of(1) < 21) yield* Effect.sleep("20 millis")
        assert.strictEqual(seen.filter((r) => r.partition === 1).at(-1)!.offset, 20n)
        yield* Fiber.interrupt(reader)
      })))

  it.live("manual acks: only acknowledged records are committed; closing commits", () =>
    withTopic(1, 10, (topic) =>
      Effect.gen(function*() {
        const tp = { topic, partition: 0 }
        const scope = yield* Scope.make()
        const { engine, commits, change } = yield* setup({ ackMode: "manual" }).pipe(Scope.provide(scope))
        yield* change("Assigned", [tp])
        yield* engine.records.pipe(
          Stream.take(10),
          Stream.mapEffect((r) => (r.offset < 4n ? engine.ack(r) : Effect.void)),
          Stream.runDrain
        )
        yield* engine.commit
        assert.strictEqual(commits.get(key(tp)), 4n)
        yield* engine.records.pipe(Stream.take(1), Stream.runDrain).pipe(Effect.timeoutOrElse({ duration: "300 millis", orElse: () => Effect.void }))
        yield* engine.ack([{ topic, partition: 0, offset: 6n } as ConsumerRecord])
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual(commits.get(key(tp)), 7n)
      })))

  it.live("partitioned: one stream per assigned partition, ending on revoke; no committed offset with reset \"none\" fails that partition", () =>
    withTopic(2, 5, (topic) =>
      Effect.gen(function*() {
        const [p0, p1] = [0, 1].map((partition) => ({ topic, partition }))
        const { engine, commits, change } = yield* setup({ offsetReset: "none" })
        commits.set(key(p0), 2n)
        const results = new Map<string, Exit.Exit<ReadonlyArray<bigint>, unknown>>()
        const outer = yield* engine.partitioned.pipe(
          Stream.runForEach(([tp, records]) =>
            records.pipe(
              Stream.map((r) => r.offset),
              Stream.runCollect,
              Effect.exit,
              Effect.tap((exit) => Effect.sync(() => results.set(key(tp), exit))),
              Effect.forkScoped
            )),
          Effect.forkScoped
        )
        yield* change("Assigned", [p0, p1])
        while (!results.has(key(p1))) yield* Effect.sleep("20 millis")
        const e1 = results.get(key(p1))!
        assert.isTrue(Exit.isFailure(e1) && String(Cause.squash(e1.cause)).includes("NoOffsetForPartition"))
        yield* Effect.sleep("500 millis")
        yield* change("Revoked", [p0])
        while (!results.has(key(p0))) yield* Effect.sleep("20 millis")
        const e0 = results.get(key(p0))!
        assert.isTrue(Exit.isSuccess(e0))
        if (Exit.isSuccess(e0)) assert.deepStrictEqual(e0.value, [2n, 3n, 4n])
        assert.strictEqual(commits.get(key(p0)), 5n)
        yield* Fiber.interrupt(outer)
      })))

  it.live("revoke waits until the handed records are processed (onPull: the next pull), then commits them; nothing is handed out after", () =>
    withTopic(1, 10, (topic) =>
      Effect.gen(function*() {
        const tp = { topic, partition: 0 }
        const { engine, commits, change, log } = yield* setup({ maxPollRecords: 4 })
        yield* change("Assigned", [tp])
        const seen: Array<bigint> = []
        let release = false
        const reader = yield* engine.records.pipe(
          Stream.runForEach((r) =>
            Effect.gen(function*() {
              seen.push(r.offset)
              // the first chunk is still being processed when the revocation starts
              while (!release) yield* Effect.sleep("10 millis")
              log.push(`processed ${r.offset}`)
            })),
          Effect.forkScoped
        )
        while (seen.length === 0) yield* Effect.sleep("10 millis")
        const revoking = yield* Effect.forkScoped(change("Revoked", [tp]))
        yield* Effect.sleep("300 millis")
        assert.isFalse(log.includes("done Revoked"), "the revocation waits for the handed chunk")
        release = true
        yield* Fiber.join(revoking)
        // the chunk of 4 handed out was processed, then committed; nothing after it was handed out
        assert.deepStrictEqual(seen, [0n, 1n, 2n, 3n])
        assert.strictEqual(commits.get(key(tp)), 4n)
        assert.isTrue(log.indexOf("processed 3") < log.indexOf("commit " + key(tp) + "@4"))
        yield* Fiber.interrupt(reader)
      })))

  it.live("manual acks: revoke waits for the acks of what was handed, then commits them", () =>
    withTopic(1, 10, (topic) =>
      Effect.gen(function*() {
        const tp = { topic, partition: 0 }
        const { engine, commits, change, log } = yield* setup({ ackMode: "manual" })
        yield* change("Assigned", [tp])
        const handed: Array<ConsumerRecord> = []
        const reader = yield* engine.records.pipe(Stream.runForEach((r) => Effect.sync(() => handed.push(r))), Effect.forkScoped)
        while (handed.length < 10) yield* Effect.sleep("10 millis")
        const revoking = yield* Effect.forkScoped(change("Revoked", [tp]))
        yield* Effect.sleep("300 millis")
        assert.isFalse(log.includes("done Revoked"), "the revocation waits for the acks")
        yield* engine.ack(handed)
        yield* Fiber.join(revoking)
        assert.strictEqual(commits.get(key(tp)), 10n)
        yield* Fiber.interrupt(reader)
      })))

  it.live("a revocation that times out releases the partition: its late acks fail with PartitionRevoked and are not committed", () =>
    withTopic(1, 10, (topic) =>
      Effect.gen(function*() {
        const tp = { topic, partition: 0 }
        const { engine, commits, change } = yield* setup({ ackMode: "manual", revokeTimeoutMs: 300 })
        yield* change("Assigned", [tp])
        const handed: Array<ConsumerRecord> = []
        const reader = yield* engine.records.pipe(
          Stream.runForEach((r) => Effect.sync(() => handed.push(r))),
          Effect.forkScoped
        )
        while (handed.length < 10) yield* Effect.sleep("10 millis")
        yield* engine.ack(handed.slice(0, 3))
        yield* change("Revoked", [tp]) // waits 300 ms for acks that never come
        assert.strictEqual(commits.get(key(tp)), 3n)
        const late = yield* Effect.flip(engine.ack(handed[5]))
        assert.strictEqual(late._tag, "PartitionRevoked")
        yield* engine.commit
        assert.strictEqual(commits.get(key(tp)), 3n)
        yield* Fiber.interrupt(reader)
      })))
})
