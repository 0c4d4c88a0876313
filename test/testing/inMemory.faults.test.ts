/**
 * Fault injection drives kpax's retry policy deterministically: everything runs under TestClock
 * (retry back-offs, linger, metadata refreshes), advanced by `runWithClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Producer from "../../src/Producer/Producer.ts"
import { Metadata } from "../../src/Protocol/generated/Metadata.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { apiSequence, awaitInFlight, runWithClock, str, utf8, withKafka } from "./inMemoryHelpers.ts"

describe("in-memory faults drive the retry policy", () => {
  it.effect("NOT_LEADER_OR_FOLLOWER 3 times on Produce: metadata refreshed between attempts, then acknowledged once", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", partitions: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* kafka.clearRequests
        yield* kafka.injectError("Produce", { code: "NOT_LEADER_OR_FOLLOWER", times: 3, topic: "t", partition: 0 })
        const meta = yield* runWithClock(producer.send({ topic: "t", value: utf8("v") }))
        assert.strictEqual(meta.offset, 0n)
        const seq = apiSequence(yield* kafka.requests()).filter((a) => a === "Produce" || a === "Metadata")
        const produces = seq.filter((a) => a === "Produce").length
        assert.strictEqual(produces, 4)
        // every retry is preceded by a metadata refresh
        const firstProduce = seq.indexOf("Produce")
        for (let i = firstProduce + 1; i < seq.length; i++) {
          if (seq[i] === "Produce") assert.strictEqual(seq[i - 1], "Metadata", `no Metadata before attempt at ${i}: ${seq.join(",")}`)
        }
        const produced = (yield* kafka.requests({ api: Produce })).map((r) => (r.response as { responses: ReadonlyArray<{ partitionResponses: ReadonlyArray<{ errorCode: number }> }> }).responses[0].partitionResponses[0].errorCode)
        assert.deepStrictEqual(produced, [6, 6, 6, 0])
        assert.deepStrictEqual((yield* kafka.records("t", 0)).map((r) => str(r.value)), ["v"])
      })))

  it.effect("moveLeader during a run of sends: every record acknowledged exactly once, in order", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", partitions: 1, replicationFactor: 3 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "1 millis", batchSize: 200 })
        const n = 300
        const fiber = yield* Effect.forkChild(Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
          producer.send({ topic: "t", value: utf8(`r${i}`) }), { concurrency: 20 }))
        const nodes = [2, 3, 1, 2]
        for (const node of nodes) {
          for (let k = 0; k < 5; k++) yield* TestClock.adjust(2)
          if ((yield* kafka.leaderOf("t", 0)) !== node) yield* kafka.moveLeader("t", 0, node)
        }
        const metas = yield* runWithClock(Fiber.join(fiber))
        assert.strictEqual(metas.length, n)
        const offsets = metas.map((m) => m.offset)
        assert.strictEqual(new Set(offsets.map(String)).size, n, "an offset acknowledged twice")
        const log = yield* kafka.records("t", 0)
        assert.strictEqual(log.length, n, "records duplicated or lost in the log")
        assert.deepStrictEqual([...log.map((r) => str(r.value))].sort(), Array.from({ length: n }, (_, i) => `r${i}`).sort())
        const notLeader = (yield* kafka.requests({ api: "Produce" })).filter((r) =>
          (r.response as { responses: ReadonlyArray<{ partitionResponses: ReadonlyArray<{ errorCode: number }> }> } | undefined)?.responses[0]?.partitionResponses[0]?.errorCode === 6)
        assert.isAbove(notLeader.length, 0, "the leader moves were never noticed")
      })))

  it.effect("dropConnections: requests in flight fail with ConnectionError, the producer reconnects and delivers", () =>
    withKafka({ brokers: 1, topics: [{ name: "t", partitions: 1 }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* kafka.delay("Produce", "1 second", { times: 1 })
        const send = yield* Effect.forkChild(producer.send({ topic: "t", value: utf8("through a drop") }))
        yield* awaitInFlight(kafka, "Produce")
        yield* kafka.dropConnections(1)
        const meta = yield* runWithClock(Fiber.join(send))
        assert.strictEqual(meta.partition, 0)
        const produces = yield* kafka.requests({ api: "Produce" })
        assert.isAtLeast(produces.length, 2)
        assert.match(produces[0].failure ?? "", /dropped/)
        assert.notStrictEqual(produces[0].connection, produces[produces.length - 1].connection)
        // the first attempt was still held by the broker's latency when the connection dropped
        assert.deepStrictEqual((yield* kafka.records("t", 0)).map((r) => str(r.value)), ["through a drop"])
        // a raw request in flight on a dropped connection is a typed ConnectionError
        const broker = yield* cluster.broker(1)
        yield* kafka.delay("Metadata", "1 second", { times: 1 })
        const raw = yield* Effect.forkChild(Effect.flip(broker.request(Metadata, { topics: null })))
        yield* awaitInFlight(kafka, "Metadata")
        yield* kafka.dropConnections(1)
        const e = yield* Fiber.join(raw)
        assert.strictEqual(e._tag, "ConnectionError")
      })))

  it.effect("a broker going down: its partitions fail over to an in-sync replica and the producer follows", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", partitions: 3, replicationFactor: 3 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* runWithClock(producer.sendAll([0, 1, 2].map((p) => ({ topic: "t", partition: p, value: utf8(`before-${p}`) }))))
        const leader0 = yield* kafka.leaderOf("t", 0)
        yield* kafka.setBrokerDown(leader0, true)
        assert.notStrictEqual(yield* kafka.leaderOf("t", 0), leader0)
        const metas = yield* runWithClock(producer.sendAll([0, 1, 2].map((p) => ({ topic: "t", partition: p, value: utf8(`after-${p}`) }))))
        assert.deepStrictEqual(metas.map((m) => m.offset), [1n, 1n, 1n])
        for (const p of [0, 1, 2]) {
          assert.deepStrictEqual((yield* kafka.records("t", p)).map((r) => str(r.value)), [`before-${p}`, `after-${p}`])
        }
        const metadata = yield* kafka.requests({ api: "Metadata" })
        const last = metadata[metadata.length - 1].response as { brokers: ReadonlyArray<{ nodeId: number }> }
        assert.notInclude(last.brokers.map((b) => b.nodeId), leader0)
      })))

  it.effect("all replicas down: LEADER_NOT_AVAILABLE until the broker returns, then delivered", () =>
    withKafka({ brokers: 2, topics: [{ name: "t", partitions: 1, replicationFactor: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* runWithClock(producer.send({ topic: "t", value: utf8("a") }))
        const leader = yield* kafka.leaderOf("t", 0)
        yield* kafka.setBrokerDown(leader, true)
        assert.strictEqual(yield* kafka.leaderOf("t", 0), -1)
        const send = yield* Effect.forkChild(producer.send({ topic: "t", value: utf8("b") }))
        yield* TestClock.adjust(2000)
        assert.isUndefined(send.pollUnsafe())
        yield* kafka.setBrokerDown(leader, false)
        const meta = yield* runWithClock(Fiber.join(send))
        assert.strictEqual(meta.offset, 1n)
      })))

  it.effect("COORDINATOR_LOAD_IN_PROGRESS on FindCoordinator and on InitProducerId: a transactional producer starts after retries", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", partitions: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        yield* kafka.injectError("FindCoordinator", { code: "COORDINATOR_LOAD_IN_PROGRESS", times: 2 })
        yield* kafka.injectError("InitProducerId", { code: "COORDINATOR_LOAD_IN_PROGRESS", times: 2 })
        const producer = yield* runWithClock(Producer.make({ transactionalId: "tx-1" }))
        assert.isTrue(producer.identity().producerId >= 0n)
        const finds = yield* kafka.requests({ api: "FindCoordinator" })
        assert.isAtLeast(finds.length, 3)
        const inits = yield* kafka.requests({ api: "InitProducerId" })
        assert.deepStrictEqual(inits.map((r) => (r.response as { errorCode: number }).errorCode), [14, 14, 0])
        yield* runWithClock(producer.transaction(producer.send({ topic: "t", value: utf8("in txn") })))
        assert.deepStrictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).map((r) => str(r.value)), ["in txn"])
      })))

  it.effect("NOT_COORDINATOR after the transaction coordinator moved: the producer finds the new one and commits", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", partitions: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* runWithClock(Producer.make({ transactionalId: "tx-move" }))
        const before = yield* kafka.coordinatorOf("transaction", "tx-move")
        const to = [1, 2, 3].find((n) => n !== before)!
        yield* kafka.moveCoordinator("transaction", "tx-move", to)
        yield* runWithClock(producer.transaction(producer.send({ topic: "t", value: utf8("moved") })))
        const ends = yield* kafka.requests({ api: "EndTxn" })
        assert.strictEqual(ends[ends.length - 1].nodeId, to)
        const adds = yield* kafka.requests({ api: "AddPartitionsToTxn" })
        assert.strictEqual(adds[0].nodeId, before)
        assert.deepStrictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).map((r) => str(r.value)), ["moved"])
      })))

  it.effect("latency beyond the request timeout: RequestTimeoutError, retried as transient", () =>
    withKafka({ brokers: 1, topics: [{ name: "t", partitions: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis", requestTimeout: "1 second" })
        yield* kafka.delay("Produce", "10 seconds", { times: 1 })
        const meta = yield* runWithClock(producer.send({ topic: "t", value: utf8("slow") }), { step: 50 })
        assert.strictEqual(meta.offset, 0n)
        const produces = yield* kafka.requests({ api: "Produce" })
        assert.match(produces[0].failure ?? "", /timed out/)
        // the timed-out attempt never reached the log (interrupted while the broker was slow)
        assert.strictEqual((yield* kafka.records("t", 0)).length, 1)
      })))

  it.effect("injected errors are typed KafkaErrors when not retriable", () =>
    withKafka({ brokers: 1, topics: [{ name: "t", partitions: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* Producer.make({ linger: "0 millis" })
        yield* kafka.injectError("Produce", { code: "TOPIC_AUTHORIZATION_FAILED" })
        const e = yield* runWithClock(Effect.flip(producer.send({ topic: "t", value: utf8("x") })))
        assert.strictEqual(e._tag, "KafkaError")
        if (e._tag === "KafkaError") assert.strictEqual(e.name, "TOPIC_AUTHORIZATION_FAILED")
        const ok = yield* runWithClock(Effect.exit(producer.send({ topic: "t", value: utf8("y") })))
        assert.isTrue(Exit.isSuccess(ok))
      })))

  it.effect("markers written after EndTxn answers: the next transaction waits out CONCURRENT_TRANSACTIONS, offsets are unstable until then", () =>
    withKafka({ brokers: 1, topics: [{ name: "t", partitions: 1 }], transactionMarkerDelay: "500 millis" }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* runWithClock(Producer.make({ transactionalId: "tx-slow" }))
        yield* runWithClock(producer.transaction(Effect.gen(function*() {
          yield* producer.send({ topic: "t", value: utf8("one") })
          yield* producer.sendOffsets([{ topic: "t", partition: 0, offset: 1n }], { groupId: "g" })
        })))
        // EndTxn answered; the markers are not written yet
        assert.deepStrictEqual(yield* kafka.offsets("t", 0), { logStartOffset: 0n, highWatermark: 1n, lastStableOffset: 0n })
        assert.isUndefined(yield* kafka.committed("g", "t", 0))
        const endedAt = (yield* kafka.requests({ api: "EndTxn" }))[0].at
        const second = yield* Effect.forkChild(producer.transaction(producer.send({ topic: "t", value: utf8("two") })))
        yield* TestClock.adjust(endedAt + 499 - (yield* Clock.currentTimeMillis))
        assert.strictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).length, 0)
        yield* TestClock.adjust(1)
        assert.strictEqual(yield* kafka.committed("g", "t", 0), 1n)
        yield* runWithClock(Fiber.join(second))
        const adds = (yield* kafka.requests({ api: "AddPartitionsToTxn" })).map((r) =>
          (r.response as { resultsByTopicV3AndBelow: ReadonlyArray<{ resultsByPartition: ReadonlyArray<{ partitionErrorCode: number }> }> }).resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode)
        assert.strictEqual(adds[0], 0)
        assert.include(adds.slice(1), 51, "the second transaction never saw CONCURRENT_TRANSACTIONS")
        assert.strictEqual(adds[adds.length - 1], 0)
        yield* TestClock.adjust(500)
        assert.deepStrictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).map((r) => str(r.value)), ["one", "two"])
      })))
  // found by the soak (bench/SOAK.md): after a batch timed out in a transaction, every later
  // transaction of the member failed with OUT_OF_ORDER_SEQUENCE_NUMBER on that partition
  it.effect("a batch that fails in a transaction leaves no sequence gap: the next transaction bumps the epoch and commits", () =>
    withKafka({ brokers: 1, topics: [{ name: "t", partitions: 1 }] }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* runWithClock(Producer.make({ transactionalId: "tx-gap", linger: "0 millis" }))
        yield* runWithClock(producer.transaction(producer.send({ topic: "t", value: utf8("a") })))
        const before = producer.identity()
        yield* kafka.injectError("Produce", { code: "TOPIC_AUTHORIZATION_FAILED", times: 1 })
        const failed = yield* runWithClock(Effect.exit(producer.transaction(producer.send({ topic: "t", value: utf8("b") }))))
        assert.isTrue(Exit.isFailure(failed))
        yield* runWithClock(producer.transaction(producer.send({ topic: "t", value: utf8("c") })))
        const after = producer.identity()
        assert.strictEqual(after.producerId, before.producerId)
        assert.strictEqual(after.producerEpoch, before.producerEpoch + 1)
        const codes = (yield* kafka.requests({ api: Produce })).map((r) =>
          (r.response as { responses: ReadonlyArray<{ partitionResponses: ReadonlyArray<{ errorCode: number }> }> }).responses[0].partitionResponses[0].errorCode)
        assert.deepStrictEqual(codes, [0, 29, 0])
        assert.deepStrictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).map((r) => str(r.value)), ["a", "c"])
      })))
  // found by the soak (bench/SOAK.md): under load, the members' transactions failed with
  // OUT_OF_ORDER_SEQUENCE_NUMBER — a second batch of a partition went out while the first one's
  // AddPartitionsToTxn was slow or failed, and reached the broker first
  for (const fault of ["slow", "failing"] as const) {
    it.effect(`AddPartitionsToTxn ${fault} while several batches of a partition are ready: the transaction commits every record, in order`, () =>
      withKafka({ brokers: 1, topics: [{ name: "t", partitions: 1 }] }, (kafka) =>
        Effect.gen(function*() {
          const producer = yield* runWithClock(Producer.make({ transactionalId: `tx-${fault}`, linger: "5 millis", batchSize: 2000, requestTimeout: "1 second" }))
          const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
          const send = (vs: ReadonlyArray<string>) => producer.transaction(producer.sendAll(vs.map((v) => ({ topic: "t", value: utf8(v) }))))
          // a first transaction: the partition's sequences are confirmed, later batches may be pipelined
          yield* runWithClock(send(values("a", 50)))
          if (fault === "slow") yield* kafka.delay("AddPartitionsToTxn", "3 seconds", { times: 1 })
          else yield* kafka.injectError("AddPartitionsToTxn", { code: "COORDINATOR_NOT_AVAILABLE", times: 1 })
          yield* runWithClock(send(values("b", 400)), { step: 50 })
          const codes = (yield* kafka.requests({ api: Produce })).map((r) =>
            (r.response as { responses: ReadonlyArray<{ partitionResponses: ReadonlyArray<{ errorCode: number }> }> }).responses[0].partitionResponses[0].errorCode)
          assert.notInclude(codes, 45, "a batch was refused as out of order")
          assert.deepStrictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).map((r) => str(r.value)), [...values("a", 50), ...values("b", 400)])
        })))
  }
  // found by the soak (bench/SOAK.md): a member's transaction failed with BROKER_NOT_AVAILABLE
  // when the partition's leader was SIGKILLed and a metadata refresh dropped it between the
  // sender picking the leader and connecting to it
  it.effect("the leader leaves the metadata while a batch is on its way to it: the batch goes to the new leader", () =>
    withKafka({ brokers: 3, topics: [{ name: "t", partitions: 1, replicationFactor: 3 }] }, (kafka, cluster) =>
      Effect.gen(function*() {
        const producer = yield* runWithClock(Producer.make({ transactionalId: "tx-gone", linger: "0 millis" }))
        yield* runWithClock(producer.transaction(producer.send({ topic: "t", value: utf8("a") })))
        const leader = yield* kafka.leaderOf("t", 0)
        if ((yield* kafka.coordinatorOf("transaction", "tx-gone")) === leader) {
          yield* kafka.moveCoordinator("transaction", "tx-gone", leader === 1 ? 2 : 1)
        }
        // the batch is drained for `leader`, then waits for AddPartitionsToTxn ...
        yield* kafka.delay("AddPartitionsToTxn", "500 millis", { times: 1 })
        const txn = yield* Effect.forkChild(producer.transaction(producer.send({ topic: "t", value: utf8("b") })))
        yield* TestClock.adjust(100)
        // ... meanwhile the leader dies and a refresh (the consumer's, say) drops it from the metadata
        yield* kafka.setBrokerDown(leader, true)
        yield* cluster.refresh(["t"])
        assert.isFalse(cluster.snapshot().brokers.has(leader))
        yield* runWithClock(Fiber.join(txn))
        assert.deepStrictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).map((r) => str(r.value)), ["a", "b"])
      })))
  // found by the soak (bench/SOAK.md): with markers taking a little while (a loaded cluster), each
  // transaction after a commit waited the transient back-off (250 ms, then 500 ms) and the
  // members' pipeline could not keep up with its input
  it.effect("the next transaction asks again every 20 ms while the previous one's markers are written", () =>
    withKafka({ brokers: 1, topics: [{ name: "t", partitions: 1 }], transactionMarkerDelay: "60 millis" }, (kafka) =>
      Effect.gen(function*() {
        const producer = yield* runWithClock(Producer.make({ transactionalId: "tx-quick", linger: "0 millis" }))
        yield* runWithClock(producer.transaction(producer.send({ topic: "t", value: utf8("one") })))
        const endedAt = (yield* kafka.requests({ api: "EndTxn" }))[0].at
        yield* runWithClock(producer.transaction(producer.send({ topic: "t", value: utf8("two") })), { step: 1 })
        const adds = (yield* kafka.requests({ api: "AddPartitionsToTxn" })).slice(1).map((r) => ({
          at: r.at,
          code: (r.response as { resultsByTopicV3AndBelow: ReadonlyArray<{ resultsByPartition: ReadonlyArray<{ partitionErrorCode: number }> }> }).resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode
        }))
        assert.include(adds.map((a) => a.code), 51, "the second transaction never saw CONCURRENT_TRANSACTIONS")
        const added = adds[adds.length - 1]
        assert.strictEqual(added.code, 0)
        // markers done at endedAt + 60 (simulated time): the add that succeeds comes within one 20 ms step
        assert.isAtMost(added.at - endedAt, 60 + 20)
        yield* TestClock.adjust(60) // the second transaction's markers
        assert.deepStrictEqual((yield* kafka.records("t", 0, { isolation: "read_committed" })).map((r) => str(r.value)), ["one", "two"])
      })))
})
