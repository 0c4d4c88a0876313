/**
 * The fetcher: one dispatch loop that, whenever something changes, sends at most one Fetch per
 * broker (covering every fetchable partition that broker serves) and one ListOffsets per broker
 * for partitions whose position must be resolved; and the readers' side, which takes buffered
 * chunks and decodes them.
 *
 * Backpressure: fetched bytes are buffered raw (decoded only when a reader pulls them). A Fetch is
 * sent only while `buffered + reserved` leaves room under `maxPrefetchBytes`, and it asks for at
 * most that room and at most its broker's share of the bound (`maxBytes`); a partition with a
 * full fetch's worth waiting is left out. So the fetcher holds at most `maxPrefetchBytes` plus one
 * batch per broker (Kafka returns a first batch larger than the limit rather than nothing).
 *
 * Plain TypeScript decides; Effect runs the loop, one fiber per request, and the reader's pull.
 *
 * @internal
 */
import { Cause, Deferred, Effect, Exit, Scope } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterMetadata } from "../../Cluster/internal/metadata.ts"
import type { BrokerService } from "../../Connection/Broker.ts"
import type { BrokerError } from "../../Connection/Errors.ts"
import { errorForCode, errorInfo, ErrorCode, kafkaError } from "../../Protocol/Errors.ts"
import { Fetch } from "../../Protocol/generated/Fetch.ts"
import type { FetchResponse } from "../../Protocol/generated/Fetch.ts"
import { ListOffsets } from "../../Protocol/generated/ListOffsets.ts"
import type { ListOffsetsRequestTopic } from "../../Protocol/generated/ListOffsets.ts"
import { decodeRecordBatches } from "../../Protocol/RecordBatch.ts"
import { ConsumerClosed, CorruptRecords, OffsetOutOfRange, PartitionError, PartitionNotAssigned } from "../Errors.ts"
import type { ConsumerError } from "../Errors.ts"
import type { ConsumerBatch, ConsumerRecord, TopicPartition } from "../Record.ts"
import { FetchSession } from "./fetchSession.ts"
import type { SessionPartition } from "./fetchSession.ts"
import { PartitionState, partitionKey } from "./partition.ts"
import type { Chunk, DataChunk, StartPosition } from "./partition.ts"
import { scanBatches, toRecords } from "./records.ts"
import { Signal } from "./signal.ts"

export interface FetcherSettings {
  readonly isolationLevel: 0 | 1
  readonly offsetReset: "earliest" | "latest" | "none"
  readonly maxWaitMs: number
  readonly minBytes: number
  readonly maxBytes: number
  readonly partitionMaxBytes: number
  readonly maxPrefetchBytes: number
  readonly rack: string
  readonly sessions: boolean
  readonly retryBackoffMs: number
  readonly retryBackoffMaxMs: number
  readonly checkCrcs: boolean
  readonly requestTimeoutMs: number
  /** How long a preferred read replica is used before asking the leader again (KIP-392). */
  readonly preferredReplicaLeaseMs: number
}

export interface FetcherStats {
  /** Fetch requests sent. */
  readonly fetchRequests: number
  /** Of which listed every partition (session start, session reset, or no session). */
  readonly fullFetchRequests: number
  /** Of which listed only what changed (KIP-227). */
  readonly incrementalFetchRequests: number
  /** Fetch responses with a session error (the next request was full). */
  readonly fetchSessionErrors: number
  readonly listOffsetsRequests: number
  /** Fetched bytes waiting to be read. */
  readonly bufferedBytes: number
  /** The most that was ever buffered. */
  readonly peakBufferedBytes: number
}

type Work = Effect.Effect<void>

export class Fetcher {
  readonly cluster: ClusterService
  readonly settings: FetcherSettings
  readonly now: () => number
  readonly parts = new Map<string, PartitionState>()
  /** Partitions with chunks, in the order they got them (round robin for readers). */
  private ready: Array<PartitionState> = []
  private readonly sessions = new Map<number, FetchSession>()
  private readonly busyNodes = new Set<number>()
  private readonly nodeRetryAt = new Map<number, number>()
  private readonly nodeFailures = new Map<number, number>()
  /** When each broker was last sent a Fetch. */
  private readonly nodeServedAt = new Map<number, number>()
  private refreshing = false
  /** No metadata refresh of the fetcher's own before then (refreshes are throttled by the backoff). */
  private refreshAfter = 0
  buffered = 0
  private reserved = 0
  /** Wakes the dispatch loop. */
  readonly loopSignal = new Signal()
  /** Wakes readers. */
  readonly dataSignal = new Signal()
  /** A failure that ends every reader. */
  failure: ConsumerError | undefined
  closed = false
  private readonly counters = {
    fetchRequests: 0,
    fullFetchRequests: 0,
    incrementalFetchRequests: 0,
    fetchSessionErrors: 0,
    listOffsetsRequests: 0,
    peakBufferedBytes: 0
  }

