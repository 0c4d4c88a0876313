/**
 * Requests that address topics by id at Kafka 4.4's versions (Produce v13, OffsetCommit and
 * OffsetFetch v10) and by name below them: the in-memory cluster at its maximum, and capped to
 * an older broker's versions, answers the same.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Offsets from "../../src/Consumer/Offsets.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { OffsetCommit } from "../../src/Protocol/generated/OffsetCommit.ts"
import { OffsetFetch } from "../../src/Protocol/generated/OffsetFetch.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import type * as InMemory from "../../src/Testing/InMemory.ts"
import { runWithClock, utf8, withKafka } from "./inMemoryHelpers.ts"

const ZERO = "AAAAAAAAAAAAAAAAAAAAAA"

const roundTrip = (apiVersions: InMemory.Options["apiVersions"], byId: boolean) =>
  withKafka({ topics: [{ name: "t", partitions: 2 }], ...(apiVersions === undefined ? {} : { apiVersions }) }, (kafka) =>
    Effect.gen(function*() {
      const producer = yield* Producer.make({ linger: "0 millis" })
      const sent = yield* runWithClock(producer.send({ topic: "t", partition: 1, value: utf8("x") }))
      assert.strictEqual(sent.offset, 0n)
      yield* runWithClock(Offsets.commit("g", [{ topic: "t", partition: 1, offset: 7n }]))
      const got = yield* runWithClock(Offsets.fetch("g", [{ topic: "t", partition: 1 }, { topic: "t", partition: 0 }]))
      assert.strictEqual(got.get("t-1")?.offset, 7n)
      assert.strictEqual(got.get("t-0"), undefined)
      for (const api of [Produce, OffsetCommit, OffsetFetch]) {
        const reqs = yield* kafka.requests({ api })
        assert.isAbove(reqs.length, 0)
        const threshold = api === Produce ? 13 : 10
        for (const r of reqs) {
          assert.strictEqual(r.version >= threshold, byId, `${api.name} v${r.version}`)
          const req = r.request as any
          const topics: Array<any> = api === Produce ? req.topicData : api === OffsetFetch && r.version >= 8 ? req.groups[0].topics : req.topics
          for (const t of topics) {
            if (byId) assert.notStrictEqual(t.topicId, ZERO, `${api.name} v${r.version} carries the topic id`)
            else assert.strictEqual(t.name, "t", `${api.name} v${r.version} carries the topic name`)
          }
        }
      }
    }))

describe("topic ids in the in-memory cluster", () => {
  it.effect("at the 4.4 maximum: Produce v13, OffsetCommit/OffsetFetch v10 by topic id", () => roundTrip(undefined, true))
  it.effect("an older broker: Produce v12, OffsetCommit/OffsetFetch v9 by name", () =>
    roundTrip({ Produce: { max: 12 }, OffsetCommit: { max: 9 }, OffsetFetch: { max: 9 } }, false))
})
