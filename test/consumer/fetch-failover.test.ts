/**
 * The fetcher against a scripted cluster (deterministic failure cases the real single broker
 * cannot produce): leader moves and fenced epochs, follower fetching by rack (KIP-392), dropped
 * connections, fatal partition errors, corrupt bytes, oversized batches, one Fetch per broker.
 * Plus unit tests of the read_committed filter.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Scope, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import type { NodeAddress } from "../../src/Cluster/Cluster.ts"
import type { BrokerService } from "../../src/Connection/Broker.ts"
import { ConnectionError } from "../../src/Connection/Errors.ts"
import * as PartitionConsumer from "../../src/Consumer/PartitionConsumer.ts"
import type { ConsumerRecord } from "../../src/Consumer/Record.ts"
import { toRecords } from "../../src/Consumer/internal/records.ts"
import { ErrorCode } from "../../src/Protocol/Errors.ts"
import type { FetchRequest, FetchResponsePartitionData } from "../../src/Protocol/generated/Fetch.ts"
import type { ListOffsetsRequest } from "../../src/Protocol/generated/ListOffsets.ts"
import type { OffsetForLeaderEpochRequest } from "../../src/Protocol/generated/OffsetForLeaderEpoch.ts"
import type { MetadataResponse } from "../../src/Protocol/generated/Metadata.ts"
import { decodeRecordBatchesSync, encodeControlBatch, encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"

const TOPIC = "orders"
const TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ"
const utf8 = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array | null) => (b === null ? "" : new TextDecoder().decode(b))

/** `n` records from offset `from` in batches of `per`, values `<prefix><offset>`, written in leader epoch `epoch`. */
const makeLog = (n: number, per = 10, options: { readonly prefix?: string; readonly from?: number; readonly epoch?: number } = {}): Array<{ readonly base: bigint; readonly bytes: Uint8Array }> => {
  const out = []
  const from = options.from ?? 0
  for (let base = from; base < from + n; base += per) {
    const count = Math.min(per, from + n - base)
    out.push({
      base: BigInt(base),
      bytes: encodeRecordBatchSync(
        Array.from({ length: count }, (_, i) => ({ key: null, value: utf8(`${options.prefix ?? "v"}${base + i}`), timestamp: 1000 + base + i })),
        { baseOffset: BigInt(base), partitionLeaderEpoch: options.epoch ?? -1 }
      )
    })
  }
  return out
}

/** The batches of `log` from the one holding `fetchOffset` on, as a broker would return them. */
const slice = (log: ReadonlyArray<{ readonly base: bigint; readonly bytes: Uint8Array }>, fetchOffset: bigint): Uint8Array | null => {
  const parts = log.filter((b, i) => (log[i + 1]?.base ?? BigInt(Number.MAX_SAFE_INTEGER)) > fetchOffset).map((b) => b.bytes)
  return parts.length === 0 ? null : Buffer.concat(parts)
}

interface FetchCall {
  readonly node: number
  readonly req: FetchRequest
}

type Hook = (node: number, partition: number, fetchOffset: bigint, req: FetchRequest, call: number) => Partial<FetchResponsePartitionData> | "drop" | undefined

