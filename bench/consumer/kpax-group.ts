/**
 * kpax group consumer driver: `members` consumers (`Consumer.make`, classic or KIP-848 protocol, each with its
 * own Cluster and connections, as the peers' consumers have) in one new group, offsetReset
 * earliest, each running its `records` stream (counted per chunk) until every partition reached its
 * end offset; then the scope closes (streams interrupted, members leave the group).
 */
import { Deferred, Effect, Fiber, Stream } from "effect"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import type { ConsumeJob } from "../lib/jobs.ts"
import { Cluster, clusterOptions, kpaxVersion } from "../lib/kpax.ts"
import type { ConsumeSession, Skipped } from "../lib/worker.ts"

export const consumeGroup = async (job: ConsumeJob): Promise<ConsumeSession | Skipped> => {
  const ends = job.endOffsets
  const runOnce = (rep: number, limit: number) =>
    Effect.scoped(Effect.gen(function*() {
      const t0 = performance.now()
      let n = 0
      let first = 0
      const next = new Array<number>(ends.length).fill(0)
      const done = new Set<number>(ends.flatMap((e, p) => (e === 0 ? [p] : [])))
      const finished = yield* Deferred.make<void>()
      const fibers: Array<Fiber.Fiber<void, unknown>> = []
      for (let m = 0; m < job.members; m++) {
        const cluster = yield* Cluster.make(clusterOptions(job.brokers, { tracing: false, validateRequests: false, clientId: `kpax-bench-${m}` }))
        const consumer = yield* Consumer.make({ groupId: `${job.groupPrefix}-${rep}`, topics: [job.topic], offsetReset: "earliest", autoCommit: false, groupProtocol: job.protocol }).pipe(
          Effect.provideService(Cluster.Cluster, cluster)
        )
        fibers.push(yield* Effect.forkChild(Stream.runForEachArray(consumer.records, (chunk) =>
          Effect.suspend(() => {
            if (n === 0) first = performance.now()
            n += chunk.length
            for (const r of chunk) {
              const o = Number(r.offset) + 1
              if (o > next[r.partition]) next[r.partition] = o
            }
            for (let p = 0; p < ends.length; p++) if (next[p] >= ends[p]) done.add(p)
            return done.size === ends.length || n >= limit ? Deferred.succeed(finished, undefined) : Effect.void
          }))))
      }
      yield* Deferred.await(finished)
      const end = performance.now()
      for (const f of fibers) yield* Fiber.interrupt(f)
      return { n, ms: end - first, extra: { firstMs: first - t0 } }
    }))
  return {
    version: kpaxVersion(),
    settings: `${job.members === 1 ? "a group of one" : `${job.members} consumers in one group`} (Consumer.make, groupProtocol ${job.protocol === "consumer" ? "\"consumer\" (KIP-848)" : "\"classic\""}, a Cluster each), offsetReset earliest, \`records\` stream per member counted per chunk, default fetch settings, autoCommit off`,
    run: (rep, limit = Infinity) => Effect.runPromise(runOnce(rep, limit)),
    close: async () => {}
  }
}
