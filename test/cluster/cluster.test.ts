import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Schedule, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as RetryPolicy from "../../src/Cluster/RetryPolicy.ts"
import { errorForCode, kafkaError } from "../../src/Protocol/Errors.ts"
import { ListOffsets } from "../../src/Protocol/generated/ListOffsets.ts"
import type { Handler } from "./fakeBroker.ts"
import { makeFakeCluster, metadataResponse } from "./fakeBroker.ts"

const METADATA = 3
const FIND_COORDINATOR = 10
const LIST_OFFSETS = 2

const twoBrokers = [{ nodeId: 1, port: 9001 }, { nodeId: 2, port: 9002 }]

/** A FindCoordinator (v4+) response naming `nodeId` as the coordinator of every requested key. */
const coordinatorsAt = (keys: ReadonlyArray<string>, nodeId: number) => ({
  throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: -1, host: "", port: -1,
  coordinators: keys.map((key) => ({ key, nodeId, host: "127.0.0.1", port: 9000 + nodeId, errorCode: 0, errorMessage: null }))
})

const clusterWith = (handlers: Record<number, Handler>, extra: Partial<Cluster.ClusterOptions> = {}) => {
  const fake = makeFakeCluster(handlers)
  const make = Cluster.make({ bootstrap: ["127.0.0.1:9000"], connect: fake.connect, ...extra })
  return { fake, make }
}

