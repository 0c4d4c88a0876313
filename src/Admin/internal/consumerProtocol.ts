/**
 * Decoding the consumer protocol's subscription and assignment that classic groups carry as bytes
 * (an int16 version, then the structure; newer versions only append fields, so they are read
 * with the highest version known, as the Java client does).
 *
 * @internal
 */
import type { Data } from "../../Protocol/Api.ts"
import { ConsumerProtocolAssignment } from "../../Protocol/generated/ConsumerProtocolAssignment.ts"
import { ConsumerProtocolSubscription } from "../../Protocol/generated/ConsumerProtocolSubscription.ts"
import { Reader } from "../../Protocol/internal/Reader.ts"

/**
 * Partitions of one topic.
 *
 * @since 0.1.0
 */
export interface TopicPartitions {
  readonly topic: string
  readonly partitions: ReadonlyArray<number>
}

const decodeData = <T>(data: Data<T>, bytes: Uint8Array): T | undefined => {
  if (bytes.length < 2) return undefined
  try {
    const r = new Reader(bytes)
    const version = r.int16()
    if (version < data.minVersion) return undefined
    return data.decode(r, Math.min(version, data.maxVersion))
  } catch {
    return undefined
  }
}

const sorted = (tps: ReadonlyArray<TopicPartitions>): Array<TopicPartitions> =>
  tps.map((t) => ({ topic: t.topic, partitions: [...t.partitions].sort((a, b) => a - b) }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))

/** A classic consumer member's assignment; `undefined` when the bytes are not one (empty while rebalancing, another protocol). */
export const decodeAssignment = (bytes: Uint8Array): Array<TopicPartitions> | undefined => {
  const a = decodeData(ConsumerProtocolAssignment, bytes)
  return a === undefined ? undefined : sorted(a.assignedPartitions)
}

/** A classic consumer member's subscribed topics. */
export const decodeSubscription = (bytes: Uint8Array): Array<string> | undefined => {
  const s = decodeData(ConsumerProtocolSubscription, bytes)
  return s === undefined ? undefined : [...s.topics].sort()
}

export { sorted as sortTopicPartitions }
