/**
 * The client-side pieces of one request, timed in isolation (no broker): what each costs per
 * request. `npx node bench/metadata/micro.ts`
 */
import { Context, Deferred, Effect, Exit } from "effect"
import { BrokerMetrics } from "../../src/Connection/internal/Metrics.ts"
import { Metadata } from "../../src/Protocol/generated/Metadata.ts"
import { encodeRequestFrameResult } from "../../src/Protocol/Frame.ts"
import { Reader } from "../../src/Protocol/internal/Reader.ts"
import { Writer } from "../../src/Protocol/internal/Writer.ts"

const time = (name: string, n: number, f: () => void) => {
  for (let i = 0; i < n / 10; i++) f()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) f()
  const ns = ((performance.now() - t0) * 1e6) / n
  console.log(`${name.padEnd(48)} ${ns.toFixed(0).padStart(6)} ns`)
}

const ctx = Effect.runSync(Effect.context<never>())
const metrics = new BrokerMetrics("127.0.0.1:9092")
const metrics2 = new BrokerMetrics("127.0.0.1:9093")
time("6 metric updates (one API)", 200_000, () => {
  const m = metrics.api("Metadata")
  m.requests.updateUnsafe(1, ctx); m.bytesOut.updateUnsafe(60, ctx); m.bytesIn.updateUnsafe(400, ctx)
  m.latency.updateUnsafe(0.1, ctx); metrics.inFlight.updateUnsafe(1, ctx); metrics.inFlight.updateUnsafe(0, ctx)
})
time("6 metric updates (alternating 2 brokers × 2 APIs)", 200_000, () => {
  for (const b of [metrics, metrics2]) for (const a of ["Metadata", "Produce"]) {
    const m = b.api(a)
    m.requests.updateUnsafe(1, ctx); m.bytesOut.updateUnsafe(60, ctx); m.bytesIn.updateUnsafe(400, ctx)
    m.latency.updateUnsafe(0.1, ctx); b.inFlight.updateUnsafe(1, ctx); b.inFlight.updateUnsafe(0, ctx)
  }
})
time("setTimeout + clearTimeout (30 s)", 200_000, () => clearTimeout(setTimeout(() => {}, 30_000)))
const req = { topics: [{ name: "bench-metadata-topic-xyz" }], allowAutoTopicCreation: false }
time("encode Metadata v13 request frame", 200_000, () => {
  encodeRequestFrameResult(Metadata, 13, 7, "kpax-bench", req)
})
const res = {
  throttleTimeMs: 0, clusterAuthorizedOperations: -2147483648, clusterId: "abcdefghijklmnopqrstuv", controllerId: 1, errorCode: 0,
  brokers: [{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }],
  topics: [{
    errorCode: 0, name: "bench-metadata-topic-xyz", topicId: "AAAAAAAAAAAAAAAAAAAAAA", isInternal: false, topicAuthorizedOperations: -2147483648,
    partitions: Array.from({ length: 6 }, (_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }))
  }]
}
const w = new Writer(1024)
w.int32(7); w.int8(0)
Metadata.encodeResponse(w, 13, res as any)
const frame = w.finish()
time(`decode Metadata v13 response (${frame.length} B)`, 200_000, () => {
  const r = new Reader(frame); r.int32(); r.skipTaggedFields(); Metadata.decodeResponse(r, 13)
})
time("Deferred + onInterrupt(await) + flatMap, completed, runSync", 200_000, () => {
  const d = Deferred.makeUnsafe<number>()
  Deferred.doneUnsafe(d, Exit.succeed(1))
  Effect.runSync(Effect.flatMap(Effect.onInterrupt(Deferred.await(d), () => Effect.void), (x) => Effect.succeed(x + 1)))
})
time("Effect.callback resumed sync + flatMap, runSync", 200_000, () => {
  Effect.runSync(Effect.flatMap(Effect.callback<number>((resume) => { resume(Effect.succeed(1)); return Effect.void }), (x) => Effect.succeed(x + 1)))
})
time("runSync(Effect.void) (fiber)", 200_000, () => Effect.runSync(Effect.void))
void Context
