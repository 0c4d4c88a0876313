/**
 * The range assignment (Java's `RangeAssignor`): topic by topic, the members subscribed to the
 * topic in member order each take a consecutive range of its partitions; the first
 * `partitions % members` take one more.
 *
 * @internal
 */
import type { TopicPartition } from "../Record.ts"
import { emptyAssignment, sortMembers } from "./assignorCommon.ts"
import type { MemberView } from "./assignorCommon.ts"

export const rangeAssign = (
  members: ReadonlyArray<MemberView>,
  partitionsPerTopic: ReadonlyMap<string, number>
): Map<string, Array<TopicPartition>> => {
  const out = emptyAssignment(members)
  const byTopic = new Map<string, Array<MemberView>>()
  for (const m of sortMembers(members)) {
    for (const t of new Set(m.topics)) {
      let list = byTopic.get(t)
      if (list === undefined) byTopic.set(t, list = [])
      list.push(m)
    }
  }
  for (const topic of [...byTopic.keys()].sort()) {
    const n = partitionsPerTopic.get(topic) ?? 0
    if (n <= 0) continue
    const consumers = byTopic.get(topic)!
    const per = Math.floor(n / consumers.length)
    const extra = n % consumers.length
    for (let i = 0; i < consumers.length; i++) {
      const start = per * i + Math.min(i, extra)
      const length = per + (i < extra ? 1 : 0)
      const list = out.get(consumers[i].memberId)!
      for (let p = start; p < start + length; p++) list.push({ topic, partition: p })
    }
  }
  return out
}
