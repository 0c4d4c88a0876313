/**
 * @platformatic/kafka producer driver. No linger or batch size either: a `send` is one request per
 * broker. Tuned: `send` of 5,000-message arrays, 4 in flight, native lz4/zstd. Defaults: the same.
 * Idempotence off (its default). Per-record API: one `send` of one message per record, all of a
 * repetition's sends started at once.
 */
import { Producer } from "@platformatic/kafka"
import type { LatencyJob, ProduceJob } from "../lib/jobs.ts"
import { keys } from "../lib/payloads.ts"
import { versionOf, windowed } from "../lib/peers.ts"
import type { LatencySession, ProduceSession } from "../lib/worker.ts"

/** 5,000 messages per send, fewer for large records (at most ~2 MB per send). */
const chunkFor = (size: number) => Math.min(5_000, Math.floor(2_000_000 / size))
const WINDOW = 4

const make = (brokers: string, acks: number, compression: "none" | "lz4" | "zstd") =>
  new Producer<Buffer, Buffer, Buffer, Buffer>({
    clientId: "platformatic-bench",
    bootstrapBrokers: brokers.split(","),
    acks,
    compression,
    idempotent: false,
    autocreateTopics: false
  })

export const produce = async (job: ProduceJob, pool: ReadonlyArray<Buffer>): Promise<ProduceSession> => {
  const chunk = chunkFor(job.size)
  const producer = make(job.brokers, job.acks, job.codec)
  const topic = job.topic
  const keyPool = keys()
  const message = (i: number) => (job.keyed ? { topic, key: keyPool[i & 1023], value: pool[i & 1023] } : { topic, value: pool[i & 1023] })
  const perRecord = async (count: number, offset: number) => {
    const sends = new Array<Promise<unknown>>(count)
    for (let i = 0; i < count; i++) sends[i] = producer.send({ messages: [message(offset + i)] })
    await Promise.all(sends)
    return count
  }
  return {
    version: versionOf("@platformatic/kafka"),
    settings: `${job.api === "record" ? "send() of one message per record, all at once" : `send() of ${chunk}-message arrays, ${WINDOW} in flight`}${job.keyed ? ", keyed" : ""}; idempotent no` + (job.tuned ? "" : " (no batching settings to tune: same as tuned)"),
    run: (count, offset) =>
      job.api === "record" ? perRecord(count, offset) : windowed(count, chunk, WINDOW, async (from, n) => {
        const messages = new Array<{ topic: string; key?: Buffer; value: Buffer }>(n)
        for (let j = 0; j < n; j++) messages[j] = message(offset + from + j)
        await producer.send({ messages })
        return n
      }),
    close: () => producer.close()
  }
}

export const latency = async (job: LatencyJob): Promise<LatencySession> => {
  const producer = make(job.brokers, job.acks, "none")
  const topic = job.topic
  return {
    version: versionOf("@platformatic/kafka"),
    settings: `send() per message, acks ${job.acks === -1 ? "all" : "1"}, not idempotent`,
    send: (value, onAck) => {
      producer.send({ messages: [{ topic, value }] }).then(() => onAck(), (e: unknown) => onAck(e ?? "failed"))
    },
    close: () => producer.close()
  }
}
