/**
 * Fetch (by topic name up to v12, by topic id from v13; sessionless: every response has session
 * id 0; from v11 in-sync followers serve consumers too, and with a rack-aware replica selector
 * the leader points consumers at a replica in their rack, KIP-392), waiting up to maxWaitMs for
 * minBytes; ListOffsets; OffsetForLeaderEpoch; DeleteRecords.
 *
 * @internal
 */
import { Deferred, Effect, Exit } from "effect"
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { DeleteRecords } from "../../../Protocol/generated/DeleteRecords.ts"
import type { DeleteRecordsRequest, DeleteRecordsResponse } from "../../../Protocol/generated/DeleteRecords.ts"
import { Fetch } from "../../../Protocol/generated/Fetch.ts"
import type { FetchRequest, FetchResponse, FetchResponsePartitionData } from "../../../Protocol/generated/Fetch.ts"
import { ListOffsets } from "../../../Protocol/generated/ListOffsets.ts"
import type { ListOffsetsRequest, ListOffsetsResponse, ListOffsetsResponsePartitionResponse } from "../../../Protocol/generated/ListOffsets.ts"
import { OffsetForLeaderEpoch } from "../../../Protocol/generated/OffsetForLeaderEpoch.ts"
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from "../../../Protocol/generated/OffsetForLeaderEpoch.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import type { PartitionState, TopicState } from "../state.ts"
import { endpoint, epochError, leaderError, route, ZERO_UUID } from "./common.ts"
import type { Route } from "./common.ts"

const NO_DIVERGENCE = { epoch: -1, endOffset: -1n }
const NO_LEADER = { leaderId: -1, leaderEpoch: -1 }
const NO_SNAPSHOT = { endOffset: -1n, epoch: -1 }

interface Wanted {
  readonly topicName: string
  readonly topicId: string
  readonly topic: TopicState | undefined
  readonly partitions: FetchRequest["topics"][number]["partitions"]
}

const fetchOnce = (kafka: Kafka, ctx: RequestContext, req: FetchRequest, wanted: ReadonlyArray<Wanted>): { response: FetchResponse; bytes: number; errors: boolean; logs: Array<PartitionState> } => {
  const v = ctx.version
  const readCommitted = (req.isolationLevel ?? 0) === 1
  let remaining = v >= 3 ? (req.maxBytes ?? 0x7fffffff) : 0x7fffffff
  let bytes = 0
  let errors = false
  const logs: Array<PartitionState> = []
  const endpoints = new Map<number, ReturnType<typeof endpoint>>()
  const responses = wanted.map((w) => ({
    topic: v <= 12 ? w.topicName : "",
    topicId: v >= 13 ? w.topicId : ZERO_UUID,
    partitions: w.partitions.map((rp): FetchResponsePartitionData => {
      const base = {
        partitionIndex: rp.partition,
        highWatermark: -1n,
        lastStableOffset: -1n,
        logStartOffset: -1n,
        divergingEpoch: NO_DIVERGENCE,
        currentLeader: NO_LEADER,
        snapshotId: NO_SNAPSHOT,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: null
      }
      const p = w.topic?.partitions[rp.partition]
      const failed = (errorCode: number): FetchResponsePartitionData => {
        errors = true
        if (v >= 12 && p !== undefined && p.leader >= 0 && (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || errorCode === ErrorCode.FENCED_LEADER_EPOCH)) {
          if (v >= 16) {
            const b = kafka.state.brokers.get(p.leader)
            if (b !== undefined) endpoints.set(b.nodeId, endpoint(b))
          }
          return { ...base, errorCode, currentLeader: { leaderId: p.leader, leaderEpoch: p.leaderEpoch } }
        }
        return { ...base, errorCode }
      }
      const injected = ctx.fault.code(w.topicName, rp.partition)
      if (injected !== 0) return failed(injected)
      if (w.topic === undefined) return failed(v >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      if (p === undefined) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      // as Kafka: the leader epoch first, then who may answer — from v11 (client metadata) a
      // consumer may read from an in-sync follower too
      if (!p.replicas.includes(ctx.nodeId)) return failed(ErrorCode.NOT_LEADER_OR_FOLLOWER)
      const epoch = epochError(p, rp.currentLeaderEpoch)
      if (epoch !== 0) return failed(epoch)
      const isLeader = p.leader === ctx.nodeId
      if (!isLeader && !(v >= 11 && p.leader >= 0 && p.isr.includes(ctx.nodeId))) return failed(ErrorCode.NOT_LEADER_OR_FOLLOWER)
      const log = p.log
      const offsets = {
        highWatermark: log.highWatermark,
        lastStableOffset: log.lastStableOffset,
        logStartOffset: v >= 5 ? log.logStartOffset : -1n
      }
      const rack = v >= 11 ? req.rackId ?? "" : ""
      if (isLeader && rack !== "" && kafka.options.rackAwareReplicaSelector) {
        // KIP-392: point the consumer at an in-sync replica in its rack (no records this time)
        const near = p.isr.find((id) => id !== ctx.nodeId && kafka.state.brokers.get(id)?.up === true && kafka.state.brokers.get(id)?.rack === rack)
        if (near !== undefined && kafka.state.brokers.get(ctx.nodeId)?.rack !== rack) {
          errors = true
          return { ...base, ...offsets, errorCode: 0, preferredReadReplica: near }
        }
      }
      if (rp.fetchOffset < log.logStartOffset || rp.fetchOffset > log.logEndOffset) {
        errors = true
        return { ...base, ...offsets, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }
      }
      if (v >= 12 && rp.lastFetchedEpoch !== undefined && rp.lastFetchedEpoch >= 0) {
        const end = log.endOffsetForEpoch(rp.lastFetchedEpoch, p.leaderEpoch)
        if (end.epoch < rp.lastFetchedEpoch || end.endOffset < rp.fetchOffset) {
          errors = true
          return { ...base, ...offsets, errorCode: 0, divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset } }
        }
      }
      logs.push(p)
      const upTo = readCommitted ? log.lastStableOffset : log.highWatermark
      const read = log.read(rp.fetchOffset, upTo, Math.min(rp.partitionMaxBytes, remaining), bytes === 0)
      const size = read.bytes?.length ?? 0
      bytes += size
      remaining = Math.max(0, remaining - size)
      return {
        ...base,
        ...offsets,
        errorCode: 0,
        abortedTransactions: readCommitted
          ? log.abortedBetween(rp.fetchOffset, read.last >= 0n ? read.last : rp.fetchOffset).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
          : null,
        records: read.bytes
      }
    })
  }))
  return {
    response: { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses, nodeEndpoints: [...endpoints.values()] },
    bytes,
    errors,
    logs
  }
}

