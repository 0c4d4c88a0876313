/**
 * @confluentinc/kafka-javascript consumer driver: `members` consumers of one new group in this
 * process, counting until every partition reaches its end offset.
 */
import { createRequire } from "node:module"
import type { ConsumeJob } from "../lib/jobs.ts"
import { confluentVersion, loadConfluent } from "../lib/confluent.ts"
import type { ConsumeSession, Skipped } from "../lib/worker.ts"

/**
 * The low-level librdkafka consumer (`KafkaConsumer.consume(10000, cb)` in a loop, non-flowing):
 * the client's fastest path — its KafkaJS-style `run({ eachBatch })` measured ~30k msgs/s and
 * 1.8 GB RSS here. librdkafka's default fetch settings, auto-commit off.
 */
export const consume = async (job: ConsumeJob): Promise<ConsumeSession | Skipped> => {
  const K = loadConfluent()
  if ("skipped" in K) return K
  const rd = createRequire(import.meta.url)("@confluentinc/kafka-javascript") as typeof import("@confluentinc/kafka-javascript")
  const ends = job.endOffsets
  return {
    version: confluentVersion(),
    settings: `${job.members === 1 ? "a group of one" : `${job.members} consumers in one group (${job.protocol === "consumer" ? "group.protocol consumer, KIP-848" : "classic protocol"})`}, low-level KafkaConsumer: subscribe, consume(10000, cb) in a loop, auto.offset.reset earliest, librdkafka's default fetch settings, auto-commit off`,
    run: async (rep, limit = Infinity) => {
      const t0 = performance.now()
      let n = 0
      let first = 0
      let finished = false
      const next = new Array<number>(ends.length).fill(0)
      const done = new Set<number>(ends.flatMap((e, p) => (e === 0 ? [p] : [])))
      let finish!: () => void
      let fail!: (e: unknown) => void
      const over = new Promise<void>((resolve, reject) => {
        finish = () => {
          finished = true
          resolve()
        }
        fail = reject
      })
      const consumers = Array.from({ length: job.members }, (_, i) =>
        new rd.KafkaConsumer({
          "group.id": `${job.groupPrefix}-${rep}`,
          "client.id": `confluent-bench-${i}`,
          "metadata.broker.list": job.brokers,
          "enable.auto.commit": false,
          ...(job.protocol === "consumer" ? { "group.protocol": "consumer" } : {})
        } as never, { "auto.offset.reset": "earliest" } as never))
      await Promise.all(consumers.map((c) =>
        new Promise<void>((resolve, reject) => {
          c.connect(undefined, (err) => {
            if (err) return reject(err)
            c.subscribe([job.topic])
            const loop = () => {
              if (finished) return
              c.consume(10_000, (e, messages) => {
                if (e) return fail(e)
                if (messages.length > 0 && n === 0) first = performance.now()
                n += messages.length
                for (const m of messages) if (m.offset + 1 > next[m.partition]) next[m.partition] = m.offset + 1
                for (let p = 0; p < ends.length; p++) if (next[p] >= ends[p]) done.add(p)
                if (done.size === ends.length || n >= limit) return finish()
                setImmediate(loop)
              })
            }
            loop()
            resolve()
          })
        })))
      await over
      const end = performance.now()
      await Promise.all(consumers.map((c) => new Promise<void>((resolve) => c.disconnect(() => resolve()))))
      return { n, ms: end - first, extra: { firstMs: first - t0 } }
    },
    close: async () => {}
  }
}
