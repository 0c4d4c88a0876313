/** kafkajs Metadata round trips: `admin.fetchTopicMetadata` (one Metadata request each, counted through its instrumentation events). */
import kafkajs from "kafkajs"
import type { MetadataJob } from "../lib/jobs.ts"
import { versionOf } from "../lib/peers.ts"
import type { MetadataSession } from "../lib/worker.ts"

export const metadata = async (job: MetadataJob): Promise<MetadataSession> => {
  const kafka = new kafkajs.Kafka({ clientId: "kafkajs-bench", brokers: job.brokers.split(","), logLevel: kafkajs.logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  let sent = 0
  admin.on(admin.events.REQUEST, (e) => {
    if ((e.payload as { apiName?: string }).apiName === "Metadata") sent++
  })
  return {
    version: versionOf("kafkajs"),
    settings: "admin.fetchTopicMetadata({ topics: [topic] })",
    once: async () => {
      const r = await admin.fetchTopicMetadata({ topics: [job.topic] })
      if (r.topics[0]?.partitions.length !== 6) throw new Error("bad metadata")
    },
    sent: () => sent,
    close: () => admin.disconnect()
  }
}
