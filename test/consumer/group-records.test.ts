/**
 * A group of 3 consumers over 6 partitions reads 300,000 records produced concurrently; one
 * member crashes (stops heartbeating without leaving): its partitions move to the others after
 * the session timeout and nothing is lost — duplicates only where the crashed member had been.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const waitFor = (cond: () => boolean, what: string, timeout = 90_000) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("50 millis")
  }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

describe("Consumer group over a real broker", () => {
  it.live("3 members, 6 partitions, 300,000 records produced concurrently, one member crashes: every record processed at least once", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-group-records" })
      const topic = uniqueTopic("group-records")
      const groupId = uniqueTopic("g")
      yield* createTopic(cluster, topic, { partitions: 6 }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      const total = 300_000
      const producer = yield* Producer.make({ linger: "5 millis", batchSize: 65536 }).pipe(Effect.provideService(Cluster.Cluster, cluster))
      const te = new TextEncoder()
      const producing = yield* Effect.forkChild(Effect.forEach(Array.from({ length: total / 5000 }, (_, c) => c), (c) =>
        producer.sendAll(Array.from({ length: 5000 }, (_, j) => ({ topic, value: te.encode(String(c * 5000 + j)) }))), { discard: true }))

      // each member with its own Cluster (own connections), as separate processes would have
      const seen = new Map<string, number>()
      const byMember = [0, 0, 0]
      const member = (i: number) =>
        Effect.gen(function*() {
          const own = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-group-records-${i}` })
          const consumer = yield* Consumer.make({
            groupId, topics: [topic], offsetReset: "earliest",
            heartbeatInterval: "300 millis", sessionTimeout: "6 seconds", autoCommitInterval: "500 millis", maxWait: "100 millis"
          }).pipe(Effect.provideService(Cluster.Cluster, own))
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
      const members = [yield* member(0), yield* member(1), yield* member(2)]
      yield* waitFor(() => members.every((m) => m.consumer.assignment().length === 2), "a 2/2/2 assignment")
      yield* waitFor(() => seen.size >= 100_000, "100,000 records")

      // crash member 2: no more heartbeats, no LeaveGroup, no commit, nothing processed
      const crashed = members[2].consumer.assignment().map((tp) => tp.partition)
      yield* Fiber.interrupt(members[2].fiber)
      yield* members[2].consumer.membership.abandon
      yield* Fiber.join(producing)
      yield* waitFor(() => members[0].consumer.assignment().length + members[1].consumer.assignment().length === 6, "the crashed member's partitions to move")
      yield* waitFor(() => seen.size >= total, `all ${total} records (have ${seen.size})`)

      let duplicated = 0
      let duplicatedElsewhere = 0
      for (const [k, n] of seen) {
        if (n > 1) {
          duplicated++
          if (!crashed.includes(Number(k.split("@")[0]))) duplicatedElsewhere++
        }
      }
      console.log(`[group-records] processed=${seen.size} by member=${byMember.join("/")} duplicated=${duplicated} (outside the crashed member's partitions: ${duplicatedElsewhere}) crashed partitions=${crashed.join(",")}`)
      assert.strictEqual(seen.size, total) // every offset 0..end of every partition, at least once
      assert.strictEqual(duplicatedElsewhere, 0)
      for (const m of members.slice(0, 2)) yield* Fiber.interrupt(m.fiber)
    })), 180_000)
})
