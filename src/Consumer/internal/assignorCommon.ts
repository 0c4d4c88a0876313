/**
 * Plain-TypeScript helpers of the assignors: member order (as Java's `MemberInfo`), partition
 * lists, ownership claims, and the cooperative rule that a partition is never handed to a member
 * while another member still owns it.
 *
 * @internal
 */
import type { TopicPartition } from "../Record.ts"

/** What an assignor knows of one member (see `Assignor.Subscription`). */
export interface MemberView {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly topics: ReadonlyArray<string>
  readonly ownedPartitions: ReadonlyArray<TopicPartition>
  readonly generationId: number
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/** Java's `MemberInfo` order: static members first by instance id, then dynamic ones by member id. */
export const compareMembers = (a: MemberView, b: MemberView): number => {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) {
    return a.groupInstanceId < b.groupInstanceId ? -1 : a.groupInstanceId > b.groupInstanceId ? 1 : 0
  }
  if (a.groupInstanceId !== null) return -1
  if (b.groupInstanceId !== null) return 1
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0
}

export const sortMembers = <M extends MemberView>(members: ReadonlyArray<M>): Array<M> => [...members].sort(compareMembers)

export const compareTopicPartitions = (a: TopicPartition, b: TopicPartition): number =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition

/** Every partition of the topics some member subscribes to (that exist), by topic name then index. */
export const subscribedPartitions = (
  members: ReadonlyArray<MemberView>,
  partitionsPerTopic: ReadonlyMap<string, number>
): Array<TopicPartition> => {
  const topics = new Set<string>()
  for (const m of members) for (const t of m.topics) if ((partitionsPerTopic.get(t) ?? 0) > 0) topics.add(t)
  const out: Array<TopicPartition> = []
  for (const topic of [...topics].sort()) {
    const n = partitionsPerTopic.get(topic)!
    for (let partition = 0; partition < n; partition++) out.push({ topic, partition })
  }
  return out
}

/** An empty assignment for every member. */
export const emptyAssignment = (members: ReadonlyArray<MemberView>): Map<string, Array<TopicPartition>> =>
  new Map(members.map((m) => [m.memberId, []]))

/**
 * Who owns what, by the members' claims: a partition claimed by several members goes to the one
 * with the highest generation (the first in member order on a tie). Claims of partitions that no
 * longer exist or that the member no longer subscribes to are dropped.
 */
export const validOwners = (
  members: ReadonlyArray<MemberView>,
  partitionsPerTopic: ReadonlyMap<string, number>
): Map<string, string> => {
  const owner = new Map<string, { memberId: string; generation: number }>()
  for (const m of sortMembers(members)) {
    const subscribed = new Set(m.topics)
    for (const tp of m.ownedPartitions) {
      if (!subscribed.has(tp.topic) || tp.partition < 0 || tp.partition >= (partitionsPerTopic.get(tp.topic) ?? 0)) continue
      const k = tpKey(tp.topic, tp.partition)
      const prev = owner.get(k)
      if (prev === undefined || m.generationId > prev.generation) owner.set(k, { memberId: m.memberId, generation: m.generationId })
    }
  }
  return new Map([...owner].map(([k, v]) => [k, v.memberId]))
}

/**
 * The cooperative rule (KIP-429): a partition assigned to one member while another member still
 * claims it is withheld from the new owner in this generation. The claimant sees it missing from
 * its own assignment, revokes it and rejoins; the next rebalance hands it over. Returns the
 * adjusted assignment.
 */
export const withoutTransfers = (
  members: ReadonlyArray<MemberView>,
  assignment: ReadonlyMap<string, ReadonlyArray<TopicPartition>>
): Map<string, Array<TopicPartition>> => {
  const claimants = new Map<string, Set<string>>()
  for (const m of members) {
    for (const tp of m.ownedPartitions) {
      const k = tpKey(tp.topic, tp.partition)
      let s = claimants.get(k)
      if (s === undefined) claimants.set(k, s = new Set())
      s.add(m.memberId)
    }
  }
  const out = new Map<string, Array<TopicPartition>>()
  for (const [memberId, tps] of assignment) {
    out.set(memberId, tps.filter((tp) => {
      const c = claimants.get(tpKey(tp.topic, tp.partition))
      return c === undefined || c.size === 0 || (c.size === 1 && c.has(memberId))
    }))
  }
  return out
}

/** Partitions of `a` not in `b`. */
export const minus = (a: ReadonlyArray<TopicPartition>, b: ReadonlyArray<TopicPartition>): Array<TopicPartition> => {
  const drop = new Set(b.map((tp) => tpKey(tp.topic, tp.partition)))
  return a.filter((tp) => !drop.has(tpKey(tp.topic, tp.partition)))
}