  constructor(cluster: ClusterService, settings: FetcherSettings, now: () => number) {
    this.cluster = cluster
    this.settings = settings
    this.now = now
  }

  stats(): FetcherStats {
    return { ...this.counters, bufferedBytes: this.buffered }
  }

  wake(): void {
    this.loopSignal.notify()
  }

  // ---- assignment ---------------------------------------------------------------------------

  /** Adds partitions (or moves assigned ones to a new start). */
  assign(partitions: ReadonlyArray<TopicPartition & { readonly from: StartPosition }>): void {
    for (const a of partitions) {
      const key = partitionKey(a.topic, a.partition)
      let p = this.parts.get(key)
      if (p === undefined) {
        p = new PartitionState(a.topic, a.partition)
        this.parts.set(key, p)
      }
      this.startAt(p, a.from)
    }
    this.wake()
  }

  unassign(partitions: ReadonlyArray<TopicPartition>): void {
    for (const tp of partitions) {
      const p = this.parts.get(partitionKey(tp.topic, tp.partition))
      if (p === undefined) continue
      this.parts.delete(p.key)
      p.assigned = false
      p.generation++
      this.release(p.clearChunks())
    }
    this.dataSignal.notify()
    this.wake()
  }

  get(tp: TopicPartition): PartitionState | undefined {
    return this.parts.get(partitionKey(tp.topic, tp.partition))
  }

  need(tp: TopicPartition): PartitionState | PartitionNotAssigned {
    return this.get(tp) ?? new PartitionNotAssigned({
      topic: tp.topic,
      partition: tp.partition,
      message: `${tp.topic}-${tp.partition} is not assigned to this consumer`
    })
  }

  /** Moves a partition to a new start: drops what is buffered or in flight for it. */
  startAt(p: PartitionState, from: StartPosition): void {
    p.generation++
    this.release(p.clearChunks())
    p.retryAt = 0
    p.failures = 0
    p.sizeBoost = 1
    if (typeof from === "bigint") {
      p.fetchOffset = from
      p.position = from
      p.reset = undefined
    } else {
      p.fetchOffset = -1n
      p.position = -1n
      p.reset = from
    }
    this.dataSignal.notify()
    this.wake()
  }

  /**
   * Assigns a partition that cannot be read (no start position): its reader gets `error`; it is
   * not fetched until `startAt` gives it a position.
   */
  assignFailed(tp: TopicPartition, error: ConsumerError): void {
    const key = partitionKey(tp.topic, tp.partition)
    let p = this.parts.get(key)
    if (p === undefined) {
      p = new PartitionState(tp.topic, tp.partition)
      this.parts.set(key, p)
    }
    p.generation++
    this.release(p.clearChunks())
    p.reset = undefined
    p.fetchOffset = -1n
    p.position = -1n
    this.pushError(p, error)
  }

  setPaused(partitions: ReadonlyArray<PartitionState>, paused: boolean): void {
    for (const p of partitions) p.paused = paused
    this.dataSignal.notify()
    this.wake()
  }

  private release(bytes: number): void {
    if (bytes === 0) return
    this.buffered -= bytes
    this.wake()
  }

  // ---- the dispatch loop --------------------------------------------------------------------

  /** Runs until interrupted. `fork` runs a request in the fetcher's scope. */
  run(fork: (work: Work) => Effect.Effect<unknown>): Effect.Effect<never> {
    const self = this
    return Effect.gen(function*() {
      for (;;) {
        const wake = self.loopSignal.current
        const { work, wakeIn } = self.dispatch()
        for (const w of work) yield* fork(w)
        // a notify during dispatch already completed `wake`: then this returns at once
        yield* (wakeIn === Infinity ? awaitSignal(wake) : Effect.timeoutOrElse(awaitSignal(wake), {
          duration: Math.max(1, wakeIn),
          orElse: () => Effect.void
        }))
      }
    }) as Effect.Effect<never>
  }

