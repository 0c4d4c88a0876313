/**
 * Leader failover on a real 3-node cluster: the Cluster's retry policy rediscovers leaders
 * (issue: connection and cluster), and the idempotent producer loses and duplicates nothing when
 * the partition's leader is killed mid-run (issue: producer).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Cluster from "../src/Cluster/Cluster.ts"
import { ListOffsets } from "../src/Protocol/generated/ListOffsets.ts"
import { errorForCode } from "../src/Protocol/Errors.ts"
import * as Producer from "../src/Producer/Producer.ts"
import type { KafkaHandle } from "./kafka/harness.ts"
import { startCluster } from "./kafka/harness.ts"
import { consumeWithJava, createTopic, uniqueTopic } from "./util/kafka.ts"

let kafka: KafkaHandle

beforeAll(async () => {
  kafka = await startCluster(3)
}, 180_000)

afterAll(async () => {
  await kafka?.stop()
}, 60_000)

const withCluster = <A, E>(f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, any>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: [...kafka.brokers], clientId: "kpax-failover" })
      return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  )

const killLeader = (cluster: Cluster.ClusterService, topic: string, partition: number) =>
  Effect.gen(function*() {
    const leader = yield* cluster.leader(topic, partition)
    yield* Effect.promise(() => kafka.kill(leader.nodeId))
    return leader.nodeId
  })

describe("failover on a 3-node cluster", () => {
  it.live("a loop of requests to a partition's leader survives the leader's death", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("failover-loop")
        yield* createTopic(cluster, topic, { partitions: 3, replicationFactor: 3 })
        let done = 0
        let killedAt = -1
        const loop = Effect.forEach(Array.from({ length: 300 }, (_, i) => i), (i) =>
          cluster.withLeader(topic, i % 3, (leader) =>
            Effect.flatMap(
              leader.broker.request(ListOffsets, {
                replicaId: -1,
                isolationLevel: 0,
                topics: [{ name: topic, partitions: [{ partitionIndex: i % 3, timestamp: -1n }] }]
              }),
              (res) => {
                const p = res.topics[0].partitions[0]
                return p.errorCode === 0 ? Effect.succeed(p.offset) : Effect.fail(errorForCode(p.errorCode)!)
              }
            )
          ).pipe(
            // no request may hang: each completes (within the policy's bounds) or the test fails
            Effect.timeout("90 seconds"),
            Effect.tap(() => Effect.sync(() => done++)),
            Effect.andThen(Effect.sleep("20 millis"))
          ))
        const fiber = yield* Effect.forkChild(loop)
        yield* Effect.sleep("1 second")
        const killed = yield* killLeader(cluster, topic, 0)
        killedAt = done
        yield* Fiber.join(fiber)
        assert.strictEqual(done, 300)
        assert.isAbove(killedAt, 0)
        assert.isBelow(killedAt, 300)
        const after = yield* cluster.leader(topic, 0)
        assert.notStrictEqual(after.nodeId, killed)
        yield* Effect.promise(() => kafka.restart(killed))
      })), 240_000)

  it.live("idempotent producer, leader killed during 100,000 sends: nothing lost, nothing duplicated, order kept", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("failover-produce")
        yield* createTopic(cluster, topic, { partitions: 1, replicationFactor: 3, configs: { "min.insync.replicas": "2" } })
        const producer = yield* Producer.make({ acks: "all", linger: "2 millis" })
        const te = new TextEncoder()
        const total = 100_000
        const acked: Array<boolean> = new Array(total).fill(false)
        let ackedCount = 0
        let failed = 0
        const chunk = 2000
        const run = Effect.forEach(Array.from({ length: total / chunk }, (_, c) => c), (c) =>
          Effect.forEach(Array.from({ length: chunk }, (_, j) => c * chunk + j), (i) =>
            Effect.result(producer.send({ topic, value: te.encode(String(i)) })).pipe(
              Effect.map((r) => {
                if (r._tag === "Success") {
                  acked[i] = true
                  ackedCount++
                } else failed++
              })
            ), { concurrency: "unbounded", discard: true }), { discard: true })
        const fiber = yield* Effect.forkChild(run)
        while (ackedCount < 30_000) yield* Effect.sleep("20 millis")
        const killed = yield* killLeader(cluster, topic, 0)
        yield* Fiber.join(fiber)
        const read = yield* Effect.promise(() =>
          consumeWithJava(kafka.brokers.filter((_, i) => i + 1 !== killed).join(","), topic, total + 10, { timeoutMs: 20_000 }))
        const seen = new Map<number, number>()
        let ordered = true
        let previous = -1
        for (const r of read) {
          const v = Number(r.value)
          seen.set(v, (seen.get(v) ?? 0) + 1)
          if (v <= previous) ordered = false
          previous = v
        }
        let lost = 0
        let duplicated = 0
        for (let i = 0; i < total; i++) {
          if (acked[i] && !seen.has(i)) lost++
          if ((seen.get(i) ?? 0) > 1) duplicated++
        }
        console.log(`[failover] acknowledged=${ackedCount} failed=${failed} read=${read.length} lost=${lost} duplicated=${duplicated} ordered=${ordered} (leader ${killed} killed)`)
        assert.strictEqual(lost, 0)
        assert.strictEqual(duplicated, 0)
        assert.isTrue(ordered)
        assert.strictEqual(ackedCount, total)
        yield* Effect.promise(() => kafka.restart(killed))
      })), 300_000)
})
