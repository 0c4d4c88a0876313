/**
 * Issue 20, transactional consume-transform-produce under rebalances: group members (each with
 * its own Cluster, consumer and transactional producer, as separate processes would have) read a
 * preloaded 6-partition topic, and per chunk write the transformed records and `sendOffsets` (with
 * `consumer.groupMetadata`) in one transaction, processing slowly; members join (scale-out), leave
 * gracefully (scale-in) and are replaced (rolling restart) while the backlog is read, with classic
 * eager, classic cooperative and KIP-848. The output, read with read_committed, holds every input
 * record exactly once; the group's offsets end at the input's end.
 *
 * And a member whose processing outlasts the rebalance timeout: its partitions are released to the
 * new member, its late ack fails with `PartitionRevoked`, its late transactional offsets are
 * refused (`PartitionRevoked` through `groupMetadata`, `CommitFailed` from the coordinator for a
 * stale generation), and neither moves the new owner's committed offsets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import type { ConsumerRecord, TopicPartition } from "../../src/Consumer/Record.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { awaitStable, committedOffsets, readAll } from "../scenarios/support.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"
import { groupOptions, PARTITIONS, preload, waitFor } from "./rebalanceSupport.ts"
import type { Protocol } from "./rebalanceSupport.ts"

const td = new TextDecoder()
const all = Array.from({ length: PARTITIONS }, (_, p) => p)

/** The offsets after the last record of each partition in `chunk`. */
const nextOffsets = (chunk: ReadonlyArray<ConsumerRecord>) => {
  const m = new Map<string, Producer.OffsetToCommit>()
  for (const r of chunk) m.set(`${r.topic}-${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1n })
  return [...m.values()]
}

const rebalances = (protocol: Protocol) =>
  it.live(`${protocol}: scale-out, scale-in and a rolling restart with transactions: every input record exactly once in the read_committed output`, () =>
    Effect.scoped(Effect.gen(function*() {
      // KIP-848 rebalances take heartbeats of the broker's interval (5 s by default): a longer backlog
      const perPartition = protocol === "consumer" ? 2500 : 600
      const total = perPartition * PARTITIONS
      const input = yield* preload(`txn-in-${protocol}`, perPartition)
      const groupId = uniqueTopic(`txn-${protocol}-g`)
      const admin = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-txn-${protocol}-admin` })
      const output = uniqueTopic(`txn-out-${protocol}`)
      yield* createTopic(admin, output, { partitions: PARTITIONS })
      /** Records written in committed transactions, as the members saw them. */
      const done = new Map<string, number>()
      const byMember: Array<number> = []
      let duplicated = 0
      let aborted = 0

      const member = (i: number) =>
        Effect.gen(function*() {
          byMember[i] = 0
          const own = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-txn-${protocol}-${i}` })
          const consumer = yield* Consumer.make({
            groupId,
            topics: [input],
            offsetReset: "earliest",
            autoCommit: false,
            isolationLevel: "read_committed",
            maxWait: "100 millis",
            maxPollRecords: 100,
            rebalanceTimeout: "30 seconds",
            ...groupOptions(protocol)
          }).pipe(Effect.provideService(Cluster.Cluster, own))
          const producer = yield* Producer.make({ transactionalId: `${groupId}-${i}`, linger: "1 millis" }).pipe(Effect.provideService(Cluster.Cluster, own))
          const transform = (chunk: ReadonlyArray<ConsumerRecord>) =>
            producer.transaction(Effect.gen(function*() {
              yield* Effect.sleep(chunk.length) // slow processing: 1 ms a record
              yield* producer.sendAll(chunk.map((r) => ({ topic: output, partition: r.partition, value: r.value })))
              const offsets = nextOffsets(chunk)
              yield* producer.sendOffsets(offsets, consumer.groupMetadata(offsets))
            })).pipe(
              Effect.tap(() =>
                Effect.sync(() => {
                  for (const r of chunk) {
                    const k = `${r.partition}@${r.offset}`
                    const n = (done.get(k) ?? 0) + 1
                    done.set(k, n)
                    if (n > 1) duplicated++
                  }
                  byMember[i] += chunk.length
                })
              ),
              Effect.tapError((e) => Effect.sync(() => aborted++).pipe(Effect.andThen(Effect.logWarning(`member ${i}: transaction aborted`, e))))
            )
          // an aborted transaction ends the stream; a new one reads again from the processed offsets
          const fiber = yield* consumer.records.pipe(
            Stream.chunks,
            Stream.runForEach(transform),
            Effect.retry({ times: 20 }),
            Effect.forkChild
          )
          const leave = Effect.andThen(consumer.membership.leave, Fiber.interrupt(fiber))
          return { consumer, leave }
        })

      const drained = () => done.size >= total
      const a = yield* member(0)
      yield* waitFor(() => done.size >= 600, "A's first transactions")
      const b = yield* member(1)
      yield* waitFor(() => byMember[1] >= 400 || drained(), "B's transactions")
      yield* b.leave
      const atLeave = byMember[0]
      yield* waitFor(() => (a.consumer.assignment().length === PARTITIONS && byMember[0] >= atLeave + 400) || drained(), "A taking B's partitions back")
      const c = yield* member(2)
      yield* waitFor(() => byMember[2] >= 200 || drained(), "C's transactions")
      yield* a.leave
      yield* waitFor(() => drained() || duplicated > 0, `all ${total} records (have ${done.size})`, 90_000)
      yield* c.leave
      console.log(`[rebalance-transactions ${protocol}] transformed=${done.size} by member=${byMember.join("/")} duplicated=${duplicated} aborted=${aborted}`)
      assert.strictEqual(duplicated, 0)

      // the independent check: the output as a read_committed reader sees it, and the group's offsets
      const out = yield* Effect.gen(function*() {
        yield* awaitStable(output, all)
        return yield* readAll(output, all, { isolation: "read_committed" })
      }).pipe(Effect.provideService(Cluster.Cluster, admin))
      const counts = new Map<string, number>()
      for (const r of out) {
        const v = td.decode(r.value!)
        counts.set(v, (counts.get(v) ?? 0) + 1)
      }
      const twice = [...counts].filter(([, n]) => n > 1).length
      const missing = all.flatMap((p) => Array.from({ length: perPartition }, (_, j) => `${p}:${j}`)).filter((v) => !counts.has(v)).length
      const gaps = all.map((p) => {
        const miss = Array.from({ length: perPartition }, (_, j) => j).filter((j) => !counts.has(`${p}:${j}`))
        return miss.length === 0 ? "" : `p${p}: ${miss.length} from ${miss[0]} to ${miss.at(-1)}`
      }).filter((g) => g !== "")
      const outPer = all.map((p) => out.filter((r) => r.partition === p).length)
      console.log(`[rebalance-transactions ${protocol}] output read_committed=${out.length} (${outPer.join("/")}) twice=${twice} missing=${missing} ${gaps.join("; ")}`)
      assert.strictEqual(twice, 0)
      assert.strictEqual(missing, 0)
      assert.strictEqual(out.length, total)
      const committed = yield* committedOffsets(groupId, input, all).pipe(Effect.provideService(Cluster.Cluster, admin))
      assert.deepStrictEqual(committed, all.map(() => BigInt(perPartition)))
    })), 150_000)

const revocationTimeout = (protocol: Protocol) =>
  it.live(`${protocol}: processing outlasts the rebalance timeout: the partitions go to the new member, late acks and transactional offsets are refused and never land`, () =>
    Effect.scoped(Effect.gen(function*() {
      const perPartition = 20
      const input = yield* preload(`late-in-${protocol}`, perPartition)
      const groupId = uniqueTopic(`late-${protocol}-g`)
      const admin = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-late-${protocol}-admin` })
      const output = uniqueTopic(`late-out-${protocol}`)
      yield* createTopic(admin, output, { partitions: 1 })
      const options = {
        groupId,
        topics: [input],
        offsetReset: "earliest" as const,
        maxWait: "100 millis" as const,
        // the revocation waits for acks at most 4 s (the rebalance timeout less a fifth)
        rebalanceTimeout: "5 seconds" as const,
        ...groupOptions(protocol)
      }
      const ownA = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-late-${protocol}-a` })
      const a = yield* Consumer.make({ ...options, ackMode: "manual", autoCommit: false }).pipe(Effect.provideService(Cluster.Cluster, ownA))
      const producerA = yield* Producer.make({ transactionalId: `${groupId}-a` }).pipe(Effect.provideService(Cluster.Cluster, ownA))
      // A is handed every record and acknowledges only offsets 0..4 of each partition: the rest stays "in processing"
      const handedA: Array<ConsumerRecord> = []
      yield* a.records.pipe(Stream.runForEach((r) => Effect.sync(() => handedA.push(r))), Effect.forkScoped)
      yield* waitFor(() => handedA.length >= perPartition * PARTITIONS, "A's records")
      yield* a.ack(handedA.filter((r) => r.offset < 5n))
      yield* a.commit
      const tps: Array<TopicPartition> = all.map((partition) => ({ topic: input, partition }))
      const before = yield* a.groupMetadata(tps)

      // B joins: A's revocation times out, the partitions it gives up go to B, which processes them to the end
      const ownB = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-late-${protocol}-b` })
      const b = yield* Consumer.make({ ...options, autoCommitInterval: "200 millis" }).pipe(Effect.provideService(Cluster.Cluster, ownB))
      const doneB = new Set<string>()
      yield* b.records.pipe(Stream.runForEach((r) => Effect.sync(() => doneB.add(`${r.partition}@${r.offset}`))), Effect.forkScoped)
      yield* waitFor(() => b.assignment().length > 0 && doneB.size === b.assignment().length * (perPartition - 5), "B processing the moved partitions", 90_000)
      yield* b.commit
      const moved = b.assignment()
      assert.isTrue(moved.every((tp) => !a.assignment().some((o) => o.partition === tp.partition)), "a partition owned twice")
      const byB = yield* committedOffsets(groupId, input, all).pipe(Effect.provideService(Cluster.Cluster, admin))
      for (const tp of moved) assert.strictEqual(byB[tp.partition], BigInt(perPartition))

      // A's late work on a moved partition
      const late = handedA.find((r) => r.partition === moved[0].partition && r.offset === 10n)!
      const lateAck = yield* Effect.flip(a.ack(late))
      assert.strictEqual(lateAck._tag, "PartitionRevoked")
      yield* a.commit
      const offsets = [{ topic: input, partition: late.partition, offset: 11n }]
      const lateTxn = (group: Producer.GroupMetadata | Effect.Effect<Producer.GroupMetadata, unknown>) =>
        producerA.transaction(Effect.andThen(
          producerA.send({ topic: output, value: new TextEncoder().encode(`late ${protocol}`) }),
          producerA.sendOffsets(offsets, group)
        )).pipe(Effect.exit)
      // through the consumer: refused before anything is sent to the coordinator
      const checked = yield* lateTxn(a.groupMetadata(offsets))
      assert.isTrue(Exit.isFailure(checked) && String(checked.cause).includes("PartitionRevoked"), String(checked))
      // with the generation (epoch) A had before the rebalance: the coordinator refuses it
      const stale = yield* lateTxn(before)
      assert.isTrue(Exit.isFailure(stale) && String(stale.cause).includes("CommitFailed"), String(stale))
      console.log(`[rebalance-transactions late ${protocol}] moved=${moved.map((tp) => tp.partition).join(",")} stale generation ${before.generationId} refused: ${String(stale).slice(0, 200)}`)

      // a partition A kept: offsets sent with the old generation are refused (classic), then, the
      // metadata read again and A still owning it, committed with the current one
      const kept = a.assignment()[0]
      let reads = 0
      const once = Effect.suspend(() => reads++ === 0 ? Effect.succeed(before) : a.groupMetadata([kept]))
      const retried = yield* producerA.transaction(producerA.sendOffsets([{ ...kept, offset: 6n }], once)).pipe(Effect.exit)
      assert.isTrue(Exit.isSuccess(retried), String(retried))
      // (a KIP-848 coordinator takes the older epoch itself for a partition the member still owns:
      // it refuses only the moved partitions' offsets, as above)
      assert.strictEqual(reads, protocol === "consumer" ? 1 : 2)

      // nothing of the late work landed: B's offsets stand, the aborted output is invisible to read_committed
      const after = yield* committedOffsets(groupId, input, all).pipe(Effect.provideService(Cluster.Cluster, admin))
      for (const tp of moved) assert.strictEqual(after[tp.partition], BigInt(perPartition))
      assert.strictEqual(after[kept.partition], 6n)
      const out = yield* Effect.andThen(awaitStable(output, [0]), readAll(output, [0], { isolation: "read_committed" })).pipe(Effect.provideService(Cluster.Cluster, admin))
      assert.strictEqual(out.length, 0)
    })), 120_000)

describe.concurrent("issue 20: consume-transform-produce in transactions under rebalances", () => {
  rebalances("eager")
  rebalances("cooperative")
  rebalances("consumer")
})

describe.concurrent("issue 20: a revocation that outlasts the rebalance timeout (real broker)", () => {
  revocationTimeout("eager")
  revocationTimeout("cooperative")
  revocationTimeout("consumer")
})
