import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import * as Avro from "../../src/SchemaRegistry/Avro.ts"
import * as RegistryTopic from "../../src/SchemaRegistry/RegistryTopic.ts"
import * as SchemaRegistry from "../../src/SchemaRegistry/SchemaRegistry.ts"
import * as Topic from "../../src/Topic.ts"
import { brokers } from "../kafka/env.ts"
import { registryUrl } from "../registry/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const between = (text: string, start: string, end: string) => {
  const from = text.indexOf(start)
  const to = text.indexOf(end, from + start.length)
  assert.isTrue(from >= 0 && to >= 0, `markers ${start} … ${end}`)
  return text.slice(from + start.length, to)
}
const code = (text: string) =>
  text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("import ")).join("\n")

describe("README: Schema Registry", () => {
  it("the README's example is the code this test runs", () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8")
    const section = between(readme, "## Schema Registry", "\n## ")
    const example = between(section, "```ts\n", "```")
    const self = fs.readFileSync(import.meta.filename, "utf8")
    assert.strictEqual(code(example), code(between(self, "// ---- README: " + "Schema Registry ----", "// ---- end " + "of README ----")))
  })

  it.live("the README example: Avro derived from an Effect Schema, produced and read back", () =>
    Effect.gen(function*() {
      const bootstrap = brokers()
      const url = registryUrl()
      const topic = uniqueTopic("sr-readme")
      yield* Effect.scoped(Effect.flatMap(Cluster.make({ bootstrap, clientId: "kpax-sr-readme" }), (c) => createTopic(c, topic)))

      // ---- README: Schema Registry ----
      const Order = Schema.Struct({ id: Schema.String, total: Schema.Number }).annotate({ identifier: "Order" })

      const program = Effect.gen(function*() {
        // registers shop.Order under "<topic>-value" (once) and keeps its id
        const Orders = yield* RegistryTopic.make({ name: topic, key: Topic.Utf8, value: { format: Avro.fromSchema(Order, { namespace: "shop" }) } })
        const producer = yield* Producer.make()
        yield* producer.sendTyped(Orders, { key: "o-1", value: { id: "o-1", total: 12.5 } })
        return yield* PartitionConsumer.stream([{ topic, partition: 0, from: "earliest" }]).pipe(
          Stream.take(1),
          // a record that does not decode (bad framing, unknown schema, wrong payload) is skipped and logged
          PartitionConsumer.decodeSkipping(Orders, (e) => Effect.logWarning(e.message)),
          Stream.runCollect
        )
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.mergeAll(Cluster.layer({ bootstrap }), SchemaRegistry.layer({ url })))
      )

      const orders = yield* program
      // ---- end of README ----

      assert.deepStrictEqual(orders.map((r) => [r.key, { ...r.value }]), [["o-1", { id: "o-1", total: 12.5 }]])
    }))
})
