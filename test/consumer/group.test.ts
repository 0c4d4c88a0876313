/**
 * Consumer-group membership against the real broker: several members in one process, each with
 * its own Cluster (own connections) and scope. Hooks record when each member took and gave up each
 * partition; `noOverlap` checks that no partition was ever held by two members at once.
 *
 * Broker limits that shape these tests: classic groups accept session timeouts from 6 s
 * (`group.min.session.timeout.ms`); KIP-848 groups have a fixed 45 s session timeout minimum
 * (`group.consumer.min.session.timeout.ms`) and a 5 s heartbeat interval minimum, so the KIP-848
 * crash test waits ~50 s; every scenario runs concurrently to keep the file near a minute.
 * The last block puts two consumers on ONE Cluster, as an application with one Cluster layer does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, Stream } from "effect"
import * as Assignor from "../../src/Consumer/Assignor.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import * as Group from "../../src/Consumer/Group.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const key = (tp: Group.TopicPartition) => `${tp.topic}-${tp.partition}`

interface Entry {
  readonly at: number
  readonly member: string
  readonly tag: "Assigned" | "Revoked" | "Lost"
  readonly partitions: ReadonlyArray<string>
}

/** Records hook calls and ownership intervals (taken at the start of onAssigned, given up at the end of onRevoked/onLost). */
class Recorder {
  readonly log: Array<Entry> = []
  readonly intervals: Array<{ member: string; tp: string; start: number; end: number | undefined }> = []
  readonly crashed = new Set<string>()
  /** Commits made in onRevoked. */
  readonly commits: Array<{ member: string; ok: boolean; detail: string }> = []

  hooks(member: string, revokeDelayMs = 200): Pick<Group.GroupOptions, "onAssigned" | "onRevoked" | "onLost"> {
    const give = (tag: "Revoked" | "Lost", ps: ReadonlyArray<Group.TopicPartition>) => {
      const now = Date.now()
      this.log.push({ at: now, member, tag, partitions: ps.map(key) })
      for (const tp of ps) {
        const open = this.intervals.find((i) => i.member === member && i.tp === key(tp) && i.end === undefined)
        if (open !== undefined) open.end = now
      }
    }
    return {
      onAssigned: (ps) =>
        Effect.sync(() => {
          const now = Date.now()
          this.log.push({ at: now, member, tag: "Assigned", partitions: ps.map(key) })
          for (const tp of ps) this.intervals.push({ member, tp: key(tp), start: now, end: undefined })
        }),
      // the delay makes a hand-over before the hook ends visible as an overlap; the commit must
      // succeed: the member is still in the generation the partitions belong to
      onRevoked: (ps, membership) =>
        Effect.sleep(revokeDelayMs).pipe(
          Effect.andThen(Effect.exit(membership.commit(ps.map((tp) => ({ ...tp, offset: 1000n + BigInt(tp.partition) }))))),
          Effect.andThen((exit) =>
            Effect.sync(() => {
              this.commits.push({ member, ok: exit._tag === "Success", detail: exit._tag === "Success" ? "" : String(exit.cause) })
              give("Revoked", ps)
            })
          )
        ),
      onLost: (ps) => Effect.sync(() => give("Lost", ps))
    }
  }

  since(at: number, member?: string, tag?: Entry["tag"]): Array<Entry> {
    return this.log.filter((e) => e.at >= at && (member === undefined || e.member === member) && (tag === undefined || e.tag === tag))
  }

  /** No partition was held by two live members at once, and every commit in onRevoked succeeded. */
  noOverlap(): void {
    assert.deepStrictEqual(this.commits.filter((c) => !c.ok), [])
    const live = this.intervals.filter((i) => !(this.crashed.has(i.member) && i.end === undefined))
    for (const a of live) {
      for (const b of live) {
        if (a === b || a.tp !== b.tp || a.member === b.member) continue
        const overlap = a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity)
        assert.isFalse(overlap, `${a.tp} held by ${a.member} [${a.start}, ${a.end}) and ${b.member} [${b.start}, ${b.end})`)
      }
    }
  }
}

