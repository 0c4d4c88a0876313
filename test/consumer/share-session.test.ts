/**
 * Share sessions over the real broker: a session whose epoch goes wrong (INVALID_SHARE_SESSION_EPOCH)
 * is reopened by the retry policy and reading carries on, acknowledgements included; and the
 * `ShareConsumer.layer` form; a group id another kind of group holds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { startShareEngine } from "../../src/Consumer/internal/shareEngine.ts"
import * as ShareConsumer from "../../src/Consumer/ShareConsumer.ts"
import { errorForCode } from "../../src/Protocol/Errors.ts"
import { ConsumerGroupHeartbeat } from "../../src/Protocol/generated/ConsumerGroupHeartbeat.ts"
import { IncrementalAlterConfigs } from "../../src/Protocol/generated/IncrementalAlterConfigs.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const te = new TextEncoder()

/** A topic of `count` records on one partition, and a share group reading it from the start. */
const setup = (cluster: Cluster.ClusterService, count: number) =>
  Effect.gen(function*() {
    const topic = uniqueTopic("share-session")
    const groupId = uniqueTopic("sg")
    yield* createTopic(cluster, topic, { partitions: 1 })
    const any = yield* cluster.anyBroker
    yield* any.broker.request(IncrementalAlterConfigs, {
      resources: [{ resourceType: 32, resourceName: groupId, configs: [{ name: "share.auto.offset.reset", configOperation: 0, value: "earliest" }] }],
      validateOnly: false
    })
    const leader = yield* cluster.leader(topic, 0)
    for (let c = 0; c < count; c += 500) {
      const res = yield* leader.broker.request(Produce, {
        transactionalId: null, acks: -1, timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatchSync(Array.from({ length: 500 }, (_, j) => ({ value: te.encode(String(c + j)) }))) }] }]
      }, { version: 12 })
      const code = res.responses[0].partitionResponses[0].errorCode
      if (code !== 0) return yield* Effect.die(errorForCode(code))
    }
    return { topic, groupId }
  })

describe("share sessions", () => {
  it.live("a wrong session epoch: the session is reopened and every record is still delivered once", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-share-session" })
      const total = 2000
      const { topic, groupId } = yield* setup(cluster, total)
      const { engine } = yield* startShareEngine(cluster, {
        groupId, topics: [topic], rackId: null, ackMode: "implicit", maxWaitMs: 200, minBytes: 1, maxBytes: 1 << 20,
        maxRecords: 100, batchSize: 100, heartbeatIntervalMs: 5000, retryBackoffMs: 100, requestTimeoutMs: 10_000,
        closeTimeoutMs: 2000, checkCrcs: true
      })
      const seen = new Map<string, number>()
      let corrupted = false
      while (seen.size < total) {
        const chunk = yield* engine.pull()
        for (const r of chunk) seen.set(`${r.partition}@${r.offset}`, (seen.get(r.partition + "@" + r.offset) ?? 0) + 1)
        engine.acceptUnacked(chunk)
        if (!corrupted && seen.size >= 500) {
          corrupted = true
          for (const n of engine.nodes.values()) n.epoch += 7
          // a commit right after the session broke (records still buffered) completes once it is reopened
          yield* Effect.sleep("300 millis")
          const early = yield* engine.commit().pipe(Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.die(new Error("commit after a session reset hangs")) }))
          for (const r of early) assert.strictEqual(r.error, undefined)
        }
      }
      const results = yield* engine.commit()
      const duplicated = [...seen.values()].filter((n) => n > 1).length
      console.log(`[share-session] seen=${seen.size} duplicated=${duplicated} stats=${JSON.stringify(engine.stats())}`)
      assert.strictEqual(seen.size, total)
      assert.strictEqual(duplicated, 0)
      assert.isTrue(engine.stats().sessionErrors >= 1)
      for (const r of results) assert.strictEqual(r.error, undefined)
    })), 60_000)

  it.live("ShareConsumer.layer", () =>
    Effect.gen(function*() {
      const total = 500
      const { topic, groupId } = yield* Effect.scoped(Effect.gen(function*() {
        return yield* setup(yield* Cluster.make({ bootstrap: brokers() }), total)
      }))
      const count = yield* Effect.gen(function*() {
        const consumer = yield* ShareConsumer.ShareConsumer
        const fiber = yield* consumer.records.pipe(Stream.take(total), Stream.runCount, Effect.forkChild)
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(ShareConsumer.layer({ groupId, topics: [topic] }).pipe(Layer.provide(Cluster.layer({ bootstrap: brokers() })))))
      assert.strictEqual(count, total)
    }), 60_000)
  it.live("a group id taken by a consumer group: the share consumer's stream fails with ShareGroupRejected", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-share-rejected" })
      const groupId = uniqueTopic("cg")
      const topic = uniqueTopic("share-rejected")
      yield* createTopic(cluster, topic, { partitions: 1 })
      // a KIP-848 consumer group member takes the id
      const c = yield* cluster.coordinator({ type: "group", key: groupId })
      const joined = yield* c.broker.request(ConsumerGroupHeartbeat, {
        groupId, memberId: "kpax-share-rejected-member", memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: [topic], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: []
      })
      assert.strictEqual(joined.errorCode, 0)
      const consumer = yield* ShareConsumer.make({ groupId, topics: [topic] }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      const error = yield* consumer.records.pipe(Stream.runDrain, Effect.flip, Effect.timeout("20 seconds"))
      console.log(`[share-rejected] ${error._tag}: ${error.message}`)
      assert.strictEqual(error._tag, "ShareGroupRejected")
    })), 60_000)
})