  /** Decides what to send now; returns the requests and when to look again at the latest. */
  private dispatch(): { work: Array<Work>; wakeIn: number } {
    const now = this.now()
    const snap = this.cluster.snapshot()
    const work: Array<Work> = []
    let wakeAt = Infinity
    let needMetadata = false
    const toResolve = new Map<number, Array<PartitionState>>()
    const toFetch = new Map<number, Array<PartitionState>>()
    for (const p of this.parts.values()) {
      if (p.inFlight || p.resolving || p.stalled) continue
      if (p.retryAt > now) {
        wakeAt = Math.min(wakeAt, p.retryAt)
        continue
      }
      if (p.reset !== undefined) {
        const leader = leaderOf(snap, p)
        if (leader < 0) {
          needMetadata = true
          continue
        }
        push(toResolve, leader, p)
        continue
      }
      if (p.paused || p.fetchOffset < 0n || p.bufferedBytes >= this.settings.partitionMaxBytes) continue
      const node = this.nodeFor(snap, p, now)
      if (node < 0) {
        needMetadata = true
        continue
      }
      push(toFetch, node, p)
    }
    for (const [node, ps] of toResolve) {
      for (const p of ps) p.resolving = true
      work.push(this.resolve(node, ps))
    }
    const s = this.settings
    // Each broker's Fetch reserves at most its share of the bound while in flight (a long poll
    // holds its reservation while it waits): with the whole room per request, two brokers
    // long-polling would keep a third from ever fetching.
    const nodes = new Set(this.busyNodes)
    for (const node of toFetch.keys()) nodes.add(node)
    const share = Math.max(1, Math.floor(s.maxPrefetchBytes / Math.max(1, nodes.size)))
    // not worth a request below this (a reader taking a chunk wakes the loop when there is more)
    const minRoom = Math.min(s.partitionMaxBytes, s.maxBytes, Math.max(1, Math.floor(share / 4)))
    // the broker served least recently goes first, so that freed room is shared in turn
    const order = [...toFetch.keys()].sort((a, b) => (this.nodeServedAt.get(a) ?? 0) - (this.nodeServedAt.get(b) ?? 0))
    for (const node of order) {
      if (this.busyNodes.has(node)) continue
      const retryAt = this.nodeRetryAt.get(node) ?? 0
      if (retryAt > now) {
        wakeAt = Math.min(wakeAt, retryAt)
        continue
      }
      const room = s.maxPrefetchBytes - this.buffered - this.reserved
      const reserve = Math.min(s.maxBytes, share, room)
      if (reserve < minRoom) break
      this.reserved += reserve
      this.busyNodes.add(node)
      this.nodeServedAt.set(node, now)
      const ps = toFetch.get(node)!
      for (const p of ps) p.inFlight = true
      work.push(this.fetch(node, ps, reserve))
    }
    if (needMetadata) {
      if (!this.refreshing && now >= this.refreshAfter) work.push(this.refreshMetadata())
      wakeAt = Math.min(wakeAt, Math.max(now + s.retryBackoffMs, this.refreshAfter))
    }
    return { work, wakeIn: wakeAt === Infinity ? Infinity : wakeAt - now }
  }

  /** The replica to fetch a partition from: a live preferred read replica, else the leader. */
  private nodeFor(snap: ClusterMetadata, p: PartitionState, now: number): number {
    if (p.preferredReplica >= 0) {
      if (now < p.preferredUntil && snap.brokers.has(p.preferredReplica)) return p.preferredReplica
      p.preferredReplica = -1
    }
    return leaderOf(snap, p)
  }

  /** Refreshes metadata, including the topics of the assigned partitions (new to the cluster's cache, maybe). */
  private refreshMetadata(): Work {
    this.refreshing = true
    const topics = new Set<string>()
    for (const p of this.parts.values()) topics.add(p.topic)
    return this.cluster.refresh([...topics]).pipe(
      Effect.ignore,
      Effect.ensuring(Effect.sync(() => {
        this.refreshing = false
        this.refreshAfter = this.now() + this.settings.retryBackoffMs
        this.wake()
      }))
    )
  }

