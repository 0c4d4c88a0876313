/**
 * kafkajs producer driver. kafkajs has no linger or batch size: a `send` is one request per broker
 * holding its messages. Tuned: `send` of 5,000-message arrays, 4 in flight, lz4/zstd through codec
 * plugins (see lib/peers.ts). Defaults: the same loop, default producer config. Idempotence off
 * (kafkajs' default; on, it allows one request in flight). Per-record API: one `send` of one
 * message per record, all of a repetition's sends started at once.
 */
import kafkajs from "kafkajs"
import type { LatencyJob, ProduceJob } from "../lib/jobs.ts"
import { keys } from "../lib/payloads.ts"
import { kafkajsCodecs, versionOf, windowed } from "../lib/peers.ts"
import type { LatencySession, ProduceSession } from "../lib/worker.ts"

const { Kafka, CompressionTypes, logLevel } = kafkajs
/** 5,000 messages per send, fewer for large records (at most ~2 MB per send). */
const chunkFor = (size: number) => Math.min(5_000, Math.floor(2_000_000 / size))
const WINDOW = 4

const codecOf = (c: ProduceJob["codec"]) =>
  c === "lz4" ? CompressionTypes.LZ4 : c === "zstd" ? CompressionTypes.ZSTD : CompressionTypes.None

const connect = async (brokers: string) => {
  kafkajsCodecs(kafkajs)
  const kafka = new Kafka({ clientId: "kafkajs-bench", brokers: brokers.split(","), logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false })
  await producer.connect()
  return producer
}

export const produce = async (job: ProduceJob, pool: ReadonlyArray<Buffer>): Promise<ProduceSession> => {
  const chunk = chunkFor(job.size)
  const producer = await connect(job.brokers)
  const compression = codecOf(job.codec)
  const keyPool = keys()
  const message = (i: number) => (job.keyed ? { key: keyPool[i & 1023], value: pool[i & 1023] } : { value: pool[i & 1023] })
  const perRecord = async (count: number, offset: number) => {
    const sends = new Array<Promise<unknown>>(count)
    for (let i = 0; i < count; i++) sends[i] = producer.send({ topic: job.topic, messages: [message(offset + i)], acks: job.acks, compression })
    await Promise.all(sends)
    return count
  }
  return {
    version: versionOf("kafkajs"),
    settings: `${job.api === "record" ? "send() of one message per record, all at once" : `send() of ${chunk}-message arrays, ${WINDOW} in flight`}${job.keyed ? ", keyed" : ""}${job.codec === "none" ? "" : `, ${job.codec} codec plugin`}; idempotent no` +
      (job.tuned ? "" : " (no batching settings to tune: same as tuned)"),
    run: (count, offset) =>
      job.api === "record" ? perRecord(count, offset) : windowed(count, chunk, WINDOW, async (from, n) => {
        const messages = new Array<{ key?: Buffer; value: Buffer }>(n)
        for (let j = 0; j < n; j++) messages[j] = message(offset + from + j)
        await producer.send({ topic: job.topic, messages, acks: job.acks, compression })
        return n
      }),
    close: () => producer.disconnect()
  }
}

export const latency = async (job: LatencyJob): Promise<LatencySession> => {
  const producer = await connect(job.brokers)
  return {
    version: versionOf("kafkajs"),
    settings: `send() per message, acks ${job.acks === -1 ? "all" : "1"}, not idempotent`,
    send: (value, onAck) => {
      producer.send({ topic: job.topic, messages: [{ value }], acks: job.acks }).then(() => onAck(), (e: unknown) => onAck(e ?? "failed"))
    },
    close: () => producer.disconnect()
  }
}
