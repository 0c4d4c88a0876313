/**
 * Backpressure against the real broker: over a topic holding far more than the prefetch bound, a
 * slow reader keeps the fetcher's buffered bytes under `maxPrefetchBytes` (plus one batch) and the
 * process's memory flat, while the same reader with a large bound does prefetch the topic (so the
 * assertions can fail). The topic is written by kpax's producer in a child process, so that this
 * process's memory holds only what the consumer holds.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Effect, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const MiB = 1024 * 1024
const RECORD = 100 * 1024
// 62.5 MiB over 4 partitions by default; KPAX_BACKPRESSURE_MIB=2048 runs the same check over a
// topic of 2 GiB (too slow for every `npm test`; the bound does not depend on the topic's size)
const RECORDS = Math.round((Number(process.env.KPAX_BACKPRESSURE_MIB ?? "62.5") * MiB) / RECORD)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void
const memory = () => {
  gc()
  gc()
  const m = process.memoryUsage()
  return { rss: m.rss, buffers: m.arrayBuffers }
}

const PRODUCE = `
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as Cluster from ${JSON.stringify(path.join(ROOT, "src/Cluster/Cluster.ts"))}
import * as Producer from ${JSON.stringify(path.join(ROOT, "src/Producer/Producer.ts"))}
const [bootstrap, topic, n, size] = process.argv.slice(1)
const payload = randomBytes(Number(size))
await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const cluster = yield* Cluster.make({ bootstrap: [bootstrap] })
  const producer = yield* Producer.make({ linger: "0 millis" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
  yield* producer.sendAll(Array.from({ length: Number(n) }, (_, i) => ({ topic, partition: i % 4, value: payload })))
})))
`

const produceElsewhere = (topic: string) =>
  Effect.callback<void, Error>((resume) => {
    execFile(process.execPath, ["--input-type=module", "-e", PRODUCE, brokers()[0], topic, String(RECORDS), String(RECORD)], { cwd: ROOT }, (error, _out, stderr) =>
      resume(error === null ? Effect.void : Effect.fail(new Error(`producer failed: ${stderr}`))))
  })

const sample = (consumer: PartitionConsumer.PartitionConsumer, ms: number) =>
  Effect.gen(function*() {
    let peak = 0
    const end = Date.now() + ms
    while (Date.now() < end) {
      peak = Math.max(peak, consumer.bufferedBytes())
      yield* Effect.sleep("5 millis")
    }
    return peak
  })

/** Reads slowly (40 ms per record) for 2.5 s; returns the peak gauge, the records read and memory growth. */
const slowRead = (options: PartitionConsumer.PartitionConsumerOptions, assignment: ReadonlyArray<PartitionConsumer.Assignment>) =>
  Effect.scoped(Effect.gen(function*() {
    const before = memory()
    const consumer = yield* PartitionConsumer.make(options)
    yield* consumer.assign(assignment)
    let read = 0
    yield* consumer.records.pipe(
      Stream.runForEach(() => Effect.sync(() => read++).pipe(Effect.andThen(Effect.sleep("40 millis")))),
      Effect.forkScoped
    )
    const peak = yield* sample(consumer, 2500)
    const after = memory()
    return { peak, read, stats: consumer.stats(), rss: after.rss - before.rss, buffers: after.buffers - before.buffers }
  }))

describe("backpressure (real broker)", () => {
  it.live("a slow reader keeps buffered bytes under maxPrefetchBytes and memory flat; a large bound prefetches the topic", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-backpressure-test" })
      const topic = uniqueTopic("backpressure")
      yield* createTopic(cluster, topic, { partitions: 4 })
      yield* produceElsewhere(topic)
      const assignment = [0, 1, 2, 3].map((partition) => ({ topic, partition, from: "earliest" as const }))

      // bounded at 4 MiB, with per-partition fetches up to 8 MiB so the global bound is what binds
      const bound = 4 * MiB
      // warm up (connections, code, heap) so that memory growth below is the consumer's
      yield* Effect.scoped(Effect.gen(function*() {
        const consumer = yield* PartitionConsumer.make({ maxPrefetchBytes: bound, partitionMaxBytes: 8 * MiB })
        yield* consumer.assign(assignment)
        yield* consumer.records.pipe(Stream.take(100), Stream.runDrain)
      })).pipe(Effect.provideService(Cluster.Cluster, cluster))
      const slow = yield* slowRead({ maxPrefetchBytes: bound, partitionMaxBytes: 8 * MiB }, assignment).pipe(
        Effect.provideService(Cluster.Cluster, cluster)
      )
      // the same reader, bounded at 256 MiB: the fetcher takes in most of the topic
      const greedy = yield* slowRead({ maxPrefetchBytes: 256 * MiB, partitionMaxBytes: 64 * MiB }, assignment).pipe(
        Effect.provideService(Cluster.Cluster, cluster)
      )
      const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`
      const report = `bounded: peak ${mb(slow.peak)}, read ${slow.read}, RSS +${mb(slow.rss)}, buffers +${mb(slow.buffers)}; ` +
        `large bound: peak ${mb(greedy.peak)}, RSS +${mb(greedy.rss)}, buffers +${mb(greedy.buffers)}`

      const oneBatch = RECORD + 1024
      assert.isAtMost(slow.peak, bound + oneBatch, report)
      assert.isAtMost(slow.stats.peakBufferedBytes, bound + oneBatch, report)
      assert.isAbove(slow.stats.peakBufferedBytes, bound / 2, `it does prefetch up to the bound: ${report}`)
      assert.isAbove(slow.read, 20, report)
      assert.isBelow(slow.read * RECORD, 40 * MiB, `the reader is slow, most of the topic is not read: ${report}`)
      // live buffers: what is buffered, plus the chunk the reader is working through (released
      // from the gauge when it was pulled) and a response being received
      assert.isBelow(slow.buffers, 2 * bound + 4 * MiB, report)
      assert.isBelow(slow.rss, 28 * MiB, report)

      assert.isAbove(greedy.stats.peakBufferedBytes, 40 * MiB, report)
      assert.isAbove(greedy.buffers, 40 * MiB, report)
      assert.isAbove(greedy.rss, 40 * MiB, report)
      console.log(report)
    })), Number(process.env.KPAX_BACKPRESSURE_MIB ?? "62.5") > 100 ? 900_000 : 60_000)
})