  private backoff(p: PartitionState): void {
    const s = this.settings
    p.failures++
    p.retryAt = this.now() + Math.min(s.retryBackoffMaxMs, s.retryBackoffMs * 2 ** Math.min(p.failures - 1, 20))
  }

  private backoffNode(node: number): void {
    const s = this.settings
    const n = (this.nodeFailures.get(node) ?? 0) + 1
    this.nodeFailures.set(node, n)
    this.nodeRetryAt.set(node, this.now() + Math.min(s.retryBackoffMaxMs, s.retryBackoffMs * 2 ** Math.min(n - 1, 20)))
  }

  private fail(error: ConsumerError): void {
    if (this.failure === undefined) this.failure = error
    this.dataSignal.notify()
  }

  /** Queues an error for a partition's reader, after the data before it. */
  private pushError(p: PartitionState, error: ConsumerError): void {
    p.chunks.push({ _tag: "Error", generation: p.generation, error })
    p.stalled = true
    this.markReady(p)
  }

  private markReady(p: PartitionState): void {
    if (!p.inReady) {
      p.inReady = true
      this.ready.push(p)
    }
    this.dataSignal.notify()
  }

  /** Handles a request-level failure (connection, time-out, unsupported version…). */
  private requestFailed(node: number, error: BrokerError | ConsumerError): Effect.Effect<void> {
    const retriable = (error as { readonly retriable?: unknown }).retriable === true
    if (!retriable) {
      this.fail(error)
      return Effect.void
    }
    this.backoffNode(node)
    return this.refreshing ? Effect.void : this.refreshMetadata()
  }

  /**
   * The connection to a node; `undefined` (after a backoff and a metadata refresh) when the node
   * is not in the metadata any more: the partitions go elsewhere once metadata says where.
   */
  private brokerOf(node: number): Effect.Effect<BrokerService | undefined> {
    return Effect.catch(this.cluster.broker(node), () =>
      Effect.suspend(() => {
        this.backoffNode(node)
        return Effect.as(this.refreshing ? Effect.void : this.refreshMetadata(), undefined)
      }))
  }

  // ---- Fetch --------------------------------------------------------------------------------

