/**
 * The soak's checker: reads the input and output topics back with read_committed (straight to the
 * brokers, not through the fault proxy) and works out what a user of the pipeline would see:
 * lost records (input without output), duplicated ones (output more than once), order broken
 * per key, the longest time nothing came out, per-second throughput, and for each fault how long
 * the pipeline took to catch up again.
 */
import { Effect, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"

export interface ReadRecord {
  readonly partition: number
  readonly offset: bigint
  readonly timestamp: number
  readonly value: string
}

const td = new TextDecoder()

/** Every committed record of a topic, per partition in offset order. */
export const readCommitted = (bootstrap: ReadonlyArray<string>, topic: string, partitions: number): Promise<Array<ReadRecord>> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make({ bootstrap: [...bootstrap], clientId: "soak-checker" })
    return yield* Effect.gen(function*() {
      const consumer = yield* PartitionConsumer.make({ isolationLevel: "read_committed", maxWait: "200 millis" })
      const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
      yield* consumer.assign(tps.map((tp) => ({ ...tp, from: "earliest" as const })))
      const out: Array<ReadRecord> = []
      let quietSince = Date.now()
      yield* consumer.records.pipe(
        Stream.runForEachArray((chunk) =>
          Effect.sync(() => {
            for (const r of chunk) out.push({ partition: r.partition, offset: r.offset, timestamp: r.timestamp, value: td.decode(r.value!) })
            quietSince = Date.now()
          })
        ),
        // ends once every partition is read to its last stable offset
        Effect.raceFirst(Effect.gen(function*() {
          for (;;) {
            yield* Effect.sleep("250 millis")
            const done = tps.every((tp) => consumer.lag(tp) === 0n)
            if (done && Date.now() - quietSince > 1000) return
          }
        }))
      )
      return out
    }).pipe(Effect.provideService(Cluster.Cluster, cluster))
  })))

/** A fault as the driver ran it (times in ms since the epoch). */
export interface FaultRecord {
  readonly kind: string
  readonly detail: string
  readonly start: number
  readonly end: number
}

export interface FaultOutcome extends FaultRecord {
  /** From the fault's start until the pipeline caught up (see `analyse`); undefined if it never did. */
  readonly recoveryMs: number | undefined
}

export interface Analysis {
  readonly inputRecords: number
  readonly outputRecords: number
  readonly distinctOutput: number
  readonly lost: number
  readonly duplicated: number
  readonly outOfOrder: number
  /** Input records out of order per key (the idempotent producer's side). */
  readonly inputOutOfOrder: number
  readonly lostSamples: ReadonlyArray<string>
  readonly duplicatedSamples: ReadonlyArray<string>
  readonly outOfOrderSamples: ReadonlyArray<string>
  /** Longest time between two consecutive output records (by their timestamps), and when. */
  readonly longestStallMs: number
  readonly longestStallAt: number
  /** End-to-end latency percentiles (output timestamp minus input timestamp). */
  readonly latencyP50: number
  readonly latencyP99: number
  readonly latencyMax: number
  /** Records per second, input and output, from `start` on. */
  readonly seconds: ReadonlyArray<{ readonly t: number; readonly input: number; readonly output: number }>
  readonly faults: ReadonlyArray<FaultOutcome>
}

const sortedTimes = (xs: Array<number>) => xs.sort((a, b) => a - b)
const quantile = (sorted: ReadonlyArray<number>, q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!)

/**
 * Output values are `<key>:<seq>|<member tag>|<input timestamp>`. A fault counts as recovered at
 * the first output record of an input produced after the fault ended whose latency is back under
 * `max(1 s, 3 × the warm-up median)`: the backlog is worked off and new records flow at the usual pace.
 */
