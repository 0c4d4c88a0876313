/**
 * One kpax share-group member reading `count` records of a topic (a child process of
 * bench/share/run.ts): `node bench/share/kpax.ts <json job>`. Prints one `RESULT {…}` line with
 * the records read and the milliseconds from before the member was made (join included, as
 * ShareConsumerPerformance counts) to the last record. Implicit acknowledgement, as Java's
 * default `share.acknowledgement.mode`.
 */
import { Effect, Stream } from "effect"
import * as ShareConsumer from "../../src/Consumer/ShareConsumer.ts"
import { Cluster, clusterOptions } from "../lib/kpax.ts"

interface Job {
  readonly brokers: string
  readonly topic: string
  readonly group: string
  readonly count: number
  readonly tuned: boolean
}

const job = JSON.parse(process.argv[2]!) as Job
const program = Effect.scoped(Effect.gen(function*() {
  const cluster = yield* Cluster.make(clusterOptions(job.brokers, { tracing: false, validateRequests: false }))
  const t0 = performance.now()
  const consumer = yield* ShareConsumer.make({
    groupId: job.group,
    topics: [job.topic],
    ...(job.tuned ? { maxRecords: 5000, batchSize: 5000 } : {})
  }).pipe(Effect.provideService(Cluster.Cluster, cluster))
  let n = 0
  let first = 0
  yield* Stream.runForEachWhile(Stream.chunks(consumer.records), (chunk) =>
    Effect.sync(() => {
      if (n === 0) first = performance.now()
      n += chunk.length
      return n < job.count
    }))
  const end = performance.now()
  return { n, ms: end - t0, firstMs: first - t0, stats: consumer.stats() }
}))
Effect.runPromise(program).then(
  (r) => {
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`)
    process.exit(0)
  },
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
