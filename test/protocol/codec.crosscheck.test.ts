// Byte-for-byte cross-checks of the generated request encoders against two independent Kafka
// clients: @platformatic/kafka (flexible versions) and kafkajs (older versions), plus response
// decoding checked against their parsers. Produce requests carry a record blob built by the other
// client; we take that blob as-is (record batches are not this module's business) and compare the
// whole request around it.
import { describe, expect, it } from "@effect/vitest"
import * as plat from "@platformatic/kafka"
import { createRequire } from "node:module"
import {
  type AnyApi,
  ApiVersions,
  CreateTopics,
  DescribeConfigs,
  Fetch,
  FindCoordinator,
  Heartbeat,
  InitProducerId,
  JoinGroup,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  Produce,
  type ProduceRequest,
  SyncGroup
} from "../../src/Protocol/index.ts"
import { Reader } from "../../src/Protocol/internal/Reader.ts"
import { Writer } from "../../src/Protocol/internal/Writer.ts"

const require = createRequire(import.meta.url)
const kafkajs = (path: string): any => require(`kafkajs/src/protocol/requests/${path}`)
const Long = require("kafkajs/src/utils/long")

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const ours = (api: AnyApi, v: number, req: unknown): string => {
  const w = new Writer()
  api.encodeRequest(w, v, req)
  return hex(w.finish())
}
const platBytes = (writer: any): string => hex(writer.buffer)
const kjsBytes = async (request: any): Promise<string> => hex((await request.encode()).buffer)

/** A uuid in our text form (base64url) from platformatic's (32 hex digits). */
const uuidHex = "0123456789abcdef0123456789abcdef"
const uuid = Buffer.from(uuidHex, "hex").toString("base64url")

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)

