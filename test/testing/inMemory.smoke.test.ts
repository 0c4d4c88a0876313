import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"

const te = new TextEncoder()

describe("smoke", () => {
  it.live("produce and read back", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      const producer = yield* Producer.make()
      const m = yield* producer.send({ topic: "t", value: te.encode("hello") })
      assert.strictEqual(m.offset, 0n)
      const recs = yield* kafka.records("t", m.partition)
      assert.strictEqual(recs.length, 1)
      const cluster = yield* Cluster.Cluster
      assert.strictEqual(cluster.snapshot().brokers.size, 3)
    }).pipe(Effect.scoped, Effect.provide(InMemory.layer({ topics: [{ name: "t", partitions: 3 }] }))))
})
