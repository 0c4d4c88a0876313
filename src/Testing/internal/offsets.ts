/**
 * Committed offsets per consumer group (what `__consumer_offsets` holds).
 *
 * @internal
 */

export interface CommittedOffset {
  readonly offset: bigint
  readonly leaderEpoch: number
  readonly metadata: string | null
  readonly commitTimestamp: number
}

export const tpKey = (topic: string, partition: number): string => topic + "\u0000" + partition

export class OffsetStore {
  readonly groups = new Map<string, Map<string, CommittedOffset>>()

  commit(group: string, topic: string, partition: number, offset: CommittedOffset): void {
    let m = this.groups.get(group)
    if (m === undefined) {
      m = new Map()
      this.groups.set(group, m)
    }
    m.set(tpKey(topic, partition), offset)
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(group)?.get(tpKey(topic, partition))
  }

  /** Every committed partition of a group: `[topic, partition, offset]`. */
  all(group: string): Array<readonly [string, number, CommittedOffset]> {
    const out: Array<readonly [string, number, CommittedOffset]> = []
    for (const [k, v] of this.groups.get(group) ?? []) {
      const i = k.lastIndexOf("\u0000")
      out.push([k.slice(0, i), Number(k.slice(i + 1)), v])
    }
    return out
  }

  hasOffsets(group: string): boolean {
    return (this.groups.get(group)?.size ?? 0) > 0
  }

  delete(group: string, topic?: string, partition?: number): void {
    if (topic === undefined) this.groups.delete(group)
    else this.groups.get(group)?.delete(tpKey(topic, partition ?? 0))
  }
}