describe("request bytes equal @platformatic/kafka's (flexible versions)", () => {
  // not v11: platformatic's v11 still writes IncludeClusterAuthorizedOperations, which Kafka's
  // definition limits to v8-10
  it.each([9, 10, 12])("Metadata v%i", (v) => {
    const theirs = (plat as any)[`metadataV${v}`].createRequest(["orders", "payments"], true, true)
    const req = { topics: [{ name: "orders" }, { name: "payments" }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: true }
    expect(ours(Metadata, v, req)).toBe(platBytes(theirs))
  })

  it.each(range(5, 9))("ListOffsets v%i", (v) => {
    const topics = [{ name: "t", partitions: [{ partitionIndex: 0, currentLeaderEpoch: 3, timestamp: -1n }, { partitionIndex: 7, currentLeaderEpoch: -1, timestamp: 1700000000000n }] }]
    const theirs = (plat as any)[`listOffsetsV${v}`].createRequest(-1, 1, topics)
    expect(ours(ListOffsets, v, { replicaId: -1, isolationLevel: 1, topics })).toBe(platBytes(theirs))
  })

  it.each(range(4, 6))("FindCoordinator v%i", (v) => {
    const theirs = (plat as any)[`findCoordinatorV${v}`].createRequest(1, ["tx-1", "tx-2"])
    expect(ours(FindCoordinator, v, { keyType: 1, coordinatorKeys: ["tx-1", "tx-2"] })).toBe(platBytes(theirs))
  })

  it.each(range(6, 9))("JoinGroup v%i", (v) => {
    const metadata = Buffer.from([0, 3, 0, 0, 0, 1, 0, 1, 0x74, 0xff, 0xff, 0xff, 0xff])
    const theirs = (plat as any)[`joinGroupV${v}`].createRequest("g", 45000, 300000, "member-1", null, "consumer", [{ name: "range", metadata }, { name: "roundrobin", metadata }], "rejoining")
    const req = {
      groupId: "g",
      sessionTimeoutMs: 45000,
      rebalanceTimeoutMs: 300000,
      memberId: "member-1",
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata }, { name: "roundrobin", metadata }],
      // Reason is v8+ and ignorable: dropped before v8, like platformatic does
      reason: "rejoining"
    }
    expect(ours(JoinGroup, v, req)).toBe(platBytes(theirs))
  })

  it.each(range(8, 9))("OffsetCommit v%i", (v) => {
    const topics = [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 100n, committedLeaderEpoch: 4, committedMetadata: "md" }, { partitionIndex: 1, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null }] }]
    const theirs = (plat as any)[`offsetCommitV${v}`].createRequest("g", 12, "m-1", "static-1", topics)
    const req = { groupId: "g", generationIdOrMemberEpoch: 12, memberId: "m-1", groupInstanceId: "static-1", topics }
    expect(ours(OffsetCommit, v, req)).toBe(platBytes(theirs))
  })

  it.each(range(12, 17))("Fetch v%i", (v) => {
    const partitions = [{ partition: 0, currentLeaderEpoch: 5, fetchOffset: 42n, lastFetchedEpoch: 4, partitionMaxBytes: 1048576 }, { partition: 3, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 65536 }]
    const topicRef = v >= 13 ? uuidHex : "orders"
    const forgotten = v >= 13 ? [{ topic: uuidHex, partitions: [1, 2] }] : []
    const theirs = (plat as any)[`fetchV${v}`].createRequest(500, 1, 52428800, 1, 7, 3, [{ topicId: topicRef, partitions }], forgotten, "rack-a")
    const req = {
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52428800,
      isolationLevel: 1,
      sessionId: 7,
      sessionEpoch: 3,
      topics: [v >= 13 ? { topicId: uuid, partitions } : { topic: "orders", partitions }],
      forgottenTopicsData: v >= 13 ? [{ topicId: uuid, partitions: [1, 2] }] : [],
      rackId: "rack-a"
    }
    expect(ours(Fetch, v, req)).toBe(platBytes(theirs))
  })

  it.each(range(7, 11))("Produce v%i (their record batch, carried verbatim)", (v) => {
    const messages = [
      { topic: "orders", partition: 0, key: Buffer.from("k1"), value: Buffer.from("v1"), timestamp: 1700000000000n },
      { topic: "orders", partition: 2, key: Buffer.from("k2"), value: Buffer.from("v2"), timestamp: 1700000000001n },
      { topic: "audit", partition: 0, key: null, value: Buffer.from("x"), timestamp: 1700000000002n }
    ]
    const theirs = platBytes((plat as any)[`produceV${v}`].createRequest(-1, 30000, messages, { transactionalId: "tx" }))
    const decoded: ProduceRequest = Produce.decodeRequest(new Reader(Buffer.from(theirs, "hex")), v)
    expect(decoded.acks).toBe(-1)
    expect(decoded.timeoutMs).toBe(30000)
    expect(decoded.transactionalId).toBe("tx")
    expect(decoded.topicData.map((t) => [t.name, t.partitionData.map((p) => p.index)])).toEqual([["orders", [0, 2]], ["audit", [0]]])
    const records = decoded.topicData[0].partitionData[0].records!
    expect(records[16]).toBe(2) // record batch magic v2 at byte 16
    const req: ProduceRequest = {
      transactionalId: "tx",
      acks: -1,
      timeoutMs: 30000,
      topicData: decoded.topicData.map((t) => ({ ...(t.name === undefined ? {} : { name: t.name }), partitionData: t.partitionData.map((p) => ({ index: p.index, records: p.records })) }))
    }
    expect(ours(Produce, v, req)).toBe(theirs)
  })

  it.each(range(3, 4))("ApiVersions v%i", (v) => {
    const theirs = (plat as any)[`apiVersionsV${v}`].createRequest("kpax", "0.1.0")
    expect(ours(ApiVersions, v, { clientSoftwareName: "kpax", clientSoftwareVersion: "0.1.0" })).toBe(platBytes(theirs))
  })

  it.each(range(4, 5))("SyncGroup v%i", (v) => {
    const assignment = Buffer.from([0, 1, 2, 3])
    const theirs = (plat as any)[`syncGroupV${v}`].createRequest("g", 3, "m-1", null, "consumer", "range", [{ memberId: "m-1", assignment }])
    const req = { groupId: "g", generationId: 3, memberId: "m-1", groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [{ memberId: "m-1", assignment }] }
    expect(ours(SyncGroup, v, req)).toBe(platBytes(theirs))
  })

  it.each(range(8, 9))("OffsetFetch v%i", (v) => {
    const groups = [{ groupId: "g", memberId: "m-1", memberEpoch: 9, topics: [{ name: "t", partitionIndexes: [0, 1, 2] }] }]
    const theirs = (plat as any)[`offsetFetchV${v}`].createRequest(groups, true)
    const req = { groups: v >= 9 ? groups : groups.map(({ groupId, topics }) => ({ groupId, topics })), requireStable: true }
    expect(ours(OffsetFetch, v, req)).toBe(platBytes(theirs))
  })

  it.each(range(3, 5))("InitProducerId v%i", (v) => {
    const theirs = (plat as any)[`initProducerIdV${v}`].createRequest("tx", 60000, 1234567890123n, 7)
    const req = { transactionalId: "tx", transactionTimeoutMs: 60000, producerId: 1234567890123n, producerEpoch: 7 }
    expect(ours(InitProducerId, v, req)).toBe(platBytes(theirs))
  })

  it("Heartbeat v4", () => {
    const theirs = (plat as any).heartbeatV4.createRequest("g", 5, "m-1", "static")
    expect(ours(Heartbeat, 4, { groupId: "g", generationId: 5, memberId: "m-1", groupInstanceId: "static" })).toBe(platBytes(theirs))
  })
})