  private fetch(node: number, ps: ReadonlyArray<PartitionState>, reserve: number): Work {
    const s = this.settings
    const sent = ps.map((p) => ({ p, generation: p.generation, fetchOffset: p.fetchOffset }))
    return Effect.gen({ self: this }, function*() {
      const broker = yield* this.brokerOf(node)
      if (broker === undefined) return
      const snap = this.cluster.snapshot()
      let version = yield* broker.versionFor(Fetch)
      const wanted: Array<SessionPartition> = []
      for (const p of ps) {
        const t = snap.topics.get(p.topic)
        const topicId = t?.topicId ?? ""
        if (topicId === "" || topicId === ZERO_UUID) version = Math.min(version, 12)
        wanted.push({
          topic: p.topic,
          topicId,
          partition: p.partition,
          fetchOffset: p.fetchOffset,
          partitionMaxBytes: Math.min(s.partitionMaxBytes * p.sizeBoost, reserve, 0x7fffffff),
          currentLeaderEpoch: t?.partitions[p.partition]?.leaderEpoch ?? -1
        })
      }
      let session = this.sessions.get(node)
      if (session === undefined) {
        session = new FetchSession(s.sessions)
        this.sessions.set(node, session)
      }
      const req = session.build(wanted, version)
      this.counters.fetchRequests++
      if (req.full) this.counters.fullFetchRequests++
      else this.counters.incrementalFetchRequests++
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
        this.counters.fetchSessionErrors++
        return
      }
      if (res.errorCode !== 0) {
        const e = errorForCode(res.errorCode) ?? kafkaError("UNKNOWN_SERVER_ERROR")
        yield* this.requestFailed(node, e)
        return
      }
      this.nodeFailures.delete(node)
      yield* this.handleFetchResponse(node, version, session, res, sent)
    }).pipe(
      Effect.catch((e: BrokerError | ConsumerError) =>
        Effect.suspend(() => {
          this.sessions.get(node)?.handleError()
          return this.requestFailed(node, e)
        })
      ),
      Effect.ensuring(Effect.sync(() => {
        this.reserved -= reserve
        this.busyNodes.delete(node)
        for (const p of ps) p.inFlight = false
        this.wake()
      }))
    )
  }

  private handleFetchResponse(
    node: number,
    version: number,
    session: FetchSession,
    res: FetchResponse,
    sent: ReadonlyArray<{ readonly p: PartitionState; readonly generation: number; readonly fetchOffset: bigint }>
  ): Effect.Effect<void> {
    const now = this.now()
    const snap = this.cluster.snapshot()
    const byKey = new Map<string, (typeof sent)[number]>()
    for (const x of sent) byKey.set(x.p.key, x)
    // a response holding several partitions' bytes is one buffer: copy each partition's bytes
    // so that one slow partition does not keep the whole response alive
    let withData = 0
    for (const t of res.responses) for (const d of t.partitions) if (d.records !== null && d.records.length > 0) withData++
    const copy = withData > 1
    let refresh = false
    const leadersDown: Array<PartitionState> = []
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
        if (d.errorCode === 0) {
          p.failures = 0
          if (d.preferredReadReplica >= 0 && d.preferredReadReplica !== node) {
            p.preferredReplica = d.preferredReadReplica
            p.preferredUntil = now + this.settings.preferredReplicaLeaseMs
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
          this.buffered += chunk.size
          if (this.buffered > this.counters.peakBufferedBytes) this.counters.peakBufferedBytes = this.buffered
          p.fetchOffset = scanned.next
          this.markReady(p)
          continue
        }
        const info = errorInfo(d.errorCode)
        if (d.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          if (!fromLeader) {
            // a follower may be behind the leader: ask the leader (KIP-392)
            p.preferredReplica = -1
            continue
          }
          const policy = this.settings.offsetReset
          if (policy === "none") {
            this.pushError(p, new OffsetOutOfRange({
              topic: p.topic,
              partition: p.partition,
              offset: p.fetchOffset,
              message: `offset ${p.fetchOffset} is out of range for ${p.topic}-${p.partition} ` +
                `(log ${p.logStartOffset}..${p.highWatermark}) and the reset policy is "none"`
            }))
          } else {
            p.reset = policy
            p.fetchOffset = -1n
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
          this.backoff(p)
          if (fromLeader) leadersDown.push(p)
          continue
        }
        if (info?.retriable === true) {
          this.backoff(p)
          continue
        }
        const error = errorForCode(d.errorCode) ?? kafkaError("UNKNOWN_SERVER_ERROR")
        this.pushError(p, new PartitionError({
          topic: p.topic,
          partition: p.partition,
          error,
          message: `fetching ${p.topic}-${p.partition} failed: ${error.name}: ${error.message}`
        }))
      }
    }
    this.dataSignal.notify()
    if (!refresh) return Effect.void
    return Effect.forEach(leadersDown, (p) => this.cluster.leaderIsDown(p.topic, p.partition, node), { discard: true }).pipe(
      Effect.andThen(this.refreshing ? Effect.void : this.refreshMetadata())
    )
  }

  // ---- ListOffsets --------------------------------------------------------------------------

  private resolve(node: number, ps: ReadonlyArray<PartitionState>): Work {
    const s = this.settings
    const sent = new Map(ps.map((p) => [p.key, { p, generation: p.generation, reset: p.reset! }]))
    return Effect.gen({ self: this }, function*() {
      const broker = yield* this.brokerOf(node)
      if (broker === undefined) {
        for (const p of ps) this.backoff(p)
        return
      }
      const snap = this.cluster.snapshot()
      const topics = new Map<string, ListOffsetsRequestTopic>()
      for (const p of ps) {
        let t = topics.get(p.topic)
        if (t === undefined) {
          t = { name: p.topic, partitions: [] }
          topics.set(p.topic, t)
        }
        const r = p.reset!
        ;(t.partitions as Array<ListOffsetsRequestTopic["partitions"][number]>).push({
          partitionIndex: p.partition,
          currentLeaderEpoch: snap.topics.get(p.topic)?.partitions[p.partition]?.leaderEpoch ?? -1,
          timestamp: r === "earliest" ? -2n : r === "latest" ? -1n : BigInt(Math.trunc((r as { timestamp: number }).timestamp))
        })
      }
      this.counters.listOffsetsRequests++
      const res = yield* broker.request(ListOffsets, {
        replicaId: -1,
        isolationLevel: s.isolationLevel,
        topics: [...topics.values()],
        timeoutMs: s.requestTimeoutMs
      }, { timeout: s.requestTimeoutMs })
      this.nodeFailures.delete(node)
      let refresh = false
      const answered = new Set<string>()
      for (const t of res.topics) {
        for (const r of t.partitions) {
          const x = sent.get(partitionKey(t.name, r.partitionIndex))
          if (x === undefined) continue
          answered.add(x.p.key)
          const p = x.p
          if (!p.assigned || p.generation !== x.generation) continue
          if (r.errorCode === 0) {
            const offset = r.offset >= 0n ? r.offset : (r.oldStyleOffsets[0] ?? -1n)
            if (offset < 0n) {
              // no record at or after that timestamp: start at the end
              p.reset = "latest"
              continue
            }
            p.reset = undefined
            p.failures = 0
            p.fetchOffset = offset
            p.position = offset
            continue
          }
          const info = errorInfo(r.errorCode)
          if (info?.invalidMetadata === true) {
            refresh = true
            this.backoff(p)
            yield* this.cluster.leaderIsDown(p.topic, p.partition, node)
          } else if (info?.retriable === true) {
            this.backoff(p)
          } else {
            const error = errorForCode(r.errorCode) ?? kafkaError("UNKNOWN_SERVER_ERROR")
            this.pushError(p, new PartitionError({
              topic: p.topic,
              partition: p.partition,
              error,
              message: `looking up the ${describe(x.reset)} offset of ${p.topic}-${p.partition} failed: ${error.name}: ${error.message}`
            }))
          }
        }
      }
      for (const p of ps) if (!answered.has(p.key)) this.backoff(p)
      if (refresh && !this.refreshing) yield* this.refreshMetadata()
    }).pipe(
      Effect.catch((e: BrokerError | ConsumerError) =>
        Effect.suspend(() => {
          for (const p of ps) this.backoff(p)
          return this.requestFailed(node, e)
        })
      ),
      Effect.ensuring(Effect.sync(() => {
        for (const p of ps) p.resolving = false
        this.wake()
      }))
    )
  }

  // ---- readers ------------------------------------------------------------------------------

  /** Takes the next chunk: of `only`, or of the partitions with data in turn. */
  private take(only: PartitionState | undefined): { readonly p: PartitionState; readonly chunk: Chunk } | undefined {
    if (only !== undefined) {
      if (only.paused || only.chunks.length === 0) return undefined
      return { p: only, chunk: this.shift(only) }
    }
    const n = this.ready.length
    for (let i = 0; i < n; i++) {
      const p = this.ready.shift()!
      if (!p.assigned || p.chunks.length === 0) {
        p.inReady = false
        continue
      }
      if (p.paused) {
        this.ready.push(p)
        continue
      }
      const chunk = this.shift(p)
      if (p.chunks.length > 0) this.ready.push(p)
      else p.inReady = false
      return { p, chunk }
    }
    return undefined
  }

  private shift(p: PartitionState): Chunk {
    const chunk = p.chunks.shift()!
    if (chunk._tag === "Data") {
      p.bufferedBytes -= chunk.size
      this.release(chunk.size)
    } else {
      p.stalled = false
      this.wake()
    }
    return chunk
  }

  /**
   * The next records: of partition `only`, or of any partition. Suspends while nothing is
   * buffered; ends (`Cause.Done`) when `only` is unassigned.
   */
  pull<A>(
    only: TopicPartition | undefined,
    emit: (p: PartitionState, chunk: DataChunk, records: Array<ConsumerRecord>) => ReadonlyArray<A>
  ): Effect.Effect<readonly [A, ...Array<A>], ConsumerError | Cause.Done> {
    return Effect.suspend(() => this.pullLoop(only, emit))
  }

  private pullLoop<A>(
    only: TopicPartition | undefined,
    emit: (p: PartitionState, chunk: DataChunk, records: Array<ConsumerRecord>) => ReadonlyArray<A>
  ): Effect.Effect<readonly [A, ...Array<A>], ConsumerError | Cause.Done> {
    for (;;) {
      if (this.failure !== undefined) return Effect.fail(this.failure)
      if (this.closed) return Effect.fail(new ConsumerClosed({ message: "the consumer is closed" }))
      let state: PartitionState | undefined
      if (only !== undefined) {
        state = this.get(only)
        if (state === undefined) return Cause.done()
      }
      const signal = this.dataSignal.current
      const taken = this.take(state)
      if (taken === undefined) return Effect.flatMap(awaitSignal(signal), () => this.pullLoop(only, emit))
      const { p, chunk } = taken
      if (chunk.generation !== p.generation) continue
      if (chunk._tag === "Error") return Effect.fail(chunk.error)
      return decodeRecordBatches(chunk.bytes, { verifyCrc: this.settings.checkCrcs }).pipe(
        Effect.matchEffect({
          onFailure: (cause) => {
            if (p.generation === chunk.generation) {
              // read the same bytes again next time (and fail again, as the Java client does)
              this.startAt(p, chunk.fetchOffset)
            }
            return Effect.fail(new CorruptRecords({
              topic: p.topic,
              partition: p.partition,
              offset: chunk.fetchOffset,
              cause,
              message: `records of ${p.topic}-${p.partition} fetched at offset ${chunk.fetchOffset} do not decode: ${cause.message}`
            }))
          },
          onSuccess: (batches) => {
            if (p.generation !== chunk.generation) return this.pullLoop(only, emit)
            const records: Array<ConsumerRecord> = []
            toRecords(p.topic, p.partition, batches, chunk.fetchOffset, this.settings.isolationLevel === 1, chunk.abortedTransactions, records)
            p.position = chunk.nextOffset
            if (records.length === 0) return this.pullLoop(only, emit)
            const out = emit(p, chunk, records)
            return Effect.succeed(out as readonly [A, ...Array<A>])
          }
        })
      )
    }
  }

  /** Closes the fetch sessions on the brokers (best effort). */
  closeSessions(timeoutMs: number): Effect.Effect<void> {
    const closing: Array<Effect.Effect<void>> = []
    for (const [node, session] of this.sessions) {
      const req = session.closeRequest()
      if (req === undefined) continue
      closing.push(Effect.flatMap(this.cluster.broker(node), (broker) =>
        broker.request(Fetch, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 0,
          isolationLevel: this.settings.isolationLevel,
          sessionId: req.sessionId,
          sessionEpoch: req.sessionEpoch,
          topics: [],
          forgottenTopicsData: [],
          rackId: this.settings.rack
        }, { timeout: timeoutMs })).pipe(Effect.ignore))
    }
    return Effect.forEach(closing, (e) => e, { concurrency: "unbounded", discard: true }).pipe(
      Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.void })
    )
  }
}

