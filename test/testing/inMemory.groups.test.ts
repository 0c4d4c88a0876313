/**
 * The in-memory group coordinator, driven by raw requests from separate clients (one Cluster each,
 * as separate processes would be) under TestClock: the classic protocol's state machine,
 * committed offsets, listing and deletion, and KIP-848 consumer groups.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { ConsumerGroupHeartbeat } from "../../src/Protocol/generated/ConsumerGroupHeartbeat.ts"
import type { ConsumerGroupHeartbeatRequest } from "../../src/Protocol/generated/ConsumerGroupHeartbeat.ts"
import { DeleteGroups } from "../../src/Protocol/generated/DeleteGroups.ts"
import { DescribeGroups } from "../../src/Protocol/generated/DescribeGroups.ts"
import { Heartbeat } from "../../src/Protocol/generated/Heartbeat.ts"
import { JoinGroup } from "../../src/Protocol/generated/JoinGroup.ts"
import type { JoinGroupResponse } from "../../src/Protocol/generated/JoinGroup.ts"
import { LeaveGroup } from "../../src/Protocol/generated/LeaveGroup.ts"
import { ListGroups } from "../../src/Protocol/generated/ListGroups.ts"
import { OffsetCommit } from "../../src/Protocol/generated/OffsetCommit.ts"
import { OffsetFetch } from "../../src/Protocol/generated/OffsetFetch.ts"
import { SyncGroup } from "../../src/Protocol/generated/SyncGroup.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"
import { runWithClock, str, utf8 } from "./inMemoryHelpers.ts"

const G = "group-1"
const coord = { type: "group" as const, key: G }

/** A client of its own (own connections), as a separate process would be. */
const client = (kafka: InMemory.ControlService): Effect.Effect<Cluster.ClusterService, never, Scope.Scope> =>
  Effect.orDie(Cluster.make({ bootstrap: kafka.bootstrap, connect: kafka.connect }))

const joinReq = (memberId: string, o: { protocols?: ReadonlyArray<string>; instance?: string; session?: number; rebalance?: number } = {}) => ({
  groupId: G,
  sessionTimeoutMs: o.session ?? 10_000,
  rebalanceTimeoutMs: o.rebalance ?? 30_000,
  memberId,
  groupInstanceId: o.instance ?? null,
  protocolType: "consumer",
  protocols: (o.protocols ?? ["range"]).map((name) => ({ name, metadata: utf8(`meta-${name}`) })),
  reason: null
})

const join = (c: Cluster.ClusterService, memberId: string, o: Parameters<typeof joinReq>[1] = {}) =>
  c.withCoordinator(coord, (x) => x.broker.request(JoinGroup, joinReq(memberId, o)))

/** JoinGroup until the member id is known (MEMBER_ID_REQUIRED first, as a v4+ client does). */
const joinNew = (c: Cluster.ClusterService, o: Parameters<typeof joinReq>[1] = {}) =>
  Effect.gen(function*() {
    const first = yield* join(c, "", o)
    if (first.errorCode !== 79) return first
    return yield* join(c, first.memberId, o)
  })

const sync = (c: Cluster.ClusterService, memberId: string, generationId: number, assignments: ReadonlyArray<readonly [string, string]> = []) =>
  c.withCoordinator(coord, (x) =>
    x.broker.request(SyncGroup, {
      groupId: G, generationId, memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "range",
      assignments: assignments.map(([m, a]) => ({ memberId: m, assignment: utf8(a) }))
    }))

const heartbeat = (c: Cluster.ClusterService, memberId: string, generationId: number) =>
  Effect.map(c.withCoordinator(coord, (x) => x.broker.request(Heartbeat, { groupId: G, generationId, memberId, groupInstanceId: null })), (r) => r.errorCode)

const withGroupKafka = <A, E>(f: (kafka: InMemory.ControlService) => Effect.Effect<A, E, Scope.Scope>, options: InMemory.Options = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const kafka = yield* InMemory.make({ brokers: 3, topics: [{ name: "t", partitions: 4 }], ...options })
    return yield* f(kafka)
  }))

