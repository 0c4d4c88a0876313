/** @confluentinc/kafka-javascript Metadata round trips: `admin.fetchTopicMetadata` (librdkafka's metadata request). */
import type { MetadataJob } from "../lib/jobs.ts"
import { confluentVersion, loadConfluent } from "../lib/confluent.ts"
import type { MetadataSession, Skipped } from "../lib/worker.ts"

export const metadata = async (job: MetadataJob): Promise<MetadataSession | Skipped> => {
  const K = loadConfluent()
  if ("skipped" in K) return K
  const kafka = new K.Kafka({ kafkaJS: { brokers: job.brokers.split(","), logLevel: K.logLevel.NOTHING, clientId: "confluent-bench" } })
  const admin = kafka.admin()
  await admin.connect()
  return {
    version: confluentVersion(),
    settings: "admin.fetchTopicMetadata({ topics: [topic] })",
    once: async () => {
      const r = await admin.fetchTopicMetadata({ topics: [job.topic] })
      if (r[0]?.partitions.length !== 6) throw new Error("bad metadata")
    },
    close: () => admin.disconnect()
  }
}
