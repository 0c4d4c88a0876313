/**
 * Processed offsets per partition, for at-least-once commits: what the application finished with
 * (`mark`), what was committed, and what is still to commit. Plain TypeScript.
 *
 * An offset to commit is "the offset of the last processed record + 1" (the next record to read).
 * Marks only move forward within one assignment of a partition; `forget` ends that assignment, so
 * a late mark from a stream of an earlier assignment (`incarnation` no longer current) is ignored.
 *
 * @internal
 */
import type { TopicPartition } from "../Record.ts"
import { partitionKey } from "./partition.ts"

export interface OffsetToCommit {
  readonly topic: string
  readonly partition: number
  /** The next offset to read: last processed record's offset + 1. */
  readonly offset: bigint
  /** The leader epoch of the last processed record, when known (KIP-320). */
  readonly leaderEpoch?: number | undefined
}

interface Entry {
  readonly topic: string
  readonly partition: number
  readonly incarnation: object
  processed: bigint
  committed: bigint
  leaderEpoch: number
}

export class ProcessedOffsets {
  private readonly entries = new Map<string, Entry>()

  /** Starts tracking a partition assignment whose committed offset is `committed` (-1: none). */
  start(tp: TopicPartition, incarnation: object, committed: bigint): void {
    this.entries.set(partitionKey(tp.topic, tp.partition), {
      topic: tp.topic,
      partition: tp.partition,
      incarnation,
      processed: committed,
      committed,
      leaderEpoch: -1
    })
  }

  /** Records that every record of the partition up to `next - 1` is processed; `false` when the partition (assignment) is not tracked. */
  mark(topic: string, partition: number, incarnation: object | undefined, next: bigint, leaderEpoch = -1): boolean {
    const e = this.entries.get(partitionKey(topic, partition))
    if (e === undefined || (incarnation !== undefined && e.incarnation !== incarnation)) return false
    if (next > e.processed) {
      e.processed = next
      e.leaderEpoch = leaderEpoch
    }
    return true
  }

  /** What is processed and not yet committed (of `only`, when given). */
  pending(only?: ReadonlyArray<TopicPartition>): Array<OffsetToCommit> {
    const out: Array<OffsetToCommit> = []
    const pick = (e: Entry | undefined) => {
      if (e !== undefined && e.processed > e.committed && e.processed >= 0n) {
        out.push(e.leaderEpoch >= 0
          ? { topic: e.topic, partition: e.partition, offset: e.processed, leaderEpoch: e.leaderEpoch }
          : { topic: e.topic, partition: e.partition, offset: e.processed })
      }
    }
    if (only === undefined) for (const e of this.entries.values()) pick(e)
    else for (const tp of only) pick(this.entries.get(partitionKey(tp.topic, tp.partition)))
    return out
  }

  /** Records a successful commit. */
  committed(offsets: ReadonlyArray<OffsetToCommit>): void {
    for (const o of offsets) {
      const e = this.entries.get(partitionKey(o.topic, o.partition))
      if (e !== undefined && o.offset > e.committed) e.committed = o.offset
    }
  }

  /** The application moved the partition: what is processed is now `offset` (also backwards). */
  seek(tp: TopicPartition, offset: bigint): void {
    const e = this.entries.get(partitionKey(tp.topic, tp.partition))
    if (e === undefined) return
    e.processed = offset
    e.leaderEpoch = -1
    if (offset < e.committed) e.committed = -1n // commit the earlier offset too
  }

  /** The processed offset of a partition (-1 when nothing is known). */
  processed(tp: TopicPartition): bigint {
    return this.entries.get(partitionKey(tp.topic, tp.partition))?.processed ?? -1n
  }

  /** Whether a partition's assignment is tracked (from its start until it is revoked or lost). */
  has(tp: TopicPartition): boolean {
    return this.entries.has(partitionKey(tp.topic, tp.partition))
  }

  /** Stops tracking partitions (revoked or lost). */
  forget(partitions: ReadonlyArray<TopicPartition>): void {
    for (const tp of partitions) this.entries.delete(partitionKey(tp.topic, tp.partition))
  }
}
