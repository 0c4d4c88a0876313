/**
 * The consumer protocol's bytes inside JoinGroup / SyncGroup (an int16 version, then
 * ConsumerProtocolSubscription or ConsumerProtocolAssignment), and partition-list helpers.
 * Written at version 3 (as Java 4); read at `min(version, 3)` since newer versions only append.
 *
 * @internal
 */
import { ConsumerProtocolAssignment } from "../../Protocol/generated/ConsumerProtocolAssignment.ts"
import { ConsumerProtocolSubscription } from "../../Protocol/generated/ConsumerProtocolSubscription.ts"
import { Reader } from "../../Protocol/internal/Reader.ts"
import { Writer } from "../../Protocol/internal/Writer.ts"
import type { Data } from "../../Protocol/Api.ts"
import type { TopicPartition } from "../Record.ts"
import { compareTopicPartitions, tpKey } from "./assignorCommon.ts"

export interface SubscriptionData {
  readonly topics: ReadonlyArray<string>
  readonly userData: Uint8Array | null
  readonly ownedPartitions: ReadonlyArray<TopicPartition>
  readonly generationId: number
  readonly rackId: string | null
}

export interface AssignmentData {
  readonly partitions: ReadonlyArray<TopicPartition>
  readonly userData: Uint8Array | null
}

const VERSION = 3

/** Partitions grouped by topic (topics by name, partitions ascending). */
export const groupByTopic = (tps: ReadonlyArray<TopicPartition>): Array<{ topic: string; partitions: Array<number> }> => {
  const m = new Map<string, Array<number>>()
  for (const tp of [...tps].sort(compareTopicPartitions)) {
    let list = m.get(tp.topic)
    if (list === undefined) m.set(tp.topic, list = [])
    list.push(tp.partition)
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions }))
}

const flatten = (ts: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<number> }>): Array<TopicPartition> =>
  ts.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })))

const encodeData = <T>(data: Data<T>, value: T): Uint8Array => {
  const w = new Writer(128)
  w.int16(VERSION)
  data.encode(w, VERSION, value)
  return w.finish().slice()
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

export const encodeSubscription = (s: SubscriptionData): Uint8Array =>
  encodeData(ConsumerProtocolSubscription, {
    topics: [...s.topics].sort(),
    userData: s.userData,
    ownedPartitions: groupByTopic(s.ownedPartitions),
    generationId: s.generationId,
    rackId: s.rackId
  })

/** `undefined` when the bytes are not a subscription. */
export const decodeSubscription = (bytes: Uint8Array): SubscriptionData | undefined => {
  const s = decodeData(ConsumerProtocolSubscription, bytes)
  if (s === undefined) return undefined
  return {
    topics: s.topics,
    userData: s.userData ?? null,
    ownedPartitions: flatten(s.ownedPartitions ?? []),
    generationId: s.generationId ?? -1,
    rackId: s.rackId ?? null
  }
}

export const encodeAssignment = (a: AssignmentData): Uint8Array =>
  encodeData(ConsumerProtocolAssignment, { assignedPartitions: groupByTopic(a.partitions), userData: a.userData })

/** An empty assignment for empty bytes (a member the leader left out); `undefined` for garbage. */
export const decodeAssignment = (bytes: Uint8Array): AssignmentData | undefined => {
  if (bytes.length === 0) return { partitions: [], userData: null }
  const a = decodeData(ConsumerProtocolAssignment, bytes)
  return a === undefined ? undefined : { partitions: flatten(a.assignedPartitions), userData: a.userData ?? null }
}

/** A set of partitions keyed by `tpKey`. */
export const keySet = (tps: ReadonlyArray<TopicPartition>): Set<string> => new Set(tps.map((tp) => tpKey(tp.topic, tp.partition)))

export const sortedPartitions = (tps: Iterable<TopicPartition>): Array<TopicPartition> => [...tps].sort(compareTopicPartitions)
