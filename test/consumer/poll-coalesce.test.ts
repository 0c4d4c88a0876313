/**
 * Found by the chaos soak (bench/SOAK.md): a consume-transform-produce pipeline that fell behind
 * during a fault never caught up, because the stream handed out one fetch's records at a time
 * (a few records each at a steady input rate) however much was buffered, so every transaction
 * stayed small. Like Java's `max.poll.records`, a chunk now spans the partition's buffered
 * fetches, up to `maxPollRecords`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const waitFor = (cond: () => boolean, what: string) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

class Stop {
  readonly _tag = "Stop"
}

describe("Consumer chunks span buffered fetches", () => {
  it.live("records fetched in several fetches while the reader was busy come out as one chunk, at most maxPollRecords", () =>
    Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-poll-coalesce" })
      const withCluster = Effect.provideService(Cluster.Cluster, cluster)
      const topic = uniqueTopic("poll-coalesce")
      yield* createTopic(cluster, topic, { partitions: 1 })
      // each round one batch (linger), so each is one fetch
      const producer = yield* Producer.make({ linger: "20 millis" }).pipe(withCluster)
      const consumer = yield* Consumer.make({
        groupId: uniqueTopic("g"), topics: [topic], offsetReset: "earliest", maxWait: "50 millis", maxPollRecords: 25,
        heartbeatInterval: "300 millis", sessionTimeout: "10 seconds"
      }).pipe(withCluster)
      yield* waitFor(() => consumer.assignment().length === 1, "the assignment")
      const te = new TextEncoder()
      // three rounds of 10 records, each fetched on its own (the buffer grows) before the next is sent
      let buffered = 0
      for (let round = 0; round < 3; round++) {
        yield* producer.sendAll(Array.from({ length: 10 }, (_, i) => ({ topic, value: te.encode(`${round}-${i}`) })))
        yield* waitFor(() => consumer.bufferedBytes() > buffered, `round ${round} to be fetched`)
        buffered = consumer.bufferedBytes()
      }
      assert.isAbove(consumer.stats().fetchRequests, 2)
      const chunks: Array<Array<string>> = []
      const td = new TextDecoder()
      yield* consumer.records.pipe(
        Stream.runForEachArray((chunk) =>
          Effect.suspend(() => {
            chunks.push(chunk.map((r) => td.decode(r.value!)))
            return chunks.flat().length >= 30 ? Effect.fail(new Stop()) : Effect.void
          })
        ),
        Effect.catchTag("Stop", () => Effect.void)
      )
      const all = Array.from({ length: 3 }, (_, round) => Array.from({ length: 10 }, (_, i) => `${round}-${i}`)).flat()
      // 25 (maxPollRecords) across the three fetches, then the last 5
      assert.deepStrictEqual(chunks, [all.slice(0, 25), all.slice(25)])
    })), 120_000)
})