/** A scripted cluster of brokers 1..3 (racks rack-a/b/c) serving one topic from in-memory logs. */
const fakeCluster = (options: {
  readonly partitions: number
  readonly logs: ReadonlyArray<ReadonlyArray<{ readonly base: bigint; readonly bytes: Uint8Array }>>
  readonly leaders: Array<{ leader: number; epoch: number }>
  readonly hook?: Hook
  /** OffsetForLeaderEpoch answers (default: the epoch asked for ends at the log's end). */
  readonly epochEnd?: (node: number, partition: number, leaderEpoch: number) => { readonly leaderEpoch: number; readonly endOffset: bigint }
  /** Serve one batch per partition and fetch (default), as a broker with a small size limit. */
  readonly oneBatch?: boolean
}) => {
  const oneBatch = options.oneBatch ?? true
  const fetches: Array<FetchCall> = []
  const apis: Array<string> = []
  const inFlight = new Map<number, number>()
  let maxInFlight = 0
  let fetchCount = 0
  const metadata = (): MetadataResponse => ({
    throttleTimeMs: 0,
    errorCode: 0,
    brokers: [1, 2, 3].map((nodeId) => ({ nodeId, host: "fake", port: 9000 + nodeId, rack: `rack-${"abc"[nodeId - 1]}` })),
    clusterId: "fake",
    controllerId: 1,
    topics: [{
      errorCode: 0,
      name: TOPIC,
      topicId: TOPIC_ID,
      isInternal: false,
      partitions: options.leaders.map((l, i) => ({
        errorCode: 0,
        partitionIndex: i,
        leaderId: l.leader,
        leaderEpoch: l.epoch,
        replicaNodes: [1, 2, 3],
        isrNodes: [1, 2, 3],
        offlineReplicas: []
      })),
      topicAuthorizedOperations: -2147483648
    }],
    clusterAuthorizedOperations: -2147483648
  })
  const end = (p: number) => {
    const log = options.logs[p]
    if (log.length === 0) return 0n
    const last = decodeRecordBatchesSync(log[log.length - 1].bytes)
    return last._tag === "Success" ? last.success[0].nextOffset : 0n
  }
  const serve = (p: number, fetchOffset: bigint, maxBytes: number): FetchResponsePartitionData => {
    const parts: Array<Uint8Array> = []
    let size = 0
    for (const b of options.logs[p]) {
      const next = decodeRecordBatchesSync(b.bytes)
      if (next._tag === "Success" && next.success[0].nextOffset <= fetchOffset) continue
      if (size > 0 && size + b.bytes.length > maxBytes) break
      parts.push(b.bytes)
      size += b.bytes.length
      if (oneBatch) break
    }
    return {
      partitionIndex: p,
      errorCode: 0,
      highWatermark: end(p),
      lastStableOffset: end(p),
      logStartOffset: 0n,
      divergingEpoch: { epoch: -1, endOffset: -1n },
      currentLeader: { leaderId: -1, leaderEpoch: -1 },
      snapshotId: { endOffset: -1n, epoch: -1 },
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: parts.length === 0 ? null : Buffer.concat(parts)
    }
  }
  const fetch = (node: number, req: FetchRequest) =>
    Effect.gen(function*() {
      const call = fetchCount++
      fetches.push({ node, req })
      inFlight.set(node, (inFlight.get(node) ?? 0) + 1)
      maxInFlight = Math.max(maxInFlight, inFlight.get(node)!)
      const partitions: Array<FetchResponsePartitionData> = []
      let drop = false
      for (const t of req.topics) {
        for (const rp of t.partitions) {
          const hooked = options.hook?.(node, rp.partition, rp.fetchOffset, req, call)
          if (hooked === "drop") drop = true
          const base = serve(rp.partition, rp.fetchOffset, rp.partitionMaxBytes)
          partitions.push(hooked === undefined || hooked === "drop" ? base : { ...base, records: null, ...hooked })
        }
      }
      const empty = partitions.every((p) => p.records === null)
      yield* Effect.sleep(empty ? req.maxWaitMs : 1)
      inFlight.set(node, inFlight.get(node)! - 1)
      if (drop) return yield* Effect.fail(new ConnectionError({ broker: `fake:${node}`, reason: "Closed", message: "connection dropped" }))
      return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: TOPIC, topicId: TOPIC_ID, partitions }], nodeEndpoints: [] }
    })
  const listOffsets = (req: ListOffsetsRequest) => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        oldStyleOffsets: [],
        timestamp: -1n,
        offset: p.timestamp === -2n ? 0n : end(p.partitionIndex),
        leaderEpoch: 0
      }))
    }))
  })
  const epochs: Array<{ readonly node: number; readonly req: OffsetForLeaderEpochRequest }> = []
  const offsetForLeaderEpoch = (node: number, req: OffsetForLeaderEpochRequest) => {
    epochs.push({ node, req })
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({
          errorCode: 0,
          partition: p.partition,
          ...(options.epochEnd?.(node, p.partition, p.leaderEpoch) ?? { leaderEpoch: p.leaderEpoch, endOffset: end(p.partition) })
        }))
      }))
    }
  }
  const connect = (node: NodeAddress) =>
    Effect.succeed<BrokerService>({
      address: `fake:${node.nodeId}`,
      nodeId: node.nodeId,
      request: ((api: { key: number; name: string }, req: unknown) =>
        Effect.suspend((): Effect.Effect<unknown, ConnectionError> => {
          apis.push(`${api.name}@${node.nodeId}`)
          if (api.key === 3) return Effect.succeed(metadata())
          if (api.key === 1) return fetch(node.nodeId, req as FetchRequest)
          if (api.key === 2) return Effect.succeed(listOffsets(req as ListOffsetsRequest))
          if (api.key === 23) return Effect.succeed(offsetForLeaderEpoch(node.nodeId, req as OffsetForLeaderEpochRequest))
          return Effect.die(new Error(`fake: no ${api.name}`))
        })) as BrokerService["request"],
      send: () => Effect.void,
      apiVersions: Effect.succeed(new Map()),
      versionFor: (api) => Effect.succeed(api.key === 1 ? 17 : api.maxVersion),
      disconnect: Effect.void,
      stats: Effect.succeed({ connected: true, connects: 1, inFlight: 0, bytesIn: 0, bytesOut: 0, droppedLateResponses: 0, reauthentications: 0 })
    })
  return { connect, fetches, apis, epochs, maxInFlight: () => maxInFlight }
}