const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"

const awaitSignal = (signal: Deferred.Deferred<void>): Effect.Effect<void> => Deferred.await(signal)

const leaderOf = (snap: ClusterMetadata, p: PartitionState): number => snap.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1

const push = <K, V>(m: Map<K, Array<V>>, k: K, v: V) => {
  const list = m.get(k)
  if (list === undefined) m.set(k, [v])
  else list.push(v)
}

const describe = (r: StartPosition): string =>
  typeof r === "bigint" ? String(r) : typeof r === "string" ? r : `timestamp ${r.timestamp}`

export const batchOf = (p: PartitionState, chunk: DataChunk, records: ReadonlyArray<ConsumerRecord>): ConsumerBatch => ({
  topic: p.topic,
  partition: p.partition,
  records,
  highWatermark: chunk.highWatermark,
  lastStableOffset: chunk.lastStableOffset,
  logStartOffset: chunk.logStartOffset,
  nextOffset: chunk.nextOffset
})

/**
 * A fetcher running in the current scope: its loop and requests live in a child scope; closing
 * the scope ends the readers (`ConsumerClosed`), stops every request and closes the fetch sessions.
 */
export const startFetcher = (cluster: ClusterService, settings: FetcherSettings): Effect.Effect<Fetcher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const parentScope = yield* Effect.scope
    const scope = yield* Scope.fork(parentScope)
    const clock = yield* Effect.clockWith(Effect.succeed)
    const fetcher = new Fetcher(cluster, settings, () => clock.currentTimeMillisUnsafe())
    yield* Effect.forkIn(fetcher.run((work) => Effect.forkIn(work, scope)), scope)
    yield* Scope.addFinalizer(parentScope, Effect.gen(function*() {
      fetcher.closed = true
      fetcher.dataSignal.notify()
      yield* Scope.close(scope, Exit.void)
      yield* fetcher.closeSessions(Math.min(settings.requestTimeoutMs, 2000))
    }))
    return fetcher
  })
