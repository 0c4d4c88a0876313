import { assert, describe, it } from "@effect/vitest"
import * as Assignor from "../../src/Consumer/Assignor.ts"
import type { Subscription, TopicPartition } from "../../src/Consumer/Assignor.ts"
import { withoutTransfers } from "../../src/Consumer/internal/assignorCommon.ts"
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "../../src/Consumer/internal/groupProtocol.ts"

const member = (memberId: string, topics: ReadonlyArray<string>, extra: Partial<Subscription> = {}): Subscription => ({
  memberId,
  groupInstanceId: null,
  topics,
  userData: null,
  ownedPartitions: [],
  generationId: -1,
  rackId: null,
  ...extra
})

const counts = (entries: Record<string, number>) => ({ partitionsPerTopic: new Map(Object.entries(entries)) })

/** `{ member: ["t0-0", …] }` for compact comparisons. */
const show = (a: ReadonlyMap<string, Assignor.MemberAssignment>): Record<string, Array<string>> =>
  Object.fromEntries([...a].map(([id, m]) => [id, m.partitions.map((tp) => `${tp.topic}-${tp.partition}`)]))

describe("range", () => {
  it("two members, two topics of 3 partitions: the first member takes the larger range of each topic", () => {
    const r = Assignor.range.assign([member("C1", ["t0", "t1"]), member("C0", ["t0", "t1"])], counts({ t0: 3, t1: 3 }))
    assert.deepStrictEqual(show(r), { C1: ["t0-2", "t1-2"], C0: ["t0-0", "t0-1", "t1-0", "t1-1"] })
  })

  it("per topic, only the members subscribed to it; topics that do not exist are skipped", () => {
    const r = Assignor.range.assign(
      [member("a", ["t0"]), member("b", ["t0", "t1"]), member("c", ["t1", "missing"])],
      counts({ t0: 5, t1: 2 })
    )
    assert.deepStrictEqual(show(r), { a: ["t0-0", "t0-1", "t0-2"], b: ["t0-3", "t0-4", "t1-0"], c: ["t1-1"] })
  })

  it("static members come first, ordered by instance id", () => {
    const r = Assignor.range.assign(
      [member("aaa", ["t"]), member("zzz", ["t"], { groupInstanceId: "i2" }), member("mmm", ["t"], { groupInstanceId: "i1" })],
      counts({ t: 4 })
    )
    assert.deepStrictEqual(show(r), { aaa: ["t-3"], zzz: ["t-2"], mmm: ["t-0", "t-1"] })
  })

  it("more members than partitions: the last ones get nothing", () => {
    const r = Assignor.range.assign([member("a", ["t"]), member("b", ["t"]), member("c", ["t"])], counts({ t: 2 }))
    assert.deepStrictEqual(show(r), { a: ["t-0"], b: ["t-1"], c: [] })
  })
})

describe("roundRobin", () => {
  it("two members, two topics of 3 partitions: dealt in turn over t0-0..t1-2", () => {
    const r = Assignor.roundRobin.assign([member("C0", ["t0", "t1"]), member("C1", ["t0", "t1"])], counts({ t0: 3, t1: 3 }))
    assert.deepStrictEqual(show(r), { C0: ["t0-0", "t0-2", "t1-1"], C1: ["t0-1", "t1-0", "t1-2"] })
  })

  it("different subscriptions: members not subscribed to a topic are skipped (Java's documented example)", () => {
    const r = Assignor.roundRobin.assign(
      [member("C0", ["t0"]), member("C1", ["t0", "t1"]), member("C2", ["t0", "t1", "t2"])],
      counts({ t0: 1, t1: 2, t2: 3 })
    )
    assert.deepStrictEqual(show(r), { C0: ["t0-0"], C1: ["t1-0"], C2: ["t1-1", "t2-0", "t2-1", "t2-2"] })
  })
})

// ---- cooperative sticky: properties over random group changes --------------------------------

