import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as RealCluster from "../../src/Testing/RealCluster.ts"
import { brokers } from "../kafka/env.ts"
import { eventually, failure, uniqueTopic, withAdmin } from "./helpers.ts"

describe("Admin cluster and configs (real broker)", () => {
  it.live("describeCluster: cluster id, controller and the brokers of the bootstrap", () =>
    withAdmin((admin, cluster) =>
      Effect.gen(function*() {
        const d = yield* admin.describeCluster
        assert.isString(d.clusterId)
        assert.isAbove(d.clusterId!.length, 10)
        assert.strictEqual(d.brokers.length, brokers().length)
        assert.deepStrictEqual(
          d.brokers.map((b) => `${b.host}:${b.port}`).sort(),
          [...brokers()].sort()
        )
        assert.isTrue(d.brokers.some((b) => b.nodeId === d.controllerId))
        // the same cluster the metadata names
        const meta = yield* cluster.refresh()
        assert.strictEqual(d.clusterId, meta.clusterId)
      })))

  it.live("describe + incrementally alter a topic's configs: set retention.ms, read it back, delete it", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ prefix: "admin-config" })
        const resource = { type: "topic" as const, name: topic }
        const before = yield* admin.describeConfigs([resource], { names: ["retention.ms"] })
        assert.deepStrictEqual(before.map((r) => r.resource), [resource])
        const entry0 = before[0].entries.find((e) => e.name === "retention.ms")!
        assert.deepStrictEqual([entry0.source, entry0.isDefault, entry0.type], ["default", true, "long"])
        assert.strictEqual(entry0.value, "604800000")

        yield* admin.alterConfigs([{ resource, ops: [{ op: "set", name: "retention.ms", value: "123456" }] }], { validateOnly: true })
        assert.strictEqual((yield* admin.describeConfigs([resource], { names: ["retention.ms"] }))[0].entries[0].value, "604800000")

        yield* admin.alterConfigs([{ resource, ops: [{ op: "set", name: "retention.ms", value: "123456" }] }])
        const set = yield* eventually(Effect.flatMap(admin.describeConfigs([resource], { names: ["retention.ms"], includeSynonyms: true }), (rs) => {
          const e = rs[0].entries[0]
          return e.value === "123456" ? Effect.succeed(e) : Effect.fail(`retention.ms is still ${e.value}`)
        }))
        assert.deepStrictEqual([set.source, set.isDefault, set.isSensitive, set.isReadOnly], ["topic", false, false, false])
        assert.deepStrictEqual(set.synonyms[0], { name: "retention.ms", value: "123456", source: "topic" })

        yield* admin.alterConfigs([{ resource, ops: [{ op: "delete", name: "retention.ms" }] }])
        const back = yield* eventually(Effect.flatMap(admin.describeConfigs([resource], { names: ["retention.ms"] }), (rs) => {
          const e = rs[0].entries[0]
          return e.isDefault ? Effect.succeed(e) : Effect.fail(`retention.ms is still ${e.value}`)
        }))
        assert.deepStrictEqual([back.value, back.source], ["604800000", "default"])

        // list configs: append and subtract
        yield* admin.alterConfigs([{ resource, ops: [{ op: "append", name: "cleanup.policy", value: "compact" }] }])
        const appended = yield* eventually(Effect.flatMap(admin.describeConfigs([resource], { names: ["cleanup.policy"] }), (rs) =>
          rs[0].entries[0].value === "delete,compact" ? Effect.succeed(rs[0].entries[0]) : Effect.fail(rs[0].entries[0].value)))
        assert.strictEqual(appended.type, "list")
        yield* admin.alterConfigs([{ resource, ops: [{ op: "subtract", name: "cleanup.policy", value: "delete" }] }])
        yield* eventually(Effect.flatMap(admin.describeConfigs([resource], { names: ["cleanup.policy"] }), (rs) =>
          rs[0].entries[0].value === "compact" ? Effect.void : Effect.fail(rs[0].entries[0].value)))

        // an unknown config is the resource's typed error
        const bad = yield* failure(admin.alterConfigs([{ resource, ops: [{ op: "set", name: "no.such.config", value: "1" }] }]))
        assert.strictEqual(bad._tag, "AdminPartialFailure")
        if (bad._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(bad.failures.map((f) => [f.item, f.name]), [[`topic ${topic}`, "INVALID_CONFIG"]])
        }
      })))

  it.live("broker configs: read from that broker (sensitive and read-only flags), altered dynamically, documentation on request", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const { brokers: nodes } = yield* admin.describeCluster
        const broker = { type: "broker" as const, name: String(nodes[0].nodeId) }
        const [all] = yield* admin.describeConfigs([broker], { includeDocumentation: true })
        const byName = new Map(all.entries.map((e) => [e.name, e]))
        assert.isAbove(all.entries.length, 100)
        const nodeId = byName.get("node.id")!
        assert.deepStrictEqual([nodeId.value, nodeId.source, nodeId.isReadOnly], [broker.name, "staticBroker", true])
        assert.isString(byName.get("log.retention.hours")?.documentation)
        assert.strictEqual(byName.get("ssl.keystore.password")?.isSensitive, true)
        assert.strictEqual(byName.get("ssl.keystore.password")?.type, "password")

        // a dynamic per-broker config, then back
        yield* admin.alterConfigs([{ resource: broker, ops: [{ op: "set", name: "log.cleaner.threads", value: "2" }] }])
        const dyn = yield* eventually(Effect.flatMap(admin.describeConfigs([broker], { names: ["log.cleaner.threads"], includeSynonyms: true }), ([r]) =>
          r.entries[0].value === "2" ? Effect.succeed(r.entries[0]) : Effect.fail(r.entries[0].value)))
        assert.strictEqual(dyn.source, "dynamicBroker")
        assert.deepStrictEqual(dyn.synonyms.map((s) => [s.name, s.source]), [["log.cleaner.threads", "dynamicBroker"], ["log.cleaner.threads", "default"]])
        yield* admin.alterConfigs([{ resource: broker, ops: [{ op: "delete", name: "log.cleaner.threads" }] }])
        yield* eventually(Effect.flatMap(admin.describeConfigs([broker], { names: ["log.cleaner.threads"] }), ([r]) =>
          r.entries[0].source !== "dynamicBroker" ? Effect.void : Effect.fail("still dynamic")))

        // several resources at once, answered in the order asked; one missing topic fails alone
        const topic = yield* RealCluster.randomTopic({ prefix: "admin-config-many" })
        const missing = uniqueTopic("admin-config-missing")
        const e = yield* failure(admin.describeConfigs([broker, { type: "topic", name: topic }, { type: "topic", name: missing }]))
        assert.strictEqual(e._tag, "AdminPartialFailure")
        if (e._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(e.failures.map((f) => [f.item, f.name]), [[`topic ${missing}`, "UNKNOWN_TOPIC_OR_PARTITION"]])
          assert.deepStrictEqual(e.succeeded, [`broker ${broker.name} config`, `topic ${topic}`])
        }
        const both = yield* admin.describeConfigs([{ type: "topic", name: topic }, broker], { names: ["retention.ms", "log.retention.hours"] })
        assert.deepStrictEqual(both.map((r) => r.resource.type), ["topic", "broker"])

        const notANode = yield* failure(admin.describeConfigs([{ type: "broker", name: "leader" }]))
        assert.strictEqual(notANode._tag, "InvalidAdminRequest")
        const badTopic = yield* failure(admin.describeConfigs([{ type: "topic", name: "a/b" }]))
        assert.strictEqual(badTopic._tag, "InvalidTopicName")
      })))
})
