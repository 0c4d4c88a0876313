/**
 * @confluentinc/kafka-javascript producer driver (its KafkaJS-style promise API over librdkafka).
 * librdkafka batches on its own thread. Idempotence on with acks=all (as kpax and Java), off with acks=1.
 */
import type { LatencyJob, ProduceJob } from "../lib/jobs.ts"
import { confluentVersion, loadConfluent } from "../lib/confluent.ts"
import { keys } from "../lib/payloads.ts"
import { createRequire } from "node:module"
import type { LatencySession, ProduceSession, Skipped } from "../lib/worker.ts"

const open = async (brokers: string, acks: 1 | -1, codec: "none" | "lz4" | "zstd", extra: Record<string, string | number | boolean>) => {
  const K = loadConfluent()
  if ("skipped" in K) return K
  const kafka = new K.Kafka({ kafkaJS: { brokers: brokers.split(","), logLevel: K.logLevel.NOTHING, clientId: "confluent-bench" } })
  const producer = kafka.producer({
    kafkaJS: {
      acks,
      idempotent: acks === -1,
      compression: codec === "lz4" ? K.CompressionTypes.LZ4 : codec === "zstd" ? K.CompressionTypes.ZSTD : K.CompressionTypes.None
    },
    ...extra
  })
  await producer.connect()
  return producer
}

/**
 * Throughput runs use the low-level librdkafka API (`Producer.produce` + delivery reports), the
 * client's fastest path: its KafkaJS-style `send()` measured 1.5–2× slower here.
 */
export const produce = async (job: ProduceJob, pool: ReadonlyArray<Buffer>): Promise<ProduceSession | Skipped> => {
  const K = loadConfluent()
  if ("skipped" in K) return K
  const keyPool = keys()
  if (job.api === "record") return perRecord(job, pool, keyPool)
  const rd = createRequire(import.meta.url)("@confluentinc/kafka-javascript") as typeof import("@confluentinc/kafka-javascript")
  const config: Record<string, string | number | boolean> = {
    "metadata.broker.list": job.brokers,
    "client.id": "confluent-bench",
    dr_cb: true,
    acks: job.acks,
    "enable.idempotence": job.acks === -1,
    "compression.codec": job.codec,
    ...(job.tuned ? { "linger.ms": 10, "batch.size": 1_000_000, "queue.buffering.max.messages": 1_000_000, "queue.buffering.max.kbytes": 262_144 } : {})
  }
  const producer = new rd.Producer(config as never)
  await new Promise<void>((resolve, reject) => {
    producer.once("ready", () => resolve())
    producer.once("event.error", reject)
    producer.connect()
  })
  producer.setPollInterval(5)
  let onReport: (err: unknown) => void = () => {}
  producer.on("delivery-report", (err) => onReport(err))
  const topic = job.topic
  return {
    version: confluentVersion(),
    settings: `low-level Producer.produce() per record + delivery reports (poll every 5 ms), ${job.tuned ? "linger.ms 10, batch.size 1 MB, queue 1M msgs / 256 MiB" : "librdkafka defaults (linger.ms 5, queue 100k msgs)"}, QUEUE_FULL → poll and retry${job.keyed ? ", keyed" : ""}; idempotent ${job.acks === -1 ? "yes" : "no"}`,
    run: (count, offset) =>
      new Promise<number>((resolve, reject) => {
        let acked = 0
        let sent = 0
        let failed = false
        onReport = (err) => {
          if (err) {
            failed = true
            return reject(err instanceof Error ? err : new Error(String(err)))
          }
          if (++acked === count) resolve(acked)
        }
        const pump = () => {
          while (sent < count && !failed) {
            try {
              producer.produce(topic, null, pool[(offset + sent) & 1023], job.keyed ? keyPool[(offset + sent) & 1023] : null)
              sent++
            } catch (e) {
              if ((e as { code?: number }).code !== rd.CODES.ERRORS.ERR__QUEUE_FULL) return reject(e)
              producer.poll()
              return void setTimeout(pump, 1)
            }
          }
        }
        pump()
      }),
    close: () => new Promise<void>((resolve) => producer.disconnect(() => resolve()))
  }
}

/** Per-record API: the KafkaJS-style promise `send()` of one message per record, all at once. */
const perRecord = async (job: ProduceJob, pool: ReadonlyArray<Buffer>, keyPool: ReadonlyArray<Buffer>): Promise<ProduceSession | Skipped> => {
  const producer = await open(job.brokers, job.acks, job.codec,
    job.tuned ? { "linger.ms": 10, "batch.size": 1_000_000, "queue.buffering.max.messages": 1_000_000, "queue.buffering.max.kbytes": 262_144 } : {})
  if ("skipped" in producer) return producer
  return {
    version: confluentVersion(),
    settings: `KafkaJS-style send() of one message per record, all at once, ${job.tuned ? "linger.ms 10, batch.size 1 MB, queue 1M msgs / 256 MiB" : "librdkafka defaults"}${job.keyed ? ", keyed" : ""}; idempotent ${job.acks === -1 ? "yes" : "no"}`,
    run: async (count, offset) => {
      const sends = new Array<Promise<unknown>>(count)
      for (let i = 0; i < count; i++) {
        const j = (offset + i) & 1023
        sends[i] = producer.send({ topic: job.topic, messages: [job.keyed ? { key: keyPool[j], value: pool[j] } : { value: pool[j] }] })
      }
      await Promise.all(sends)
      return count
    },
    close: () => producer.disconnect()
  }
}

export const latency = async (job: LatencyJob): Promise<LatencySession | Skipped> => {
  const producer = await open(job.brokers, job.acks, "none", { "linger.ms": 0 })
  if ("skipped" in producer) return producer
  return {
    version: confluentVersion(),
    settings: `send() per message, linger.ms 0, acks ${job.acks === -1 ? "all (idempotent)" : "1"}`,
    send: (value, onAck) => {
      producer.send({ topic: job.topic, messages: [{ value }] }).then(() => onAck(), (e: unknown) => onAck(e ?? "failed"))
    },
    close: () => producer.disconnect()
  }
}
