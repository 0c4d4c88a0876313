/**
 * The round-robin assignment (Java's `RoundRobinAssignor`): every partition of every subscribed
 * topic, topics by name and partitions by index, dealt in turn to the members in member order,
 * skipping members not subscribed to the partition's topic.
 *
 * @internal
 */
import type { TopicPartition } from "../Record.ts"
import { emptyAssignment, sortMembers, subscribedPartitions } from "./assignorCommon.ts"
import type { MemberView } from "./assignorCommon.ts"

export const roundRobinAssign = (
  members: ReadonlyArray<MemberView>,
  partitionsPerTopic: ReadonlyMap<string, number>
): Map<string, Array<TopicPartition>> => {
  const out = emptyAssignment(members)
  const sorted = sortMembers(members)
  if (sorted.length === 0) return out
  const subscriptions = sorted.map((m) => new Set(m.topics))
  let next = 0
  for (const tp of subscribedPartitions(members, partitionsPerTopic)) {
    // some member subscribes to tp.topic (subscribedPartitions only lists such topics)
    while (!subscriptions[next].has(tp.topic)) next = (next + 1) % sorted.length
    out.get(sorted[next].memberId)!.push(tp)
    next = (next + 1) % sorted.length
  }
  return out
}
