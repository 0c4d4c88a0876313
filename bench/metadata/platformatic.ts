/** @platformatic/kafka Metadata round trips: `admin.metadata({ topics, forceUpdate: true })` (the cache bypassed). */
import { Admin } from "@platformatic/kafka"
import type { MetadataJob } from "../lib/jobs.ts"
import { versionOf } from "../lib/peers.ts"
import type { MetadataSession } from "../lib/worker.ts"

export const metadata = async (job: MetadataJob): Promise<MetadataSession> => {
  const admin = new Admin({ clientId: "platformatic-bench", bootstrapBrokers: job.brokers.split(",") })
  return {
    version: versionOf("@platformatic/kafka"),
    settings: "admin.metadata({ topics: [topic], forceUpdate: true })",
    once: async () => {
      const r = await admin.metadata({ topics: [job.topic], forceUpdate: true })
      if (r.topics.get(job.topic)?.partitionsCount !== 6) throw new Error("bad metadata")
    },
    close: () => admin.close()
  }
}
