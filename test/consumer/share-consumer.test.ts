/**
 * Share groups (KIP-932) over the real broker: kpax share consumers join a share group, read
 * records under acquisition locks and acknowledge them (accept / release / reject).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import type { ClusterService } from "../../src/Cluster/Cluster.ts"
import * as ShareConsumer from "../../src/Consumer/ShareConsumer.ts"
import { errorForCode } from "../../src/Protocol/Errors.ts"
import { IncrementalAlterConfigs } from "../../src/Protocol/generated/IncrementalAlterConfigs.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const te = new TextEncoder()
const td = new TextDecoder()

const waitFor = (cond: () => boolean, what: string, timeout = 45_000) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("50 millis")
  }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

/** Sets share-group configs (resource type GROUP = 32) with IncrementalAlterConfigs. */
const setGroupConfigs = (cluster: ClusterService, groupId: string, configs: Record<string, string>) =>
  Effect.gen(function*() {
    const { broker } = yield* cluster.anyBroker
    const res = yield* broker.request(IncrementalAlterConfigs, {
      resources: [{
        resourceType: 32,
        resourceName: groupId,
        configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value }))
      }],
      validateOnly: false
    })
    const r = res.responses[0]
    if (r.errorCode !== 0) return yield* Effect.die(errorForCode(r.errorCode, r.errorMessage))
  })

/**
 * Produces `count` records (values "0".."count-1", record i to partition i % partitions) with raw
 * Produce v12 requests (by topic name) to the partitions' leaders.
 */
const produce = (cluster: ClusterService, topic: string, count: number, partitions: number, from = 0) =>
  Effect.gen(function*() {
    for (let c = 0; c < count; c += 3000) {
      const n = Math.min(3000, count - c)
      for (let p = 0; p < partitions; p++) {
        const values: Array<{ value: Uint8Array }> = []
        for (let j = 0; j < n; j++) if ((c + j) % partitions === p) values.push({ value: te.encode(String(from + c + j)) })
        if (values.length === 0) continue
        const leader = yield* cluster.leader(topic, p)
        const res = yield* leader.broker.request(Produce, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 30_000,
          topicData: [{ name: topic, partitionData: [{ index: p, records: encodeRecordBatchSync(values) }] }]
        }, { version: Math.min(12, yield* leader.broker.versionFor(Produce)) })
        const code = res.responses[0].partitionResponses[0].errorCode
        if (code !== 0) return yield* Effect.die(errorForCode(code))
      }
    }
  })

describe("ShareConsumer over a real broker", () => {
  it.live("two members of one share group over 3 partitions: every record accepted exactly once", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-share-1" })
      const topic = uniqueTopic("share-two")
      const groupId = uniqueTopic("sg")
      yield* createTopic(cluster, topic, { partitions: 3 })
      yield* setGroupConfigs(cluster, groupId, { "share.auto.offset.reset": "earliest" })
      const total = 6000
      yield* produce(cluster, topic, total, 3)

      const seen = new Map<string, number>()
      const byMember = [0, 0]
      const member = (i: number) =>
        Effect.gen(function*() {
          const own = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-share-1-${i}` })
          const consumer = yield* ShareConsumer.make({ groupId, topics: [topic], maxWait: "200 millis", maxRecords: 200 })
            .pipe(Effect.provideService(Cluster.Cluster, own))
          const fiber = yield* consumer.records.pipe(
            Stream.runForEach((r) => Effect.sync(() => {
              const k = `${r.partition}@${r.offset}`
              seen.set(k, (seen.get(k) ?? 0) + 1)
              byMember[i]++
            })),
            Effect.forkChild
          )
          return { consumer, fiber }
        })
      const members = [yield* member(0), yield* member(1)]
      yield* waitFor(() => seen.size >= total, `all ${total} records (have ${seen.size})`)
      // the last chunks are accepted on the next pull: give the streams a moment, then commit
      yield* Effect.sleep("500 millis")
      const results = yield* Effect.forEach(members, (m) => m.consumer.commit)
      let duplicated = 0
      for (const n of seen.values()) if (n > 1) duplicated++
      console.log(`[share-two] seen=${seen.size} by member=${byMember.join("/")} duplicated=${duplicated} stats=${JSON.stringify(members.map((m) => m.consumer.stats()))}`)
      assert.strictEqual(seen.size, total)
      assert.strictEqual(duplicated, 0)
      for (const r of results.flat()) assert.strictEqual(r.error, undefined)
      for (const m of members) yield* Fiber.interrupt(m.fiber)
    })), 60_000)
})
