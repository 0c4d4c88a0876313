/**
 * The Broker against a real Apache Kafka (the harness's single node, see test/kafka/env.ts).
 */
import { execFileSync } from "node:child_process"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { make } from "../../src/Connection/Broker.ts"
import { ApiVersions } from "../../src/Protocol/generated/ApiVersions.ts"
import { DescribeCluster } from "../../src/Protocol/generated/DescribeCluster.ts"
import { FindCoordinator } from "../../src/Protocol/generated/FindCoordinator.ts"
import { ListOffsets } from "../../src/Protocol/generated/ListOffsets.ts"
import { Metadata } from "../../src/Protocol/generated/Metadata.ts"
import { brokers } from "../kafka/env.ts"

const address = () => {
  const [host, port] = brokers()[0]!.split(":")
  return { host: host!, port: Number(port) }
}

/** Established TCP connections from this process to `port`, per `ss` (undefined without `ss`). */
const connectionsFromThisProcess = (port: number): number | undefined => {
  try {
    const out = execFileSync("ss", ["-Htnp", "state", "established", `( dport = :${port} )`], { encoding: "utf8" })
    return out.split("\n").filter((l) => l.includes(`pid=${process.pid},`)).length
  } catch {
    return undefined
  }
}

/** ApiVersions v3+ requires a well-formed client software name and version. */
const software = { clientSoftwareName: "kpax-test", clientSoftwareVersion: "1.0" }

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error
}

describe("Broker against a real Kafka", () => {
  it.live("negotiates versions with ApiVersions", () =>
    Effect.gen(function*() {
      const broker = yield* make(address())
      const ranges = yield* broker.apiVersions
      assert.isAtLeast(ranges.get(Metadata.key)!.max, 12)
      assert.strictEqual(yield* broker.versionFor(ApiVersions), Math.min(ApiVersions.maxVersion, ranges.get(18)!.max))
      const res = yield* broker.request(ApiVersions, { clientSoftwareName: "kpax", clientSoftwareVersion: "0.1.0" })
      assert.strictEqual(res.errorCode, 0)
      assert.isAbove(res.apiKeys.length, 40)
    }))

  it.live("10,000 concurrent requests of mixed APIs over one connection each get their own response", () =>
    Effect.gen(function*() {
      const { host, port } = address()
      const broker = yield* make({ host, port, requestTimeout: "60 seconds" })
      const cluster = yield* broker.request(DescribeCluster, { includeClusterAuthorizedOperations: false })
      assert.strictEqual(cluster.errorCode, 0)
      const clusterId = cluster.clusterId
      const N = 10_000
      const one = (i: number): Effect.Effect<void, unknown> => {
        switch (i % 5) {
          case 0:
            return Effect.map(broker.request(ApiVersions, software), (r) => {
              assert.strictEqual(r.errorCode, 0)
              assert.isAbove(r.apiKeys.length, 0)
            })
          case 1:
            return Effect.map(
              broker.request(Metadata, { topics: [{ name: `kpax-missing-${i}` }], allowAutoTopicCreation: false }),
              (r) => {
                assert.strictEqual(r.topics.length, 1)
                assert.strictEqual(r.topics[0]!.name, `kpax-missing-${i}`)
                assert.strictEqual(r.clusterId, clusterId)
              }
            )
          case 2:
            return Effect.map(
              broker.request(ListOffsets, {
                replicaId: -1,
                topics: [{ name: `kpax-missing-${i}`, partitions: [{ partitionIndex: i % 7, timestamp: -1n }] }]
              }),
              (r) => {
                assert.strictEqual(r.topics[0]!.name, `kpax-missing-${i}`)
                assert.strictEqual(r.topics[0]!.partitions[0]!.partitionIndex, i % 7)
              }
            )
          case 3:
            return Effect.map(
              broker.request(FindCoordinator, { keyType: 0, coordinatorKeys: [`kpax-group-${i}`] }),
              (r) => assert.strictEqual(r.coordinators[0]!.key, `kpax-group-${i}`)
            )
          default:
            return Effect.map(
              broker.request(DescribeCluster, { includeClusterAuthorizedOperations: false }),
              (r) => assert.strictEqual(r.clusterId, clusterId)
            )
        }
      }
      let peak = 0
      const start = performance.now()
      yield* Effect.forEach(
        Array.from({ length: N }, (_, i) => i),
        (i) =>
          Effect.tap(one(i), () =>
            Effect.flatMap(broker.stats, (s) =>
              Effect.sync(() => {
                peak = Math.max(peak, s.inFlight)
              }))),
        { concurrency: "unbounded", discard: true }
      )
      const elapsed = performance.now() - start
      const stats = yield* broker.stats
      assert.strictEqual(stats.connects, 1, "one connection for everything")
      assert.isAbove(peak, 10, "requests were pipelined")
      const ss = connectionsFromThisProcess(port)
      if (ss !== undefined) assert.strictEqual(ss, 1, "ss sees one connection from this process to the broker")
      console.log(`10,000 mixed requests in ${elapsed.toFixed(0)} ms (peak in flight ${peak})`)
    }), 120_000)

  it.live("a forced version outside the broker's range is a typed UnsupportedVersionError", () =>
    Effect.gen(function*() {
      const broker = yield* make(address())
      const err = failureOf(yield* Effect.exit(broker.request(Metadata, { topics: null }, { version: 99 })))
      assert.strictEqual(err._tag, "UnsupportedVersionError")
    }))

  it.live("disconnect, then the next request reconnects", () =>
    Effect.gen(function*() {
      const broker = yield* make(address())
      yield* broker.request(ApiVersions, software)
      yield* broker.disconnect
      const res = yield* broker.request(DescribeCluster, { includeClusterAuthorizedOperations: false })
      assert.strictEqual(res.errorCode, 0)
      assert.strictEqual((yield* broker.stats).connects, 2)
    }))
})
