/**
 * kafkajs consumer driver: `members` consumers of one new group in this process, subscribed from
 * the beginning, counting records in `eachBatch` (auto-resolve) until every partition reaches its
 * end offset. Default fetch settings; partitionsConsumedConcurrently = partitions per member.
 */
import kafkajs from "kafkajs"
import type { ConsumeJob } from "../lib/jobs.ts"
import { versionOf } from "../lib/peers.ts"
import type { ConsumeSession, Skipped } from "../lib/worker.ts"

export const consume = async (job: ConsumeJob): Promise<ConsumeSession | Skipped> => {
  if (job.members > 1 && job.protocol === "consumer") return { skipped: "kafkajs has no KIP-848 (consumer) group protocol", version: versionOf("kafkajs") }
  const kafka = new kafkajs.Kafka({ clientId: "kafkajs-bench", brokers: job.brokers.split(","), logLevel: kafkajs.logLevel.NOTHING })
  const ends = job.endOffsets
  const concurrency = Math.ceil(job.partitions / job.members)
  return {
    version: versionOf("kafkajs"),
    settings: `${job.members === 1 ? "a group of one" : `${job.members} consumers in one group`}, subscribe fromBeginning, consumer.run({ eachBatch, partitionsConsumedConcurrently: ${concurrency} }), default fetch settings, autoCommit on`,
    run: async (rep, limit = Infinity) => {
      const t0 = performance.now()
      let n = 0
      let first = 0
      const done = new Set<number>(ends.flatMap((e, p) => (e === 0 ? [p] : [])))
      let finish!: () => void
      const finished = new Promise<void>((r) => (finish = r))
      const consumers = Array.from({ length: job.members }, () => kafka.consumer({ groupId: `${job.groupPrefix}-${rep}` }))
      await Promise.all(consumers.map(async (c) => {
        await c.connect()
        await c.subscribe({ topic: job.topic, fromBeginning: true })
        await c.run({
          partitionsConsumedConcurrently: concurrency,
          eachBatch: async ({ batch }) => {
            if (n === 0) first = performance.now()
            n += batch.messages.length
            if (n >= limit) finish()
            const last = batch.messages[batch.messages.length - 1]
            if (last !== undefined && Number(last.offset) + 1 >= ends[batch.partition]) {
              done.add(batch.partition)
              if (done.size === ends.length) finish()
            }
          }
        })
      }))
      await finished
      const end = performance.now()
      await Promise.all(consumers.map((c) => c.disconnect()))
      return { n, ms: end - first, extra: { firstMs: first - t0 } }
    },
    close: async () => {}
  }
}