export const analyse = (input: ReadonlyArray<ReadRecord>, output: ReadonlyArray<ReadRecord>, faults: ReadonlyArray<FaultRecord>, start: number, warmupEnd: number): Analysis => {
  const inputIds = new Set<string>()
  let inputOutOfOrder = 0
  const lastInSeq = new Map<string, number>()
  for (const r of input) {
    inputIds.add(r.value)
    const [key, seq] = r.value.split(":") as [string, string]
    const s = Number(seq)
    if ((lastInSeq.get(key) ?? -1) >= s) inputOutOfOrder++
    lastInSeq.set(key, s)
  }
  const seen = new Map<string, number>()
  const lastOutSeq = new Map<string, number>()
  const outOfOrderSamples: Array<string> = []
  let outOfOrder = 0
  const latencies: Array<{ out: number; in: number }> = []
  // output in offset order per partition (a key lives in one partition)
  const byPartition = [...output].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
  for (const r of byPartition) {
    const [id, , ts] = r.value.split("|") as [string, string, string]
    seen.set(id, (seen.get(id) ?? 0) + 1)
    const [key, seq] = id.split(":") as [string, string]
    const s = Number(seq)
    const prev = lastOutSeq.get(key) ?? -1
    if (prev >= s) {
      outOfOrder++
      if (outOfOrderSamples.length < 10) outOfOrderSamples.push(`${key}: ${s} after ${prev} (p${r.partition} @${r.offset})`)
    }
    lastOutSeq.set(key, Math.max(prev, s))
    latencies.push({ out: r.timestamp, in: Number(ts) })
  }
  const lostSamples: Array<string> = []
  let lost = 0
  for (const id of inputIds) {
    if (!seen.has(id)) {
      lost++
      if (lostSamples.length < 10) lostSamples.push(id)
    }
  }
  const duplicatedSamples: Array<string> = []
  let duplicated = 0
  for (const [id, n] of seen) {
    if (n > 1) {
      duplicated++
      if (duplicatedSamples.length < 10) duplicatedSamples.push(`${id} ×${n}`)
    }
  }
  const outTimes = sortedTimes(output.map((r) => r.timestamp).filter((t) => t >= warmupEnd))
  let longestStallMs = 0
  let longestStallAt = 0
  for (let i = 1; i < outTimes.length; i++) {
    const gap = outTimes[i]! - outTimes[i - 1]!
    if (gap > longestStallMs) {
      longestStallMs = gap
      longestStallAt = outTimes[i - 1]!
    }
  }
  const lat = sortedTimes(latencies.map((l) => l.out - l.in))
  const warm = sortedTimes(latencies.filter((l) => l.in < warmupEnd).map((l) => l.out - l.in))
  const threshold = Math.max(1000, 3 * quantile(warm, 0.5))
  const byOut = [...latencies].sort((a, b) => a.out - b.out)
  const faultOutcomes = faults.map((f): FaultOutcome => {
    const hit = byOut.find((l) => l.out >= f.start && l.in >= f.end && l.out - l.in <= threshold)
    return { ...f, recoveryMs: hit === undefined ? undefined : hit.out - f.start }
  })
  let end = start
  for (const r of input) if (r.timestamp > end) end = r.timestamp
  for (const r of output) if (r.timestamp > end) end = r.timestamp
  const seconds = Array.from({ length: Math.ceil((end - start) / 1000) + 1 }, (_, i) => ({ t: i, input: 0, output: 0 }))
  for (const r of input) {
    const s = seconds[Math.floor((r.timestamp - start) / 1000)]
    if (s !== undefined) s.input++
  }
  for (const r of output) {
    const s = seconds[Math.floor((r.timestamp - start) / 1000)]
    if (s !== undefined) s.output++
  }
  return {
    inputRecords: input.length,
    outputRecords: output.length,
    distinctOutput: seen.size,
    lost,
    duplicated,
    outOfOrder,
    inputOutOfOrder,
    lostSamples,
    duplicatedSamples,
    outOfOrderSamples,
    longestStallMs,
    longestStallAt,
    latencyP50: quantile(lat, 0.5),
    latencyP99: quantile(lat, 0.99),
    latencyMax: lat[lat.length - 1] ?? 0,
    seconds,
    faults: faultOutcomes
  }
}