const run = <A, E>(
  fake: ReturnType<typeof fakeCluster>,
  f: (cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>
) =>
  Effect.scoped(Effect.gen(function*() {
    const cluster = yield* Cluster.make({ bootstrap: ["fake:9001"], connect: fake.connect })
    return yield* f(cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
  }))

const read = (n: number, options: PartitionConsumer.PartitionConsumerOptions = {}, partitions = [0]) =>
  PartitionConsumer.stream(partitions.map((partition) => ({ topic: TOPIC, partition, from: "earliest" as const })), {
    maxWait: "20 millis",
    retryBackoff: "10 millis",
    ...options
  }).pipe(Stream.take(n), Stream.runCollect)

const values = (rs: ReadonlyArray<ConsumerRecord>) => rs.map((r) => `${str(r.value)}@${r.offset}`)
const expected = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `v${from + i}@${from + i}`)

describe("fetcher failover (scripted cluster)", () => {
  it.live("NOT_LEADER_OR_FOLLOWER: metadata is refreshed and the partition moves to its new leader, nothing lost or repeated", () => {
    const leaders = [{ leader: 1, epoch: 0 }]
    const fake = fakeCluster({
      partitions: 1,
      logs: [makeLog(30)],
      leaders,
      hook: (node, _p, fetchOffset) => {
        if (node === 1 && fetchOffset >= 10n) {
          leaders[0] = { leader: 2, epoch: 1 }
          return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }
        }
        return undefined
      }
    })
    return run(fake, () =>
      Effect.gen(function*() {
        const records = yield* read(30)
        assert.deepStrictEqual(values(records), expected(0, 30))
        const nodes = fake.fetches.map((f) => f.node)
        assert.strictEqual(nodes[0], 1)
        assert.strictEqual(nodes[nodes.length - 1], 2)
        const firstOn2 = fake.fetches.find((f) => f.node === 2)!
        assert.strictEqual(firstOn2.req.topics[0].partitions[0].currentLeaderEpoch, 1)
        assert.strictEqual(firstOn2.req.topics[0].partitions[0].fetchOffset, 10n)
        const refreshes = fake.apis.filter((a) => a.startsWith("Metadata")).length
        assert.isAtLeast(refreshes, 2)
      }))
  })

  it.live("FENCED_LEADER_EPOCH: the consumer learns the new epoch and carries on", () => {
    const leaders = [{ leader: 1, epoch: 2 }]
    const fake = fakeCluster({
      partitions: 1,
      logs: [makeLog(20)],
      leaders,
      hook: (_node, _p, _o, req) => {
        if (req.topics[0].partitions[0].currentLeaderEpoch! < 3) {
          leaders[0] = { leader: 1, epoch: 3 }
          return { errorCode: ErrorCode.FENCED_LEADER_EPOCH }
        }
        return undefined
      }
    })
    return run(fake, () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(values(yield* read(20)), expected(0, 20))
        const epochs = fake.fetches.map((f) => f.req.topics[0]?.partitions[0]?.currentLeaderEpoch)
        assert.strictEqual(epochs[0], 2)
        assert.strictEqual(epochs[epochs.length - 1], 3)
      }))
  })

  it.live("KIP-392: the rack is sent, the preferred read replica is used, and its errors send the consumer back to the leader", () => {
    let redirected = false
    const fake = fakeCluster({
      partitions: 1,
      logs: [makeLog(30)],
      leaders: [{ leader: 1, epoch: 0 }],
      hook: (node, _p, fetchOffset, req) => {
        if (node === 1 && !redirected && req.rackId === "rack-b") {
          redirected = true
          return { preferredReadReplica: 2 }
        }
        // the follower is behind the leader from offset 20 on
        if (node === 2 && fetchOffset >= 20n) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }
        return undefined
      }
    })
    return run(fake, () =>
      Effect.gen(function*() {
        // "none": an OFFSET_OUT_OF_RANGE from the follower must not be taken as a reset
        assert.deepStrictEqual(values(yield* read(30, { rack: "rack-b", offsetReset: "none" })), expected(0, 30))
        const nodes = fake.fetches.map((f) => f.node)
        assert.strictEqual(nodes[0], 1)
        assert.strictEqual(nodes[1], 2)
        assert.strictEqual(nodes[nodes.length - 1], 1)
        assert.isTrue(fake.fetches.every((f) => f.req.rackId === "rack-b"))
        const onFollower = fake.fetches.filter((f) => f.node === 2).map((f) => f.req.topics[0].partitions[0].fetchOffset)
        assert.deepStrictEqual(onFollower.slice(0, 3), [0n, 10n, 20n])
      }))
  })

  it.live("a dropped connection is retried after a backoff; nothing lost or repeated", () => {
    const fake = fakeCluster({
      partitions: 1,
      logs: [makeLog(30)],
      leaders: [{ leader: 1, epoch: 0 }],
      hook: (_node, _p, fetchOffset, _req, call) => (fetchOffset === 10n && call < 3 ? "drop" : undefined)
    })
    return run(fake, () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(values(yield* read(30)), expected(0, 30))
        assert.isAtLeast(fake.fetches.filter((f) => f.req.topics[0]?.partitions[0]?.fetchOffset === 10n).length, 2)
      }))
  })

  it.live("a fatal partition error fails the stream with a PartitionError after the records before it", () => {
    const fake = fakeCluster({
      partitions: 1,
      logs: [makeLog(30)],
      leaders: [{ leader: 1, epoch: 0 }],
      hook: (_n, _p, fetchOffset) => (fetchOffset >= 10n ? { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED } : undefined)
    })
    return run(fake, () =>
      Effect.gen(function*() {
        const seen: Array<ConsumerRecord> = []
        const consumer = yield* PartitionConsumer.make({ maxWait: "20 millis" })
        yield* consumer.assign([{ topic: TOPIC, partition: 0, from: "earliest" }])
        const e = yield* consumer.records.pipe(Stream.runForEach((r) => Effect.sync(() => seen.push(r))), Effect.flip)
        assert.strictEqual(seen.length, 10)
        assert.strictEqual(e._tag, "PartitionError")
        if (e._tag === "PartitionError") {
          assert.strictEqual(e.error.name, "TOPIC_AUTHORIZATION_FAILED")
          assert.strictEqual(e.partition, 0)
        }
      }))
  })

  it.live("corrupt bytes fail the stream with CorruptRecords at the fetched offset; reading again fails again", () => {
    const log = makeLog(30)
    const bad = Uint8Array.from(log[1].bytes)
    bad[bad.length - 3] ^= 0xff // inside the records: the CRC no longer matches
    log[1] = { base: log[1].base, bytes: bad }
    const fake = fakeCluster({ partitions: 1, logs: [log], leaders: [{ leader: 1, epoch: 0 }] })
    return run(fake, () =>
      Effect.gen(function*() {
        const consumer = yield* PartitionConsumer.make({ maxWait: "20 millis", partitionMaxBytes: log[0].bytes.length })
        yield* consumer.assign([{ topic: TOPIC, partition: 0, from: "earliest" }])
        const seen: Array<ConsumerRecord> = []
        const e = yield* consumer.records.pipe(Stream.runForEach((r) => Effect.sync(() => seen.push(r))), Effect.flip)
        assert.deepStrictEqual(values(seen), expected(0, 10))
        assert.strictEqual(e._tag, "CorruptRecords")
        if (e._tag === "CorruptRecords") {
          assert.strictEqual(e.offset, 10n)
          assert.strictEqual(e.cause.reason, "CrcMismatch")
        }
        assert.strictEqual(consumer.position({ topic: TOPIC, partition: 0 }), 10n)
        const again = yield* Effect.flip(Stream.runDrain(consumer.records))
        assert.strictEqual(again._tag, "CorruptRecords")
      }))
  })

  it.live("a batch larger than partitionMaxBytes that comes back cut short: the partition asks for more room", () => {
    const fake = fakeCluster({
      partitions: 1,
      logs: [makeLog(40, 40)],
      leaders: [{ leader: 1, epoch: 0 }],
      hook: (_n, p, _o, req) => {
        const max = req.topics[0].partitions[0].partitionMaxBytes
        const whole = fakeLogs.get(p)!
        return max < whole.length ? { records: whole.subarray(0, max) } : undefined
      }
    })
    const fakeLogs = new Map([[0, makeLog(40, 40)[0].bytes]])
    return run(fake, () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(values(yield* read(40, { partitionMaxBytes: 64 })), expected(0, 40))
        const sizes = fake.fetches.map((f) => f.req.topics[0].partitions[0].partitionMaxBytes)
        assert.strictEqual(sizes[0], 64)
        assert.isAbove(sizes[sizes.length - 1], fakeLogs.get(0)!.length - 1)
      }))
  })

  it.live("one Fetch per broker at a time, covering every partition that broker leads", () => {
    const fake = fakeCluster({
      partitions: 4,
      logs: [makeLog(50), makeLog(50), makeLog(50), makeLog(50)],
      leaders: [{ leader: 1, epoch: 0 }, { leader: 2, epoch: 0 }, { leader: 1, epoch: 0 }, { leader: 2, epoch: 0 }]
    })
    return run(fake, () =>
      Effect.gen(function*() {
        const records = yield* read(200, { partitionMaxBytes: 400 }, [0, 1, 2, 3])
        for (const p of [0, 1, 2, 3]) assert.deepStrictEqual(values(records.filter((r) => r.partition === p)), expected(0, 50))
        assert.strictEqual(fake.maxInFlight(), 1)
        const first = (node: number) => fake.fetches.find((f) => f.node === node)!.req.topics.flatMap((t) => t.partitions.map((p) => p.partition))
        assert.deepStrictEqual(first(1), [0, 2])
        assert.deepStrictEqual(first(2), [1, 3])
        // topic ids on v13+
        assert.strictEqual(fake.fetches[0].req.topics[0].topicId, TOPIC_ID)
      }))
  })
})