// versions Kafka 4.0 removed (KIP-896: ListOffsets v0, OffsetCommit v0-1, Fetch v0-3, Produce v0-2, CreateTopics v0-1, DescribeConfigs v0) are no longer generated
describe("request bytes equal kafkajs's (older versions)", () => {
  it.each(range(0, 6))("Metadata v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`metadata/v${v}/request`)({ topics: ["orders", "payments"], allowAutoTopicCreation: false }))
    const req = { topics: [{ name: "orders" }, { name: "payments" }], ...(v >= 4 ? { allowAutoTopicCreation: false } : {}) }
    expect(ours(Metadata, v, req)).toBe(theirs)
  })

  it.each(range(1, 3))("ListOffsets v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`listOffsets/v${v}/request`)({
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: "t", partitions: [{ partition: 0, timestamp: -2 }, { partition: 4, timestamp: 1700000000000 }] }]
    }))
    const req = {
      replicaId: -1,
      ...(v >= 2 ? { isolationLevel: 1 } : {}),
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp: -2n }, { partitionIndex: 4, timestamp: 1700000000000n }] }]
    }
    expect(ours(ListOffsets, v, req)).toBe(theirs)
  })

  it.each(range(0, 2))("FindCoordinator v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`findCoordinator/v${v}/request`)({ groupId: "g", coordinatorKey: "g", coordinatorType: 0 }))
    expect(ours(FindCoordinator, v, { key: "g", ...(v >= 1 ? { keyType: 0 } : {}) })).toBe(theirs)
  })

  it.each(range(0, 5))("JoinGroup v%i", async (v) => {
    const metadata = Buffer.from([0, 1, 2])
    const theirs = await kjsBytes(kafkajs(`joinGroup/v${v}/request`)({
      groupId: "g",
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "consumer",
      groupProtocols: [{ name: "range", metadata }]
    }))
    const req = {
      groupId: "g",
      sessionTimeoutMs: 30000,
      ...(v >= 1 ? { rebalanceTimeoutMs: 60000 } : {}),
      memberId: "",
      protocolType: "consumer",
      protocols: [{ name: "range", metadata }]
    }
    expect(ours(JoinGroup, v, req)).toBe(theirs)
  })

  it.each(range(2, 5))("OffsetCommit v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`offsetCommit/v${v}/request`)({
      groupId: "g",
      groupGenerationId: 4,
      memberId: "m",
      retentionTime: -1,
      topics: [{ topic: "t", partitions: [{ partition: 0, offset: "100", timestamp: 1700000000000, metadata: null }] }]
    }))
    const req = {
      groupId: "g",
      ...(v >= 1 ? { generationIdOrMemberEpoch: 4, memberId: "m" } : {}),
      ...(v >= 2 && v <= 4 ? { retentionTimeMs: -1n } : {}),
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 100n, ...(v === 1 ? { commitTimestamp: 1700000000000n } : {}), committedMetadata: null }] }]
    }
    expect(ours(OffsetCommit, v, req)).toBe(theirs)
  })

  it.each(range(4, 11))("Fetch v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`fetch/v${v}/request`)({
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: "r",
      topics: [{ topic: "t", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: "42", logStartOffset: -1, maxBytes: 1048576 }] }]
    }))
    const req = {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: v >= 11 ? "r" : "",
      topics: [{ topic: "t", partitions: [{ partition: 0, fetchOffset: 42n, partitionMaxBytes: 1048576 }] }]
    }
    expect(ours(Fetch, v, req)).toBe(theirs)
  })

  it.each(range(3, 7))("Produce v%i (their message set / record batch, carried verbatim)", async (v) => {
    const theirs = await kjsBytes(kafkajs(`produce/v${v}/request`)({
      acks: 1,
      timeout: 30000,
      ...(v >= 3 ? { transactionalId: null, producerId: Long.fromInt(-1), producerEpoch: 0 } : {}),
      topicData: [{ topic: "t", partitions: [{ partition: 1, messages: [{ key: "k", value: "v", timestamp: 1700000000000 }] }] }]
    }))
    const decoded: ProduceRequest = Produce.decodeRequest(new Reader(Buffer.from(theirs, "hex")), v)
    expect(decoded.topicData[0].name).toBe("t")
    expect(decoded.topicData[0].partitionData[0].index).toBe(1)
    const records = decoded.topicData[0].partitionData[0].records!
    expect(records.length).toBeGreaterThan(20)
    const req = { ...(v >= 3 ? { transactionalId: null } : {}), acks: 1, timeoutMs: 30000, topicData: [{ name: "t", partitionData: [{ index: 1, records }] }] }
    expect(ours(Produce, v, req)).toBe(theirs)
  })

  it.each(range(0, 3))("SyncGroup v%i", async (v) => {
    const memberAssignment = Buffer.from([9, 8, 7])
    const theirs = await kjsBytes(kafkajs(`syncGroup/v${v}/request`)({ groupId: "g", generationId: 2, memberId: "m", groupInstanceId: "s", groupAssignment: [{ memberId: "m", memberAssignment }] }))
    const req = { groupId: "g", generationId: 2, memberId: "m", ...(v >= 3 ? { groupInstanceId: "s" } : {}), assignments: [{ memberId: "m", assignment: memberAssignment }] }
    expect(ours(SyncGroup, v, req)).toBe(theirs)
  })

  it.each(range(0, 3))("Heartbeat v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`heartbeat/v${v}/request`)({ groupId: "g", groupGenerationId: 2, memberId: "m", groupInstanceId: "s" }))
    expect(ours(Heartbeat, v, { groupId: "g", generationId: 2, memberId: "m", ...(v >= 3 ? { groupInstanceId: "s" } : {}) })).toBe(theirs)
  })

  it.each(range(1, 4))("OffsetFetch v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`offsetFetch/v${v}/request`)({ groupId: "g", topics: [{ topic: "t", partitions: [{ partition: 0 }, { partition: 3 }] }] }))
    expect(ours(OffsetFetch, v, { groupId: "g", topics: [{ name: "t", partitionIndexes: [0, 3] }] })).toBe(theirs)
  })

  it.each(range(2, 3))("CreateTopics v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`createTopics/v${v}/request`)({
      topics: [{ topic: "t", numPartitions: 3, replicationFactor: 1, replicaAssignment: [], configEntries: [{ name: "cleanup.policy", value: "compact" }] }],
      validateOnly: false,
      timeout: 5000
    }))
    const req = {
      topics: [{ name: "t", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: "cleanup.policy", value: "compact" }] }],
      timeoutMs: 5000,
      validateOnly: false
    }
    expect(ours(CreateTopics, v, req)).toBe(theirs)
  })

  it.each(range(1, 2))("DescribeConfigs v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`describeConfigs/v${v}/request`)({ resources: [{ type: 2, name: "t", configNames: ["retention.ms"] }], includeSynonyms: true }))
    const req = { resources: [{ resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms"] }], ...(v >= 1 ? { includeSynonyms: true } : {}) }
    expect(ours(DescribeConfigs, v, req)).toBe(theirs)
  })

  it.each(range(0, 1))("InitProducerId v%i", async (v) => {
    const theirs = await kjsBytes(kafkajs(`initProducerId/v${v}/request`)({ transactionalId: "tx", transactionTimeout: 60000 }))
    expect(ours(InitProducerId, v, { transactionalId: "tx", transactionTimeoutMs: 60000 })).toBe(theirs)
  })
})

