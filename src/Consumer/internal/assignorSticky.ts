/**
 * The sticky assignment behind `cooperativeSticky` (Java's `AbstractStickyAssignor`, simplified):
 * every member keeps the partitions it validly owns, unowned partitions go one by one to the
 * least-loaded member subscribed to their topic, then partitions move from the most loaded to the
 * least loaded members until no partition could move to a subscribed member with two fewer
 * partitions. Each move lowers the sum of squared loads, so the loop ends; partitions assigned in
 * this round move before owned ones, so owned partitions move only when balance needs it.
 *
 * @internal
 */
import type { TopicPartition } from "../Record.ts"
import { compareTopicPartitions, emptyAssignment, sortMembers, subscribedPartitions, tpKey, validOwners } from "./assignorCommon.ts"
import type { MemberView } from "./assignorCommon.ts"

export const stickyAssign = (
  members: ReadonlyArray<MemberView>,
  partitionsPerTopic: ReadonlyMap<string, number>
): Map<string, Array<TopicPartition>> => {
  const out = emptyAssignment(members)
  const sorted = sortMembers(members)
  if (sorted.length === 0) return out
  const rank = new Map(sorted.map((m, i) => [m.memberId, i]))
  const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]))
  const owners = validOwners(members, partitionsPerTopic)
  const unassigned: Array<TopicPartition> = []
  for (const tp of subscribedPartitions(members, partitionsPerTopic)) {
    const owner = owners.get(tpKey(tp.topic, tp.partition))
    if (owner !== undefined) out.get(owner)!.push(tp)
    else unassigned.push(tp)
  }
  const load = (memberId: string) => out.get(memberId)!.length
  const byLoadAscending = () =>
    [...sorted].sort((a, b) => load(a.memberId) - load(b.memberId) || rank.get(a.memberId)! - rank.get(b.memberId)!)

  for (const tp of unassigned) {
    const to = byLoadAscending().find((m) => subscribed.get(m.memberId)!.has(tp.topic))
    if (to !== undefined) out.get(to.memberId)!.push(tp)
  }

  /** Index in `list` of a partition `topics` allows, preferring ones `from` did not own before. */
  const movable = (from: string, list: ReadonlyArray<TopicPartition>, topics: ReadonlySet<string>): number => {
    let fallback = -1
    for (let i = list.length - 1; i >= 0; i--) {
      const tp = list[i]
      if (!topics.has(tp.topic)) continue
      if (owners.get(tpKey(tp.topic, tp.partition)) !== from) return i
      if (fallback < 0) fallback = i
    }
    return fallback
  }

  for (;;) {
    const ascending = byLoadAscending()
    const descending = [...ascending].reverse()
    let moved = false
    outer: for (const from of descending) {
      const list = out.get(from.memberId)!
      for (const to of ascending) {
        if (load(to.memberId) >= list.length - 1) break
        const i = movable(from.memberId, list, subscribed.get(to.memberId)!)
        if (i < 0) continue
        out.get(to.memberId)!.push(list[i])
        list.splice(i, 1)
        moved = true
        break outer
      }
    }
    if (!moved) break
  }
  for (const list of out.values()) list.sort(compareTopicPartitions)
  return out
}
