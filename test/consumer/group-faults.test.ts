/**
 * Membership error handling, scripted on the in-memory cluster (errors injected on the wire):
 * lost sessions call `onLost` (never `onRevoked`) and rejoin, coordinator moves are survived
 * without giving anything up, fatal refusals end the `assignments` stream with `GroupRejected`,
 * and bad settings are `InvalidGroupConfig`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Cluster } from "../../src/Cluster/Cluster.ts"
import * as Group from "../../src/Consumer/Group.ts"
import { CreatePartitions } from "../../src/Protocol/generated/CreatePartitions.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"

const topic = "t"
const layer = () =>
  InMemory.layer({ brokers: 3, topics: [{ name: topic, partitions: 3 }], consumerHeartbeatInterval: "300 millis" }, { clientId: "kpax-faults" })

interface Calls {
  readonly log: Array<string>
}

const hooks = (calls: Calls): Pick<Group.GroupOptions, "onAssigned" | "onRevoked" | "onLost"> => ({
  onAssigned: (ps) => Effect.sync(() => calls.log.push(`assigned ${ps.length}`)),
  onRevoked: (ps) => Effect.sync(() => calls.log.push(`revoked ${ps.length}`)),
  onLost: (ps) => Effect.sync(() => calls.log.push(`lost ${ps.length}`))
})

const waitUntil = (what: string, condition: () => boolean, timeoutMs = 10_000) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (!condition()) {
      if (Date.now() - start > timeoutMs) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("20 millis")
    }
  })

const classic = (groupId: string, extra: Partial<Group.GroupOptions> = {}): Group.GroupOptions => ({
  groupId,
  topics: [topic],
  sessionTimeout: "6 seconds",
  heartbeatInterval: "100 millis",
  retryBackoff: "50 millis",
  ...extra
})

describe.concurrent("group membership faults (in-memory cluster)", () => {
  for (const [code, newMember] of [["ILLEGAL_GENERATION", false], ["UNKNOWN_MEMBER_ID", true]] as const) {
    it.live(`classic: Heartbeat ${code} → onLost (not onRevoked), then the member rejoins${newMember ? " under a new member id" : ""} and gets its partitions back`, () =>
      Effect.gen(function*() {
        const kafka = yield* InMemory.Control
        const calls: Calls = { log: [] }
        const m = yield* Group.join({ ...classic("g"), ...hooks(calls) })
        yield* waitUntil("assigned", () => m.assigned().length === 3)
        const before = m.generation()
        yield* kafka.injectError("Heartbeat", { code, times: 1 })
        yield* waitUntil("lost and back", () => calls.log.length >= 3 && m.assigned().length === 3)
        assert.deepStrictEqual(calls.log, ["assigned 3", "lost 3", "assigned 3"])
        const after = m.generation()
        assert.isAbove(after.generationId, before.generationId)
        if (newMember) assert.notStrictEqual(after.memberId, before.memberId)
        else assert.strictEqual(after.memberId, before.memberId)
      }).pipe(Effect.provide(layer())))
  }

  it.live("classic: NOT_COORDINATOR on heartbeats and a coordinator that moves: nothing revoked or lost", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      const calls: Calls = { log: [] }
      const m = yield* Group.join({ ...classic("g"), ...hooks(calls) })
      yield* waitUntil("assigned", () => m.assigned().length === 3)
      const generation = m.generation()
      yield* kafka.injectError("Heartbeat", { code: "NOT_COORDINATOR", times: 3 })
      const from = yield* kafka.coordinatorOf("group", "g")
      yield* kafka.moveCoordinator("group", "g", kafka.nodeIds.find((n) => n !== from)!)
      yield* kafka.clearRequests
      yield* Effect.sleep("1 second")
      const heartbeats = yield* kafka.requests({ api: "Heartbeat" })
      assert.isAtLeast(heartbeats.length, 4)
      assert.deepStrictEqual(calls.log, ["assigned 3"])
      assert.deepStrictEqual(m.generation(), generation)
      yield* m.commit([{ topic, partition: 0, offset: 3n }])
      assert.strictEqual(yield* kafka.committed("g", topic, 0), 3n)
    }).pipe(Effect.provide(layer())))

  it.live("classic: REBALANCE_IN_PROGRESS on SyncGroup → the member joins again and gets its partitions", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      yield* kafka.injectError("SyncGroup", { code: "REBALANCE_IN_PROGRESS", times: 2 })
      const m = yield* Group.join(classic("g"))
      yield* waitUntil("assigned", () => m.assigned().length === 3)
      assert.isAtLeast((yield* kafka.requests({ api: "JoinGroup" })).length, 3)
    }).pipe(Effect.provide(layer())))

  it.live("classic: a fenced static member (FENCED_INSTANCE_ID) loses its partitions and the membership ends with GroupRejected", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      const calls: Calls = { log: [] }
      const m = yield* Group.join({ ...classic("g", { groupInstanceId: "i-1" }), ...hooks(calls) })
      yield* waitUntil("assigned", () => m.assigned().length === 3)
      yield* kafka.injectError("Heartbeat", { code: "FENCED_INSTANCE_ID", times: 1 })
      const error = yield* Effect.flip(Stream.runDrain(m.assignments))
      assert.strictEqual(error._tag, "GroupRejected")
      if (error._tag === "GroupRejected") assert.strictEqual(error.error.name, "FENCED_INSTANCE_ID")
      assert.deepStrictEqual(calls.log, ["assigned 3", "lost 3"])
      assert.deepStrictEqual(m.assigned(), [])
    }).pipe(Effect.provide(layer())))

  it.live("classic: GROUP_AUTHORIZATION_FAILED on JoinGroup ends the membership with GroupRejected", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      yield* kafka.injectError("JoinGroup", { code: "GROUP_AUTHORIZATION_FAILED", times: 1 })
      const m = yield* Group.join(classic("g"))
      const error = yield* Effect.flip(Stream.runDrain(m.assignments))
      assert.strictEqual(error._tag, "GroupRejected")
    }).pipe(Effect.provide(layer())))

  it.live("classic: the leader notices partitions added to a subscribed topic and rebalances to hand them out", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster
      const calls: Calls = { log: [] }
      const m = yield* Group.join({ ...classic("g", { metadataRecheck: "100 millis", assignors: [Group.defaultAssignors[1]] }), ...hooks(calls) })
      yield* waitUntil("assigned", () => m.assigned().length === 3)
      const { broker } = yield* cluster.anyBroker
      const res = yield* broker.request(CreatePartitions, { topics: [{ name: topic, count: 5, assignments: null }], timeoutMs: 5000, validateOnly: false })
      assert.strictEqual(res.results[0].errorCode, 0)
      yield* waitUntil("5 partitions", () => m.assigned().length === 5)
      assert.deepStrictEqual(calls.log, ["assigned 3", "assigned 2"]) // cooperative: nothing revoked
    }).pipe(Effect.provide(layer())))

  it.live("KIP-848 on a broker without ConsumerGroupHeartbeat: the membership ends with UnsupportedVersionError", () =>
    Effect.gen(function*() {
      const m = yield* Group.join({ groupId: "g", topics: [topic], groupProtocol: "consumer" })
      const error = yield* Effect.flip(Stream.runDrain(m.assignments))
      assert.strictEqual(error._tag, "UnsupportedVersionError")
    }).pipe(Effect.provide(InMemory.layer({ brokers: 1, topics: [{ name: topic }], apiVersions: { ConsumerGroupHeartbeat: { min: 2, max: 1 } } }))))

  it.live("KIP-848: FENCED_MEMBER_EPOCH → onLost, rejoin with epoch 0, partitions back", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      const calls: Calls = { log: [] }
      const m = yield* Group.join({ groupId: "g", topics: [topic], groupProtocol: "consumer", retryBackoff: "50 millis", ...hooks(calls) })
      yield* waitUntil("assigned", () => m.assigned().length === 3)
      assert.isAbove(m.generation().generationId, 0)
      yield* kafka.injectError("ConsumerGroupHeartbeat", { code: "FENCED_MEMBER_EPOCH", times: 1 })
      yield* waitUntil("lost and back", () => calls.log.length >= 3 && m.assigned().length === 3)
      assert.deepStrictEqual(calls.log, ["assigned 3", "lost 3", "assigned 3"])
      const rejoins = (yield* kafka.requests({ api: "ConsumerGroupHeartbeat" })).filter((r) => (r.request as { memberEpoch: number }).memberEpoch === 0)
      assert.strictEqual(rejoins.length, 2)
    }).pipe(Effect.provide(layer())))

  it.live("KIP-848: two members reconcile incrementally; leaving sends epoch -1 and the other takes over without revoking", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      const a: Calls = { log: [] }
      const b: Calls = { log: [] }
      const options: Group.GroupOptions = { groupId: "g", topics: [topic], groupProtocol: "consumer", retryBackoff: "50 millis" }
      const ma = yield* Group.join({ ...options, ...hooks(a) })
      yield* waitUntil("a has all", () => ma.assigned().length === 3)
      const mb = yield* Group.join({ ...options, ...hooks(b) })
      yield* waitUntil("split", () => ma.assigned().length + mb.assigned().length === 3 && mb.assigned().length > 0)
      yield* mb.leave
      yield* waitUntil("a has all again", () => ma.assigned().length === 3)
      assert.deepStrictEqual(a.log.filter((l) => l.startsWith("revoked")).length, 1) // only when b joined
      assert.deepStrictEqual(b.log.filter((l) => l.startsWith("revoked")).length, 1) // when leaving
      const epochs = (yield* kafka.requests({ api: "ConsumerGroupHeartbeat" })).map((r) => (r.request as { memberEpoch: number }).memberEpoch)
      assert.include(epochs, -1)
    }).pipe(Effect.provide(layer())))
})

describe("group settings", () => {
  const invalid: ReadonlyArray<[string, Group.GroupOptions]> = [
    ["no group id", { groupId: "", topics: ["t"] }],
    ["neither topics nor pattern", { groupId: "g" }],
    ["both topics and pattern", { groupId: "g", topics: ["t"], pattern: "t.*" }],
    ["a bad pattern", { groupId: "g", pattern: "(" }],
    ["heartbeat not below session timeout", { groupId: "g", topics: ["t"], sessionTimeout: "3 seconds", heartbeatInterval: "3 seconds" }],
    ["no assignors", { groupId: "g", topics: ["t"], assignors: [] }],
    ["an unknown protocol", { groupId: "g", topics: ["t"], groupProtocol: "share" as "classic" }]
  ]
  for (const [what, options] of invalid) {
    it.effect(`${what} → InvalidGroupConfig`, () =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(Group.join(options))
        assert.strictEqual(e._tag, "InvalidGroupConfig")
      }).pipe(Effect.provide(layer())))
  }
})