const fetch = (kafka: Kafka, ctx: RequestContext, req: FetchRequest): FetchResponse | Effect.Effect<FetchResponse> => {
  const v = ctx.version
  if (v >= 7 && (req.sessionId ?? 0) !== 0) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [], nodeEndpoints: [] }
  }
  const wanted: Array<Wanted> = req.topics.map((t) => {
    const topic = v >= 13 ? kafka.state.topicsById.get(t.topicId ?? ZERO_UUID) : kafka.state.topics.get(t.topic ?? "")
    return { topicName: topic?.name ?? t.topic ?? "", topicId: topic?.id ?? t.topicId ?? ZERO_UUID, topic, partitions: t.partitions }
  })
  const first = fetchOnce(kafka, ctx, req, wanted)
  if (first.errors || first.bytes >= req.minBytes || req.maxWaitMs <= 0 || first.logs.length === 0) return first.response
  // wait for data (or the deadline), then answer with whatever there is
  const deadline = ctx.now + req.maxWaitMs
  const loop: Effect.Effect<FetchResponse> = Effect.suspend(() => {
    const wake = Deferred.makeUnsafe<void>()
    const logs = fetchOnce(kafka, ctx, req, wanted)
    if (logs.errors || logs.bytes >= req.minBytes) return Effect.succeed(logs.response)
    const left = deadline - kafka.scheduler.now()
    if (left <= 0) return Effect.succeed(logs.response)
    const offs = logs.logs.map((p) => p.log.onChange(() => Deferred.doneUnsafe(wake, Exit.void)))
    return Deferred.await(wake).pipe(
      Effect.timeoutOption(left),
      Effect.ensuring(Effect.sync(() => offs.forEach((off) => off()))),
      Effect.flatMap(() => (kafka.scheduler.now() >= deadline ? Effect.sync(() => fetchOnce(kafka, ctx, req, wanted).response) : loop))
    )
  })
  return loop
}

const LATEST = -1n
const EARLIEST = -2n
const MAX_TIMESTAMP = -3n
const EARLIEST_LOCAL = -4n
const EARLIEST_PENDING_UPLOAD = -5n

