/**
 * The share consumer against a scripted cluster of three brokers: the partition's leader moves
 * (NOT_LEADER_OR_FOLLOWER: metadata refreshed, a share session opened on the new leader) and the
 * share-group coordinator moves (NOT_COORDINATOR: looked up again), while records keep coming and
 * acknowledgements keep arriving. The share-partition state (what was delivered, what was
 * acknowledged) is the cluster's, as Kafka's share coordinator keeps it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import type { NodeAddress } from "../../src/Cluster/Cluster.ts"
import type { BrokerService } from "../../src/Connection/Broker.ts"
import * as ShareConsumer from "../../src/Consumer/ShareConsumer.ts"
import { ErrorCode } from "../../src/Protocol/Errors.ts"
import type { MetadataResponse } from "../../src/Protocol/generated/Metadata.ts"
import type { ShareAcknowledgeRequest } from "../../src/Protocol/generated/ShareAcknowledge.ts"
import type { ShareFetchRequest, ShareFetchResponsePartitionData } from "../../src/Protocol/generated/ShareFetch.ts"
import type { ShareGroupHeartbeatRequest } from "../../src/Protocol/generated/ShareGroupHeartbeat.ts"
import { encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"

const TOPIC = "jobs"
const TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ"
const TOTAL = 60

const scripted = () => {
  const state = {
    leader: 1,
    leaderEpoch: 0,
    coordinator: 1,
    /** The next offset to deliver. */
    next: 0,
    accepted: new Set<number>(),
    /** Expected session epoch per broker (absent: no session). */
    sessions: new Map<number, number>(),
    heartbeatsAt: new Map<number, number>(),
    fetchesAt: new Map<number, number>(),
    notLeader: 0,
    notCoordinator: 0,
    epochErrors: 0,
    /** Runs before each served fetch, with the offset about to be delivered. */
    onServe: (_node: number, _next: number): void => {}
  }
  const bump = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1)
  const metadata = (): MetadataResponse => ({
    throttleTimeMs: 0,
    brokers: [1, 2, 3].map((nodeId) => ({ nodeId, host: "fake", port: 9000 + nodeId, rack: null })),
    clusterId: "fake",
    controllerId: 1,
    errorCode: 0,
    topics: [{
      errorCode: 0, name: TOPIC, topicId: TOPIC_ID, isInternal: false,
      partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: state.leader, leaderEpoch: state.leaderEpoch, replicaNodes: [1, 2, 3], isrNodes: [1, 2, 3], offlineReplicas: [] }],
      topicAuthorizedOperations: -2147483648
    }],
    clusterAuthorizedOperations: -2147483648
  })
  const acknowledge = (topics: ShareFetchRequest["topics"] | ShareAcknowledgeRequest["topics"]) => {
    for (const t of topics) {
      for (const p of t.partitions) {
        for (const b of p.acknowledgementBatches) {
          for (let o = b.firstOffset; o <= b.lastOffset; o++) if (b.acknowledgeTypes[0] === 1) state.accepted.add(Number(o))
        }
      }
    }
  }
  /** Session epochs as a broker checks them; a top-level error code or 0. */
  const session = (node: number, epoch: number): number => {
    if (epoch === 0) {
      state.sessions.set(node, 1)
      return 0
    }
    const expected = state.sessions.get(node)
    if (expected === undefined) return ErrorCode.SHARE_SESSION_NOT_FOUND
    if (epoch === -1) {
      state.sessions.delete(node)
      return 0
    }
    if (epoch !== expected) {
      state.epochErrors++
      return ErrorCode.INVALID_SHARE_SESSION_EPOCH
    }
    state.sessions.set(node, expected + 1)
    return 0
  }
  const partitionData = (over: Partial<ShareFetchResponsePartitionData>): ShareFetchResponsePartitionData => ({
    partitionIndex: 0, errorCode: 0, errorMessage: null, acknowledgeErrorCode: 0, acknowledgeErrorMessage: null,
    currentLeader: { leaderId: state.leader, leaderEpoch: state.leaderEpoch }, records: null, acquiredRecords: [], ...over
  })
  const shareFetch = (node: number, req: ShareFetchRequest) =>
    Effect.gen(function*() {
      bump(state.fetchesAt, node)
      const code = session(node, req.shareSessionEpoch)
      const base = { throttleTimeMs: 0, errorMessage: null, acquisitionLockTimeoutMs: 30_000, nodeEndpoints: [] }
      if (code !== 0) return { ...base, errorCode: code, responses: [] }
      acknowledge(req.topics)
      const acked = req.topics.some((t) => t.partitions.some((p) => p.acknowledgementBatches.length > 0))
      if (node !== state.leader) {
        state.notLeader++
        return { ...base, errorCode: 0, responses: [{ topicId: TOPIC_ID, partitions: [partitionData({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER })] }] }
      }
      if (state.next >= TOTAL) {
        yield* Effect.sleep(Math.min(req.maxWaitMs, 20))
        return { ...base, errorCode: 0, responses: acked ? [{ topicId: TOPIC_ID, partitions: [partitionData({})] }] : [] }
      }
      state.onServe(node, state.next)
      if (node !== state.leader) {
        state.notLeader++
        return { ...base, errorCode: 0, responses: [{ topicId: TOPIC_ID, partitions: [partitionData({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER })] }] }
      }
      const first = state.next
      const n = Math.min(10, TOTAL - first)
      state.next += n
      const records = encodeRecordBatchSync(Array.from({ length: n }, (_, i) => ({ value: new TextEncoder().encode(`job-${first + i}`) })), { baseOffset: BigInt(first) })
      return {
        ...base,
        errorCode: 0,
        responses: [{
          topicId: TOPIC_ID,
          partitions: [partitionData({ records, acquiredRecords: [{ firstOffset: BigInt(first), lastOffset: BigInt(first + n - 1), deliveryCount: 1 }] })]
        }]
      }
    })
  const shareAcknowledge = (node: number, req: ShareAcknowledgeRequest) => {
    const code = session(node, req.shareSessionEpoch)
    if (code === 0) acknowledge(req.topics)
    return {
      throttleTimeMs: 0, errorCode: code, errorMessage: null, acquisitionLockTimeoutMs: 30_000, nodeEndpoints: [],
      responses: code !== 0 ? [] : req.topics.map((t) => ({
        topicId: t.topicId,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0, errorMessage: null, currentLeader: { leaderId: state.leader, leaderEpoch: state.leaderEpoch } }))
      }))
    }
  }
  const heartbeat = (node: number, req: ShareGroupHeartbeatRequest) => {
    bump(state.heartbeatsAt, node)
    const base = { throttleTimeMs: 0, errorMessage: null, memberId: req.memberId, heartbeatIntervalMs: 50 }
    if (node !== state.coordinator) {
      state.notCoordinator++
      return { ...base, errorCode: ErrorCode.NOT_COORDINATOR, memberEpoch: -1, assignment: null }
    }
    if (req.memberEpoch < 0) return { ...base, errorCode: 0, memberEpoch: -1, assignment: null }
    return { ...base, errorCode: 0, memberEpoch: 1, assignment: req.memberEpoch === 0 ? { topicPartitions: [{ topicId: TOPIC_ID, partitions: [0] }] } : null }
  }
  const connect = (node: NodeAddress) =>
    Effect.succeed<BrokerService>({
      address: `fake:${node.nodeId}`,
      nodeId: node.nodeId,
      request: ((api: { key: number; name: string }, req: unknown) =>
        Effect.suspend((): Effect.Effect<unknown> => {
          if (api.key === 3) return Effect.succeed(metadata())
          if (api.key === 10) {
            const keys = (req as { coordinatorKeys?: ReadonlyArray<string> }).coordinatorKeys ?? []
            return Effect.succeed({
              throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: -1, host: "", port: -1,
              coordinators: keys.map((key) => ({ key, nodeId: state.coordinator, host: "fake", port: 9000 + state.coordinator, errorCode: 0, errorMessage: null }))
            })
          }
          if (api.key === 76) return Effect.succeed(heartbeat(node.nodeId, req as ShareGroupHeartbeatRequest))
          if (api.key === 78) return shareFetch(node.nodeId, req as ShareFetchRequest)
          if (api.key === 79) return Effect.succeed(shareAcknowledge(node.nodeId, req as ShareAcknowledgeRequest))
          return Effect.die(new Error(`fake: no ${api.name}`))
        })) as BrokerService["request"],
      send: () => Effect.void,
      apiVersions: Effect.succeed(new Map()),
      versionFor: (api) => Effect.succeed(api.maxVersion),
      disconnect: Effect.void,
      stats: Effect.succeed({ connected: true, connects: 1, inFlight: 0, bytesIn: 0, bytesOut: 0, droppedLateResponses: 0, reauthentications: 0 })
    })
  return { state, connect }
}