describe("Cluster (scripted brokers)", () => {
  it.effect("bootstraps, finds leaders, shares one connection per broker and drops the bootstrap one", () =>
    Effect.gen(function*() {
      const { fake, make } = clusterWith({
        [METADATA]: () => Effect.succeed(metadataResponse(twoBrokers, [{ name: "orders", leaders: [1, 2, 1] }]))
      })
      const cluster = yield* make
      const l0 = yield* cluster.leader("orders", 0)
      const l1 = yield* cluster.leader("orders", 1)
      const l2 = yield* cluster.leader("orders", 2)
      assert.deepStrictEqual([l0.nodeId, l1.nodeId, l2.nodeId], [1, 2, 1])
      assert.strictEqual(l0.broker, l2.broker)
      assert.notStrictEqual(l0.broker, l1.broker)
      assert.deepStrictEqual(fake.connects.map((c) => c.nodeId), [-1, 1, 2])
      assert.deepStrictEqual(fake.closed.map((c) => c.nodeId), [-1])
      assert.strictEqual(cluster.connectionCount(), 2)
      assert.deepStrictEqual(cluster.snapshot().topics.get("orders")?.available, [0, 1, 2])
    }))

  // found by the soak (bench/SOAK.md): a closed cluster still counted the connections it had closed
  it.effect("closing the cluster's scope closes every connection and counts none after", () =>
    Effect.gen(function*() {
      const { fake, make } = clusterWith({
        [METADATA]: () => Effect.succeed(metadataResponse(twoBrokers, [{ name: "orders", leaders: [1, 2, 1] }]))
      })
      const scope = yield* Scope.make()
      const cluster = yield* Scope.provide(make, scope)
      yield* cluster.leader("orders", 0)
      yield* cluster.leader("orders", 1)
      assert.strictEqual(cluster.connectionCount(), 2)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(fake.closed.map((c) => c.nodeId).sort(), [-1, 1, 2])
      assert.strictEqual(cluster.connectionCount(), 0)
    }))

  it.effect("concurrent refreshes are coalesced into one Metadata request", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const { make } = clusterWith({
        [METADATA]: () =>
          Effect.gen(function*() {
            calls++
            yield* Deferred.await(gate)
            return metadataResponse(twoBrokers, [{ name: "a", leaders: [1] }])
          })
      })
      const cluster = yield* make
      const fibers = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.forkChild(cluster.refresh()))
      yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.forEach(fibers, Fiber.join)
      assert.strictEqual(calls, 1)
    }))

  it.effect("a broker answering NOT_LEADER_OR_FOLLOWER n times: metadata refreshed between attempts, the new leader is used, delays from the policy", () =>
    Effect.gen(function*() {
      let leaderOf0 = 1
      let metadataCalls = 0
      const attempts: Array<{ node: number; at: number }> = []
      const { fake, make } = clusterWith({
        [METADATA]: () =>
          Effect.sync(() => {
            metadataCalls++
            return metadataResponse(twoBrokers, [{ name: "t", leaders: [leaderOf0] }])
          }),
        // the scripted broker: node 1 answers NOT_LEADER_OR_FOLLOWER twice (the second time
        // the election has moved the leader to node 2), node 2 answers
        [LIST_OFFSETS]: (node) =>
          Effect.clockWith((c) =>
            Effect.sync(() => {
              attempts.push({ node, at: c.currentTimeMillisUnsafe() })
              if (attempts.length === 2) leaderOf0 = 2
              const errorCode = node === 1 ? 6 : 0
              return { throttleTimeMs: 0, topics: [{ name: "t", partitions: [{ partitionIndex: 0, errorCode, oldStyleOffsets: [], timestamp: -1n, offset: 42n, leaderEpoch: 0 }] }] }
            })
          )
      })
      const cluster = yield* make
      const listOffset = cluster.withLeader("t", 0, (leader) =>
        Effect.flatMap(
          leader.broker.request(ListOffsets, { replicaId: -1, topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp: -1n }] }] }),
          (res) => {
            const p = res.topics[0].partitions[0]
            return p.errorCode === 0 ? Effect.succeed(p.offset) : Effect.fail(errorForCode(p.errorCode)!)
          }
        ))
      const policy = { ...RetryPolicy.defaultPolicy, leaderMoved: Schedule.spaced("250 millis").pipe(Schedule.upTo({ times: 5 })) }
      const fiber = yield* listOffset.pipe(Effect.provideService(RetryPolicy.RetryPolicy, policy), Effect.forkChild)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), 42n)
      assert.deepStrictEqual(attempts, [{ node: 1, at: 0 }, { node: 1, at: 250 }, { node: 2, at: 500 }])
      assert.strictEqual(metadataCalls, 3) // the first lookup, then one refresh before each retry
      // and the refreshes happened between the attempts, in the broker's request log
      assert.deepStrictEqual(
        fake.log.filter((l) => l.api === "Metadata" || l.api === "ListOffsets").map((l) => l.api),
        ["Metadata", "ListOffsets", "Metadata", "ListOffsets", "Metadata", "ListOffsets"]
      )
    }))

  it.effect("gives up with the broker's error when the policy's bounds are reached", () =>
    Effect.gen(function*() {
      const { make } = clusterWith({
        [METADATA]: () => Effect.succeed(metadataResponse(twoBrokers, [{ name: "t", leaders: [1] }]))
      })
      const cluster = yield* make
      let n = 0
      const policy = { ...RetryPolicy.defaultPolicy, leaderMoved: Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 3 })) }
      const fiber = yield* cluster.withLeader("t", 0, () =>
        Effect.suspend(() => {
          n++
          return Effect.fail(kafkaError("FENCED_LEADER_EPOCH"))
        })).pipe(
        Effect.provideService(RetryPolicy.RetryPolicy, policy),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("5 seconds")
      const e = yield* Fiber.join(fiber)
      assert.strictEqual(e._tag, "KafkaError")
      if (e._tag === "KafkaError") assert.strictEqual(e.name, "FENCED_LEADER_EPOCH")
      assert.strictEqual(n, 4)
    }))

  it.effect("forgotten topics leave the cache and are not asked for again", () =>
    Effect.gen(function*() {
      const asked: Array<ReadonlyArray<string>> = []
      const { make } = clusterWith({
        [METADATA]: (_n, req) =>
          Effect.sync(() => {
            const names = (req.topics ?? []).map((t: { name: string }) => t.name)
            asked.push(names)
            return metadataResponse(twoBrokers, names.map((name: string) => ({ name, leaders: [1] })))
          })
      })
      const cluster = yield* make
      yield* cluster.topic("a")
      yield* cluster.topic("b")
      yield* cluster.forget(["a"])
      assert.isFalse(cluster.snapshot().topics.has("a"))
      yield* cluster.refresh()
      assert.deepStrictEqual(asked[asked.length - 1], ["b"])
    }))

  it.effect("an unknown topic is a typed UNKNOWN_TOPIC_OR_PARTITION error", () =>
    Effect.gen(function*() {
      const { make } = clusterWith({
        [METADATA]: (_n, req) =>
          Effect.succeed(metadataResponse(twoBrokers, (req.topics ?? []).map((t: { name: string }) => ({ name: t.name, leaders: [], errorCode: 3 }))))
      })
      const cluster = yield* make
      const e = yield* Effect.flip(cluster.partitions("nope"))
      assert.strictEqual(e._tag, "KafkaError")
      if (e._tag === "KafkaError") assert.strictEqual(e.name, "UNKNOWN_TOPIC_OR_PARTITION")
    }))

  it.effect("brokers changing address get a new connection; brokers leaving are disconnected", () =>
    Effect.gen(function*() {
      let brokers = twoBrokers
      const { fake, make } = clusterWith({
        [METADATA]: () => Effect.sync(() => metadataResponse(brokers, [{ name: "t", leaders: brokers.map((b) => b.nodeId) }]))
      })
      const cluster = yield* make
      yield* cluster.broker(1)
      yield* cluster.broker(2)
      brokers = [{ nodeId: 1, port: 9101 }]
      yield* cluster.refresh()
      const b1 = yield* cluster.broker(1)
      assert.strictEqual(b1.address, "127.0.0.1:9101")
      assert.deepStrictEqual(fake.closed.map((c) => `${c.nodeId}@${c.port}`).sort(), ["-1@9000", "1@9001", "2@9002"])
      assert.strictEqual(cluster.connectionCount(), 1)
    }))

  it.effect("coordinators: batched FindCoordinator, cached, forgotten when down", () =>
    Effect.gen(function*() {
      const finds: Array<unknown> = []
      let coordinatorNode = 2
      const { make } = clusterWith({
        [METADATA]: () => Effect.succeed(metadataResponse(twoBrokers, [])),
        [FIND_COORDINATOR]: (_n, req) =>
          Effect.sync(() => {
            finds.push(req)
            return coordinatorsAt(req.coordinatorKeys, coordinatorNode)
          })
      })
      const cluster = yield* make
      const many = yield* cluster.coordinators([{ type: "group", key: "g1" }, { type: "group", key: "g2" }, { type: "transaction", key: "tx" }])
      assert.deepStrictEqual([...many.keys()].sort(), ["g:g1", "g:g2", "t:tx"])
      assert.strictEqual(finds.length, 2) // one per key type
      const c1 = yield* cluster.coordinator({ type: "group", key: "g1" })
      const c2 = yield* cluster.coordinator({ type: "group", key: "g1" })
      assert.strictEqual(c1.nodeId, 2)
      assert.strictEqual(c1.broker, c2.broker)
      assert.strictEqual(finds.length, 3)
      coordinatorNode = 1
      yield* cluster.coordinatorIsDown({ type: "group", key: "g1" })
      const c3 = yield* cluster.coordinator({ type: "group", key: "g1" })
      assert.strictEqual(c3.nodeId, 1)
    }))

  it.effect("coordinator sessions: own connections, opened on first use, following the coordinator, closed with their scope", () =>
    Effect.gen(function*() {
      let coordinatorNode = 1
      const { fake, make } = clusterWith({
        [METADATA]: () => Effect.succeed(metadataResponse(twoBrokers, [])),
        [FIND_COORDINATOR]: (_n, req) =>
          Effect.sync(() => coordinatorsAt(req.coordinatorKeys, coordinatorNode))
      })
      const cluster = yield* make
      const key = { type: "group", key: "g" } as const
      const shared = yield* cluster.coordinator(key)
      const before = cluster.connectionCount()
      const connectsBefore = fake.connects.length
      const scope = yield* Scope.make()
      const a = yield* cluster.coordinatorSession(key).pipe(Scope.provide(scope))
      const b = yield* cluster.coordinatorSession(key).pipe(Scope.provide(scope))
      assert.strictEqual(fake.connects.length, connectsBefore, "no connection before the first use")
      const a1 = yield* a.coordinator
      const a2 = yield* a.coordinator
      const b1 = yield* b.coordinator
      assert.deepStrictEqual([a1.nodeId, b1.nodeId], [1, 1])
      assert.strictEqual(a1.broker, a2.broker, "a session keeps its connection")
      assert.notStrictEqual(a1.broker, b1.broker, "two sessions: two connections")
      assert.notStrictEqual(a1.broker, shared.broker, "not the cluster's shared coordinator connection")
      assert.strictEqual(cluster.connectionCount(), before + 2)
      // the coordinator moves: the session's next use finds it and lets go of the old connection
      coordinatorNode = 2
      yield* a.coordinatorIsDown
      const a3 = yield* a.withCoordinator((c) => Effect.succeed(c))
      assert.strictEqual(a3.nodeId, 2)
      assert.strictEqual(fake.closed.filter((c) => c.nodeId === 1).length, 1, "a's connection to node 1 closed")
      assert.strictEqual(cluster.connectionCount(), before + 2)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(cluster.connectionCount(), before, "the sessions' connections closed with their scope")
      // a late use after the scope closed goes through the cluster's shared connection (to node 2 now)
      const late = yield* a.coordinator
      assert.strictEqual(late.nodeId, 2)
      assert.strictEqual(late.broker, (yield* cluster.coordinator(key)).broker)
      assert.strictEqual(cluster.connectionCount(), before + 1)
    }))

  it.effect("broker sessions: own connections per broker, opened on first use, released, pruned, closed with their scope", () =>
    Effect.gen(function*() {
      let brokers = twoBrokers
      const { fake, make } = clusterWith({
        [METADATA]: () => Effect.sync(() => metadataResponse(brokers, [{ name: "t", leaders: brokers.map((b) => b.nodeId) }]))
      })
      const cluster = yield* make
      const shared1 = yield* cluster.broker(1)
      const shared2 = yield* cluster.broker(2)
      const before = cluster.connectionCount()
      const connectsBefore = fake.connects.length
      const scope = yield* Scope.make()
      const a = yield* cluster.brokerSession.pipe(Scope.provide(scope))
      const b = yield* cluster.brokerSession.pipe(Scope.provide(scope))
      assert.strictEqual(fake.connects.length, connectsBefore, "no connection before the first use")
      const a1 = yield* a.broker(1)
      assert.strictEqual(yield* a.broker(1), a1, "a session keeps its connection")
      const aLeader = yield* a.leader("t", 1)
      assert.strictEqual(aLeader.nodeId, 2)
      assert.notStrictEqual(aLeader.broker, shared2, "the session's leader connection is its own")
      assert.strictEqual(yield* a.withLeader("t", 1, (l) => Effect.succeed(l.broker)), aLeader.broker)
      const b1 = yield* b.broker(1)
      assert.notStrictEqual(a1, shared1, "not the cluster's shared connection")
      assert.notStrictEqual(a1, b1, "two sessions: two connections")
      assert.deepStrictEqual([...a.nodeIds()].sort(), [1, 2])
      assert.strictEqual(cluster.connectionCount(), before + 3)
      // released: closed now, a new one on the next use
      yield* a.release(2)
      assert.deepStrictEqual(a.nodeIds(), [1])
      assert.strictEqual(cluster.connectionCount(), before + 2)
      yield* a.broker(2)
      assert.strictEqual(cluster.connectionCount(), before + 3)
      // broker 2 leaves the cluster: every connection to it is closed, the sessions' too
      brokers = [{ nodeId: 1, port: 9001 }]
      yield* cluster.refresh()
      assert.deepStrictEqual(a.nodeIds(), [1])
      assert.strictEqual(cluster.connectionCount(), before + 1)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(cluster.connectionCount(), before - 1, "the sessions' connections closed with their scope")
      assert.strictEqual(fake.connects.length, fake.closed.length + cluster.connectionCount(), "nothing left open")
      // a late use after the scope closed goes through the cluster's shared connection
      assert.strictEqual(yield* a.broker(1), yield* cluster.broker(1))
      assert.strictEqual(cluster.connectionCount(), before - 1)
    }))

  it.effect("withCoordinator looks the coordinator up again after NOT_COORDINATOR", () =>
    Effect.gen(function*() {
      let coordinatorNode = 1
      const { make } = clusterWith({
        [METADATA]: () => Effect.succeed(metadataResponse(twoBrokers, [])),
        [FIND_COORDINATOR]: (_n, req) =>
          Effect.sync(() => coordinatorsAt(req.coordinatorKeys, coordinatorNode))
      })
      const cluster = yield* make
      const seen: Array<number> = []
      const fiber = yield* cluster.withCoordinator({ type: "group", key: "g" }, (c) =>
        Effect.suspend(() => {
          seen.push(c.nodeId)
          if (c.nodeId === 1) {
            coordinatorNode = 2
            return Effect.fail(kafkaError("NOT_COORDINATOR"))
          }
          return Effect.succeed("joined")
        })).pipe(Effect.forkChild)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "joined")
      assert.deepStrictEqual(seen, [1, 2])
    }))

  it.effect("dead bootstrap brokers: a typed BrokerUnavailable naming what was tried", () =>
    Effect.gen(function*() {
      const fake = makeFakeCluster({ [METADATA]: () => Effect.die("unreachable") })
      fake.dead.add("127.0.0.1:9000")
      fake.dead.add("127.0.0.1:9001")
      const cluster = yield* Cluster.make({ bootstrap: ["127.0.0.1:9000", "127.0.0.1:9001"], connect: fake.connect })
      const e = yield* Effect.flip(cluster.refresh())
      assert.strictEqual(e._tag, "BrokerUnavailable")
      if (e._tag === "BrokerUnavailable") assert.deepStrictEqual(e.tried, ["127.0.0.1:9000", "127.0.0.1:9001"])
    }))

  it.effect("bad bootstrap addresses are an InvalidClusterConfig", () =>
    Effect.gen(function*() {
      for (const bootstrap of [[], ["localhost"], ["host:99999"], ["a:1", "no port:"]]) {
        const exit = yield* Effect.exit(Cluster.make({ bootstrap }))
        assert.isTrue(Exit.isFailure(exit), JSON.stringify(bootstrap))
        const e = yield* Effect.flip(Cluster.make({ bootstrap }))
        assert.strictEqual(e._tag, "InvalidClusterConfig")
      }
    }))
})