const listOffsets = (kafka: Kafka, ctx: RequestContext, req: ListOffsetsRequest): ListOffsetsResponse => {
  const v = ctx.version
  const readCommitted = (req.isolationLevel ?? 0) === 1
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((rt) => {
      const topic = kafka.state.topics.get(rt.name)
      return {
        name: rt.name,
        partitions: rt.partitions.map((rp): ListOffsetsResponsePartitionResponse => {
          const result = (errorCode: number, offset = -1n, timestamp = -1n, leaderEpoch = -1): ListOffsetsResponsePartitionResponse => ({
            partitionIndex: rp.partitionIndex,
            errorCode,
            timestamp,
            offset,
            leaderEpoch: v >= 4 ? leaderEpoch : -1
          })
          const injected = ctx.fault.code(rt.name, rp.partitionIndex)
          if (injected !== 0) return result(injected)
          const p = topic?.partitions[rp.partitionIndex]
          const notLeader = leaderError(p, ctx.nodeId)
          if (notLeader !== 0) return result(notLeader)
          const epoch = epochError(p!, rp.currentLeaderEpoch)
          if (epoch !== 0) return result(epoch)
          const log = p!.log
          const upTo = readCommitted ? log.lastStableOffset : log.highWatermark
          switch (rp.timestamp) {
            case LATEST:
              return result(0, upTo, -1n, p!.leaderEpoch)
            case EARLIEST:
            case EARLIEST_LOCAL:
            case EARLIEST_PENDING_UPLOAD:
              return result(0, log.logStartOffset, -1n, p!.leaderEpoch)
            case MAX_TIMESTAMP: {
              const found = log.maxTimestampOffset(upTo)
              return found === undefined ? result(0) : result(0, found.offset, BigInt(found.timestamp), found.leaderEpoch)
            }
            default: {
              if (rp.timestamp < 0n) return result(ErrorCode.INVALID_REQUEST)
              const found = log.offsetForTimestamp(Number(rp.timestamp), upTo)
              return found === undefined ? result(0) : result(0, found.offset, BigInt(found.timestamp), found.leaderEpoch)
            }
          }
        })
      }
    })
  }
}

const offsetForLeaderEpoch = (kafka: Kafka, ctx: RequestContext, req: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse => ({
  throttleTimeMs: 0,
  topics: req.topics.map((rt) => {
    const topic = kafka.state.topics.get(rt.topic)
    return {
      topic: rt.topic,
      partitions: rt.partitions.map((rp) => {
        const result = (errorCode: number, leaderEpoch = -1, endOffset = -1n) => ({ errorCode, partition: rp.partition, leaderEpoch, endOffset })
        const injected = ctx.fault.code(rt.topic, rp.partition)
        if (injected !== 0) return result(injected)
        const p = topic?.partitions[rp.partition]
        const notLeader = leaderError(p, ctx.nodeId)
        if (notLeader !== 0) return result(notLeader)
        const epoch = epochError(p!, rp.currentLeaderEpoch)
        if (epoch !== 0) return result(epoch)
        const end = p!.log.endOffsetForEpoch(rp.leaderEpoch, p!.leaderEpoch)
        return result(0, end.epoch, end.endOffset)
      })
    }
  })
})

const deleteRecords = (kafka: Kafka, ctx: RequestContext, req: DeleteRecordsRequest): DeleteRecordsResponse => ({
  throttleTimeMs: 0,
  topics: req.topics.map((rt) => {
    const topic = kafka.state.topics.get(rt.name)
    return {
      name: rt.name,
      partitions: rt.partitions.map((rp) => {
        const result = (errorCode: number, lowWatermark = -1n) => ({ partitionIndex: rp.partitionIndex, lowWatermark, errorCode })
        const injected = ctx.fault.code(rt.name, rp.partitionIndex)
        if (injected !== 0) return result(injected)
        const p = topic?.partitions[rp.partitionIndex]
        const notLeader = leaderError(p, ctx.nodeId)
        if (notLeader !== 0) return result(notLeader)
        const log = p!.log
        const offset = rp.offset === -1n ? log.highWatermark : rp.offset
        if (offset < 0n || offset > log.highWatermark) return result(ErrorCode.OFFSET_OUT_OF_RANGE)
        log.deleteBefore(offset)
        return result(0, log.logStartOffset)
      })
    }
  })
})

export const fetchRoutes: ReadonlyArray<Route> = [
  route(Fetch, 4, 18, fetch),
  route(ListOffsets, 1, 11, listOffsets),
  route(OffsetForLeaderEpoch, 2, 4, offsetForLeaderEpoch),
  route(DeleteRecords, 0, 2, deleteRecords)
]
