/**
 * A consumer group's committed offsets, without joining the group: commit (OffsetCommit) and read
 * (OffsetFetch) them at the group's coordinator. As a member, use `GroupMembership.commit` /
 * `committed` instead: they carry the member's generation, which fences commits of members that
 * lost their partitions.
 *
 * Standalone commits use generation -1 and no member id, which the coordinator accepts only while
 * the group has no active members (tools, tests, consumers that assign partitions themselves).
 * Coordinator moves and transient failures are retried by the `RetryPolicy`; OffsetFetch uses
 * the batched (v8+) form when the broker speaks it and asks for stable offsets by default
 * (pending transactional commits are waited out).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Offsets from "kpax/Offsets"
 *
 * const program = Effect.gen(function*() {
 *   yield* Offsets.commit("billing", [{ topic: "orders", partition: 0, offset: 42n }])
 *   const committed = yield* Offsets.fetch("billing", [{ topic: "orders", partition: 0 }])
 *   committed.get(Offsets.topicPartitionKey({ topic: "orders", partition: 0 }))?.offset // 42n
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Cluster } from "../Cluster/Cluster.ts"
import type { TopicPartition } from "./Record.ts"
import { commitOffsets, fetchOffsets, sharedCoordinator, topicPartitionKey } from "./internal/groupOffsets.ts"
import type { CommittedOffset, MemberIdentity, OffsetToCommit } from "./internal/groupOffsets.ts"
import type { OffsetsError } from "./internal/groupErrors.ts"

export { CommitFailed, OffsetPartitionErrors, RebalanceInProgress } from "./internal/groupErrors.ts"
export type { OffsetsError } from "./internal/groupErrors.ts"
export type { CommittedOffset, MemberIdentity, OffsetToCommit, TopicPartition }
export { topicPartitionKey }

/**
 * Commits offsets for a group: as `member` (a generation and member id) or standalone.
 *
 * @example
 * ```ts
 * yield* Offsets.commit("billing", [{ topic: "orders", partition: 3, offset: 1200n, metadata: "batch 7" }])
 * ```
 *
 * @since 0.1.0
 */
export const commit = (
  groupId: string,
  offsets: ReadonlyArray<OffsetToCommit>,
  member?: MemberIdentity
): Effect.Effect<void, OffsetsError, Cluster> =>
  Effect.gen(function*() {
    return yield* commitOffsets(sharedCoordinator(yield* Cluster, groupId), groupId, offsets, member)
  })

/**
 * The group's committed offsets of `partitions`, keyed by `topicPartitionKey` (`undefined` where
 * the group committed nothing). `requireStable` (default `true`) waits out pending transactional
 * commits; `member` identifies a KIP-848 member (OffsetFetch v9).
 *
 * @example
 * ```ts
 * const offsets = yield* Offsets.fetch("billing", [{ topic: "orders", partition: 0 }, { topic: "orders", partition: 1 }])
 * ```
 *
 * @since 0.1.0
 */
export const fetch = (
  groupId: string,
  partitions: ReadonlyArray<TopicPartition>,
  options: { readonly member?: MemberIdentity | undefined; readonly requireStable?: boolean | undefined } = {}
): Effect.Effect<ReadonlyMap<string, CommittedOffset | undefined>, OffsetsError, Cluster> =>
  Effect.gen(function*() {
    return yield* fetchOffsets(sharedCoordinator(yield* Cluster, groupId), groupId, partitions, options)
  })

/**
 * The offsets to commit once `records` are processed: per partition, the offset after its last
 * record (Kafka commits the position of the next record to read). For
 * `Producer.sendOffsets` in consume-transform-produce, or `commit`.
 *
 * @example
 * ```ts
 * yield* producer.transaction(Effect.gen(function*() {
 *   yield* producer.sendAll(chunk.map(transform))
 *   const offsets = Offsets.nextOffsets(chunk)
 *   yield* producer.sendOffsets(offsets, consumer.groupMetadata(offsets))
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const nextOffsets = (records: Iterable<{ readonly topic: string; readonly partition: number; readonly offset: bigint }>): Array<OffsetToCommit> => {
  const next = new Map<string, OffsetToCommit>()
  for (const r of records) {
    const key = topicPartitionKey(r)
    const seen = next.get(key)
    if (seen === undefined || seen.offset <= r.offset) next.set(key, { topic: r.topic, partition: r.partition, offset: r.offset + 1n })
  }
  return [...next.values()]
}