describe("position validation after a leader change, KIP-320 (scripted cluster)", () => {
  /**
   * Node 1 leads in epoch 0 with v0..v9; once `move` is set it answers NOT_LEADER_OR_FOLLOWER and
   * node 2 leads in epoch 1 with `newLog`; node 2 says epoch 0 ends at `endOffset`.
   */
  const scenario = (endOffset: bigint, newLog: ReturnType<typeof makeLog>) => {
    const leaders = [{ leader: 1, epoch: 0 }]
    const state = { move: false }
    const fake = fakeCluster({
      partitions: 1,
      logs: [makeLog(10, 10, { epoch: 0 })],
      leaders,
      hook: (node, _p, fetchOffset) => {
        if (node === 1 && fetchOffset >= 10n) {
          if (!state.move) return {}
          leaders[0] = { leader: 2, epoch: 1 }
          return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }
        }
        if (node === 2) return { records: slice(newLog, fetchOffset), highWatermark: newLog.at(-1)!.base + 5n }
        return undefined
      },
      epochEnd: (_node, _p, leaderEpoch) => ({ leaderEpoch, endOffset })
    })
    return { fake, state }
  }
  const readTwice = (fake: ReturnType<typeof fakeCluster>, state: { move: boolean }, offsetReset: "earliest" | "none", second: number) =>
    run(fake, () =>
      Effect.gen(function*() {
        const consumer = yield* PartitionConsumer.make({ maxWait: "20 millis", retryBackoff: "10 millis", offsetReset })
        yield* consumer.assign([{ topic: TOPIC, partition: 0, from: "earliest" }])
        const first = yield* consumer.records.pipe(Stream.take(10), Stream.runCollect)
        state.move = true
        const rest = yield* consumer.records.pipe(
          Stream.take(second),
          Stream.runCollect,
          Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("no records after the leader change")) }),
          Effect.result
        )
        return { first, rest }
      }))

  it.live("the new leader's log ends the old epoch below what was read: read again from there", () => {
    const { fake, state } = scenario(5n, [...makeLog(5, 5, { epoch: 0 }), ...makeLog(5, 5, { prefix: "w", from: 5, epoch: 1 })])
    return readTwice(fake, state, "earliest", 5).pipe(Effect.map(({ first, rest }) => {
      assert.deepStrictEqual(values(first), expected(0, 10))
      assert.strictEqual(rest._tag, "Success")
      if (rest._tag === "Success") assert.deepStrictEqual(values(rest.success), ["w5@5", "w6@6", "w7@7", "w8@8", "w9@9"])
      assert.strictEqual(fake.epochs.length, 1)
      assert.deepStrictEqual(fake.epochs[0].req.topics[0].partitions[0], { partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 })
      assert.strictEqual(fake.epochs[0].node, 2)
    }))
  })

  it.live("with reset policy \"none\", a truncation below what was read is a LogTruncation error", () => {
    const { fake, state } = scenario(5n, [...makeLog(5, 5, { epoch: 0 }), ...makeLog(5, 5, { prefix: "w", from: 5, epoch: 1 })])
    return readTwice(fake, state, "none", 1).pipe(Effect.map(({ rest }) => {
      assert.strictEqual(rest._tag, "Failure")
      if (rest._tag === "Failure") {
        assert.strictEqual(rest.failure._tag, "LogTruncation")
        if (rest.failure._tag === "LogTruncation") {
          assert.strictEqual(rest.failure.offset, 10n)
          assert.strictEqual(rest.failure.divergentOffset, 5n)
        }
      }
    }))
  })

  it.live("no truncation: the position is confirmed and reading goes on at the new leader", () => {
    const { fake, state } = scenario(10n, [...makeLog(10, 10, { epoch: 0 }), ...makeLog(5, 5, { prefix: "x", from: 10, epoch: 1 })])
    return readTwice(fake, state, "none", 5).pipe(Effect.map(({ rest }) => {
      assert.strictEqual(rest._tag, "Success")
      if (rest._tag === "Success") assert.deepStrictEqual(values(rest.success), ["x10@10", "x11@11", "x12@12", "x13@13", "x14@14"])
      assert.strictEqual(fake.epochs.length, 1)
    }))
  })
})