interface Member {
  readonly name: string
  readonly membership: Group.GroupMembership
  /** Closes the member's scope: leaves the group (a static member does not), closes its connections. */
  readonly close: Effect.Effect<void>
  /** Stops as a crash would: no hooks, no leaving. */
  readonly crash: Effect.Effect<void>
}

const startMember = (
  name: string,
  options: Omit<Group.GroupOptions, "onAssigned" | "onRevoked" | "onLost">,
  recorder: Recorder,
  revokeDelayMs?: number
): Effect.Effect<Member, Group.GroupError | Cluster.InvalidClusterConfig, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const membership = yield* Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-${name}` })
      return yield* Group.join({ ...options, ...recorder.hooks(name, revokeDelayMs) }).pipe(Effect.provideService(Cluster.Cluster, cluster))
    }).pipe(Scope.provide(scope))
    return {
      name,
      membership,
      close: Scope.close(scope, Exit.void),
      crash: Effect.sync(() => recorder.crashed.add(name)).pipe(Effect.andThen(membership.abandon), Effect.andThen(Scope.close(scope, Exit.void)))
    }
  })

const waitUntil = (what: string, condition: () => boolean, timeoutMs = 30_000) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (!condition()) {
      if (Date.now() - start > timeoutMs) return yield* Effect.die(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      yield* Effect.sleep("50 millis")
    }
    return Date.now() - start
  })

/** Every partition of `topic` (of `n`) owned by exactly one of `members`, loads within `loads`. */
const covers = (members: ReadonlyArray<Member>, topic: string, n: number, loads?: ReadonlyArray<number>) => () => {
  const owned = members.flatMap((m) => m.membership.assigned().map(key))
  if (owned.length !== n || new Set(owned).size !== n) return false
  for (let p = 0; p < n; p++) if (!owned.includes(`${topic}-${p}`)) return false
  if (loads === undefined) return true
  return JSON.stringify(members.map((m) => m.membership.assigned().length).sort()) === JSON.stringify([...loads].sort())
}

/** The assignment holds still for `ms` (no follow-up rebalance in flight). */
const settled = (recorder: Recorder, ms = 1500) =>
  Effect.gen(function*() {
    for (;;) {
      const n = recorder.log.length
      yield* Effect.sleep(ms)
      if (recorder.log.length === n) return
    }
  })

const withTopic = (partitions: number) =>
  Effect.scoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-group-setup" })
    const topic = uniqueTopic("group")
    yield* createTopic(cluster, topic, { partitions })
    return topic
  }))

const classic = (groupId: string, topic: string, extra: Partial<Group.GroupOptions> = {}): Group.GroupOptions => ({
  groupId,
  topics: [topic],
  sessionTimeout: "6 seconds",
  heartbeatInterval: "500 millis",
  ...extra
})

const consumerProtocol = (groupId: string, topic: string, extra: Partial<Group.GroupOptions> = {}): Group.GroupOptions => ({
  groupId,
  topics: [topic],
  groupProtocol: "consumer",
  ...extra
})

describe.concurrent("consumer groups (real broker)", () => {
  describe.concurrent("KIP-848 consumer group protocol", () => {
    // first: it is the longest, and vitest runs at most 5 tests of a file at once
    it.live("a crashed member's partitions move after the broker's 45 s session timeout", () =>
      Effect.gen(function*() {
        const topic = yield* withTopic(4)
        const rec = new Recorder()
        const options = consumerProtocol(uniqueTopic("kip848-crash"), topic)
        const [a, b] = yield* Effect.forEach(["a", "b"], (n) => startMember(n, options, rec), { concurrency: "unbounded" })
        yield* waitUntil("2/2", covers([a, b], topic, 4, [2, 2]), 45_000)
        yield* settled(rec, 2000)
        const crashed = Date.now()
        yield* b.crash
        const ms = yield* waitUntil("a takes all", covers([a], topic, 4, [4]), 70_000)
        assert.isAtLeast(ms, 40_000)
        assert.deepStrictEqual(rec.since(crashed, "a", "Revoked"), [])
        assert.deepStrictEqual(rec.since(crashed, "a", "Lost"), [])
        rec.noOverlap()
      }), 120_000)

    it.live("3 members over 6 partitions get 2/2/2; a member leaving moves only its partitions, the others revoke nothing", () =>
      Effect.gen(function*() {
        const topic = yield* withTopic(6)
        const groupId = uniqueTopic("kip848")
        const rec = new Recorder()
        const options = consumerProtocol(groupId, topic)
        const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (n) => startMember(n, options, rec), { concurrency: "unbounded" })
        yield* waitUntil("2/2/2", covers([a, b, c], topic, 6, [2, 2, 2]), 45_000)
        yield* settled(rec, 2000)
        const before = new Map([a, b].map((m) => [m.name, m.membership.assigned().map(key)]))
        const left = Date.now()
        yield* c.close
        yield* waitUntil("3/3 after c left", covers([a, b], topic, 6, [3, 3]), 20_000)
        yield* settled(rec, 2000)
        assert.deepStrictEqual(rec.since(left, undefined, "Revoked").map((e) => e.member), ["c"])
        for (const m of [a, b]) {
          for (const k of before.get(m.name)!) assert.include(m.membership.assigned().map(key), k)
        }
        assert.isAbove(a.membership.generation().generationId, 0)
        rec.noOverlap()
      }), 90_000)

    it.live("static member (epoch -2 on close) restarting gets its partitions back; the other member's epoch does not move", () =>
      Effect.gen(function*() {
        const topic = yield* withTopic(4)
        const groupId = uniqueTopic("kip848-static")
        const rec = new Recorder()
        const options = (id: string) => consumerProtocol(groupId, topic, { groupInstanceId: id })
        const [a, b] = yield* Effect.forEach(["a", "b"], (n) => startMember(n, options(`instance-${n}`), rec), { concurrency: "unbounded" })
        yield* waitUntil("2/2", covers([a, b], topic, 4, [2, 2]), 45_000)
        yield* settled(rec, 2000)
        const bPartitions = b.membership.assigned().map(key)
        const aGeneration = a.membership.generation()
        const restarted = Date.now()
        yield* b.close
        const b2 = yield* startMember("b2", options("instance-b"), rec)
        yield* waitUntil("b's partitions back", () => b2.membership.assigned().length === 2, 20_000)
        yield* settled(rec, 6000) // longer than a heartbeat interval: a would have heard of a new epoch
        assert.deepStrictEqual(b2.membership.assigned().map(key), bPartitions)
        assert.deepStrictEqual(a.membership.generation(), aGeneration)
        assert.deepStrictEqual(rec.since(restarted, "a"), [])
        rec.noOverlap()
      }), 90_000)

    it.live("pattern subscription (matched by the coordinator): a topic created later is picked up", () =>
      Effect.gen(function*() {
        const prefix = uniqueTopic("pat848")
        const rec = new Recorder()
        const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-group-pattern848" })
        yield* createTopic(cluster, `${prefix}-one`, { partitions: 2 })
        const m = yield* startMember("p", { groupId: uniqueTopic("pattern848"), pattern: `${prefix}-.*`, groupProtocol: "consumer" }, rec)
        yield* waitUntil("the first topic", () => m.membership.assigned().length === 2, 30_000)
        yield* createTopic(cluster, `${prefix}-two`, { partitions: 1 })
        yield* waitUntil("the second topic", () => m.membership.assigned().length === 3, 40_000)
        assert.deepStrictEqual([...new Set(m.membership.assigned().map((tp) => tp.topic))].sort(), [`${prefix}-one`, `${prefix}-two`])
      }), 90_000)

    it.live("a revocation is acknowledged only once onRevoked is done, even when the hook outlasts heartbeat intervals", () =>
      Effect.gen(function*() {
        const topic = yield* withTopic(4)
        const rec = new Recorder()
        const options = consumerProtocol(uniqueTopic("kip848-slow-revoke"), topic)
        const a = yield* startMember("a", options, rec, 7000) // longer than the 5 s heartbeat interval
        yield* waitUntil("a owns all", covers([a], topic, 4, [4]), 20_000)
        const b = yield* startMember("b", options, rec)
        yield* waitUntil("2/2", covers([a, b], topic, 4, [2, 2]), 45_000)
        yield* waitUntil("a's onRevoked done", () => rec.since(0, "a", "Revoked").length > 0)
        const revoked = rec.since(0, "a", "Revoked")
        assert.strictEqual(revoked.length, 1)
        const handedOver = rec.since(0, "b", "Assigned")
        assert.isAtLeast(handedOver[0].at, revoked[0].at)
        rec.noOverlap()
      }), 90_000)
  })

  describe.concurrent("classic group protocol", () => {
    it.live("range (eager): 3 members over 6 partitions get 2/2/2; a member leaving moves its partitions at once, a crashed one after the session timeout", () =>
      Effect.gen(function*() {
        const topic = yield* withTopic(6)
        const groupId = uniqueTopic("range")
        const rec = new Recorder()
        const options = classic(groupId, topic, { assignors: [Assignor.range] })
        const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (n) => startMember(n, options, rec), { concurrency: "unbounded" })
        yield* waitUntil("2/2/2", covers([a, b, c], topic, 6, [2, 2, 2]))
        yield* settled(rec)
        // range: consecutive partitions
        for (const m of [a, b, c]) {
          const ps = m.membership.assigned().map((tp) => tp.partition)
          assert.strictEqual(ps[1], ps[0] + 1)
        }
        const generation = a.membership.generation().generationId

        const left = Date.now()
        yield* b.close
        const leaveMs = yield* waitUntil("3/3 after b left", covers([a, c], topic, 6, [3, 3]))
        assert.isBelow(leaveMs, 4000) // LeaveGroup: no session timeout to wait for
        assert.isAbove(a.membership.generation().generationId, generation)
        // eager: the others revoked everything before rejoining
        assert.isNotEmpty(rec.since(left, "a", "Revoked"))
        yield* settled(rec)

        const crashed = Date.now()
        yield* c.crash
        const crashMs = yield* waitUntil("a takes all after c crashed", covers([a], topic, 6, [6]), 20_000)
        assert.isAtLeast(crashMs, 4000, "partitions moved before the session timeout")
        assert.deepStrictEqual(rec.since(crashed, "a", "Lost"), [])
        assert.isAtLeast(rec.commits.length, 3) // a, c on b's leave; b on closing
        rec.noOverlap()
      }), 60_000)

    it.live("cooperative-sticky: a joining member takes one partition in a second rebalance; members whose partitions stay see no Revoked; leave and crash move only the leaver's partitions", () =>
      Effect.gen(function*() {
        const topic = yield* withTopic(6)
        const groupId = uniqueTopic("coop")
        const rec = new Recorder()
        const options = classic(groupId, topic, { assignors: [Assignor.cooperativeSticky] })
        const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (n) => startMember(n, options, rec), { concurrency: "unbounded" })
        yield* waitUntil("2/2/2", covers([a, b, c], topic, 6, [2, 2, 2]))
        yield* settled(rec)
        const before = new Map([a, b, c].map((m) => [m.name, m.membership.assigned().map(key)]))

        // a fourth member: one partition moves (2/2/1/1)
        const joined = Date.now()
        const d = yield* startMember("d", options, rec)
        yield* waitUntil("2/2/1/1", covers([a, b, c, d], topic, 6, [1, 1, 2, 2]))
        yield* settled(rec)
        const revoked = rec.since(joined, undefined, "Revoked")
        assert.strictEqual(revoked.length, 1, JSON.stringify(revoked))
        assert.deepStrictEqual(revoked[0].partitions, d.membership.assigned().map(key))
        for (const m of [a, b, c]) {
          const kept = m.membership.assigned().map(key)
          assert.isTrue(kept.every((k) => before.get(m.name)!.includes(k)), `${m.name} got a partition it did not have`)
          if (m.name !== revoked[0].member) assert.deepStrictEqual(kept, before.get(m.name))
          assert.deepStrictEqual(rec.since(joined, m.name, "Assigned"), [])
        }

        // a member leaves: only its partitions move; nobody else revokes anything
        const leaving = [a, b, c].find((m) => m.membership.assigned().length === 2)!
        const rest = [a, b, c, d].filter((m) => m !== leaving)
        const left = Date.now()
        yield* leaving.close
        yield* waitUntil("2/2/2 after a member left", covers(rest, topic, 6, [2, 2, 2]))
        yield* settled(rec)
        assert.deepStrictEqual(rec.since(left, undefined, "Revoked").map((e) => e.member), [leaving.name])

        // a member crashes: after the session timeout its partitions move; again no other revocation
        const victim = rest.find((m) => m.membership.assigned().length === 2)!
        const survivors = rest.filter((m) => m !== victim)
        const crashed = Date.now()
        yield* victim.crash
        const ms = yield* waitUntil("3/3 after a crash", covers(survivors, topic, 6, [3, 3]), 20_000)
        assert.isAtLeast(ms, 4000)
        yield* settled(rec)
        assert.deepStrictEqual(rec.since(crashed, undefined, "Revoked"), [])
        assert.deepStrictEqual(rec.since(crashed, undefined, "Lost"), [])
        rec.noOverlap()
      }), 60_000)

    it.live("static membership (KIP-345): a member restarting within the session timeout gets its partitions back without a rebalance (the leader too)", () =>
      Effect.gen(function*() {
        const topic = yield* withTopic(6)
        const groupId = uniqueTopic("static")
        const rec = new Recorder()
        const options = (id: string) => classic(groupId, topic, { groupInstanceId: id, sessionTimeout: "10 seconds", assignors: [Assignor.cooperativeSticky] })
        // a joins first: it is the group's leader (and stays it)
        const a = yield* startMember("a", options("instance-a"), rec)
        yield* waitUntil("a has all", covers([a], topic, 6, [6]))
        const [b, c] = yield* Effect.forEach(["b", "c"], (n) => startMember(n, options(`instance-${n}`), rec), { concurrency: "unbounded" })
        yield* waitUntil("2/2/2", covers([a, b, c], topic, 6, [2, 2, 2]))
        yield* settled(rec)

        /** Restarts `m` under the same instance id: same partitions, same generation, nothing happens to `others`. */
        const restart = (m: Member, name: string, others: ReadonlyArray<Member>) =>
          Effect.gen(function*() {
            const partitions = m.membership.assigned().map(key)
            const generations = others.map((o) => o.membership.generation())
            const restarted = Date.now()
            yield* m.close // static: no LeaveGroup
            const again = yield* startMember(name, options(`instance-${m.name}`), rec)
            yield* waitUntil(`${name} gets its partitions back`, () => again.membership.assigned().length === partitions.length, 8000)
            yield* settled(rec)
            assert.deepStrictEqual(again.membership.assigned().map(key), partitions)
            assert.deepStrictEqual(others.map((o) => o.membership.generation()), generations)
            assert.strictEqual(again.membership.generation().generationId, generations[0].generationId)
            assert.deepStrictEqual(rec.since(restarted).filter((e) => others.some((o) => o.name === e.member)), [])
            return again
          })
        const b2 = yield* restart(b, "b2", [a, c]) // a follower
        yield* restart(a, "a2", [b2, c]) // the leader: the coordinator tells it to skip the assignment (KIP-814)
        rec.noOverlap()
      }), 60_000)

    it.live("pattern subscription: topics created later that match are picked up", () =>
      Effect.gen(function*() {
        const prefix = uniqueTopic("pat")
        const rec = new Recorder()
        const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-group-pattern" })
        yield* createTopic(cluster, `${prefix}-one`, { partitions: 2 })
        yield* createTopic(cluster, `${prefix}-other`.replace("pat", "nomatch"), { partitions: 1 })
        const m = yield* startMember("p", { groupId: uniqueTopic("pattern"), pattern: new RegExp(`${prefix}-.*`), sessionTimeout: "6 seconds", heartbeatInterval: "500 millis", metadataRecheck: "500 millis" }, rec)
        yield* waitUntil("the first topic", () => m.membership.assigned().length === 2)
        yield* createTopic(cluster, `${prefix}-two`, { partitions: 3 })
        yield* waitUntil("the second topic", () => m.membership.assigned().length === 5, 15_000)
        assert.deepStrictEqual([...new Set(m.membership.assigned().map((tp) => tp.topic))].sort(), [`${prefix}-one`, `${prefix}-two`])
      }), 60_000)
  })

  // A broker answers one request per connection at a time and holds a JoinGroup until the group is
  // ready: members sharing one coordinator connection would wait behind each other's JoinGroup and
  // the group would never settle with both. Each membership has coordinator connections of its own.
  describe.concurrent("two consumers of one group on one Cluster", () => {
    for (const groupProtocol of ["classic", "consumer"] as const) {
      it.live(`${groupProtocol}: they split the partitions and both read records; their coordinator connections close with them`, () =>
        Effect.scoped(Effect.gen(function*() {
          const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-one-cluster-${groupProtocol}` })
          const topic = uniqueTopic("one-cluster")
          yield* createTopic(cluster, topic, { partitions: 4 })
          const producer = yield* Producer.make({ linger: "0 millis" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
          // the shared connections the consumers will use (to the leaders) are open before counting
          yield* Effect.forEach([0, 1, 2, 3], (p) => cluster.leader(topic, p), { discard: true })
          const before = cluster.connectionCount()

          const groupId = uniqueTopic(`one-cluster-${groupProtocol}`)
          const read: Array<Array<{ partition: number; offset: bigint }>> = [[], []]
          const scope = yield* Scope.make()
          const start = (i: number) =>
            Effect.gen(function*() {
              const consumer = yield* Consumer.make({
                groupId,
                topics: [topic],
                groupProtocol,
                offsetReset: "earliest",
                maxWait: "100 millis",
                ...(groupProtocol === "classic" ? { sessionTimeout: "6 seconds", heartbeatInterval: "500 millis" } : {})
              })
              yield* consumer.records.pipe(
                Stream.runForEach((r) => Effect.sync(() => read[i].push({ partition: r.partition, offset: r.offset }))),
                Effect.forkScoped
              )
              return consumer
            }).pipe(Effect.provideService(Cluster.Cluster, cluster), Scope.provide(scope))
          const [a, b] = yield* Effect.all([start(0), start(1)], { concurrency: "unbounded" })
          yield* waitUntil("a 2/2 split", () => a.assignment().length === 2 && b.assignment().length === 2, 45_000)
          assert.isAbove(cluster.connectionCount(), before, "the memberships have connections of their own")

          const te = new TextEncoder()
          yield* producer.sendAll(Array.from({ length: 40 }, (_, i) => ({ topic, partition: i % 4, value: te.encode(`v${i}`) })))
          const distinct = () => new Set(read.flat().map((r) => `${r.partition}@${r.offset}`)).size
          yield* waitUntil("all 40 records", () => distinct() === 40, 30_000)
          const owned = [a, b].map((c) => new Set(c.assignment().map((tp) => tp.partition)))
          for (const i of [0, 1]) {
            assert.isAbove(read[i].length, 0, `consumer ${i} read records`)
            for (const r of read[i]) assert.isTrue(owned[i].has(r.partition), `consumer ${i} read partition ${r.partition}, which it does not own`)
          }

          yield* Scope.close(scope, Exit.void)
          assert.strictEqual(cluster.connectionCount(), before, "closing the consumers closed their coordinator connections")
        })), 90_000)
    }
  })
})
