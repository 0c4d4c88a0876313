/**
 * Deterministic inputs, identical for every client: the same keys, values, header and
 * timestamps, in each client's own input shape.
 */
import type { RecordInput } from "../../src/Protocol/RecordBatch.ts"
import type { MetadataRequest, MetadataResponse } from "../../src/Protocol/generated/Metadata.ts"
import type { PMessage } from "./peers.ts"

export const rng = (seed: number) => () => {
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed
}

export const BASE_TIMESTAMP = 1_700_000_000_000
export const HEADER_KEY = "trace-id"

export interface Rec {
  readonly key: Buffer // 16 bytes
  readonly value: Buffer // 100 bytes
  readonly headerValue: Buffer // 16 bytes
  readonly timestamp: number
}

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]

/**
 * `n` records: a 16-byte ASCII key, a 100-byte JSON-like value (compressible the way real
 * payloads are: repeated field names, varying numbers and words), one header
 * `trace-id` → 16 hex characters, and timestamps 1 ms apart.
 */
export const makeRecords = (n: number, seed = 42): Array<Rec> => {
  const r = rng(seed)
  const out: Array<Rec> = []
  for (let i = 0; i < n; i++) {
    const key = Buffer.from(`key-${String(r() % 1_000_000_000_000).padStart(12, "0")}`)
    let v = `{"id":${i},"user":"u${r() % 100000}","amount":${(r() % 1_000_000) / 100},"tag":"${WORDS[r() % 10]}","note":"`
    while (v.length < 98) v += WORDS[r() % 10][0]
    v = v.slice(0, 98) + "\"}"
    const headerValue = Buffer.from((r().toString(16) + r().toString(16)).padStart(16, "0").slice(0, 16))
    out.push({ key, value: Buffer.from(v), headerValue, timestamp: BASE_TIMESTAMP + i })
  }
  for (const x of out) {
    if (x.key.length !== 16 || x.value.length !== 100 || x.headerValue.length !== 16) throw new Error("bad input sizes")
  }
  return out
}

export const kpaxRecords = (recs: ReadonlyArray<Rec>): Array<RecordInput> =>
  recs.map((x) => ({ key: x.key, value: x.value, headers: [{ key: HEADER_KEY, value: x.headerValue }], timestamp: x.timestamp }))

/** @platformatic/kafka messages (header keys are bytes; timestamps bigint, as its producer normalises them). */
export const platMessages = (recs: ReadonlyArray<Rec>, topic = "bench", partition = 0): Array<PMessage> =>
  recs.map((x) => ({
    key: x.key,
    value: x.value,
    headers: new Map([[Buffer.from(HEADER_KEY), x.headerValue]]),
    timestamp: BigInt(x.timestamp),
    topic,
    partition
  }))

/** kafkajs producer messages (`{ key, value, headers, timestamp }`). */
export const kafkajsMessages = (recs: ReadonlyArray<Rec>) =>
  recs.map((x) => ({ key: x.key, value: x.value, headers: { [HEADER_KEY]: x.headerValue }, timestamp: x.timestamp }))

// ---- Metadata -----------------------------------------------------------------------------------

export interface MetadataShape {
  readonly brokers: number
  readonly topics: number
  readonly partitions: number
  readonly replicas: number
}

export const LARGE_METADATA: MetadataShape = { brokers: 5, topics: 1000, partitions: 10, replicas: 3 }
export const SMALL_METADATA: MetadataShape = { brokers: 3, topics: 5, partitions: 3, replicas: 3 }

export const topicName = (t: number): string => `orders.events.${String(t).padStart(5, "0")}`

/** A Metadata response (the type covers every version; fields a version lacks get their defaults). */
export const makeMetadataResponse = (s: MetadataShape, v: number, seed = 7): MetadataResponse => {
  const r = rng(seed)
  const brokers = Array.from({ length: s.brokers }, (_, b) => ({
    nodeId: b + 1,
    host: `broker-${b + 1}.kafka.svc.cluster.local`,
    port: 9092,
    rack: v >= 1 ? `zone-${String.fromCharCode(97 + (b % 3))}` : null
  }))
  const topics = Array.from({ length: s.topics }, (_, t) => {
    const id = Buffer.alloc(16)
    for (let i = 0; i < 16; i += 4) id.writeUInt32BE(r(), i)
    return {
      errorCode: 0,
      name: topicName(t),
      topicId: v >= 10 ? id.toString("base64url") : "AAAAAAAAAAAAAAAAAAAAAA",
      isInternal: false,
      partitions: Array.from({ length: s.partitions }, (_, p) => {
        const leader = 1 + ((t + p) % s.brokers)
        const replicas = Array.from({ length: s.replicas }, (_, k) => 1 + ((leader - 1 + k) % s.brokers))
        return {
          errorCode: 0,
          partitionIndex: p,
          leaderId: leader,
          leaderEpoch: v >= 7 ? r() % 50 : -1,
          replicaNodes: replicas,
          isrNodes: [...replicas],
          offlineReplicas: []
        }
      }),
      topicAuthorizedOperations: v >= 8 ? -2147483648 : -2147483648
    }
  })
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    brokers,
    clusterId: v >= 2 ? "5L6g3nShT-eMCtK--X86sw" : null,
    controllerId: v >= 1 ? 1 : -1,
    topics,
    clusterAuthorizedOperations: -2147483648
  }
}

export const makeMetadataRequest = (n: number): MetadataRequest => ({
  topics: Array.from({ length: n }, (_, t) => ({ name: topicName(t) })),
  allowAutoTopicCreation: false,
  includeTopicAuthorizedOperations: false
})
