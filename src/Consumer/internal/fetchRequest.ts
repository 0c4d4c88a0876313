/**
 * The fetcher's Fetch requests: one per broker for the partitions it serves, through the broker's
 * fetch session (KIP-227), and the handling of the response per partition (data buffered raw,
 * preferred read replicas, leader moves, OFFSET_OUT_OF_RANGE by the reset policy, typed errors
 * for the rest); and closing the sessions.
 *
 * @internal
 */
import { Effect } from "effect"
import type { BrokerError } from "../../Connection/Errors.ts"
import { errorForCode, errorInfo, ErrorCode, kafkaError } from "../../Protocol/Errors.ts"
import { Fetch } from "../../Protocol/generated/Fetch.ts"
import type { FetchResponse } from "../../Protocol/generated/Fetch.ts"
import { OffsetOutOfRange, PartitionError } from "../Errors.ts"
import type { ConsumerError } from "../Errors.ts"
import type { FetcherState } from "./fetcherState.ts"
import { leaderEpochOf, leaderOf } from "./fetcherState.ts"
import { FetchSession } from "./fetchSession.ts"
import type { SessionPartition } from "./fetchSession.ts"
import { partitionKey } from "./partition.ts"
import type { DataChunk, PartitionState } from "./partition.ts"
import { scanBatches } from "./records.ts"

const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"

/**
 * One Fetch to `node` for the partitions `ps` (all it serves that are fetchable), asking for at
 * most `reserve` bytes, through the node's fetch session; the response's data is buffered raw.
 */
export const fetchFrom = (f: FetcherState, node: number, ps: ReadonlyArray<PartitionState>, reserve: number): Effect.Effect<void> => {
  const s = f.settings
  const snap0 = f.cluster.snapshot()
  const sent = ps.map((p) => ({ p, generation: p.generation, fetchOffset: p.fetchOffset, epoch: leaderEpochOf(snap0, p) }))
  return Effect.gen(function*() {
    const broker = yield* f.fetchConnection(node)
    if (broker === undefined) return
    let version = yield* broker.versionFor(Fetch)
    const wanted: Array<SessionPartition> = []
    for (const { p, epoch } of sent) {
      const t = snap0.topics.get(p.topic)
      const topicId = t?.topicId ?? ""
      if (topicId === "" || topicId === ZERO_UUID) version = Math.min(version, 12)
      wanted.push({
        topic: p.topic,
        topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        partitionMaxBytes: Math.min(s.partitionMaxBytes * p.sizeBoost, reserve, 0x7fffffff),
        currentLeaderEpoch: epoch
      })
    }
    let session = f.sessions.get(node)
    if (session === undefined) {
      session = new FetchSession(s.sessions)
      f.sessions.set(node, session)
    }
    const req = session.build(wanted, version)
    f.counters.fetchRequests++
    if (req.full) f.counters.fullFetchRequests++
    else f.counters.incrementalFetchRequests++
    const res = yield* broker.request(Fetch, {
      replicaId: -1,
      maxWaitMs: s.maxWaitMs,
      minBytes: s.minBytes,
      maxBytes: reserve,
      isolationLevel: s.isolationLevel,
      sessionId: req.sessionId,
      sessionEpoch: req.sessionEpoch,
      topics: req.topics,
      forgottenTopicsData: req.forgottenTopicsData,
      rackId: s.rack
    }, { version, timeout: s.maxWaitMs + s.requestTimeoutMs })
    const sessionError = session.handleResponse(res.errorCode, res.sessionId)
    if (sessionError) {
      f.counters.fetchSessionErrors++
      return
    }
    if (res.errorCode !== 0) {
      const e = errorForCode(res.errorCode) ?? kafkaError("UNKNOWN_SERVER_ERROR")
      yield* f.requestFailed(node, e)
      return
    }
    f.nodeFailures.delete(node)
    yield* handleFetchResponse(f, node, version, session, res, sent)
  }).pipe(
    Effect.catch((e: BrokerError | ConsumerError) =>
      Effect.suspend(() => {
        f.sessions.get(node)?.handleError()
        return f.requestFailed(node, e)
      })
    ),
    Effect.ensuring(Effect.sync(() => {
      f.reserved -= reserve
      f.busyNodes.delete(node)
      for (const p of ps) p.inFlight = false
      f.wake()
    }))
  )
}

