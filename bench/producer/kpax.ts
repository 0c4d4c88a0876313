/**
 * kpax producer driver. Tuned: `sendAll` over chunks of 10,000 records with up to 8 chunks in
 * flight (or `producer.sink` with KPAX_BENCH_API=sink), batchSize 256 KiB, linger 10 ms,
 * bufferMemory 64 MiB, idempotent with acks=all (kpax's default), per-request tracing and request
 * validation off. Defaults: `Producer.make({ acks, compression })`, same loop. Per-record API:
 * `Effect.forEach(records, producer.send, { concurrency: "unbounded" })` over the whole repetition.
 */
import { Effect, Exit, Fiber, Stream } from "effect"
import * as Producer from "../../src/Producer/Producer.ts"
import type { ProducerRecord } from "../../src/Producer/Producer.ts"
import type { LatencyJob, ProduceJob } from "../lib/jobs.ts"
import { Cluster, clusterOptions, kpaxVersion, openScoped } from "../lib/kpax.ts"
import { keys } from "../lib/payloads.ts"
import type { LatencySession, ProduceSession } from "../lib/worker.ts"
import { floor } from "./sendFloor.ts"

const CHUNK = 10_000
const WINDOW = 8
const API = process.env.KPAX_BENCH_API === "sink" ? "sink" : "sendAll"
/** Experiments: KPAX_BENCH_BATCH=<bytes> overrides the tuned batchSize. */
const BATCH = Number(process.env.KPAX_BENCH_BATCH ?? 256 * 1024)
/** KPAX_BENCH_RECORD=floor: the per-record scenario runs Effect's bound instead of `send` (./sendFloor.ts). */
const RECORD_FLOOR = process.env.KPAX_BENCH_RECORD === "floor"

const open = (brokers: string, options: Producer.ProducerOptions, quiet: boolean) =>
  openScoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make(clusterOptions(brokers, quiet ? { tracing: false, validateRequests: false } : {}))
    return yield* Producer.make(options).pipe(Effect.provideService(Cluster.Cluster, cluster))
  }))

export const produce = async (job: ProduceJob, pool: ReadonlyArray<Buffer>): Promise<ProduceSession> => {
  const options: Producer.ProducerOptions = job.tuned
    ? { acks: job.acks === -1 ? "all" : 1, compression: job.codec, batchSize: BATCH, linger: "10 millis", bufferMemory: 64 * 1024 * 1024 }
    : { acks: job.acks === -1 ? "all" : 1, compression: job.codec }
  const { value: producer, close } = await open(job.brokers, options, job.tuned)
  const topic = job.topic
  const keyPool = keys()
  const chunkOf = (from: number, n: number): Array<ProducerRecord> => {
    const recs = new Array<ProducerRecord>(n)
    if (job.keyed) for (let j = 0; j < n; j++) recs[j] = { topic, key: keyPool[(from + j) & 1023], value: pool[(from + j) & 1023] }
    else for (let j = 0; j < n; j++) recs[j] = { topic, value: pool[(from + j) & 1023] }
    return recs
  }
  const perRecord = (count: number, offset: number) =>
    RECORD_FLOOR
      ? floor(producer, chunkOf(offset, count)).pipe(Effect.as(count))
      : Effect.forEach(chunkOf(offset, count), producer.send, { concurrency: "unbounded", discard: true }).pipe(Effect.as(count))
  const viaSendAll = (count: number, offset: number) =>
    Effect.gen(function*() {
      const window: Array<Fiber.Fiber<ReadonlyArray<Producer.RecordMetadata>, Producer.ProducerError>> = []
      let acked = 0
      for (let i = 0; i < count; i += CHUNK) {
        window.push(yield* Effect.forkChild(producer.sendAll(chunkOf(offset + i, Math.min(CHUNK, count - i)))))
        if (window.length >= WINDOW) acked += (yield* Fiber.join(window.shift()!)).length
      }
      for (const f of window) acked += (yield* Fiber.join(f)).length
      return acked
    })
  const viaSink = (count: number, offset: number) => {
    const chunks: Array<Array<ProducerRecord>> = []
    for (let i = 0; i < count; i += CHUNK) chunks.push(chunkOf(offset + i, Math.min(CHUNK, count - i)))
    return Stream.fromArrays(...chunks).pipe(Stream.run(producer.sink), Effect.as(count))
  }
  const api = job.api === "record"
    ? RECORD_FLOOR ? "Effect's bound: a bare callback per record over sendAll of 1,000 (unbounded concurrency)" : "send() per record, all at once (unbounded concurrency)"
    : API
  const how = job.api === "record" ? api : `${API} ${CHUNK}-record chunks${API === "sendAll" ? ` (${WINDOW} in flight)` : " (one stream)"}`
  const kind = job.tuned
    ? `${how}, batchSize ${BATCH / 1024} KiB, linger 10 ms, bufferMemory 64 MiB, tracing/validation off`
    : `${how}, default config (only acks, compression)`
  return {
    version: kpaxVersion(),
    settings: `${kind}${job.keyed ? ", keyed" : ""}; idempotent ${job.acks === -1 ? "yes" : "no"}`,
    run: (count, offset) => Effect.runPromise(job.api === "record" ? perRecord(count, offset) : API === "sink" ? viaSink(count, offset) : viaSendAll(count, offset)),
    close
  }
}

export const latency = async (job: LatencyJob): Promise<LatencySession> => {
  const { value: producer, close } = await open(job.brokers, { acks: job.acks === -1 ? "all" : 1, linger: 0 }, false)
  const topic = job.topic
  return {
    version: kpaxVersion(),
    settings: `send() per record (a fiber each), linger 0, acks ${job.acks === -1 ? "all (idempotent)" : "1"}, default Broker options (per-request tracing span and request validation on)`,
    send: (value, onAck) => {
      Effect.runCallback(producer.send({ topic, value }), {
        onExit: (exit) => onAck(Exit.isSuccess(exit) ? undefined : exit.cause)
      })
    },
    close
  }
}