/** A small deterministic PRNG (mulberry32). */
const prng = (seed: number) => () => {
  seed = (seed + 0x6D2B79F5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const key = (tp: TopicPartition) => `${tp.topic}-${tp.partition}`

interface SimMember {
  readonly id: string
  readonly topics: ReadonlyArray<string>
  owned: Array<TopicPartition>
  generation: number
}

/**
 * Runs the cooperative protocol among `members` until no member revokes anything: each round the
 * leader assigns (cooperative sticky, then the cooperative rule), every member revokes what it
 * lost and takes what it got. Checks that no partition is ever owned twice. Returns, per member,
 * the partitions it revoked.
 */
const converge = (members: Array<SimMember>, partitionsPerTopic: Map<string, number>, generation: { n: number }) => {
  const revokedBy = new Map<string, Array<string>>(members.map((m) => [m.id, []]))
  for (let round = 0; round < 10; round++) {
    generation.n++
    const subs = members.map((m) => member(m.id, m.topics, { ownedPartitions: m.owned, generationId: m.generation }))
    const raw = Assignor.cooperativeSticky.assign(subs, { partitionsPerTopic })
    const next = withoutTransfers(subs, new Map([...raw].map(([id, a]) => [id, a.partitions])))
    let revocations = 0
    for (const m of members) {
      const mine = new Set((next.get(m.id) ?? []).map(key))
      const lost = m.owned.filter((tp) => !mine.has(key(tp)))
      revokedBy.get(m.id)!.push(...lost.map(key))
      revocations += lost.length
    }
    // members take their new partitions only after everyone revoked: none may be owned by another member now
    const ownerNow = new Map<string, string>()
    for (const m of members) for (const tp of m.owned) if ((next.get(m.id) ?? []).some((x) => key(x) === key(tp))) ownerNow.set(key(tp), m.id)
    for (const m of members) {
      for (const tp of next.get(m.id) ?? []) {
        const o = ownerNow.get(key(tp))
        assert.isTrue(o === undefined || o === m.id, `${key(tp)} handed to ${m.id} while ${o} still owns it`)
      }
      m.owned = [...(next.get(m.id) ?? [])]
      m.generation = generation.n
    }
    if (revocations === 0) return { revokedBy, rounds: round + 1 }
  }
  throw new Error("the cooperative protocol did not converge in 10 rounds")
}

describe("cooperativeSticky", () => {
  it("balanced and sticky over random joins, leaves and partition additions; only moving partitions are revoked", () => {
    const random = prng(42)
    const partitionsPerTopic = new Map([["a", 7], ["b", 5]])
    const topics = ["a", "b"]
    let members: Array<SimMember> = [{ id: "m-00", topics, owned: [], generation: -1 }]
    let nextId = 1
    const generation = { n: 0 }
    let totalMoves = 0
    for (let step = 0; step < 300; step++) {
      const before = new Map(members.map((m) => [m.id, new Set(m.owned.map(key))]))
      const r = random()
      if (r < 0.4 && members.length < 9) members.push({ id: `m-${String(nextId++).padStart(2, "0")}`, topics, owned: [], generation: -1 })
      else if (r < 0.8 && members.length > 1) {
        const gone = Math.floor(random() * members.length)
        members = members.filter((_, i) => i !== gone)
      }
      else partitionsPerTopic.set("a", partitionsPerTopic.get("a")! + 1)
      const total = [...partitionsPerTopic.values()].reduce((x, y) => x + y, 0)
      const { revokedBy } = converge(members, partitionsPerTopic, generation)

      // every partition exactly once
      const all = members.flatMap((m) => m.owned.map(key))
      assert.strictEqual(all.length, total)
      assert.strictEqual(new Set(all).size, total)
      // balanced
      const loads = members.map((m) => m.owned.length)
      assert.isAtMost(Math.max(...loads) - Math.min(...loads), 1, `loads ${loads}`)
      // sticky: a member keeps min(what it had, its fair share) of what it had
      const minQuota = Math.floor(total / members.length)
      for (const m of members) {
        const had = before.get(m.id)
        if (had === undefined) continue
        const kept = m.owned.filter((tp) => had.has(key(tp))).length
        assert.isAtLeast(kept, Math.min(had.size, minQuota), `${m.id} kept ${kept} of ${had.size} (quota ${minQuota})`)
        // only partitions that moved away were revoked: none came back to it
        const revoked = revokedBy.get(m.id)!
        for (const k of revoked) assert.isFalse(m.owned.some((tp) => key(tp) === k), `${m.id} revoked ${k} and got it back`)
        // a member that did not need to give anything up revoked nothing
        if (had.size <= minQuota) assert.deepStrictEqual(revoked, [], `${m.id} had ${had.size} ≤ ${minQuota} yet revoked ${revoked}`)
        totalMoves += revoked.length
      }
    }
    assert.isAbove(totalMoves, 0)
  })

  it("a member joining a group of three over 8 partitions takes one from each member that had three, in a second rebalance", () => {
    const partitionsPerTopic = new Map([["t", 8]])
    const generation = { n: 0 }
    const members: Array<SimMember> = ["a", "b", "c"].map((id) => ({ id, topics: ["t"], owned: [], generation: -1 }))
    converge(members, partitionsPerTopic, generation)
    assert.deepStrictEqual(members.map((m) => m.owned.length).sort(), [2, 3, 3])
    const before = new Map(members.map((m) => [m.id, m.owned.map(key)]))
    members.push({ id: "d", topics: ["t"], owned: [], generation: -1 })
    const { revokedBy, rounds } = converge(members, partitionsPerTopic, generation)
    assert.strictEqual(rounds, 2) // the first rebalance revokes, the second hands over
    assert.deepStrictEqual(members.map((m) => m.owned.length), [2, 2, 2, 2])
    const revoked = [...revokedBy.values()].flat()
    assert.deepStrictEqual(members.find((m) => m.id === "d")!.owned.map(key).sort(), revoked.sort())
    for (const m of members.slice(0, 3)) {
      const had = before.get(m.id)!
      assert.strictEqual(revokedBy.get(m.id)!.length, had.length - 2, `${m.id} had ${had.length}`)
      assert.isTrue(m.owned.every((tp) => had.includes(key(tp))), `${m.id} got a partition it did not have`)
    }
  })

  it("different subscriptions: partitions go only to subscribed members, loads balanced where possible", () => {
    const subs = [member("x", ["a"]), member("y", ["a", "b"]), member("z", ["b"])]
    const r = Assignor.cooperativeSticky.assign(subs, counts({ a: 4, b: 4 }))
    for (const [id, m] of r) {
      const topics = subs.find((s) => s.memberId === id)!.topics
      for (const tp of m.partitions) assert.include(topics, tp.topic)
    }
    const loads = [...r.values()].map((m) => m.partitions.length)
    assert.strictEqual(loads.reduce((a, b) => a + b, 0), 8)
    assert.isAtMost(Math.max(...loads) - Math.min(...loads), 1)
  })

  it("conflicting claims: the member of the newer generation keeps the partition; the other's claim is withheld from everyone", () => {
    const subs = [
      member("old", ["t"], { ownedPartitions: [{ topic: "t", partition: 0 }], generationId: 3 }),
      member("new", ["t"], { ownedPartitions: [{ topic: "t", partition: 0 }], generationId: 4 })
    ]
    const r = Assignor.cooperativeSticky.assign(subs, counts({ t: 2 }))
    assert.deepStrictEqual(show(r), { old: ["t-1"], new: ["t-0"] })
    const adjusted = withoutTransfers(subs, new Map([...r].map(([id, a]) => [id, a.partitions])))
    // both still claim t-0: nobody gets it until the stale claimant revoked it
    assert.deepStrictEqual(Object.fromEntries([...adjusted].map(([id, tps]) => [id, tps.map(key)])), { old: ["t-1"], new: [] })
  })

  it("reads a Java member's generation from its user data when the subscription has none", () => {
    const userData = Assignor.cooperativeSticky.subscriptionUserData!({ owned: [], generationId: 9 })!
    const subs = [
      member("java", ["t"], { ownedPartitions: [{ topic: "t", partition: 0 }], userData }),
      member("kpax", ["t"], { ownedPartitions: [{ topic: "t", partition: 0 }], generationId: 8 })
    ]
    assert.deepStrictEqual(show(Assignor.cooperativeSticky.assign(subs, counts({ t: 2 }))), { java: ["t-0"], kpax: ["t-1"] })
  })
})

describe("consumer protocol bytes", () => {
  it("subscription and assignment round-trip (v3); empty assignment bytes are an empty assignment", () => {
    const s = {
      topics: ["b", "a"],
      userData: new Uint8Array([1, 2, 3]),
      ownedPartitions: [{ topic: "a", partition: 2 }, { topic: "a", partition: 0 }],
      generationId: 7,
      rackId: "r1"
    }
    const d = decodeSubscription(encodeSubscription(s))!
    assert.deepStrictEqual(d.topics, ["a", "b"])
    assert.deepStrictEqual([...d.userData!], [1, 2, 3])
    assert.deepStrictEqual(d.ownedPartitions, [{ topic: "a", partition: 0 }, { topic: "a", partition: 2 }])
    assert.strictEqual(d.generationId, 7)
    assert.strictEqual(d.rackId, "r1")
    const a = decodeAssignment(encodeAssignment({ partitions: [{ topic: "t", partition: 1 }], userData: null }))!
    assert.deepStrictEqual(a.partitions, [{ topic: "t", partition: 1 }])
    assert.deepStrictEqual(decodeAssignment(new Uint8Array(0)), { partitions: [], userData: null })
    assert.isUndefined(decodeSubscription(new Uint8Array([0])))
  })
})
