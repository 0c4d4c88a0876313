/** kpax Metadata round trips: `broker.request(Metadata, …)` on one `Broker` connection. */
import { Effect } from "effect"
import * as Broker from "../../src/Connection/Broker.ts"
import { Metadata } from "../../src/Protocol/generated/Metadata.ts"
import type { MetadataJob } from "../lib/jobs.ts"
import { kpaxVersion, openScoped } from "../lib/kpax.ts"
import type { MetadataSession } from "../lib/worker.ts"

export const metadata = async (job: MetadataJob): Promise<MetadataSession> => {
  const [host, port] = job.brokers.split(",")[0].split(":")
  const quiet = process.env.KPAX_BENCH_DEFAULT_BROKER !== "1"
  const { value: broker, close } = await openScoped(
    Broker.make({ host, port: Number(port), clientId: "kpax-bench", ...(quiet ? { tracing: false, validateRequests: false } : {}) })
  )
  const req = { topics: [{ name: job.topic }], allowAutoTopicCreation: false }
  const once = broker.request(Metadata, req).pipe(
    Effect.flatMap((res) => (res.topics[0]?.errorCode === 0 ? Effect.void : Effect.die(new Error(`Metadata error ${res.topics[0]?.errorCode}`))))
  )
  return {
    version: kpaxVersion(),
    settings: `Broker.request(Metadata v${await Effect.runPromise(broker.versionFor(Metadata))}, one topic) on one connection${quiet ? ", tracing/validation off" : ""}`,
    once: () => Effect.runPromise(once),
    close
  }
}