describe("prefetch budget across brokers (scripted cluster)", () => {
  it.live("with default sizes, partitions of a third (and fourth) broker are fetched too: each broker gets its share", () => {
    const leaders = [1, 2, 3, 1].map((leader) => ({ leader, epoch: 0 }))
    const fake = fakeCluster({ partitions: 4, logs: [makeLog(10), makeLog(10), makeLog(10), makeLog(10)], leaders })
    return run(fake, () =>
      Effect.gen(function*() {
        // no maxBytes / maxPrefetchBytes given: 50 MiB fetches under a 64 MiB bound
        const records = yield* PartitionConsumer.stream([0, 1, 2, 3].map((partition) => ({ topic: TOPIC, partition, from: "earliest" as const })), {
          maxWait: "20 millis"
        }).pipe(Stream.take(40), Stream.runCollect, Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.succeed([] as Array<ConsumerRecord>) }))
        assert.deepStrictEqual(new Set(records.map((r) => r.partition)), new Set([0, 1, 2, 3]))
        const maxBytes = fake.fetches.map((f) => f.req.maxBytes!)
        assert.isTrue(maxBytes.every((m) => m <= Math.floor(64 * 1024 * 1024 / 3)), `each broker's fetch asks for at most a third: ${maxBytes}`)
      }))
  })
})

