/**
 * `kpax rollback` as a user runs it: a group's offsets moved to a point in time found in the
 * payload (JSON path with RFC 3339 strings, MessagePack epoch seconds, URL-encoded epoch ms —
 * binary search over offsets) and by the brokers' timestamp index (records produced with
 * explicit timestamps), checked through the offsets the group has committed afterwards;
 * `--dry-run` commits nothing; `consume` over a time range.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import type { ProducerRecord } from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"
import { jsonLines, kpax, lines, ok } from "./run.ts"

const run = (args: ReadonlyArray<string>) => Effect.promise(() => kpax(args))

/** MessagePack of `{ ts: <uint32>, n: <int < 128> }`. */
const msgpackRecord = (ts: number, n: number): Uint8Array => {
  const b = Buffer.alloc(13)
  b[0] = 0x82
  b[1] = 0xa2
  b.write("ts", 2, "ascii")
  b[4] = 0xce
  b.writeUInt32BE(ts, 5)
  b[9] = 0xa1
  b.write("n", 10, "ascii")
  b[11] = n
  return b.subarray(0, 12)
}

const BASE = Date.parse("2024-03-01T12:00:00Z")
const MIN = 60_000
const iso = (ms: number) => new Date(ms).toISOString()

describe("kpax rollback", () => {
  it.live("by a time field in the payload (json, msgpack, url-encoded) and by broker timestamps; the group's committed offsets land on the first record at or after the time", () =>
    Effect.gen(function*() {
      const topic = uniqueTopic("cli-rollback")
      const group = `${topic}-group`
      yield* Effect.scoped(Effect.gen(function*() {
        const cluster = yield* Cluster.make({ bootstrap: brokers() })
        // records from 2024: no time-based retention, or the broker deletes them within minutes
        yield* createTopic(cluster, topic, { partitions: 3, configs: { "retention.ms": "-1" } })
        const producer = yield* Producer.make().pipe(Effect.provideService(Cluster.Cluster, cluster))
        const records: Array<ProducerRecord> = []
        // p0: JSON with an RFC 3339 string at meta.at, one a minute; broker timestamps the same
        for (let i = 0; i < 100; i++) {
          const at = BASE + i * MIN
          records.push({ topic, partition: 0, value: Buffer.from(JSON.stringify({ n: i, meta: { at: iso(at) } })), timestamp: at })
        }
        // p1: MessagePack epoch seconds every 2 minutes; broker timestamps: now (all after the target)
        for (let i = 0; i < 60; i++) records.push({ topic, partition: 1, value: msgpackRecord((BASE + i * 2 * MIN) / 1000, i) })
        // p2: URL-encoded epoch milliseconds every 30 s; broker timestamps the same
        for (let i = 0; i < 120; i++) {
          const ts = BASE + i * 30_000
          records.push({ topic, partition: 2, value: Buffer.from(`n=${i}&ts=${ts}`), timestamp: ts })
        }
        yield* producer.sendAll(records)
      }))
      const target = iso(BASE + 37.5 * MIN)

      // three partitions, three payload formats, side by side (each commits only its own partition)
      const [dryRun, mpRun, urlRun] = yield* Effect.promise(() =>
        Promise.all([
          ["rollback", group, topic, "--to", target, "--time-field", "meta.at", "-p", "0", "--dry-run", "--json"],
          ["rollback", group, topic, "--to", target, "--time-field", "ts", "--payload", "msgpack", "-p", "1", "--json"],
          ["rollback", group, topic, "--to", target, "--time-field", "ts", "--payload", "url", "--time-unit", "ms", "-p", "2"]
        ].map((args) => kpax(args).then(ok)))
      )
      assert.deepStrictEqual(jsonLines(dryRun!), [{ group, topic, to: target, by: "payload:meta.at", dryRun: true, partitions: [{ partition: 0, from: null, to: 38 }] }])
      assert.deepStrictEqual(jsonLines(mpRun!)[0].partitions, [{ partition: 1, from: null, to: 19 }])
      assert.deepStrictEqual(lines(urlRun!), ["PARTITION  COMMITTED  NEW OFFSET", "        2          -          75", `committed for group ${group}`])

      const after = jsonLines(ok(yield* run(["offset", group, topic, "--json"])))[0]
      assert.deepStrictEqual(after, {
        group,
        partitions: [
          { topic, partition: 0, committed: null, end: 100, lag: null },
          { topic, partition: 1, committed: 19, end: 60, lag: 41 },
          { topic, partition: 2, committed: 75, end: 120, lag: 45 }
        ],
        lag: 86
      })

      // broker timestamps: p0 and p2 as their payloads, p1's records are all "now"
      const byTs = jsonLines(ok(yield* run(["rollback", group, topic, "--to", target, "--json"])))[0]
      assert.strictEqual(byTs.by, "timestamp")
      assert.deepStrictEqual(byTs.partitions, [{ partition: 0, from: null, to: 38 }, { partition: 1, from: 19, to: 0 }, { partition: 2, from: 75, to: 75 }])
      const [offsets, lateRun, missing, range] = yield* Effect.promise(() =>
        Promise.all([
          ["offset", group, topic],
          // past every record: the ends
          ["rollback", group, topic, "--to", "2030-01-01T00:00:00Z", "--time-field", "meta.at", "-p", "0", "--dry-run", "--json"],
          // a field that is not there: one line, exit 1
          ["rollback", group, topic, "--to", target, "--time-field", "meta.nope", "-p", "0"],
          // consume over a time range (broker timestamps): minutes 10 and 11 of partition 0
          ["consume", topic, "-p", "0", "--start", iso(BASE + 10 * MIN), "--end", iso(BASE + 12 * MIN), "--offset"]
        ].map((args) => kpax(args)))
      )
      assert.deepStrictEqual(lines(ok(offsets!)), [
        "TOPIC" + " ".repeat(topic.length - 5) + "  PARTITION  COMMITTED  END  LAG",
        `${topic}          0         38  100   62`,
        `${topic}          1          0   60   60`,
        `${topic}          2         75  120   45`,
        "total lag 167"
      ])
      assert.deepStrictEqual(jsonLines(ok(lateRun!))[0].partitions, [{ partition: 0, from: 38, to: 100 }])
      assert.strictEqual(missing!.code, 1)
      assert.match(missing!.stderr, new RegExp(`^kpax: ${topic}-0 offset \\d+: the value has no field meta.nope\\n$`))
      assert.deepStrictEqual(lines(ok(range!)).map((l) => l.split("\t")[0]), ["10", "11"])
    }), 180_000)
})