describe("our response bytes decode with the other clients' parsers", () => {
  const metadataResponse = (v: number) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    brokers: [{ nodeId: 1, host: "b1", port: 9092, rack: v >= 1 ? "r1" : null }, { nodeId: 2, host: "b2", port: 9093, rack: null }],
    clusterId: v >= 2 ? "cluster" : null,
    controllerId: v >= 1 ? 2 : -1,
    topics: [{
      errorCode: 0,
      name: "orders",
      topicId: v >= 10 ? uuid : "AAAAAAAAAAAAAAAAAAAAAA",
      isInternal: false,
      partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: v >= 7 ? 3 : -1, replicaNodes: [1, 2], isrNodes: [1], offlineReplicas: v >= 5 ? [2] : [] }],
      topicAuthorizedOperations: v >= 8 ? 0 : -2147483648
    }],
    clusterAuthorizedOperations: v >= 8 && v <= 10 ? 0 : -2147483648
  })
  const encodeRes = (v: number) => {
    const w = new Writer()
    Metadata.encodeResponse(w, v, metadataResponse(v))
    return Buffer.from(w.finish())
  }

  it.each(range(0, 6))("Metadata v%i response, kafkajs", async (v) => {
    const { decode } = kafkajs(`metadata/v${v}/response`)
    const data = await decode(encodeRes(v))
    expect(data.brokers.map((b: any) => [b.nodeId, b.host, b.port])).toEqual([[1, "b1", 9092], [2, "b2", 9093]])
    const t = data.topicMetadata[0]
    expect(t.topic).toBe("orders")
    expect(t.partitionMetadata[0]).toMatchObject({ partitionId: 0, leader: 1, replicas: [1, 2], isr: [1] })
    if (v >= 5) expect(t.partitionMetadata[0].offlineReplicas).toEqual([2])
    if (v >= 2) expect(data.clusterId).toBe("cluster")
  })

  it.each(range(9, 12))("Metadata v%i response, @platformatic/kafka", (v) => {
    const res = (plat as any)[`metadataV${v}`].parseResponse(1, 3, v, plat.Reader.from(encodeRes(v)))
    expect(res.brokers).toEqual([{ nodeId: 1, host: "b1", port: 9092, rack: "r1" }, { nodeId: 2, host: "b2", port: 9093, rack: null }])
    expect(res.clusterId).toBe("cluster")
    expect(res.topics[0].name).toBe("orders")
    if (v >= 10) expect(res.topics[0].topicId.replaceAll("-", "")).toBe(uuidHex)
    expect(res.topics[0].partitions[0]).toMatchObject({ partitionIndex: 0, leaderId: 1, leaderEpoch: 3, replicaNodes: [1, 2], isrNodes: [1], offlineReplicas: [2] })
  })
})
