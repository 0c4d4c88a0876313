/**
 * The scenario harness: a scenario is an Effect needing a `Cluster` (and a Scope); an environment
 * runs it against a fresh in-memory cluster or the real test broker. Helpers create topics and
 * read partitions back with kpax's own consumer (and with raw Fetch requests, for batch-level
 * checks), the same way on both.
 */
import { Context, Effect, Exit, Result, Schedule, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import type { ConsumerRecord } from "../../src/Consumer/PartitionConsumer.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import { errorForCode, kafkaError } from "../../src/Protocol/Errors.ts"
import { CreateTopics } from "../../src/Protocol/generated/CreateTopics.ts"
import { Fetch } from "../../src/Protocol/generated/Fetch.ts"
import { ListOffsets } from "../../src/Protocol/generated/ListOffsets.ts"
import { OffsetFetch } from "../../src/Protocol/generated/OffsetFetch.ts"
import { decodeRecordBatchesSync } from "../../src/Protocol/RecordBatch.ts"
import type { RecordBatch } from "../../src/Protocol/RecordBatch.ts"

/**
 * More clients of the same environment, each with connections of its own (as separate processes:
 * group members must not share one, a broker answers a connection's requests one at a time).
 */
export class Clients extends Context.Service<Clients, {
  readonly newCluster: Effect.Effect<Cluster.ClusterService, never, Scope.Scope>
}>()("kpax/test/scenarios/Clients") {}

export interface Scenario {
  readonly name: string
  readonly run: Effect.Effect<void, unknown, Cluster.Cluster | Clients | Scope.Scope>
}

export const scenario = (name: string, run: Effect.Effect<void, unknown, Cluster.Cluster | Clients | Scope.Scope>): Scenario => ({ name, run })

/** Runs `effect` with another client's Cluster in context. */
export const asOtherClient = <A, E>(effect: Effect.Effect<A, E, Cluster.Cluster | Scope.Scope>) =>
  Effect.gen(function*() {
    const clients = yield* Clients
    const cluster = yield* clients.newCluster
    return yield* effect.pipe(Effect.provideService(Cluster.Cluster, cluster))
  })

/** Where scenarios run: a function giving a scenario a fresh `Cluster`. */
export interface Env {
  readonly name: string
  readonly run: (s: Scenario) => Effect.Effect<void, unknown>
}

const te = new TextEncoder()
const td = new TextDecoder()
export const utf8 = (s: string) => te.encode(s)
export const str = (b: Uint8Array | null) => (b === null ? null : td.decode(b))

let counter = 0
export const uniqueTopic = (prefix: string): string =>
  `sc-${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`

/**
 * Creates a topic with CreateTopics and waits until every partition has a leader that serves it
 * (a real broker answers NOT_LEADER_OR_FOLLOWER for a moment after its metadata shows a leader).
 */
export const createTopic = (
  name: string,
  options: { readonly partitions?: number; readonly replicationFactor?: number; readonly configs?: Record<string, string> } = {}
) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.Cluster
    const { broker } = yield* cluster.anyBroker
    const res = yield* broker.request(CreateTopics, {
      topics: [{
        name,
        numPartitions: options.partitions ?? 1,
        replicationFactor: options.replicationFactor ?? 1,
        assignments: [],
        configs: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value }))
      }],
      timeoutMs: 30_000
    })
    const r = res.topics[0]
    if (r.errorCode !== 0) return yield* Effect.fail(errorForCode(r.errorCode, r.errorMessage)!)
    yield* Effect.gen(function*() {
      const s = yield* cluster.refresh([name])
      const t = s.topics.get(name)
      if (t === undefined || t.errorCode !== 0 || t.available.length < (options.partitions ?? 1)) return yield* Effect.fail("not ready" as const)
    }).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }))
    yield* Effect.forEach(Array.from({ length: options.partitions ?? 1 }, (_, p) => p), (p) => endOffset(name, p), { discard: true })
  })

/** The end offset of a partition (high watermark, or last stable offset for read_committed), from its leader. */
export const endOffset = (topic: string, partition: number, isolation: "read_committed" | "read_uncommitted" = "read_uncommitted") =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.Cluster
    return yield* cluster.withLeader(topic, partition, (leader) =>
      Effect.gen(function*() {
        const res = yield* leader.broker.request(ListOffsets, {
          replicaId: -1,
          isolationLevel: isolation === "read_committed" ? 1 : 0,
          topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }]
        })
        const p = res.topics[0].partitions[0]
        if (p.errorCode !== 0) return yield* Effect.fail(errorForCode(p.errorCode)!)
        return p.offset
      }))
  })

/**
 * Waits until no transaction is open or still being ended on the partitions (last stable offset
 * = high watermark): Kafka writes a transaction's markers after EndTxn has answered.
 */
