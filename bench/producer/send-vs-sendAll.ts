/**
 * Issue 14: per-record `send` with unbounded concurrency against one `sendAll` of the same
 * records (1 KiB values, acks=all, kpax defaults otherwise, 6 partitions, round-robin keys), for
 * 100k and 1M records, each in a fresh topic and a fresh producer. Prints msg/s both ways, the
 * ratio (acceptance: send ≥ 70% of sendAll), the process's CPU time per record (all threads:
 * less sensitive to the machine's load than msg/s), peak RSS and the 1-minute load average.
 * With `FLOOR=1`, a third way: Effect's bound for the per-record pattern — the same
 * `Effect.forEach(records, f, { concurrency: "unbounded" })`, but `f` is a bare `Effect.callback`
 * that hands its record to a `sendAll` of 1,000 records and is resumed with that `sendAll`'s
 * result (kpax's cost is `sendAll`'s; what is added is Effect's fiber, callback and resume per
 * element): no per-record `send` can beat it.
 * `REPS=<n>` repeats each pair (sendAll, send alternating).
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx node bench/producer/send-vs-sendAll.ts [100000,1000000]
 */
import * as os from "node:os"
import { Effect } from "effect"
import * as Producer from "../../src/Producer/Producer.ts"
import { createTopic } from "../../test/util/kafka.ts"
import { Cluster, clusterOptions, openScoped } from "../lib/kpax.ts"
import { floor } from "./sendFloor.ts"

const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092"
const counts = (process.argv[2] ?? "100000,1000000").split(",").map(Number)
const PARTITIONS = 6
const value = new Uint8Array(1024).fill(97)
const te = new TextEncoder()
const keys = Array.from({ length: 64 }, (_, i) => te.encode(`key-${i}`))

let peakRss = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}, 50)

let cpuPerRecord = 0

const run = async (mode: "send" | "sendAll" | "floor", n: number): Promise<number> => {
  const topic = `bench-send-${mode}-${n}-${Date.now()}`
  const { value: cluster, close } = await openScoped(Cluster.make(clusterOptions(brokers)))
  try {
    await Effect.runPromise(createTopic(cluster, topic, { partitions: PARTITIONS }))
    const records = Array.from({ length: n }, (_, i) => ({ topic, key: keys[i % keys.length], value }))
    const { value: producer, close: closeProducer } = await openScoped(
      Producer.make({ acks: "all" }).pipe(Effect.provideService(Cluster.Cluster, cluster))
    )
    try {
      const t0 = performance.now()
      const cpu0 = process.cpuUsage()
      const metas = mode === "send"
        ? await Effect.runPromise(Effect.forEach(records, producer.send, { concurrency: "unbounded" }))
        : mode === "floor"
        ? await Effect.runPromise(floor(producer, records))
        : await Effect.runPromise(producer.sendAll(records))
      const s = (performance.now() - t0) / 1000
      const cpu = process.cpuUsage(cpu0)
      cpuPerRecord = (cpu.user + cpu.system) / n
      if (metas.length !== n) throw new Error(`${metas.length} acknowledged of ${n}`)
      return n / s
    } finally {
      await closeProducer()
    }
  } finally {
    await close()
  }
}

const REPS = Number(process.env.REPS ?? "1")
const FLOOR = process.env.FLOOR === "1"
for (const n of counts) {
  for (let rep = 0; rep < REPS; rep++) {
    peakRss = 0
    const all = await run("sendAll", n)
    const rssAll = peakRss
    const cpuAll = cpuPerRecord
    peakRss = 0
    const one = await run("send", n)
    const rssOne = peakRss
    const cpuOne = cpuPerRecord
    let bound = ""
    if (FLOOR) {
      peakRss = 0
      const f = await run("floor", n)
      bound = `, Effect's bound (bare callback per record over sendAll) ${Math.round(f)} msg/s (${cpuPerRecord.toFixed(2)} µs CPU/rec, peak RSS ${Math.round(peakRss / 1024 / 1024)} MiB), ${(f / all * 100).toFixed(0)}% of sendAll`
    }
    const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`
    console.log(
      `${n} records: sendAll ${Math.round(all)} msg/s (${cpuAll.toFixed(2)} µs CPU/rec, peak RSS ${mb(rssAll)}), ` +
        `send×unbounded ${Math.round(one)} msg/s (${cpuOne.toFixed(2)} µs CPU/rec, peak RSS ${mb(rssOne)}), ratio ${(one / all * 100).toFixed(0)}%, ` +
        `load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}${bound}`
    )
  }
}
clearInterval(sampler)
