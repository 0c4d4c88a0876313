/**
 * One measurement on the runtime that runs this file (Node, Bun or Deno), for `run.ts`: produce or
 * consume `count` × 100 B records with the packed kpax (`KPAX_BENCH_ENTRY`, its dist/index.js).
 * Prints one JSON line: `{ runtime, mode, settings, count, seconds, msgsPerSec, mbPerSec, rssMiB }`.
 *
 *   produce: `sendAll` over 10,000-record chunks, 8 in flight, keyless, acks=1, no compression;
 *            `defaults` = `Producer.make({ acks: 1 })`, `tuned` = batchSize 256 KiB, linger 10 ms,
 *            bufferMemory 64 MiB. A 50,000-record warm-up runs first, untimed.
 *   consume: `PartitionConsumer.stream` over every partition from earliest, default options,
 *            `count` records (a warm-up read of the first 50,000 first, untimed, on its own stream).
 *
 * Usage: <runtime> bench/runtimes/load.ts produce|consume <brokers> <topic> <partitions> <count> [defaults|tuned]
 */
import { Effect, Fiber, Stream } from "effect"
import type { Scope } from "effect"

type Kpax = typeof import("../../src/index.ts")
type ClusterService = import("../../src/Cluster/Cluster.ts").Cluster
type ProducerRecord = import("../../src/Producer/Producer.ts").ProducerRecord
type RecordMetadata = import("../../src/Producer/Producer.ts").RecordMetadata
type ProducerError = import("../../src/Producer/Producer.ts").ProducerError

const [mode, brokers, topic, partitionsArg, countArg, settings = "defaults"] = process.argv.slice(2)
const entry = process.env.KPAX_BENCH_ENTRY
if (entry === undefined || (mode !== "produce" && mode !== "consume")) {
  process.stderr.write("usage: KPAX_BENCH_ENTRY=<dist/index.js URL> load.ts produce|consume <brokers> <topic> <partitions> <count> [defaults|tuned]\n")
  process.exit(2)
}
const { Cluster, PartitionConsumer, Producer } = (await import(entry)) as Kpax
const partitions = Number(partitionsArg)
const count = Number(countArg)
const WARMUP = 50_000
const CHUNK = 10_000
const WINDOW = 8

const runtime = process.versions.bun !== undefined
  ? `bun ${process.versions.bun}`
  : process.versions.deno !== undefined
  ? `deno ${process.versions.deno}`
  : `node ${process.versions.node}`

const pool = Array.from({ length: 1024 }, (_, i) => {
  const v = new Uint8Array(100)
  for (let j = 0; j < 100; j++) v[j] = (i * 31 + j * 7) & 0xff
  return v
})

const cluster = Cluster.layer({ bootstrap: brokers.split(","), clientId: "kpax-bench-runtimes" })

const produce = Effect.gen(function*() {
  const producer = yield* Producer.make(
    settings === "tuned"
      ? { acks: 1, batchSize: 256 * 1024, linger: "10 millis", bufferMemory: 64 * 1024 * 1024 }
      : { acks: 1 }
  )
  const chunkOf = (from: number, n: number): Array<ProducerRecord> => {
    const out = new Array<ProducerRecord>(n)
    for (let j = 0; j < n; j++) out[j] = { topic, value: pool[(from + j) & 1023] }
    return out
  }
  const send = (total: number) =>
    Effect.gen(function*() {
      const window: Array<Fiber.Fiber<ReadonlyArray<RecordMetadata>, ProducerError>> = []
      let acked = 0
      for (let i = 0; i < total; i += CHUNK) {
        window.push(yield* Effect.forkChild(producer.sendAll(chunkOf(i, Math.min(CHUNK, total - i)))))
        if (window.length >= WINDOW) acked += (yield* Fiber.join(window.shift()!)).length
      }
      for (const f of window) acked += (yield* Fiber.join(f)).length
      return acked
    })
  yield* send(WARMUP)
  const started = performance.now()
  const acked = yield* send(count)
  return { acked, seconds: (performance.now() - started) / 1000 }
})

const consume = Effect.gen(function*() {
  const all = Array.from({ length: partitions }, (_, partition) => ({ topic, partition, from: "earliest" as const }))
  yield* PartitionConsumer.stream(all).pipe(Stream.take(WARMUP), Stream.runDrain)
  const started = performance.now()
  const n = yield* PartitionConsumer.stream(all).pipe(
    Stream.take(count),
    Stream.runFold(() => 0, (k) => k + 1)
  )
  return { acked: n, seconds: (performance.now() - started) / 1000 }
})

const program: Effect.Effect<{ readonly acked: number; readonly seconds: number }, unknown, ClusterService | Scope.Scope> =
  mode === "produce" ? produce : consume
const result = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(cluster)))
if (result.acked !== count) throw new Error(`${mode}: ${result.acked} records of ${count}`)
process.stdout.write(JSON.stringify({
  runtime,
  mode,
  settings: mode === "produce" ? settings : "defaults",
  count,
  seconds: result.seconds,
  msgsPerSec: count / result.seconds,
  mbPerSec: (count * 100) / result.seconds / 1e6,
  rssMiB: process.memoryUsage().rss / 1024 / 1024
}) + "\n")