describe("in-memory classic groups", () => {
  it.effect("join, rebalance and sync: generations, one leader with every member's metadata, assignments handed out", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        const b = yield* client(kafka)
        const j1 = yield* runWithClock(joinNew(a))
        assert.strictEqual(j1.errorCode, 0)
        assert.strictEqual(j1.generationId, 1)
        assert.strictEqual(j1.leader, j1.memberId)
        assert.deepStrictEqual(j1.members.map((m) => m.memberId), [j1.memberId])
        const s1 = yield* sync(a, j1.memberId, 1, [[j1.memberId, "all"]])
        assert.strictEqual(str(s1.assignment), "all")
        assert.strictEqual((yield* kafka.group(G))?.state, "Stable")
        // a second member: the group rebalances; the first learns it from its heartbeat and rejoins
        const j2f = yield* Effect.forkChild(joinNew(b))
        yield* TestClock.adjust(1)
        assert.strictEqual((yield* kafka.group(G))?.state, "PreparingRebalance")
        assert.strictEqual(yield* heartbeat(a, j1.memberId, 1), 27)
        const j1b = yield* join(a, j1.memberId)
        const j2 = yield* Fiber.join(j2f)
        assert.strictEqual(j1b.generationId, 2)
        assert.strictEqual(j2.generationId, 2)
        assert.strictEqual(j1b.leader, j1.memberId)
        assert.deepStrictEqual(j1b.members.map((m) => m.memberId).sort(), [j1.memberId, j2.memberId].sort())
        assert.deepStrictEqual(j2.members, [])
        // the follower's sync waits for the leader's
        const s2f = yield* Effect.forkChild(sync(b, j2.memberId, 2))
        yield* TestClock.adjust(1)
        assert.isUndefined(s2f.pollUnsafe())
        const s1b = yield* sync(a, j1.memberId, 2, [[j1.memberId, "p0,p1"], [j2.memberId, "p2,p3"]])
        assert.strictEqual(str(s1b.assignment), "p0,p1")
        assert.strictEqual(str((yield* Fiber.join(s2f)).assignment), "p2,p3")
        assert.strictEqual(yield* heartbeat(b, j2.memberId, 2), 0)
        assert.strictEqual(yield* heartbeat(b, j2.memberId, 1), 22)
        assert.strictEqual(yield* heartbeat(b, "nobody", 2), 25)
      })))

  it.effect("a member that stops heartbeating is removed after its session timeout; one that does not rejoin, after the rebalance timeout", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        const b = yield* client(kafka)
        const j1 = yield* joinNew(a, { session: 10_000 })
        yield* sync(a, j1.memberId, 1)
        const j2f = yield* Effect.forkChild(joinNew(b, { session: 10_000, rebalance: 5000 }))
        yield* TestClock.adjust(1)
        const j1b = yield* join(a, j1.memberId, { session: 10_000 })
        const j2 = yield* Fiber.join(j2f)
        yield* Effect.all([sync(a, j1.memberId, 2), sync(b, j2.memberId, 2)], { concurrency: 2 })
        // b goes silent; a keeps heartbeating
        for (let t = 0; t < 9; t++) {
          yield* TestClock.adjust(1000)
          assert.strictEqual(yield* heartbeat(a, j1.memberId, 2), 0)
        }
        yield* TestClock.adjust(1500)
        assert.strictEqual(yield* heartbeat(a, j1.memberId, 2), 27)
        assert.deepStrictEqual((yield* kafka.group(G))?.members.map((m) => m.memberId), [j1.memberId])
        const j1c = yield* join(a, j1.memberId, { session: 10_000 })
        assert.strictEqual(j1c.generationId, 3)
        void j1b
        // now b comes back as a new member, and a never rejoins: after the rebalance timeout the
        // join completes without a
        yield* sync(a, j1.memberId, 3)
        const j3f = yield* Effect.forkChild(joinNew(b, { rebalance: 5000 }))
        yield* TestClock.adjust(4999)
        assert.isUndefined(j3f.pollUnsafe())
        yield* TestClock.adjust(25_001) // a's rebalance timeout is 30 s
        const j3 = yield* Fiber.join(j3f)
        assert.strictEqual(j3.generationId, 4)
        assert.deepStrictEqual(j3.members.map((m) => m.memberId), [j3.memberId])
        assert.strictEqual(yield* heartbeat(a, j1.memberId, 3), 25)
      })))

  it.effect("static members: a restart takes the old member's place and assignment (a leader skips the assignment, KIP-814), the old id is fenced; LeaveGroup by instance id", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        const b = yield* client(kafka)
        const j1 = yield* joinNew(a, { instance: "pod-a" })
        yield* sync(a, j1.memberId, 1, [[j1.memberId, "mine"]])
        // pod-a restarts: same instance id, a new member id, same assignment, no rebalance
        const j1r = yield* join(b, "", { instance: "pod-a" })
        assert.strictEqual(j1r.errorCode, 0)
        assert.notStrictEqual(j1r.memberId, j1.memberId)
        assert.strictEqual(j1r.generationId, 1)
        // it was the leader: KIP-814, it learns the members but keeps the current assignment
        assert.isTrue(j1r.skipAssignment)
        assert.strictEqual(j1r.leader, j1r.memberId)
        assert.deepStrictEqual(j1r.members.map((m) => m.groupInstanceId), ["pod-a"])
        assert.strictEqual(str((yield* sync(b, j1r.memberId, 1)).assignment), "mine")
        assert.strictEqual(yield* heartbeat(a, j1.memberId, 1), 25)
        const left = yield* b.withCoordinator(coord, (x) => x.broker.request(LeaveGroup, { groupId: G, members: [{ memberId: j1r.memberId, groupInstanceId: "pod-a", reason: null }] }))
        assert.deepStrictEqual(left.members.map((m) => m.errorCode), [0])
        assert.strictEqual((yield* kafka.group(G))?.members.length, 0)
      })))

  it.effect("offsets: commits are checked against member and generation; admin commits only while the group is empty", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        const commit = (memberId: string, generation: number, offset: bigint) =>
          Effect.map(a.withCoordinator(coord, (x) =>
            x.broker.request(OffsetCommit, {
              groupId: G, generationIdOrMemberEpoch: generation, memberId, groupInstanceId: null,
              topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: "m" }] }]
            }, { version: 9 })), (r) => r.topics[0].partitions[0].errorCode) // v9: by name (v10+ by id: inMemory.topicIds.test.ts)
        assert.strictEqual(yield* commit("", -1, 5n), 0)
        const j = yield* joinNew(a)
        yield* sync(a, j.memberId, 1)
        assert.strictEqual(yield* commit("", -1, 6n), 25)
        assert.strictEqual(yield* commit(j.memberId, 0, 6n), 22)
        assert.strictEqual(yield* commit(j.memberId, 1, 7n), 0)
        const fetched = yield* a.withCoordinator(coord, (x) => x.broker.request(OffsetFetch, { groups: [{ groupId: G, topics: null }], requireStable: true }, { version: 9 }))
        assert.deepStrictEqual(fetched.groups[0].topics.map((t) => [t.name, t.partitions.map((p) => [p.committedOffset, p.metadata])]), [["t", [[7n, "m"]]]])
        assert.strictEqual(yield* kafka.committed(G, "t", 0), 7n)
        // a group with members cannot be deleted; listed and described at its coordinator only
        const node = yield* kafka.coordinatorOf("group", G)
        const del = yield* a.withCoordinator(coord, (x) => x.broker.request(DeleteGroups, { groupsNames: [G, "nope"] }))
        assert.deepStrictEqual(del.results.map((r) => r.errorCode), [68, 69])
        for (const id of kafka.nodeIds) {
          const listed = yield* (yield* a.broker(id)).request(ListGroups, { statesFilter: [], typesFilter: [] })
          assert.deepStrictEqual(listed.groups.map((g) => g.groupId), id === node ? [G] : [])
        }
        const described = yield* a.withCoordinator(coord, (x) => x.broker.request(DescribeGroups, { groups: [G], includeAuthorizedOperations: false }))
        assert.strictEqual(described.groups[0].groupState, "Stable")
        assert.strictEqual(described.groups[0].protocolData, "range")
        yield* a.withCoordinator(coord, (x) => x.broker.request(LeaveGroup, { groupId: G, members: [{ memberId: j.memberId, groupInstanceId: null, reason: null }] }))
        const del2 = yield* a.withCoordinator(coord, (x) => x.broker.request(DeleteGroups, { groupsNames: [G] }))
        assert.deepStrictEqual(del2.results.map((r) => r.errorCode), [0])
        assert.isUndefined(yield* kafka.committed(G, "t", 0))
      })))

  it.effect("COORDINATOR_LOAD_IN_PROGRESS on JoinGroup n times: withCoordinator retries until the join succeeds", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        yield* kafka.injectError("JoinGroup", { code: "COORDINATOR_LOAD_IN_PROGRESS", times: 3 })
        // a group error code becomes a failure that RetryPolicy classifies as "coordinator moved"
        const j = yield* runWithClock(a.withCoordinator(coord, (x) =>
          Effect.flatMap(x.broker.request(JoinGroup, joinReq("")), (r): Effect.Effect<JoinGroupResponse, unknown> =>
            r.errorCode === 14 ? Effect.fail({ code: 14, retriable: true }) : Effect.succeed(r))))
        assert.strictEqual(j.errorCode, 79)
        const joins = yield* kafka.requests({ api: "JoinGroup" })
        assert.deepStrictEqual(joins.slice(0, 4).map((r) => (r.response as JoinGroupResponse).errorCode), [14, 14, 14, 79])
      })))

  it.effect("NOT_COORDINATOR after the group's coordinator moved", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        const node = yield* kafka.coordinatorOf("group", G)
        const other = kafka.nodeIds.find((n) => n !== node)!
        const r = yield* (yield* a.broker(other)).request(Heartbeat, { groupId: G, generationId: 1, memberId: "m", groupInstanceId: null })
        assert.strictEqual(r.errorCode, 16)
        yield* kafka.moveCoordinator("group", G, other)
        assert.strictEqual(yield* kafka.coordinatorOf("group", G), other)
      })))
})

