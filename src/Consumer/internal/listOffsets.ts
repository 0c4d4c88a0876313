/**
 * The fetcher's ListOffsets requests: start positions (`earliest`, `latest`, a timestamp) resolved
 * per leader, a timestamp with no record at or after it resolved as `latest`.
 *
 * @internal
 */
import { Effect } from "effect"
import type { BrokerError } from "../../Connection/Errors.ts"
import { errorForCode, errorInfo, kafkaError } from "../../Protocol/Errors.ts"
import { ListOffsets } from "../../Protocol/generated/ListOffsets.ts"
import type { ListOffsetsRequestTopic } from "../../Protocol/generated/ListOffsets.ts"
import { PartitionError } from "../Errors.ts"
import type { ConsumerError } from "../Errors.ts"
import type { FetcherState } from "./fetcherState.ts"
import { partitionKey } from "./partition.ts"
import type { PartitionState, StartPosition } from "./partition.ts"

const describe = (r: StartPosition): string =>
  typeof r === "bigint" ? String(r) : typeof r === "string" ? r : `timestamp ${r.timestamp}`

/** One ListOffsets to `node` resolving the start positions (`reset`) of the partitions `ps`. */
export const resolveOffsets = (f: FetcherState, node: number, ps: ReadonlyArray<PartitionState>): Effect.Effect<void> => {
  const s = f.settings
  const sent = new Map(ps.map((p) => [p.key, { p, generation: p.generation, reset: p.reset! }]))
  return Effect.gen(function*() {
    const broker = yield* f.brokerOf(node)
    if (broker === undefined) {
      for (const p of ps) f.backoff(p)
      return
    }
    const snap = f.cluster.snapshot()
    const topics = new Map<string, ListOffsetsRequestTopic>()
    for (const p of ps) {
      let t = topics.get(p.topic)
      if (t === undefined) {
        t = { name: p.topic, partitions: [] }
        topics.set(p.topic, t)
      }
      const r = p.reset!
      ;(t.partitions as Array<ListOffsetsRequestTopic["partitions"][number]>).push({
        partitionIndex: p.partition,
        currentLeaderEpoch: snap.topics.get(p.topic)?.partitions[p.partition]?.leaderEpoch ?? -1,
        timestamp: r === "earliest" ? -2n : r === "latest" ? -1n : BigInt(Math.trunc((r as { timestamp: number }).timestamp))
      })
    }
    f.counters.listOffsetsRequests++
    const res = yield* broker.request(ListOffsets, {
      replicaId: -1,
      isolationLevel: s.isolationLevel,
      topics: [...topics.values()],
      timeoutMs: s.requestTimeoutMs
    }, { timeout: s.requestTimeoutMs })
    f.nodeFailures.delete(node)
    let refresh = false
    const answered = new Set<string>()
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const x = sent.get(partitionKey(t.name, r.partitionIndex))
        if (x === undefined) continue
        answered.add(x.p.key)
        const p = x.p
        if (!p.assigned || p.generation !== x.generation) continue
        if (r.errorCode === 0) {
          const offset = r.offset
          if (offset < 0n) {
            // no record at or after that timestamp: start at the end
            p.reset = "latest"
            continue
          }
          p.reset = undefined
          p.failures = 0
          p.fetchOffset = offset
          p.position = offset
          continue
        }
        const info = errorInfo(r.errorCode)
        if (info?.invalidMetadata === true) {
          refresh = true
          f.backoff(p)
          yield* f.cluster.leaderIsDown(p.topic, p.partition, node)
        } else if (info?.retriable === true) {
          f.backoff(p)
        } else {
          const error = errorForCode(r.errorCode) ?? kafkaError("UNKNOWN_SERVER_ERROR")
          f.pushError(p, new PartitionError({
            topic: p.topic,
            partition: p.partition,
            error,
            message: `looking up the ${describe(x.reset)} offset of ${p.topic}-${p.partition} failed: ${error.name}: ${error.message}`
          }))
        }
      }
    }
    for (const p of ps) if (!answered.has(p.key)) f.backoff(p)
    if (refresh && !f.refreshing) yield* f.refreshMetadata()
  }).pipe(
    Effect.catch((e: BrokerError | ConsumerError) =>
      Effect.suspend(() => {
        for (const p of ps) f.backoff(p)
        return f.requestFailed(node, e)
      })
    ),
    Effect.ensuring(Effect.sync(() => {
      for (const p of ps) p.resolving = false
      f.wake()
    }))
  )
}
