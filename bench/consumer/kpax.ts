/**
 * kpax consumer driver. One consumer: the PartitionConsumer (no group) assigned every partition
 * from earliest, reading `batches` until each partition reaches its end offset. Group of N: kpax's
 * group consumer (src/Consumer/Consumer.ts) when it exists; skipped until then.
 */
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import type { ConsumeJob } from "../lib/jobs.ts"
import { Cluster, clusterOptions, kpaxVersion } from "../lib/kpax.ts"
import type { ConsumeSession, Skipped } from "../lib/worker.ts"

const GROUP_CONSUMER = new URL("../../src/Consumer/Consumer.ts", import.meta.url)

export const consume = async (job: ConsumeJob): Promise<ConsumeSession | Skipped> => {
  if (job.members > 1) {
    if (!fs.existsSync(GROUP_CONSUMER)) return { skipped: "kpax's group consumer (src/Consumer/Consumer.ts) has not landed yet", version: kpaxVersion() }
    const { consumeGroup } = (await import("./kpax-group.ts")) as typeof import("./kpax-group.ts")
    return consumeGroup(job)
  }
  const ends = job.endOffsets
  const partitions = ends.map((_, p) => p)
  const runOnce = (limit: number) => Effect.scoped(Effect.gen(function*() {
    const t0 = performance.now()
    const cluster = yield* Cluster.make(clusterOptions(job.brokers, { tracing: false, validateRequests: false }))
    const consumer = yield* PartitionConsumer.make({}).pipe(Effect.provideService(Cluster.Cluster, cluster))
    yield* consumer.assign(partitions.map((partition) => ({ topic: job.topic, partition, from: "earliest" as const })))
    let n = 0
    let first = 0
    const done = new Set<number>(partitions.filter((p) => ends[p] === 0))
    yield* Stream.runForEachWhile(consumer.batches, (b) =>
      Effect.sync(() => {
        if (n === 0) first = performance.now()
        n += b.records.length
        if (Number(b.nextOffset) >= ends[b.partition]) done.add(b.partition)
        return done.size < partitions.length && n < limit
      }))
    const end = performance.now()
    return { n, ms: end - first, extra: { firstMs: first - t0 } }
  }))
  return {
    version: kpaxVersion(),
    settings: "PartitionConsumer (no group), every partition from earliest, `batches` stream, default fetch settings (maxWait 500 ms, 1 MiB per partition, 64 MiB prefetch)",
    run: (_rep, limit = Infinity) => Effect.runPromise(runOnce(limit)),
    close: async () => {}
  }
}
