import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schedule, Scope } from "effect"
import * as Admin from "../../src/Admin/Admin.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import * as RealCluster from "../../src/Testing/RealCluster.ts"
import { brokers } from "../kafka/env.ts"

const ClusterLive = () => Cluster.layer({ bootstrap: brokers(), clientId: "kpax-realcluster-test" })

const exists = (admin: Admin.AdminService, topic: string) =>
  admin.listTopics().pipe(Effect.map((ts) => ts.some((t) => t.name === topic)))

/** Deletion is done when DeleteTopics answers; on a cluster of several brokers their metadata follows a moment later. */
const gone = (admin: Admin.AdminService, topic: string) =>
  exists(admin, topic).pipe(
    Effect.flatMap((e) => (e ? Effect.fail("still listed") : Effect.succeed(true))),
    Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 20 }),
    Effect.orElseSucceed(() => false)
  )

describe("RealCluster.randomTopic (real broker)", () => {
  it.live("exists with its partitions, configs and leaders inside the scope, and is gone after", () =>
    Effect.gen(function*() {
      const admin = yield* Admin.make
      const cluster = yield* Cluster.Cluster
      const scope = yield* Scope.make()
      const topic = yield* RealCluster.randomTopic({ partitions: 4, configs: { "retention.ms": "60000" }, prefix: "rt-check" })
        .pipe(Scope.provide(scope))
      assert.match(topic, /^rt-check-[a-z0-9]+-[a-z0-9]+$/)
      // leaders are in the cluster's own metadata already: no refresh needed to use it
      const t = cluster.snapshot().topics.get(topic)
      assert.strictEqual(t?.partitions.length, 4)
      assert.deepStrictEqual(t?.available, [0, 1, 2, 3])
      const d = yield* admin.describeTopic(topic)
      assert.strictEqual(d.partitions.length, 4)
      const [config] = yield* admin.describeConfigs([{ type: "topic", name: topic }], { names: ["retention.ms"] })
      assert.deepStrictEqual([config.entries[0].value, config.entries[0].source], ["60000", "topic"])
      assert.isTrue(yield* exists(admin, topic))

      yield* Scope.close(scope, Exit.void)
      assert.isTrue(yield* gone(admin, topic))
    }).pipe(Effect.provide(ClusterLive())))

  it.live("records can be produced at once; names never repeat; a topic the test deleted itself is fine", () =>
    Effect.gen(function*() {
      const admin = yield* Admin.make
      const names = yield* Effect.scoped(Effect.gen(function*() {
        const a = yield* RealCluster.randomTopic()
        const b = yield* RealCluster.randomTopic()
        const producer = yield* Producer.make({ acks: "all" })
        const meta = yield* producer.send({ topic: a, value: new TextEncoder().encode("hello") })
        assert.strictEqual(meta.offset, 0n)
        yield* admin.deleteTopic(b)
        return [a, b]
      }))
      assert.notStrictEqual(names[0], names[1])
      for (const n of names) assert.isTrue(yield* gone(admin, n))
    }).pipe(Effect.provide(ClusterLive())))

  it.live("a prefix that makes a bad topic name fails before anything is created", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(RealCluster.randomTopic({ prefix: "no spaces" })))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "InvalidTopicName")
      const tooMany = yield* Effect.exit(Effect.scoped(RealCluster.randomTopic({ replicationFactor: 9 })))
      assert.isTrue(Exit.isFailure(tooMany))
      if (Exit.isFailure(tooMany)) assert.include(String(tooMany.cause), "INVALID_REPLICATION_FACTOR")
    }).pipe(Effect.provide(ClusterLive())))
})
