import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Producer from "../../src/Producer/Producer.ts"
import * as RealCluster from "../../src/Testing/RealCluster.ts"
import { bootstrapServers } from "../kafka/env.ts"
import { runJavaTool } from "../kafka/harness.ts"
import { failure, withAdmin } from "./helpers.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)

/** Partition → first offset, as Kafka's own GetOffsetShell reads it (`--time -2`). */
const earliestByJava = (topic: string) =>
  Effect.promise(async () => {
    const r = await runJavaTool("kafka-get-offsets", ["--bootstrap-server", bootstrapServers(), "--topic", topic, "--time", "-2"])
    const out = new Map<number, number>()
    for (const line of r.stdout.split("\n")) {
      const m = /^(.+):(\d+):(\d+)$/.exec(line.trim())
      if (m !== null && m[1] === topic) out.set(Number(m[2]), Number(m[3]))
    }
    return out
  })

describe("Admin records and offsets (real broker)", () => {
  it.live("listOffsets: earliest, latest, max timestamp and by time, for records of known timestamps", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 2, prefix: "admin-times" })
        const base = Date.now() - 600_000
        // out of order on purpose: the max timestamp is at offset 2
        const stamps = [100, 200, 900, 300, 400]
        const producer = yield* Producer.make({ acks: "all" })
        const metas = yield* producer.sendAll(stamps.map((t, i) => ({ topic, partition: 0, value: utf8(`r${i}`), timestamp: base + t })))
        assert.deepStrictEqual(metas.map((m) => m.offset), [0n, 1n, 2n, 3n, 4n])
        const p0 = { topic, partition: 0 }
        const p1 = { topic, partition: 1 }
        const at = (spec: Parameters<typeof admin.listOffsets>[1]) =>
          Effect.map(admin.listOffsets([topic], spec), (rows) => rows.map((r) => [r.partition, r.offset, r.timestamp]))

        assert.deepStrictEqual(yield* at("earliest"), [[0, 0n, null], [1, 0n, null]])
        assert.deepStrictEqual(yield* at("latest"), [[0, 5n, null], [1, 0n, null]])
        assert.deepStrictEqual(yield* at("maxTimestamp"), [[0, 2n, base + 900], [1, null, null]])
        assert.deepStrictEqual(yield* at({ timestamp: base + 150 }), [[0, 1n, base + 200], [1, null, null]])
        // the first offset whose timestamp is at or after the time
        assert.deepStrictEqual(yield* at({ timestamp: base + 250 }), [[0, 2n, base + 900], [1, null, null]])
        assert.deepStrictEqual(yield* at({ timestamp: base + 100 }), [[0, 0n, base + 100], [1, null, null]])
        assert.deepStrictEqual(yield* at({ timestamp: base + 901 }), [[0, null, null], [1, null, null]])

        // partitions named one by one, in the order given; read_committed without transactions: the same end
        const named = yield* admin.listOffsets([p1, p0], "latest", { isolation: "read_committed" })
        assert.deepStrictEqual(named.map((r) => [r.topic, r.partition, r.offset]), [[topic, 1, 0n], [topic, 0, 5n]])
        assert.isNotNull(named[1].leaderEpoch)

        const noPartition = yield* failure(admin.listOffsets([p0, { topic, partition: 7 }], "latest"))
        assert.strictEqual(noPartition._tag, "AdminPartialFailure")
        if (noPartition._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(noPartition.failures.map((f) => [f.item, f.name]), [[`partition ${topic}-7`, "UNKNOWN_TOPIC_OR_PARTITION"]])
          assert.deepStrictEqual(noPartition.succeeded, [`partition ${topic}-0`])
        }
        const noTopic = yield* failure(admin.listOffsets([`${topic}-missing`], "earliest"))
        assert.strictEqual(noTopic._tag === "AdminPartialFailure" && noTopic.failures[0].item, `topic ${topic}-missing`)
        assert.strictEqual((yield* failure(admin.listOffsets([topic], { timestamp: -5 })))._tag, "InvalidAdminRequest")
        assert.strictEqual((yield* failure(admin.listOffsets(["bad name"], "latest")))._tag, "InvalidTopicName")
      })))

  it.live("deleteRecords moves each partition's first offset (checked with Kafka's GetOffsetShell)", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const topic = yield* RealCluster.randomTopic({ partitions: 3, prefix: "admin-delrec" })
        const producer = yield* Producer.make({ acks: "all" })
        yield* producer.sendAll([0, 1, 2].flatMap((partition) =>
          Array.from({ length: 10 }, (_, i) => ({ topic, partition, value: utf8(`v${i}`) }))))

        const cut = yield* admin.deleteRecords([{ topic, partition: 0, offset: 4n }, { topic, partition: 1, offset: -1n }])
        assert.deepStrictEqual(cut.map((c) => [c.partition, c.lowWatermark]), [[0, 4n], [1, 10n]])
        const earliest = yield* admin.listOffsets([topic], "earliest")
        assert.deepStrictEqual(earliest.map((r) => r.offset), [4n, 10n, 0n])
        assert.deepStrictEqual([...(yield* earliestByJava(topic))].sort(), [[0, 4], [1, 10], [2, 0]])
        // the end does not move
        assert.deepStrictEqual((yield* admin.listOffsets([topic], "latest")).map((r) => r.offset), [10n, 10n, 10n])

        // past the end: that partition's typed error; the other partition of the same request is cut
        const past = yield* failure(admin.deleteRecords([{ topic, partition: 2, offset: 11n }, { topic, partition: 0, offset: 6n }]))
        assert.strictEqual(past._tag, "AdminPartialFailure")
        if (past._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(past.failures.map((f) => [f.item, f.name, f.operation]), [[`partition ${topic}-2`, "OFFSET_OUT_OF_RANGE", "deleteRecords"]])
          assert.deepStrictEqual(past.succeeded, [`partition ${topic}-0`])
        }
        assert.deepStrictEqual((yield* admin.listOffsets([topic], "earliest")).map((r) => r.offset), [6n, 10n, 0n])

        // a topic that does not exist fails at once, not after the leader retries
        const started = Date.now()
        const missing = yield* failure(admin.deleteRecords([{ topic: `${topic}-missing`, partition: 0, offset: 1n }]))
        assert.strictEqual(missing._tag === "AdminPartialFailure" && missing.failures[0].name, "UNKNOWN_TOPIC_OR_PARTITION")
        assert.isBelow(Date.now() - started, 5_000)
        assert.strictEqual((yield* failure(admin.deleteRecords([{ topic, partition: 0, offset: -2n }])))._tag, "InvalidAdminRequest")
      })))
})