const handleFetchResponse = (
  f: FetcherState,
  node: number,
  version: number,
  session: FetchSession,
  res: FetchResponse,
  sent: ReadonlyArray<{ readonly p: PartitionState; readonly generation: number; readonly fetchOffset: bigint; readonly epoch: number }>
): Effect.Effect<void> => {
  const now = f.now()
  const snap = f.cluster.snapshot()
  const byKey = new Map<string, (typeof sent)[number]>()
  for (const x of sent) byKey.set(x.p.key, x)
  // a response holding several partitions' bytes is one buffer: copy each partition's bytes
  // so that one slow partition does not keep the whole response alive
  let withData = 0
  for (const t of res.responses) for (const d of t.partitions) if (d.records !== null && d.records.length > 0) withData++
  const copy = withData > 1
  let refresh = false
  const leadersDown: Array<PartitionState> = []
  const failed = new Set<PartitionState>()
  for (const t of res.responses) {
    const topic = version >= 13 ? session.topicName(t.topicId) : t.topic
    if (topic === undefined) continue
    for (const d of t.partitions) {
      const x = byKey.get(partitionKey(topic, d.partitionIndex))
      if (x === undefined) continue
      const p = x.p
      if (!p.assigned || p.generation !== x.generation || p.fetchOffset !== x.fetchOffset) continue
      if (d.highWatermark >= 0n) p.highWatermark = d.highWatermark
      if (d.lastStableOffset >= 0n) p.lastStableOffset = d.lastStableOffset
      if (d.logStartOffset >= 0n) p.logStartOffset = d.logStartOffset
      const fromLeader = node === leaderOf(snap, p)
      if (d.errorCode !== 0) failed.add(p)
      if (d.errorCode === 0) {
        p.failures = 0
        if (d.preferredReadReplica >= 0 && d.preferredReadReplica !== node) {
          p.preferredReplica = d.preferredReadReplica
          p.preferredUntil = now + f.settings.preferredReplicaLeaseMs
        }
        const records = d.records
        if (records === null || records.length === 0) continue
        const scanned = scanBatches(records)
        if (scanned.next < 0n || scanned.next <= p.fetchOffset) {
          // the first batch did not fit: ask for more room next time
          if (scanned.next < 0n) p.sizeBoost = Math.min(p.sizeBoost * 2, 1024)
          continue
        }
        p.sizeBoost = 1
        if (scanned.epoch >= 0) p.lastFetchedEpoch = scanned.epoch
        const view = records.subarray(0, scanned.end)
        const bytes = copy ? Uint8Array.prototype.slice.call(view) : view
        const chunk: DataChunk = {
          _tag: "Data",
          generation: p.generation,
          fetchOffset: p.fetchOffset,
          bytes,
          nextOffset: scanned.next,
          size: bytes.length,
          abortedTransactions: d.abortedTransactions,
          highWatermark: p.highWatermark,
          lastStableOffset: p.lastStableOffset,
          logStartOffset: p.logStartOffset
        }
        p.chunks.push(chunk)
        p.bufferedBytes += chunk.size
        f.buffered += chunk.size
        if (f.buffered > f.counters.peakBufferedBytes) f.counters.peakBufferedBytes = f.buffered
        p.fetchOffset = scanned.next
        f.markReady(p)
        continue
      }
      const info = errorInfo(d.errorCode)
      if (d.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        if (!fromLeader) {
          // a follower may be behind the leader: ask the leader (KIP-392)
          p.preferredReplica = -1
          continue
        }
        const policy = f.settings.offsetReset
        if (policy === "none") {
          f.pushError(p, new OffsetOutOfRange({
            topic: p.topic,
            partition: p.partition,
            offset: p.fetchOffset,
            message: `offset ${p.fetchOffset} is out of range for ${p.topic}-${p.partition} ` +
              `(log ${p.logStartOffset}..${p.highWatermark}) and the reset policy is "none"`
          }))
        } else {
          p.reset = policy
          p.fetchOffset = -1n
          p.lastFetchedEpoch = -1
          p.fetchEpoch = -1
        }
        continue
      }
      if (!fromLeader && p.preferredReplica === node) {
        // any error from a follower: back to the leader
        p.preferredReplica = -1
        continue
      }
      if (info?.invalidMetadata === true) {
        refresh = true
        f.backoff(p)
        if (fromLeader) leadersDown.push(p)
        continue
      }
      if (info?.retriable === true) {
        f.backoff(p)
        continue
      }
      const error = errorForCode(d.errorCode) ?? kafkaError("UNKNOWN_SERVER_ERROR")
      f.pushError(p, new PartitionError({
        topic: p.topic,
        partition: p.partition,
        error,
        message: `fetching ${p.topic}-${p.partition} failed: ${error.name}: ${error.message}`
      }))
    }
  }
  // the positions of the partitions the broker took at their epoch are valid at that epoch (KIP-320)
  for (const x of sent) {
    if (x.p.generation === x.generation && !failed.has(x.p) && x.epoch >= 0) x.p.fetchEpoch = x.epoch
  }
  f.dataSignal.notify()
  if (!refresh) return Effect.void
  return Effect.forEach(leadersDown, (p) => f.cluster.leaderIsDown(p.topic, p.partition, node), { discard: true }).pipe(
    Effect.andThen(f.refreshing ? Effect.void : f.refreshMetadata())
  )
}

/** Closes the fetch sessions on the brokers (best effort). */
export const closeSessions = (f: FetcherState, timeoutMs: number): Effect.Effect<void> => {
  const closing: Array<Effect.Effect<void>> = []
  for (const [node, session] of f.sessions) {
    const req = session.closeRequest()
    if (req === undefined) continue
    closing.push(Effect.flatMap(f.cluster.broker(node), (broker) =>
      broker.request(Fetch, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 0,
        isolationLevel: f.settings.isolationLevel,
        sessionId: req.sessionId,
        sessionEpoch: req.sessionEpoch,
        topics: [],
        forgottenTopicsData: [],
        rackId: f.settings.rack
      }, { timeout: timeoutMs })).pipe(Effect.ignore))
  }
  return Effect.forEach(closing, (e) => e, { concurrency: "unbounded", discard: true }).pipe(
    Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.void })
  )
}