describe("in-memory KIP-848 consumer groups", () => {
  const hb = (c: Cluster.ClusterService, r: Partial<ConsumerGroupHeartbeatRequest> & { memberId: string; memberEpoch: number }) =>
    c.withCoordinator(coord, (x) => x.broker.request(ConsumerGroupHeartbeat, { groupId: G, rebalanceTimeoutMs: 30_000, ...r }))

  it.effect("members get partitions of their subscription; a newcomer gets its share only after the owner released it", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        const b = yield* client(kafka)
        const topicId = (yield* a.topic("t")).topicId
        const r1 = yield* hb(a, { memberId: "member-a", memberEpoch: 0, subscribedTopicNames: ["t"], topicPartitions: [] })
        assert.strictEqual(r1.errorCode, 0)
        assert.strictEqual(r1.memberEpoch, 1)
        assert.deepStrictEqual(r1.assignment?.topicPartitions, [{ topicId, partitions: [0, 1, 2, 3] }])
        const r2 = yield* hb(b, { memberId: "member-b", memberEpoch: 0, subscribedTopicNames: ["t"], topicPartitions: [] })
        assert.strictEqual(r2.memberEpoch, 2)
        assert.deepStrictEqual(r2.assignment?.topicPartitions, [])
        // a is told to keep only its half; until it reports the release, b gets nothing
        const r3 = yield* hb(a, { memberId: "member-a", memberEpoch: 1, topicPartitions: [{ topicId, partitions: [0, 1, 2, 3] }] })
        assert.deepStrictEqual(r3.assignment?.topicPartitions, [{ topicId, partitions: [0, 2] }])
        assert.strictEqual(r3.memberEpoch, 1)
        const r4 = yield* hb(b, { memberId: "member-b", memberEpoch: 2 })
        assert.isNull(r4.assignment)
        const r5 = yield* hb(a, { memberId: "member-a", memberEpoch: 1, topicPartitions: [{ topicId, partitions: [0, 2] }] })
        assert.strictEqual(r5.memberEpoch, 2)
        const r6 = yield* hb(b, { memberId: "member-b", memberEpoch: 2 })
        assert.deepStrictEqual(r6.assignment?.topicPartitions, [{ topicId, partitions: [1, 3] }])
        assert.strictEqual((yield* kafka.group(G))?.state, "Stable")
        // a stale epoch is fenced; leaving gives the partitions back
        assert.strictEqual((yield* hb(a, { memberId: "member-a", memberEpoch: 7 })).errorCode, 110)
        yield* hb(a, { memberId: "member-a", memberEpoch: -1 })
        const r7 = yield* hb(b, { memberId: "member-b", memberEpoch: 2, topicPartitions: [{ topicId, partitions: [1, 3] }] })
        assert.strictEqual(r7.memberEpoch, 3)
        assert.deepStrictEqual(r7.assignment?.topicPartitions, [{ topicId, partitions: [0, 1, 2, 3] }])
        // silence past the session timeout removes the member
        yield* TestClock.adjust(45_001)
        assert.strictEqual((yield* kafka.group(G))?.members.length, 0)
      })))

  it.effect("a member that keeps partitions it must give up past its rebalance timeout is removed", () =>
    withGroupKafka((kafka) =>
      Effect.gen(function*() {
        const a = yield* client(kafka)
        const b = yield* client(kafka)
        const topicId = (yield* a.topic("t")).topicId
        yield* hb(a, { memberId: "member-a", memberEpoch: 0, subscribedTopicNames: ["t"], topicPartitions: [], rebalanceTimeoutMs: 10_000 })
        yield* hb(b, { memberId: "member-b", memberEpoch: 0, subscribedTopicNames: ["t"], topicPartitions: [] })
        // a is asked to give up half, and goes on reporting all four
        for (let t = 0; t < 9; t++) {
          const r = yield* hb(a, { memberId: "member-a", memberEpoch: 1, topicPartitions: [{ topicId, partitions: [0, 1, 2, 3] }] })
          assert.strictEqual(r.errorCode, 0)
          yield* hb(b, { memberId: "member-b", memberEpoch: 2 })
          yield* TestClock.adjust(1000)
        }
        yield* TestClock.adjust(1001)
        assert.deepStrictEqual((yield* kafka.group(G))?.members.map((m) => m.memberId), ["member-b"])
        assert.strictEqual((yield* hb(a, { memberId: "member-a", memberEpoch: 1 })).errorCode, 25)
        const r = yield* hb(b, { memberId: "member-b", memberEpoch: 2, topicPartitions: [] })
        assert.deepStrictEqual(r.assignment?.topicPartitions, [{ topicId, partitions: [0, 1, 2, 3] }])
      })))
})
