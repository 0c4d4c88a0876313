/**
 * The ways to put kpax on an in-memory cluster: `InMemory.layer`, `InMemory.make` + `Cluster.make`,
 * and `Layers.clusterWith(kafka.connect)` (its default bootstrap label is the first broker's address).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Layers from "../../src/Layers/Layers.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"

const te = new TextEncoder()

describe("InMemory wiring", () => {
  it.live("InMemory.layer: a Cluster and the Control", () =>
    Effect.gen(function*() {
      const kafka = yield* InMemory.Control
      const producer = yield* Producer.make()
      const m = yield* producer.send({ topic: "t", value: te.encode("hello") })
      assert.strictEqual(m.offset, 0n)
      assert.strictEqual((yield* kafka.records("t", m.partition)).length, 1)
      const cluster = yield* Cluster.Cluster
      assert.strictEqual(cluster.snapshot().brokers.size, 3)
    }).pipe(Effect.scoped, Effect.provide(InMemory.layer({ topics: [{ name: "t", partitions: 3 }] }))))

  it.live("Layers.clusterWith(kafka.connect)", () =>
    Effect.scoped(Effect.gen(function*() {
      const kafka = yield* InMemory.make({ brokers: 2, topics: [{ name: "t" }] })
      const meta = yield* Effect.scoped(Effect.flatMap(Producer.make(), (p) => p.send({ topic: "t", value: null }))).pipe(
        Effect.provide(Layers.clusterWith(kafka.connect).pipe(Layer.orDie))
      )
      assert.strictEqual(meta.offset, 0n)
      assert.strictEqual((yield* kafka.offsets("t", 0)).highWatermark, 1n)
    })))

  it.live("a bootstrap address no broker has is refused", () =>
    Effect.scoped(Effect.gen(function*() {
      const kafka = yield* InMemory.make({ brokers: 1 })
      const cluster = yield* Cluster.make({ bootstrap: ["in-memory:1"], connect: kafka.connect })
      const e = yield* Effect.flip(cluster.listTopics)
      assert.strictEqual(e._tag, "BrokerUnavailable")
    })))
})