describe("read_committed filter", () => {
  const txn = (base: bigint, producerId: bigint, values: ReadonlyArray<string>) =>
    encodeRecordBatchSync(values.map((v) => ({ key: null, value: utf8(v), timestamp: 1 })), { baseOffset: base, producerId, producerEpoch: 0, baseSequence: 0, transactional: true })
  const marker = (base: bigint, producerId: bigint, type: "ABORT" | "COMMIT") =>
    encodeControlBatch({ type, producerId, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: base })
  const plain = (base: bigint, v: string) => encodeRecordBatchSync([{ key: null, value: utf8(v), timestamp: 1 }], { baseOffset: base })
  // pid 7 aborts (0-1, marker 2), plain record 3, pid 7 again commits (4, marker 5), pid 8 aborts (6, marker 7)
  const bytes = Buffer.concat([
    txn(0n, 7n, ["a0", "a1"]), marker(2n, 7n, "ABORT"), plain(3n, "p3"), txn(4n, 7n, ["c4"]), marker(5n, 7n, "COMMIT"),
    txn(6n, 8n, ["b6"]), marker(7n, 8n, "ABORT")
  ])
  const batches = (decodeRecordBatchesSync(bytes) as { success: ReadonlyArray<any> }).success
  const aborted = [{ producerId: 8n, firstOffset: 6n }, { producerId: 7n, firstOffset: 0n }]
  const filter = (from: bigint, readCommitted: boolean) => {
    const out: Array<ConsumerRecord> = []
    toRecords("t", 0, batches, from, readCommitted, aborted, out)
    return out.map((r) => `${str(r.value)}@${r.offset}`)
  }

  it("drops aborted transactions (a producer may abort, then commit), keeps the rest, never control records", () => {
    assert.deepStrictEqual(filter(0n, true), ["p3@3", "c4@4"])
    assert.deepStrictEqual(filter(0n, false), ["a0@0", "a1@1", "p3@3", "c4@4", "b6@6"])
    assert.deepStrictEqual(filter(1n, false), ["a1@1", "p3@3", "c4@4", "b6@6"])
    assert.deepStrictEqual(filter(4n, true), ["c4@4"])
  })
})
