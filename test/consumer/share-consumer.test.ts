/**
 * Share groups (KIP-932) over the real broker only: the example of docs/share-groups.md at scale,
 * Java's console share consumer as a third member, and closing. The share-group behaviour (accept once, release /
 * reject / delivery limit, abandoned and stalled members, expired locks, renew) is in
 * test/scenarios/shareScenarios.ts, one body run on the real broker and the in-memory cluster.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import type { ClusterService } from "../../src/Cluster/Cluster.ts"
import * as ShareConsumer from "../../src/Consumer/ShareConsumer.ts"
import { errorForCode } from "../../src/Protocol/Errors.ts"
import { IncrementalAlterConfigs } from "../../src/Protocol/generated/IncrementalAlterConfigs.ts"
import { ShareGroupDescribe } from "../../src/Protocol/generated/ShareGroupDescribe.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"
import { bootstrapServers, brokers } from "../kafka/env.ts"
import { ensureJars, runJavaTool } from "../kafka/harness.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const te = new TextEncoder()

const waitFor = (cond: () => boolean, what: string | (() => string), timeout = 45_000) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("50 millis")
  }).pipe(Effect.timeoutOrElse({
    duration: timeout,
    orElse: () => Effect.die(new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`))
  }))

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
  it.live("the share-groups example: explicit acknowledgements, a failed record released and done on its second delivery", () =>
    Effect.gen(function*() {
      const bootstrap = brokers()
      const topic = uniqueTopic("share-readme")
      const groupId = uniqueTopic("sg")
      const total = 2000
      yield* Effect.scoped(Effect.gen(function*() {
        const cluster = yield* Cluster.make({ bootstrap, clientId: "kpax-share-readme" })
        yield* createTopic(cluster, topic, { partitions: 3 })
        yield* setGroupConfigs(cluster, groupId, { "share.auto.offset.reset": "earliest" })
        yield* produce(cluster, topic, total, 3)
      }))

      // ---- docs/share-groups.md's example, at scale (2,000 jobs) ----
      const done: Array<string> = []
      // every tenth job fails on its first delivery
      const handle = (record: ShareConsumer.ShareRecord) =>
        Effect.suspend(() => {
          const job = new TextDecoder().decode(record.value!)
          return record.deliveryCount === 1 && Number(job) % 10 === 0
            ? Effect.fail(new Error(`job ${job} failed`))
            : Effect.sync(() => done.push(job))
        })

      const program = Effect.gen(function*() {
        const consumer = yield* ShareConsumer.make({ groupId, topics: [topic], ackMode: "explicit" })
        yield* consumer.records.pipe(
          Stream.mapEffect((record) =>
            handle(record).pipe(
              Effect.andThen(record.ack("accept")),
              // back to the queue (delivered again, maybe to another member), or dead for good
              Effect.catch(() => record.ack(record.deliveryCount < 3 ? "release" : "reject"))
            )),
          Stream.take(total + total / 10), // every job once, plus the second deliveries
          Stream.runDrain
        )
        return yield* consumer.commit // waits for the broker to take the acknowledgements
      }).pipe(Effect.scoped, Effect.provide(Cluster.layer({ bootstrap })))

      const results = yield* program
      // ---- end of the example ----

      assert.strictEqual(done.length, total)
      assert.strictEqual(new Set(done).size, total)
      for (const r of results) assert.strictEqual(r.error, undefined)
    }), 60_000)
  it.live("Java's console share consumer as a third member with two kpax members: every record exactly once", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-share-java" })
      const topic = uniqueTopic("share-java")
      const groupId = uniqueTopic("sg")
      yield* createTopic(cluster, topic, { partitions: 3 })
      yield* setGroupConfigs(cluster, groupId, { "share.auto.offset.reset": "earliest" })
      yield* Effect.promise(() => ensureJars())
      const total = 6000

      const seen = new Map<string, number>()
      const byMember = [0, 0]
      const member = (i: number) =>
        Effect.gen(function*() {
          const own = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-share-java-${i}` })
          const consumer = yield* ShareConsumer.make({ groupId, topics: [topic], maxWait: "200 millis", maxRecords: 100 })
            .pipe(Effect.provideService(Cluster.Cluster, own))
          const fiber = yield* consumer.records.pipe(
            // a little work per record, so that the Java member gets its share
            Stream.mapEffect((r) => Effect.as(Effect.sleep("1 millis"), r)),
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
      const java = yield* Effect.promise(() => runJavaTool("kafka-console-share-consumer", [
        "--bootstrap-server", bootstrapServers(),
        "--topic", topic,
        "--group", groupId,
        "--timeout-ms", "8000",
        "--formatter-property", "print.partition=true",
        "--formatter-property", "print.offset=true"
      ], { timeoutMs: 55_000 })).pipe(Effect.forkChild)
      // produce once the Java member is in the group
      yield* Effect.gen(function*() {
        for (;;) {
          const c = yield* cluster.coordinator({ type: "group", key: groupId })
          const res = yield* c.broker.request(ShareGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false })
          if ((res.groups[0]?.members.length ?? 0) >= 3) return
          yield* Effect.sleep("200 millis")
        }
      }).pipe(Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.die(new Error("the Java member did not join")) }))
      for (let c = 0; c < total; c += 500) {
        yield* produce(cluster, topic, 500, 3, c)
        yield* Effect.sleep("100 millis")
      }
      const result = yield* Fiber.join(java)
      let javaCount = 0
      for (const line of result.stdout.split("\n")) {
        const m = /^Partition:(\d+)\tOffset:(\d+)\t/.exec(line)
        if (m === null) continue
        const k = `${m[1]}@${m[2]}`
        seen.set(k, (seen.get(k) ?? 0) + 1)
        javaCount++
      }
      yield* waitFor(() => seen.size >= total, () => `all ${total} records (have ${seen.size})`, 10_000)
      let duplicated = 0
      for (const n of seen.values()) if (n > 1) duplicated++
      console.log(`[share-java] seen=${seen.size} kpax=${byMember.join("/")} java=${javaCount} duplicated=${duplicated} java exit=${result.code}`)
      assert.strictEqual(seen.size, total)
      assert.strictEqual(duplicated, 0)
      assert.isTrue(javaCount > 0, `the Java member got records (stderr: ${result.stderr.slice(-500)})`)
      for (const m of members) yield* Fiber.interrupt(m.fiber)
    })), 90_000)
  it.live("closing: acknowledged records accepted, fetched and unacknowledged ones released at once (not after the lock), the member leaves", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-share-close" })
      const topic = uniqueTopic("share-close")
      const groupId = uniqueTopic("sg")
      yield* createTopic(cluster, topic, { partitions: 1 })
      yield* setGroupConfigs(cluster, groupId, { "share.auto.offset.reset": "earliest" })
      const total = 300
      yield* produce(cluster, topic, total, 1)

      // member A accepts the first 50 records it is handed, then closes
      const accepted = new Set<string>()
      const handedToA = yield* Effect.scoped(Effect.gen(function*() {
        const own = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-share-close-a" })
        const a = yield* ShareConsumer.make({ groupId, topics: [topic], ackMode: "explicit", maxWait: "200 millis" })
          .pipe(Effect.provideService(Cluster.Cluster, own))
        yield* a.records.pipe(
          Stream.take(50),
          Stream.runForEach((r) => Effect.andThen(Effect.sync(() => accepted.add(`${r.partition}@${r.offset}`)), r.ack("accept")))
        )
        return a.stats().recordsDelivered
      }))
      const closedAt = Date.now()

      const own = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-share-close-b" })
      const b = yield* ShareConsumer.make({ groupId, topics: [topic], maxWait: "200 millis" }).pipe(Effect.provideService(Cluster.Cluster, own))
      const seenByB = new Map<string, number>()
      const fiber = yield* b.records.pipe(
        Stream.runForEach((r) => Effect.sync(() => seenByB.set(`${r.partition}@${r.offset}`, r.deliveryCount))),
        Effect.forkChild
      )
      yield* waitFor(() => seenByB.size >= total - 50, () => `member B to get the ${total - 50} records A did not accept (has ${seenByB.size})`, 20_000)
      const tookMs = Date.now() - closedAt
      yield* Effect.sleep("1 second")
      const releasedByA = [...seenByB.values()].filter((n) => n >= 2).length
      console.log(`[share-close] A was handed ${handedToA}, accepted ${accepted.size}; B got ${seenByB.size} (${releasedByA} released by A) ${tookMs} ms after A closed`)
      assert.strictEqual(accepted.size, 50)
      assert.strictEqual(seenByB.size, total - 50)
      for (const k of accepted) assert.isFalse(seenByB.has(k), `accepted record ${k} not delivered again`)
      assert.strictEqual(releasedByA, handedToA - 50)
      assert.isTrue(tookMs < 15_000, `released at close, not after the 30 s lock (${tookMs} ms)`)
      yield* Fiber.interrupt(fiber)
    })), 60_000)
})