export const awaitStable = (topic: string, partitions: ReadonlyArray<number>) =>
  Effect.forEach(partitions, (p) =>
    Effect.gen(function*() {
      const [lso, hw] = [yield* endOffset(topic, p, "read_committed"), yield* endOffset(topic, p)]
      if (lso !== hw) return yield* Effect.fail(`${topic}-${p}: last stable offset ${lso} < high watermark ${hw}`)
    }).pipe(Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 })), { discard: true })

/** A group's committed offsets, stable ones only (a transaction's offsets appear once its markers are written). */
export const committedOffsets = (group: string, topic: string, partitions: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.Cluster
    const res = yield* cluster.withCoordinator({ type: "group", key: group }, (c) =>
      c.broker.request(OffsetFetch, { groupId: group, topics: [{ name: topic, partitionIndexes: [...partitions] }], requireStable: true }, { version: 7 }))
    if (res.errorCode !== 0) return yield* Effect.fail(errorForCode(res.errorCode)!)
    const ps = res.topics[0]?.partitions ?? []
    if (ps.some((p) => p.errorCode === 88)) return yield* Effect.fail("UNSTABLE_OFFSET_COMMIT" as const)
    return ps.map((p) => p.committedOffset)
  }).pipe(Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 }))

/**
 * Every record of the partitions from the start up to their current end, read with kpax's
 * PartitionConsumer (read_committed hides aborted transactions).
 */
export const readAll = (
  topic: string,
  partitions: ReadonlyArray<number>,
  options: { readonly isolation?: "read_committed" | "read_uncommitted" } = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const isolation = options.isolation ?? "read_uncommitted"
    const ends = yield* Effect.forEach(partitions, (p) => endOffset(topic, p, isolation))
    const consumer = yield* PartitionConsumer.make({ isolationLevel: isolation, maxWait: "100 millis" })
    yield* consumer.assign(partitions.map((partition) => ({ topic, partition, from: "earliest" as const })))
    const items: Array<ConsumerRecord> = []
    const fiber = yield* consumer.records.pipe(Stream.runForEach((r) => Effect.sync(() => items.push(r))), Effect.forkScoped)
    const done = () => partitions.every((p, i) => (consumer.position({ topic, partition: p }) ?? -1n) >= ends[i])
    yield* Effect.gen(function*() {
      while (!done()) {
        const exit = fiber.pollUnsafe()
        if (exit !== undefined) return yield* Effect.die(new Error(`the consumer stopped: ${Exit.isFailure(exit) ? String(exit.cause) : "ended"}`))
        yield* Effect.sleep("10 millis")
      }
      // a position moves when a chunk is pulled, before the stream has handed all of it to the
      // collector (seen: the last 723 records of a partition missing): wait until the collector,
      // runnable in this same thread, stopped adding
      for (let n = -1; n !== items.length;) {
        n = items.length
        yield* Effect.sleep("20 millis")
      }
    }).pipe(Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error(`readAll timed out with ${items.length} records`)) }))
    return items
  }))

/** The raw batches of a partition from its leader (one Fetch from `offset`, control batches included). */
export const fetchBatches = (topic: string, partition: number, offset = 0n, isolation: 0 | 1 = 0) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.Cluster
    return yield* cluster.withLeader(topic, partition, (leader) =>
      Effect.gen(function*() {
        const version = yield* leader.broker.versionFor(Fetch)
        const t = cluster.snapshot().topics.get(topic)!
        const res = yield* leader.broker.request(Fetch, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 10_000_000,
          isolationLevel: isolation,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{
            ...(version >= 13 ? { topicId: t.topicId } : { topic }),
            partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 10_000_000 }]
          }],
          forgottenTopicsData: [],
          rackId: ""
        })
        const p = res.responses[0].partitions[0]
        if (p.errorCode !== 0) return yield* Effect.fail(errorForCode(p.errorCode)!)
        const decoded = decodeRecordBatchesSync(p.records)
        if (Result.isFailure(decoded)) return yield* Effect.die(decoded.failure)
        return { batches: decoded.success as ReadonlyArray<RecordBatch>, partition: p }
      }))
  })

/** Fails with `message` unless `cond`. */
export const check = (cond: boolean, message: string) => (cond ? Effect.void : Effect.die(new Error(message)))

export const unknownTopic = kafkaError("UNKNOWN_TOPIC_OR_PARTITION")

/** A fresh real-broker `Cluster` per scenario. */
export const realEnv = (bootstrap: () => ReadonlyArray<string>): Env => ({
  name: "real broker",
  run: (s) =>
    Effect.scoped(Effect.gen(function*() {
      const newCluster = Effect.orDie(Cluster.make({ bootstrap: bootstrap(), clientId: "kpax-scenarios" }))
      const cluster = yield* newCluster
      yield* s.run.pipe(Effect.provideService(Cluster.Cluster, cluster), Effect.provideService(Clients, { newCluster }))
    }))
})
