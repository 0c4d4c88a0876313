/**
 * @confluentinc/kafka-javascript consumer driver (KafkaJS-style API): `members` consumers of one
 * new group in this process, fromBeginning, counting in `eachBatch` until every partition reaches
 * its end offset. librdkafka's default fetch settings, autoCommit off.
 */
import type { ConsumeJob } from "../lib/jobs.ts"
import { confluentVersion, loadConfluent } from "../lib/confluent.ts"
import type { ConsumeSession, Skipped } from "../lib/worker.ts"

export const consume = async (job: ConsumeJob): Promise<ConsumeSession | Skipped> => {
  const K = loadConfluent()
  if ("skipped" in K) return K
  const kafka = new K.Kafka({ kafkaJS: { brokers: job.brokers.split(","), logLevel: K.logLevel.NOTHING, clientId: "confluent-bench" } })
  const ends = job.endOffsets
  const concurrency = Math.ceil(job.partitions / job.members)
  return {
    version: confluentVersion(),
    settings: `${job.members === 1 ? "a group of one" : `${job.members} consumers in one group`}, fromBeginning, consumer.run({ eachBatch, partitionsConsumedConcurrently: ${concurrency} }), js.consumer.max.batch.size 10,000 (default 32), librdkafka's default fetch settings, autoCommit off`,
    run: async (rep, limit = Infinity) => {
      const t0 = performance.now()
      let n = 0
      let first = 0
      const done = new Set<number>(ends.flatMap((e, p) => (e === 0 ? [p] : [])))
      let finish!: () => void
      const finished = new Promise<void>((r) => (finish = r))
      const consumers = Array.from({ length: job.members }, () =>
        kafka.consumer({ kafkaJS: { groupId: `${job.groupPrefix}-${rep}`, fromBeginning: true, autoCommit: false }, "js.consumer.max.batch.size": 10_000 } as never))
      await Promise.all(consumers.map(async (c) => {
        await c.connect()
        await c.subscribe({ topics: [job.topic] })
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
