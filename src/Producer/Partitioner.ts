/**
 * Partitioners: which partition of a topic a record goes to.
 *
 * The default is the Java client's built-in partitioner: keyed records go to
 * `toPositive(murmur2(key)) % partitionCount` — byte for byte what the Java client picks, so a
 * keyed record lands on the same partition whichever client wrote it — and records without a key
 * stick to one partition until about a batch's worth of bytes went to it (KIP-480 / KIP-794), then
 * move to another partition whose leader is available.
 *
 * @since 0.1.0
 */
import { murmur2, toPositive } from "./internal/murmur2.ts"

/**
 * What a partitioner sees of one record and of the topic.
 *
 * @since 0.1.0
 */
export interface PartitionInput {
  readonly topic: string
  readonly key: Uint8Array | null
  /** Encoded size of the record in bytes (an estimate is fine), for sticky partitioning. */
  readonly size: number
  /** Number of partitions of the topic. */
  readonly partitionCount: number
  /** Partitions whose leader is currently known and not marked down; may be empty. */
  readonly available: ReadonlyArray<number>
}

/**
 * A partitioner: a plain synchronous function, called once per record on the hot path, so it must
 * not allocate or suspend. The producer reuses one input object for every record: read it, don't
 * keep it. Stateful partitioners (sticky, round-robin) keep their state inside; make one per
 * producer.
 *
 * @example
 * ```ts
 * import * as Partitioner from "kpax/Partitioner"
 *
 * // every record of a tenant on one partition, by a field of the key
 * const byTenant: Partitioner.Partitioner = (input) =>
 *   input.key === null ? 0 : input.key[0] % input.partitionCount
 * ```
 *
 * @since 0.1.0
 */
export type Partitioner = (input: PartitionInput) => number

/**
 * Kafka's murmur2 hash of a key, as the Java client computes it (a signed 32-bit integer).
 *
 * @example
 * ```ts
 * import * as Partitioner from "kpax/Partitioner"
 *
 * Partitioner.murmur2Hash(new TextEncoder().encode("kpax")) // -1749728616, as Java's Utils.murmur2
 * ```
 *
 * @since 0.1.0
 */
export const murmur2Hash: (key: Uint8Array) => number = murmur2

/**
 * The partition the Java client picks for a keyed record: `toPositive(murmur2(key)) % count`.
 *
 * @example
 * ```ts
 * import * as Partitioner from "kpax/Partitioner"
 *
 * Partitioner.partitionForKey(new TextEncoder().encode("user-42"), 6) // 4
 * ```
 *
 * @since 0.1.0
 */
export const partitionForKey = (key: Uint8Array, partitionCount: number): number =>
  toPositive(murmur2(key)) % partitionCount

const pickRandom = (input: PartitionInput, avoid: number): number => {
  const { available, partitionCount } = input
  if (available.length === 0) {
    if (partitionCount <= 1) return 0
    const p = Math.floor(Math.random() * (partitionCount - 1))
    return p >= avoid && avoid >= 0 ? p + 1 : p
  }
  if (available.length === 1) return available[0]
  for (;;) {
    const p = available[Math.floor(Math.random() * available.length)]
    if (p !== avoid) return p
  }
}

/**
 * Sticky partitioning for records without a key (KIP-480 / KIP-794): all keyless records of a
 * topic go to one partition until `stickyBytes` (the producer's batch size) went to it, then a
 * different, available partition is picked at random. Keyed records are not handled here.
 *
 * @since 0.1.0
 */
export const sticky = (stickyBytes: number): Partitioner => {
  const state = new Map<string, { partition: number; bytes: number; count: number }>()
  return (input) => {
    let s = state.get(input.topic)
    if (s === undefined || s.count !== input.partitionCount || s.partition >= input.partitionCount) {
      s = { partition: pickRandom(input, -1), bytes: 0, count: input.partitionCount }
      state.set(input.topic, s)
    } else if (s.bytes >= stickyBytes) {
      s.partition = pickRandom(input, s.partition)
      s.bytes = 0
    }
    s.bytes += input.size
    return s.partition
  }
}

/**
 * The Java client's default: murmur2 of the key for keyed records, sticky for the others.
 *
 * @example
 * ```ts
 * import * as Partitioner from "kpax/Partitioner"
 *
 * const partitioner = Partitioner.defaultPartitioner({ batchSize: 16384 })
 * ```
 *
 * @since 0.1.0
 */
export const defaultPartitioner = (options: { readonly batchSize: number }): Partitioner => {
  const keyless = sticky(options.batchSize)
  return (input) =>
    input.key === null ? keyless(input) : partitionForKey(input.key, input.partitionCount)
}

/**
 * Round-robin over the available partitions (over all of them while none is known available),
 * whatever the key.
 *
 * @example
 * ```ts
 * import * as Partitioner from "kpax/Partitioner"
 *
 * const partitioner = Partitioner.roundRobin()
 * ```
 *
 * @since 0.1.0
 */
export const roundRobin = (): Partitioner => {
  const counters = new Map<string, number>()
  return (input) => {
    const n = counters.get(input.topic) ?? 0
    counters.set(input.topic, (n + 1) | 0)
    const i = (n & 0x7fffffff)
    return input.available.length > 0
      ? input.available[i % input.available.length]
      : i % input.partitionCount
  }
}