describe("ShareConsumer failover (scripted cluster)", () => {
  it.live("the leader moves, then the coordinator moves: reading and acknowledging carry on, every record accepted once", () => {
    const fake = scripted()
    fake.state.onServe = (_node, next) => {
      if (next === 20 && fake.state.leader === 1) {
        fake.state.leader = 2 // an election: broker 1 answers NOT_LEADER_OR_FOLLOWER from now on
        fake.state.leaderEpoch = 1
      }
      if (next === 40 && fake.state.coordinator === 1) fake.state.coordinator = 3
    }
    return Effect.scoped(Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap: ["fake:9001"], connect: fake.connect })
      const consumer = yield* ShareConsumer.make({ groupId: "workers", topics: [TOPIC], maxWait: "20 millis", retryBackoff: "10 millis" })
        .pipe(Effect.provideService(Cluster.Cluster, cluster))
      const seen: Array<string> = []
      const fiber = yield* consumer.records.pipe(
        Stream.runForEach((r) => Effect.sync(() => seen.push(new TextDecoder().decode(r.value!)))),
        Effect.forkChild
      )
      while (seen.length < TOTAL || (fake.state.heartbeatsAt.get(3) ?? 0) < 2) yield* Effect.sleep("10 millis")
      // the last chunk is accepted on the next pull (which waits): wait for the acknowledgements
      yield* Effect.sleep("100 millis")
      const results = yield* consumer.commit
      const s = fake.state
      console.log(`[share-failover] seen=${seen.length} accepted=${s.accepted.size} fetches=${JSON.stringify([...s.fetchesAt])} heartbeats=${JSON.stringify([...s.heartbeatsAt])} notLeader=${s.notLeader} notCoordinator=${s.notCoordinator} epochErrors=${s.epochErrors}`)
      assert.deepStrictEqual(seen, Array.from({ length: TOTAL }, (_, i) => `job-${i}`))
      assert.isTrue(s.notLeader >= 1)
      assert.isTrue((s.fetchesAt.get(2) ?? 0) >= 1, "fetched from the new leader")
      assert.isTrue(s.notCoordinator >= 1)
      assert.isTrue((s.heartbeatsAt.get(3) ?? 0) >= 2, "heartbeats go to the new coordinator")
      assert.strictEqual(s.epochErrors, 0)
      for (const r of results) assert.strictEqual(r.error, undefined)
      assert.strictEqual(s.accepted.size, TOTAL)
      yield* Fiber.interrupt(fiber)
    }))
  }, 30_000)
})
