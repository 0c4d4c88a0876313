/**
 * kpax negotiates the maximum of every client API a real Kafka (the harness's, KAFKA_VERSION)
 * offers: for each API of the generated table the broker advertises, the Broker uses
 * min(ours, the broker's), and ours is the broker's maximum.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { make } from "../../src/Connection/Broker.ts"
import { apis } from "../../src/Protocol/generated/index.ts"
import { brokers } from "../kafka/env.ts"

const address = () => {
  const [host, port] = brokers()[0]!.split(":")
  return { host: host!, port: Number(port) }
}

describe("version negotiation against a real Kafka", () => {
  it.live("every client API the broker offers is used at the broker's maximum, which is ours", () =>
    Effect.gen(function*() {
      const broker = yield* make(address())
      const ranges = yield* broker.apiVersions
      const offered = apis.filter((api) => ranges.has(api.key))
      assert.isAbove(offered.length, 50)
      const mismatches: Array<string> = []
      for (const api of offered) {
        const range = ranges.get(api.key)!
        const negotiated = yield* broker.versionFor(api)
        const expected = Math.min(api.maxVersion, range.max)
        if (negotiated !== expected) mismatches.push(`${api.name}: negotiated v${negotiated}, expected v${expected}`)
        if (api.maxVersion !== range.max) mismatches.push(`${api.name}: ours v${api.maxVersion}, the broker's v${range.max}`)
      }
      assert.deepStrictEqual(mismatches, [])
    }))
})
