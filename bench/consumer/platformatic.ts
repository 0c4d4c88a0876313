/**
 * @platformatic/kafka consumer driver: `members` consumers of one new group in this process,
 * `consume({ mode: "earliest" })` streams counted in their 'data' handler until every partition
 * reaches its end offset. Default fetch settings, autocommit off.
 */
import { Consumer } from "@platformatic/kafka"
import type { ConsumeJob } from "../lib/jobs.ts"
import { versionOf } from "../lib/peers.ts"
import type { ConsumeSession } from "../lib/worker.ts"

export const consume = async (job: ConsumeJob): Promise<ConsumeSession> => {
  const ends = job.endOffsets
  return {
    version: versionOf("@platformatic/kafka"),
    settings: `${job.members === 1 ? "a group of one" : `${job.members} consumers in one group (${job.protocol === "consumer" ? "KIP-848 consumer protocol" : "classic protocol"})`}, consume({ mode: "earliest", autocommit: false }) stream, 'data' events, default fetch settings`,
    run: async (rep, limit = Infinity) => {
      const t0 = performance.now()
      let n = 0
      let first = 0
      const done = new Set<number>(ends.flatMap((e, p) => (e === 0 ? [p] : [])))
      let finish!: () => void
      const finished = new Promise<void>((r) => (finish = r))
      const consumers = Array.from({ length: job.members }, (_, i) =>
        new Consumer<Buffer, Buffer, Buffer, Buffer>({ clientId: `platformatic-bench-${i}`, groupId: `${job.groupPrefix}-${rep}`, bootstrapBrokers: job.brokers.split(","),
          ...(job.protocol === "consumer" ? { groupProtocol: "consumer" as const } : {}) }))
      await Promise.all(consumers.map(async (c) => {
        const stream = await c.consume({ topics: [job.topic], mode: "earliest", autocommit: false })
        stream.on("data", (m) => {
          if (n++ === 0) first = performance.now()
          if (n >= limit) finish()
          if (Number(m.offset) + 1 >= ends[m.partition]) {
            done.add(m.partition)
            if (done.size === ends.length) finish()
          }
        })
      }))
      await finished
      const end = performance.now()
      await Promise.all(consumers.map((c) => c.close(true)))
      return { n, ms: end - first, extra: { firstMs: first - t0 } }
    },
    close: async () => {}
  }
}
