/**
 * Committing and reading a group's offsets: standalone (`Offsets`) and as a member
 * (`GroupMembership.commit` / `committed`), against the real broker; coordinator errors and
 * REBALANCE_IN_PROGRESS injected on the in-memory cluster.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Group from "../../src/Consumer/Group.ts"
import * as Offsets from "../../src/Consumer/Offsets.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const withCluster = <A, E>(f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-offsets-test" })
      return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  )

const k = Offsets.topicPartitionKey

const firstAssignment = (m: Group.GroupMembership) =>
  m.assignments.pipe(Stream.filter((e) => e._tag === "Assigned"), Stream.take(1), Stream.runCollect)

describe.concurrent("offsets (real broker)", () => {
  it.live("standalone commit and fetch round-trip offsets, leader epochs and metadata; uncommitted partitions are undefined", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("offsets")
        yield* createTopic(cluster, topic, { partitions: 3 })
        const groupId = uniqueTopic("offsets-group")
        yield* Offsets.commit(groupId, [
          { topic, partition: 0, offset: 42n, leaderEpoch: 0, metadata: "batch 7" },
          { topic, partition: 2, offset: 7n }
        ])
        const got = yield* Offsets.fetch(groupId, [0, 1, 2].map((partition) => ({ topic, partition })))
        assert.deepStrictEqual(got.get(k({ topic, partition: 0 })), { offset: 42n, leaderEpoch: 0, metadata: "batch 7" })
        assert.deepStrictEqual(got.get(k({ topic, partition: 2 })), { offset: 7n, leaderEpoch: null, metadata: "" })
        assert.isTrue(got.has(k({ topic, partition: 1 })))
        assert.isUndefined(got.get(k({ topic, partition: 1 })))
        // committing again moves the offset
        yield* Offsets.commit(groupId, [{ topic, partition: 0, offset: 43n }])
        assert.strictEqual((yield* Offsets.fetch(groupId, [{ topic, partition: 0 }])).get(k({ topic, partition: 0 }))?.offset, 43n)
      })))

  it.live("a commit for a partition that does not exist fails for that partition only", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("offsets-missing")
        yield* createTopic(cluster, topic, { partitions: 1 })
        const groupId = uniqueTopic("offsets-group")
        const e = yield* Effect.flip(Offsets.commit(groupId, [{ topic, partition: 0, offset: 1n }, { topic, partition: 5, offset: 1n }]))
        assert.strictEqual(e._tag, "OffsetPartitionErrors")
        if (e._tag === "OffsetPartitionErrors") {
          assert.deepStrictEqual(e.failures.map((f) => [f.partition, f.error.name]), [[5, "UNKNOWN_TOPIC_OR_PARTITION"]])
        }
        assert.strictEqual((yield* Offsets.fetch(groupId, [{ topic, partition: 0 }])).get(k({ topic, partition: 0 }))?.offset, 1n)
      })))

  for (const groupProtocol of ["classic", "consumer"] as const) {
    it.live(`${groupProtocol} member: commit and committed round-trip in the member's generation; a stranger's generation is fenced; after leave, GroupClosed`, () =>
      withCluster((cluster) =>
        Effect.gen(function*() {
          const topic = uniqueTopic(`offsets-${groupProtocol}`)
          yield* createTopic(cluster, topic, { partitions: 2 })
          const groupId = uniqueTopic("offsets-member")
          const m = yield* Group.join({ groupId, topics: [topic], groupProtocol, sessionTimeout: "6 seconds", heartbeatInterval: "500 millis" })
          yield* firstAssignment(m)
          assert.strictEqual(m.assigned().length, 2)
          const g = m.generation()
          assert.isAbove(g.generationId, 0)
          assert.notStrictEqual(g.memberId, "")
          yield* m.commit([{ topic, partition: 0, offset: 10n, metadata: "m" }, { topic, partition: 1, offset: 20n }])
          const got = yield* m.committed([{ topic, partition: 0 }, { topic, partition: 1 }])
          assert.strictEqual(got.get(k({ topic, partition: 0 }))?.offset, 10n)
          assert.strictEqual(got.get(k({ topic, partition: 0 }))?.metadata, "m")
          assert.strictEqual(got.get(k({ topic, partition: 1 }))?.offset, 20n)
          // the same offsets read without the member
          assert.strictEqual((yield* Offsets.fetch(groupId, [{ topic, partition: 1 }])).get(k({ topic, partition: 1 }))?.offset, 20n)

          // a commit carrying a generation that is not the member's is refused
          const stranger = yield* Effect.flip(Offsets.commit(groupId, [{ topic, partition: 0, offset: 99n }], { ...g, generationId: g.generationId + 5 }))
          assert.strictEqual(stranger._tag, "CommitFailed")
          const unknown = yield* Effect.flip(Offsets.commit(groupId, [{ topic, partition: 0, offset: 99n }], { ...g, memberId: "nobody" }))
          assert.strictEqual(unknown._tag, "CommitFailed")
          assert.strictEqual((yield* m.committed([{ topic, partition: 0 }])).get(k({ topic, partition: 0 }))?.offset, 10n)

          yield* m.leave
          const closed = yield* Effect.flip(m.commit([{ topic, partition: 0, offset: 11n }]))
          assert.strictEqual(closed._tag, "GroupClosed")
        })), 60_000)
  }
})

describe("offsets (in-memory cluster, injected errors)", () => {
  const topic = "t"
  const layer = InMemory.layer({ brokers: 3, topics: [{ name: topic, partitions: 2 }] })

  it.live("NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS: looked up again and retried", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      yield* kafka.injectError("OffsetCommit", { code: "NOT_COORDINATOR", times: 1 })
      yield* kafka.injectError("OffsetCommit", { code: "COORDINATOR_LOAD_IN_PROGRESS", times: 1 })
      yield* kafka.injectError("OffsetFetch", { code: "NOT_COORDINATOR", times: 1 })
      yield* Offsets.commit("g", [{ topic, partition: 1, offset: 5n }])
      const got = yield* Offsets.fetch("g", [{ topic, partition: 1 }])
      assert.strictEqual(got.get(k({ topic, partition: 1 }))?.offset, 5n)
      assert.strictEqual(yield* kafka.committed("g", topic, 1), 5n)
      assert.isAtLeast((yield* kafka.requests({ api: "OffsetCommit" })).length, 3)
    }).pipe(Effect.provide(layer)))

  it.live("REBALANCE_IN_PROGRESS on a member's commit is a RebalanceInProgress error", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      const m = yield* Group.join({ groupId: "g2", topics: [topic], sessionTimeout: "6 seconds", heartbeatInterval: "1 second" })
      yield* firstAssignment(m)
      yield* kafka.injectError("OffsetCommit", { code: "REBALANCE_IN_PROGRESS", times: 1 })
      const generation = m.generation().generationId
      const e = yield* Effect.flip(m.commit([{ topic, partition: 0, offset: 1n }]))
      assert.strictEqual(e._tag, "RebalanceInProgress")
      // the member rejoins (as Java's requestRejoin); once the rebalance is over the commit goes through
      yield* m.commit([{ topic, partition: 0, offset: 1n }]).pipe(
        Effect.retry({ while: (e) => e._tag === "RebalanceInProgress", schedule: Schedule.spaced("100 millis"), times: 50 })
      )
      assert.strictEqual(yield* kafka.committed("g2", topic, 0), 1n)
      assert.isAbove(m.generation().generationId, generation)
    }).pipe(Effect.provide(layer)))
})
