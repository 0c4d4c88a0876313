import { assert, describe, it } from "@effect/vitest"
import { Effect, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const te = new TextEncoder()
const td = new TextDecoder()
const utf8 = (s: string) => te.encode(s)
const str = (b: Uint8Array | null) => (b === null ? null : td.decode(b))

const withCluster = <A, E>(f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: "kpax-consumer-test" })
      return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  )

describe("PartitionConsumer (real broker)", () => {
  it.live("from earliest: every record of every partition, exact offsets, keys, values, headers", () =>
    withCluster((cluster) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("earliest")
        yield* createTopic(cluster, topic, { partitions: 3 })
        const producer = yield* Producer.make()
        const n = 3000
        const metas = yield* producer.sendAll(Array.from({ length: n }, (_, i) => ({
          topic,
          key: utf8(`k${i}`),
          value: utf8(`v${i}`),
          headers: [{ key: "i", value: utf8(String(i)) }]
        })))
        const records = yield* PartitionConsumer.stream([0, 1, 2].map((partition) => ({ topic, partition, from: "earliest" as const }))).pipe(
          Stream.take(n),
          Stream.runCollect
        )
        assert.strictEqual(records.length, n)
        const expected = new Map<string, string>()
        metas.forEach((m, i) => expected.set(`${m.partition}@${m.offset}`, `v${i}`))
        const next = new Map<number, bigint>()
        for (const r of records) {
          assert.strictEqual(r.topic, topic)
          assert.strictEqual(r.offset, next.get(r.partition) ?? 0n)
          next.set(r.partition, r.offset + 1n)
          const v = expected.get(`${r.partition}@${r.offset}`)
          assert.strictEqual(str(r.value), v)
          assert.strictEqual(str(r.key), `k${v!.slice(1)}`)
          assert.strictEqual(str(r.headers[0].value), v!.slice(1))
          assert.strictEqual(r.timestampType, "CreateTime")
        }
      })))
})
