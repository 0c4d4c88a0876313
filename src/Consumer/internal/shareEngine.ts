/**
 * The share consumer's engine (KIP-932): a share-group membership (ShareGroupHeartbeat), one
 * share session per leader broker (ShareFetch / ShareAcknowledge), and the readers' side.
 *
 * Fibers:
 * - the heartbeat fiber: joins with the member id the client generated and epoch 0, heartbeats at
 *   the interval the coordinator asks for, takes each new assignment (topic ids mapped to names
 *   through the metadata); FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID rejoin with epoch 0;
 * - the dispatcher: finds the leaders of the assigned partitions (refreshing metadata when one is
 *   unknown or moved) and starts a node loop per leader;
 * - a node loop per broker, over the consumer's own `brokerSession` (a ShareFetch long-polls): one
 *   request at a time (a share session's epochs are sequential). It sends a ShareFetch once the
 *   records of the previous one were handed out, carrying the acknowledgements gathered since
 *   (never at epoch 0: a request that opens a session carries none); a `commit` makes it send a
 *   ShareAcknowledge at once. Session errors reset the session (epoch 0) and the request is retried
 *   by the `RetryPolicy`; NOT_LEADER_OR_FOLLOWER and other metadata errors refresh the metadata
 *   and the partition moves to its new leader's loop.
 *
 * Closing: the node loops finish their request, then each sends a final ShareAcknowledge (epoch
 * -1, closing the session) accepting what was processed and releasing what was fetched and not
 * processed; then the member leaves (epoch -1).
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { Cause, Deferred, Effect, Exit, Fiber, Scope } from "effect"
import type { BrokerSession, ClusterService, CoordinatorSession } from "../../Cluster/Cluster.ts"
import * as RetryPolicy from "../../Cluster/RetryPolicy.ts"
import type { BrokerService } from "../../Connection/Broker.ts"
import { ErrorCode, errorForCode, errorInfo, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { ShareAcknowledge } from "../../Protocol/generated/ShareAcknowledge.ts"
import { ShareFetch } from "../../Protocol/generated/ShareFetch.ts"
import type { ShareFetchResponse } from "../../Protocol/generated/ShareFetch.ts"
import { ShareGroupHeartbeat } from "../../Protocol/generated/ShareGroupHeartbeat.ts"
import { decodeRecordBatchesSync } from "../../Protocol/RecordBatch.ts"
import type { TopicPartition } from "../Record.ts"
import { AcknowledgeFailed, InvalidRecordState, ShareConsumerClosed, ShareGroupRejected } from "../ShareErrors.ts"
import type { AcknowledgeError } from "../ShareErrors.ts"
import { Wake } from "./groupSignal.ts"
import { AckCode, acquiredRecords, ShareFetchedRecord, toAckBatches } from "./shareRecords.ts"
import type { AckRun, AckSink, AcknowledgeType } from "./shareRecords.ts"
import { Signal } from "./signal.ts"

export interface ShareSettings {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  readonly rackId: string | null
  readonly ackMode: "implicit" | "explicit"
  readonly maxWaitMs: number
  readonly minBytes: number
  readonly maxBytes: number
  readonly maxRecords: number
  readonly batchSize: number
  readonly heartbeatIntervalMs: number
  readonly retryBackoffMs: number
  readonly requestTimeoutMs: number
  readonly closeTimeoutMs: number
  readonly checkCrcs: boolean
}

/** The outcome of acknowledging a partition's records. */
export interface AcknowledgeResult {
  readonly topic: string
  readonly partition: number
  /** `undefined` when the broker took the acknowledgements. */
  readonly error: AcknowledgeError | undefined
}

export interface ShareStats {
  readonly shareFetchRequests: number
  readonly shareAcknowledgeRequests: number
  readonly sessionErrors: number
  readonly heartbeats: number
  readonly recordsDelivered: number
  /** The acquisition lock the brokers last reported (ShareFetch's AcquisitionLockTimeoutMs), -1 before any. */
  readonly acquisitionLockTimeoutMs: number
}

export type ShareEngineError = ShareGroupRejected | ShareConsumerClosed | KafkaError

const LEAVE_EPOCH = -1
const FINAL_SESSION_EPOCH = -1
const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"
const COORDINATOR = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR])
const FATAL = new Set<number>([
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_REQUEST,
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  ErrorCode.GROUP_ID_NOT_FOUND
])
const SESSION_ERRORS = new Set<number>([ErrorCode.SHARE_SESSION_NOT_FOUND, ErrorCode.INVALID_SHARE_SESSION_EPOCH])

const errorOf = (code: number, message?: string | null): KafkaError => errorForCode(code, message) ?? kafkaError("UNKNOWN_SERVER_ERROR")
const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`

interface Chunk {
  readonly node: NodeState
  readonly records: Array<ShareFetchedRecord>
}

interface Waiter {
  readonly mark: number
  readonly results: Array<AcknowledgeResult>
  readonly done: Deferred.Deferred<void>
}

interface SessionPartition {
  readonly topic: string
  readonly topicId: string
  readonly partition: number
}

/** A broker's share session and the acknowledgements to send it. */
class NodeState {
  readonly node: number
  epoch = 0
  /** The partitions the broker holds in the session, by key. */
  session = new Map<string, SessionPartition>()
  /** Chunks fetched from this broker not yet handed out. */
  outstanding = 0
  /** Acknowledgements not sent yet, by partition key. */
  pending = new Map<string, { readonly tp: SessionPartition; runs: Array<AckRun> }>()
  /** Lock renewals not sent yet (KIP-1222), by partition key. */
  renews = new Map<string, { readonly tp: SessionPartition; runs: Array<AckRun> }>()
  /** Acknowledgements recorded (a sequence number) and answered (every one up to it). */
  ackSeq = 0
  answeredSeq = 0
  waiters: Array<Waiter> = []
  readonly wake = new Wake()
  fiber: Fiber.Fiber<unknown, unknown> | undefined
  constructor(node: number) {
    this.node = node
  }
  hasPending(): boolean {
    return this.pending.size > 0
  }
}

export class ShareEngine implements AckSink {
  readonly cluster: ClusterService
  readonly settings: ShareSettings
  /** KIP-932: the member id is the client's, for the consumer's whole life. */
  readonly memberId = randomBytes(16).toString("base64url")
  epoch = 0
  joined = false
  intervalMs: number
  /** The assigned partitions, by key. */
  assigned = new Map<string, SessionPartition>()
  readonly idToName = new Map<string, string>()
  readonly nodes = new Map<number, NodeState>()
  ready: Array<Chunk> = []
  readonly dataSignal = new Signal()
  readonly dispatchWake = new Wake()
  readonly heartbeatWake = new Wake()
  failure: ShareEngineError | undefined
  /** Warnings of plain code, logged by the node loops. */
  warnings: Array<string> = []
  closing = false
  stopped = false
  readonly counters = { shareFetchRequests: 0, shareAcknowledgeRequests: 0, sessionErrors: 0, heartbeats: 0, recordsDelivered: 0, acquisitionLockTimeoutMs: -1 }
  /** Set by `start`. */
  connections!: BrokerSession
  coordinator!: CoordinatorSession
  fork!: (e: Effect.Effect<unknown>) => Effect.Effect<Fiber.Fiber<unknown, unknown>>

  constructor(cluster: ClusterService, settings: ShareSettings) {
    this.cluster = cluster
    this.settings = settings
    this.intervalMs = settings.heartbeatIntervalMs
  }

  fail(e: ShareEngineError): void {
    if (this.failure === undefined) this.failure = e
    this.dataSignal.notify()
    for (const n of this.nodes.values()) this.releaseWaiters(n)
  }

  /** Stops for good: nothing is waited for any more. */
  stop(): void {
    this.stopped = true
    this.dataSignal.notify()
    for (const n of this.nodes.values()) this.releaseWaiters(n)
  }

  assignment(): ReadonlyArray<TopicPartition> {
    return [...this.assigned.values()].map((p) => ({ topic: p.topic, partition: p.partition }))
  }

  // ---- acknowledgements ---------------------------------------------------------------------

  acknowledge(record: ShareFetchedRecord, type: AcknowledgeType): Effect.Effect<void> {
    return Effect.sync(() => this.ackNow(record, AckCode[type]))
  }

  ackNow(record: ShareFetchedRecord, code: number): void {
    if (record.acked !== -1) return
    const n = this.nodes.get(record.node)
    if (code === AckCode.renew) {
      // not settled: sent on its own (ShareAcknowledge with IsRenewAck), at once
      if (n === undefined) return
      const key = keyOf(record.topic, record.partition)
      let p = n.renews.get(key)
      if (p === undefined) {
        const topicId = this.cluster.snapshot().topics.get(record.topic)?.topicId ?? n.session.get(key)?.topicId ?? ""
        n.renews.set(key, p = { tp: { topic: record.topic, partition: record.partition, topicId }, runs: [] })
      }
      p.runs.push({ first: record.offset, last: record.offset, type: AckCode.renew })
      n.wake.notify()
      return
    }
    record.acked = code
    if (n === undefined) return
    const key = keyOf(record.topic, record.partition)
    const offset = record.offset
    this.addRuns(n, key, record.topic, record.partition, [{ first: offset, last: offset, type: code }])
  }

  addRuns(n: NodeState, key: string, topic: string, partition: number, runs: ReadonlyArray<AckRun>): void {
    if (runs.length === 0) return
    let p = n.pending.get(key)
    if (p === undefined) {
      const topicId = this.cluster.snapshot().topics.get(topic)?.topicId ?? n.session.get(key)?.topicId ?? ""
      p = { tp: { topic, partition, topicId }, runs: [] }
      n.pending.set(key, p)
    }
    for (const r of runs) p.runs.push(r)
    n.ackSeq++
  }

  /** Sends every acknowledgement recorded so far; the per-partition outcomes. */
  commit(): Effect.Effect<ReadonlyArray<AcknowledgeResult>> {
    return Effect.suspend(() => {
      const waiters: Array<Waiter> = []
      if (this.stopped || this.closing || this.failure !== undefined) return Effect.succeed([])
      for (const n of this.nodes.values()) {
        if (n.ackSeq <= n.answeredSeq) continue
        const w: Waiter = { mark: n.ackSeq, results: [], done: Deferred.makeUnsafe<void>() }
        n.waiters.push(w)
        waiters.push(w)
        n.wake.notify()
      }
      return Effect.forEach(waiters, (w) => Deferred.await(w.done)).pipe(
        Effect.map(() => waiters.flatMap((w) => w.results))
      )
    })
  }

  private answered(n: NodeState, seq: number, results: ReadonlyArray<AcknowledgeResult>): void {
    if (seq > n.answeredSeq) n.answeredSeq = seq
    const watched = n.waiters.length > 0
    const left: Array<Waiter> = []
    for (const w of n.waiters) {
      for (const r of results) w.results.push(r)
      if (w.mark <= n.answeredSeq) Deferred.doneUnsafe(w.done, Exit.void)
      else left.push(w)
    }
    n.waiters = left
    for (const r of results) {
      if (r.error !== undefined && !watched) {
        // nobody waits for this outcome: say so
        this.logAckError(r)
      }
    }
  }

  private logAckError(r: AcknowledgeResult): void {
    this.warnings.push(`share group ${this.settings.groupId}: acknowledging ${r.topic}-${r.partition} failed: ${r.error?.message}`)
  }

  releaseWaiters(n: NodeState): void {
    for (const w of n.waiters) Deferred.doneUnsafe(w.done, Exit.void)
    n.waiters = []
  }

  // ---- readers ------------------------------------------------------------------------------

  /** The next chunk of records; suspends while none is buffered. */
  pull(): Effect.Effect<ReadonlyArray<ShareFetchedRecord>, ShareEngineError | Cause.Done> {
    return Effect.suspend(() => {
      for (;;) {
        if (this.failure !== undefined) return Effect.fail(this.failure)
        if (this.closing || this.stopped) return Effect.fail(new ShareConsumerClosed({ message: "the share consumer is closed" }))
        const signal = this.dataSignal.current
        const chunk = this.ready.shift()
        if (chunk === undefined) return Effect.flatMap(Deferred.await(signal), () => this.pull())
        chunk.node.outstanding--
        if (chunk.node.outstanding === 0) chunk.node.wake.notify()
        if (chunk.records.length === 0) continue
        this.counters.recordsDelivered += chunk.records.length
        return Effect.succeed(chunk.records)
      }
    })
  }

  // ---- membership ---------------------------------------------------------------------------

  private learnIds(): void {
    for (const t of this.cluster.snapshot().topics.values()) {
      if (t.errorCode !== 0 || t.topicId === ZERO_UUID) continue
      this.idToName.set(t.topicId, t.name)
    }
  }

  private setAssignment(target: ReadonlyArray<{ readonly topicId: string; readonly partitions: ReadonlyArray<number> }>): Effect.Effect<boolean> {
    const self = this
    return Effect.gen(function*() {
      const known = () => target.every((t) => self.idToName.has(t.topicId))
      if (!known()) self.learnIds()
      if (!known()) {
        yield* Effect.ignore(self.cluster.refresh(self.settings.topics))
        self.learnIds()
      }
      const next = new Map<string, SessionPartition>()
      let missing = false
      for (const t of target) {
        const topic = self.idToName.get(t.topicId)
        if (topic === undefined) {
          missing = true
          continue
        }
        for (const partition of t.partitions) next.set(keyOf(topic, partition), { topic, topicId: t.topicId, partition })
      }
      self.assigned = next
      self.dispatchWake.notify()
      for (const n of self.nodes.values()) n.wake.notify()
      return missing
    })
  }

  heartbeatRequest(memberEpoch: number) {
    const leaving = memberEpoch < 0
    return {
      groupId: this.settings.groupId,
      memberId: this.memberId,
      memberEpoch,
      rackId: leaving ? null : this.settings.rackId,
      // sent with every heartbeat (null would mean "unchanged"): a rejoin after fencing needs it anyway
      subscribedTopicNames: leaving ? null : [...this.settings.topics]
    }
  }

  private sendHeartbeat(memberEpoch: number) {
    const self = this
    this.counters.heartbeats++
    return this.coordinator.withCoordinator((c) =>
      c.broker.request(ShareGroupHeartbeat, self.heartbeatRequest(memberEpoch), { timeout: self.settings.requestTimeoutMs }).pipe(
        Effect.flatMap((res) => COORDINATOR.has(res.errorCode) ? Effect.fail(errorOf(res.errorCode, res.errorMessage)) : Effect.succeed(res))
      )
    )
  }

  readonly heartbeats: Effect.Effect<void> = Effect.suspend(() => this.heartbeatsLoop())

  private heartbeatsLoop(): Effect.Effect<void> {
    const self = this
    return Effect.gen(function*() {
      const { groupId } = self.settings
      let pendingTarget: ReadonlyArray<{ readonly topicId: string; readonly partitions: ReadonlyArray<number> }> | undefined
      for (;;) {
        const sentEpoch = self.epoch
        const r = yield* Effect.result(self.sendHeartbeat(sentEpoch))
        if (r._tag === "Failure") {
          const e = r.failure
          if (e._tag === "KafkaError" && FATAL.has(e.code)) {
            self.fail(new ShareGroupRejected({ groupId, error: e, message: `share group ${groupId}: ${e.name}: ${e.message}` }))
            return
          }
          yield* Effect.logDebug(`share group ${groupId}: heartbeat failed`, e)
          yield* self.coordinator.coordinatorIsDown
          yield* Effect.sleep(self.settings.retryBackoffMs)
          continue
        }
        const res = r.success
        const code = res.errorCode
        if (code === 0) {
          self.epoch = res.memberEpoch
          self.joined = true
          if (res.heartbeatIntervalMs > 0) self.intervalMs = res.heartbeatIntervalMs
          if (res.assignment !== null) pendingTarget = res.assignment.topicPartitions
          if (pendingTarget !== undefined) {
            const missing = yield* self.setAssignment(pendingTarget)
            if (!missing) pendingTarget = undefined
          }
          yield* self.heartbeatWake.waitAtMost(pendingTarget === undefined ? self.intervalMs : Math.min(self.intervalMs, self.settings.retryBackoffMs))
        } else if (code === ErrorCode.FENCED_MEMBER_EPOCH || code === ErrorCode.UNKNOWN_MEMBER_ID) {
          yield* Effect.logDebug(`share group ${groupId}: ${errorOf(code).name} at epoch ${sentEpoch}; rejoining`)
          self.epoch = 0
          self.joined = false
          yield* self.setAssignment([])
          if (sentEpoch === 0) yield* Effect.sleep(self.settings.retryBackoffMs)
        } else if (FATAL.has(code)) {
          const error = errorOf(code, res.errorMessage)
          self.fail(new ShareGroupRejected({ groupId, error, message: `share group ${groupId}: the coordinator refused the membership (${error.name}: ${error.message})` }))
          return
        } else {
          yield* Effect.logWarning(`share group ${groupId}: ShareGroupHeartbeat answered ${errorOf(code).name}: ${res.errorMessage ?? ""}`)
          yield* Effect.sleep(self.settings.retryBackoffMs)
        }
      }
    })
  }

  readonly leave: Effect.Effect<void> = Effect.suspend(() => {
    if (!this.joined) return Effect.void
    this.joined = false
    return this.sendHeartbeat(LEAVE_EPOCH).pipe(
      Effect.flatMap((res) => res.errorCode === 0 ? Effect.void : Effect.logWarning(`share group ${this.settings.groupId}: leaving answered ${errorOf(res.errorCode).name}`)),
      Effect.timeoutOrElse({ duration: this.settings.closeTimeoutMs, orElse: () => Effect.logWarning(`share group ${this.settings.groupId}: leaving timed out`) }),
      Effect.catch((e) => Effect.logWarning(`share group ${this.settings.groupId}: leaving failed`, e))
    )
  })

  // ---- dispatcher ---------------------------------------------------------------------------

  readonly dispatcher: Effect.Effect<void> = Effect.suspend(() => this.dispatcherLoop())

  private dispatcherLoop(): Effect.Effect<void> {
    const self = this
    return Effect.gen(function*() {
      for (;;) {
        const snap = self.cluster.snapshot()
        let leaderless = false
        for (const p of self.assigned.values()) {
          const leader = snap.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1
          if (leader < 0) {
            leaderless = true
            continue
          }
          if (!self.nodes.has(leader)) {
            const n = new NodeState(leader)
            self.nodes.set(leader, n)
            n.fiber = yield* self.fork(self.nodeLoop(n))
          }
        }
        for (const n of self.nodes.values()) n.wake.notify()
        if (leaderless) {
          yield* Effect.ignore(self.cluster.refresh(self.settings.topics))
          yield* self.dispatchWake.waitAtMost(self.settings.retryBackoffMs)
        } else {
          yield* self.dispatchWake.waitAtMost(30_000)
        }
      }
    })
  }

  /** The assigned partitions this broker leads, with a topic id. */
  private wantedOn(n: NodeState): Map<string, SessionPartition> {
    const snap = this.cluster.snapshot()
    const out = new Map<string, SessionPartition>()
    for (const [k, p] of this.assigned) {
      const t = snap.topics.get(p.topic)
      if (t === undefined || t.partitions[p.partition]?.leader !== n.node) continue
      const topicId = t.topicId !== ZERO_UUID && t.topicId !== "" ? t.topicId : p.topicId
      out.set(k, { topic: p.topic, partition: p.partition, topicId })
    }
    return out
  }

  // ---- node loops ---------------------------------------------------------------------------

  nodeLoop(n: NodeState): Effect.Effect<void> {
    const self = this
    return Effect.gen(function*() {
      for (;;) {
        if (self.warnings.length > 0) {
          const ws = self.warnings
          self.warnings = []
          for (const w of ws) yield* Effect.logWarning(w)
        }
        if (self.stopped) return
        if (self.closing) {
          yield* self.closeSession(n)
          return
        }
        if (n.renews.size > 0 && n.epoch > 0) {
          yield* self.request(n, () => self.renewRequest(n))
          continue
        }
        const wanted = self.wantedOn(n)
        const flushRequested = n.waiters.length > 0
        if (flushRequested && n.epoch > 0 && n.hasPending()) {
          yield* self.request(n, () => self.acknowledgeRequest(n, false))
          continue
        }
        if (flushRequested && !n.hasPending()) self.answered(n, n.ackSeq, [])
        if (flushRequested && n.epoch === 0 && n.hasPending() && wanted.size > 0) {
          // acknowledgements wait for a session (a request opening one carries none): open it now
          yield* self.request(n, () => self.fetchRequest(n, wanted))
          continue
        }
        if (n.outstanding > 0) {
          yield* n.wake.wait
          continue
        }
        if (wanted.size === 0) {
          if (n.epoch > 0 && n.hasPending()) {
            yield* self.request(n, () => self.acknowledgeRequest(n, false))
            continue
          }
          if (n.epoch > 0 && n.session.size > 0) {
            // nothing to read here any more: close the session
            yield* self.request(n, () => self.acknowledgeRequest(n, true))
            continue
          }
          if (n.waiters.length > 0) self.releaseWaiters(n)
          // nothing led here is ours any more (leadership moved, assignment shrank): close the
          // connection instead of keeping it idle; the next use opens a new one
          if (n.session.size === 0 && self.connections.nodeIds().includes(n.node)) yield* self.connections.release(n.node)
          yield* n.wake.wait
          continue
        }
        yield* self.request(n, () => self.fetchRequest(n, wanted))
      }
    })
  }

  /** Runs one request of a node's session by the `RetryPolicy`; a failure for good is logged and backed off. */
  private request(n: NodeState, attempt: () => Effect.Effect<void, KafkaError | unknown>): Effect.Effect<void> {
    const self = this
    return RetryPolicy.retry(Effect.suspend(attempt), {
      beforeRetry: (reason, error) =>
        Effect.suspend(() => {
          const code = (error as { readonly code?: unknown }).code
          if (typeof code === "number" && SESSION_ERRORS.has(code)) return Effect.void // reset already: reopen
          return reason === "leaderMoved" || reason === "transient" ? Effect.ignore(self.cluster.refresh(self.settings.topics)) : Effect.void
        })
    }).pipe(
      Effect.catch((e) =>
        Effect.gen(function*() {
          const retriable = (e as { readonly retriable?: unknown }).retriable === true
          if (!retriable && (e as { readonly _tag?: unknown })._tag === "KafkaError") {
            self.fail(e as KafkaError)
            return
          }
          yield* Effect.logWarning(`share group ${self.settings.groupId}: requests to broker ${n.node} keep failing`, e)
          yield* Effect.sleep(self.settings.retryBackoffMs)
        })
      )
    )
  }

  private connection(n: NodeState): Effect.Effect<BrokerService, unknown> {
    return this.connections.broker(n.node)
  }

  /** Takes the pending acknowledgements (put back if the request fails). */
  private takePending(n: NodeState) {
    const taken = n.pending
    const seq = n.ackSeq
    n.pending = new Map()
    const putBack = () => {
      for (const [k, p] of taken) {
        const cur = n.pending.get(k)
        if (cur === undefined) n.pending.set(k, p)
        else cur.runs = p.runs.concat(cur.runs)
      }
    }
    return { taken, seq, putBack }
  }

  private sessionReset(n: NodeState): void {
    n.epoch = 0
    n.session = new Map()
    this.counters.sessionErrors++
  }

  private nextEpoch(n: NodeState): void {
    n.epoch = n.epoch >= 0x7fffffff ? 1 : n.epoch + 1
  }

  private fetchRequest(n: NodeState, wanted: Map<string, SessionPartition>): Effect.Effect<void, unknown> {
    const self = this
    const s = this.settings
    return Effect.gen(function*() {
      const broker = yield* self.connection(n)
      const version = yield* broker.versionFor(ShareFetch)
      const opening = n.epoch === 0
      const acks = opening ? undefined : self.takePending(n)
      const topics = new Map<string, { topicId: string; partitions: Array<{ partitionIndex: number; partitionMaxBytes?: number; acknowledgementBatches: Array<{ firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: Array<number> }> }> }>()
      const add = (tp: SessionPartition, runs: ReadonlyArray<AckRun>) => {
        let t = topics.get(tp.topicId)
        if (t === undefined) {
          t = { topicId: tp.topicId, partitions: [] }
          topics.set(tp.topicId, t)
        }
        t.partitions.push({ partitionIndex: tp.partition, acknowledgementBatches: toAckBatches(runs) })
      }
      const listed = new Set<string>()
      if (acks !== undefined) {
        for (const [k, p] of acks.taken) {
          add(p.tp, p.runs)
          listed.add(k)
        }
      }
      for (const [k, p] of wanted) if (!listed.has(k) && (opening || !n.session.has(k))) add(p, [])
      const forgotten = new Map<string, Array<number>>()
      if (!opening) {
        for (const [k, p] of n.session) {
          if (wanted.has(k)) continue
          let list = forgotten.get(p.topicId)
          if (list === undefined) forgotten.set(p.topicId, list = [])
          list.push(p.partition)
        }
      }
      const sentAcks = acks?.taken
      self.counters.shareFetchRequests++
      const res = yield* broker.request(ShareFetch, {
        groupId: s.groupId,
        memberId: self.memberId,
        shareSessionEpoch: n.epoch,
        maxWaitMs: self.closing ? 0 : s.maxWaitMs,
        minBytes: s.minBytes,
        maxBytes: s.maxBytes,
        maxRecords: s.maxRecords,
        batchSize: s.batchSize,
        topics: [...topics.values()],
        forgottenTopicsData: [...forgotten].map(([topicId, partitions]) => ({ topicId, partitions }))
      }, { version, timeout: s.maxWaitMs + s.requestTimeoutMs }).pipe(
        Effect.tapError(() => Effect.sync(() => {
          acks?.putBack()
          // the broker may or may not have taken it: start a new session
          self.sessionReset(n)
        }))
      )
      if (res.errorCode !== 0) {
        acks?.putBack()
        if (SESSION_ERRORS.has(res.errorCode)) self.sessionReset(n)
        return yield* Effect.fail(errorOf(res.errorCode, res.errorMessage))
      }
      // the session now holds what was wanted
      if (opening) n.session = new Map(wanted)
      else {
        for (const k of [...n.session.keys()]) if (!wanted.has(k)) n.session.delete(k)
        for (const [k, p] of wanted) n.session.set(k, p)
      }
      self.nextEpoch(n)
      yield* self.handleFetchResponse(n, res, sentAcks, acks?.seq)
    })
  }

  private handleFetchResponse(
    n: NodeState,
    res: ShareFetchResponse,
    sentAcks: Map<string, { readonly tp: SessionPartition; runs: Array<AckRun> }> | undefined,
    seq: number | undefined
  ): Effect.Effect<void> {
    const results: Array<AcknowledgeResult> = []
    if (res.acquisitionLockTimeoutMs > 0) this.counters.acquisitionLockTimeoutMs = res.acquisitionLockTimeoutMs
    let refresh = false
    const leadersDown: Array<SessionPartition> = []
    for (const t of res.responses) {
      let topic = this.idToName.get(t.topicId)
      if (topic === undefined) {
        this.learnIds()
        topic = this.idToName.get(t.topicId)
      }
      if (topic === undefined) continue
      for (const d of t.partitions) {
        const key = keyOf(topic, d.partitionIndex)
        if (sentAcks?.has(key) === true) {
          results.push(this.ackResult(topic, d.partitionIndex, d.acknowledgeErrorCode, d.acknowledgeErrorMessage))
        }
        if (d.errorCode !== 0) {
          const info = errorInfo(d.errorCode)
          if (info?.invalidMetadata === true) {
            refresh = true
            leadersDown.push({ topic, topicId: t.topicId, partition: d.partitionIndex })
          } else if (info?.retriable !== true) {
            this.warnings.push(`share group ${this.settings.groupId}: fetching ${topic}-${d.partitionIndex} failed: ${errorOf(d.errorCode, d.errorMessage).message}`)
          }
          continue
        }
        if (d.acquiredRecords.length === 0) continue
        const records: Array<ShareFetchedRecord> = []
        const gaps: Array<AckRun> = []
        const decoded = decodeRecordBatchesSync(d.records, { verifyCrc: this.settings.checkCrcs })
        const ranges = d.acquiredRecords.slice().sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1))
        if (decoded._tag === "Failure") {
          // records we cannot read: hand them back (delivered again, archived at the delivery limit)
          this.warnings.push(`share group ${this.settings.groupId}: records of ${topic}-${d.partitionIndex} do not decode: ${decoded.failure.message}`)
          this.addRuns(n, key, topic, d.partitionIndex, ranges.map((r) => ({ first: r.firstOffset, last: r.lastOffset, type: AckCode.release })))
          continue
        }
        acquiredRecords(topic, d.partitionIndex, decoded.success, ranges, n.node, this, records, gaps)
        this.addRuns(n, key, topic, d.partitionIndex, gaps)
        if (records.length > 0) {
          n.outstanding++
          this.ready.push({ node: n, records })
        }
      }
    }
    if (seq !== undefined) this.answered(n, seq, results)
    this.dataSignal.notify()
    if (!refresh) return Effect.void
    const self = this
    return Effect.gen(function*() {
      for (const p of leadersDown) yield* self.cluster.leaderIsDown(p.topic, p.partition, n.node)
      yield* Effect.ignore(self.cluster.refresh(self.settings.topics))
      self.dispatchWake.notify()
    })
  }

  private ackResult(topic: string, partition: number, code: number, message: string | null): AcknowledgeResult {
    if (code === 0) return { topic, partition, error: undefined }
    const error = errorOf(code, message)
    if (code === ErrorCode.INVALID_RECORD_STATE) {
      return { topic, partition, error: new InvalidRecordState({ topic, partition, message: `acknowledging records of ${topic}-${partition}: ${error.message}` }) }
    }
    return { topic, partition, error: new AcknowledgeFailed({ topic, partition, error, message: `acknowledging records of ${topic}-${partition} failed: ${error.name}: ${error.message}` }) }
  }

  /**
   * A ShareAcknowledge of every pending acknowledgement at the session's epoch; `final` closes the
   * session (epoch -1). Without a session (epoch 0: a ShareAcknowledge cannot open one) nothing is
   * sent: the next ShareFetch opens one.
   */
  private acknowledgeRequest(n: NodeState, final: boolean): Effect.Effect<void, unknown> {
    const self = this
    return Effect.gen(function*() {
      if (n.epoch === 0) {
        if (final) n.session = new Map()
        return
      }
      const epoch = final ? FINAL_SESSION_EPOCH : n.epoch
      const broker = yield* self.connection(n)
      const version = yield* broker.versionFor(ShareAcknowledge)
      const acks = self.takePending(n)
      const topics = new Map<string, { topicId: string; partitions: Array<{ partitionIndex: number; acknowledgementBatches: ReturnType<typeof toAckBatches> }> }>()
      for (const p of acks.taken.values()) {
        let t = topics.get(p.tp.topicId)
        if (t === undefined) topics.set(p.tp.topicId, t = { topicId: p.tp.topicId, partitions: [] })
        t.partitions.push({ partitionIndex: p.tp.partition, acknowledgementBatches: toAckBatches(p.runs) })
      }
      self.counters.shareAcknowledgeRequests++
      const res = yield* broker.request(ShareAcknowledge, {
        groupId: self.settings.groupId,
        memberId: self.memberId,
        shareSessionEpoch: epoch,
        topics: [...topics.values()]
      }, { version, timeout: self.settings.requestTimeoutMs }).pipe(
        Effect.tapError(() => Effect.sync(() => {
          acks.putBack()
          self.sessionReset(n)
        }))
      )
      if (res.errorCode !== 0) {
        acks.putBack()
        if (SESSION_ERRORS.has(res.errorCode)) {
          self.sessionReset(n)
          if (final) return // no session left to close
        }
        return yield* Effect.fail(errorOf(res.errorCode, res.errorMessage))
      }
      if (final) {
        n.epoch = 0
        n.session = new Map()
      } else self.nextEpoch(n)
      const results: Array<AcknowledgeResult> = []
      for (const t of res.responses) {
        const topic = self.idToName.get(t.topicId)
        if (topic === undefined) continue
        for (const d of t.partitions) results.push(self.ackResult(topic, d.partitionIndex, d.errorCode, d.errorMessage))
      }
      self.answered(n, acks.seq, results)
    })
  }

  /** A ShareAcknowledge renewing the locks of records (v2+); dropped, with a warning, by older brokers. */
  private renewRequest(n: NodeState): Effect.Effect<void, unknown> {
    const self = this
    return Effect.gen(function*() {
      if (n.epoch === 0) return // renewed once a fetch reopened the session
      const broker = yield* self.connection(n)
      const version = yield* broker.versionFor(ShareAcknowledge)
      const taken = n.renews
      n.renews = new Map()
      if (version < 2) {
        yield* Effect.logWarning(`share group ${self.settings.groupId}: broker ${n.node} cannot renew acquisition locks (ShareAcknowledge v${version} < 2)`)
        return
      }
      const topics = new Map<string, { topicId: string; partitions: Array<{ partitionIndex: number; acknowledgementBatches: ReturnType<typeof toAckBatches> }> }>()
      for (const p of taken.values()) {
        let t = topics.get(p.tp.topicId)
        if (t === undefined) topics.set(p.tp.topicId, t = { topicId: p.tp.topicId, partitions: [] })
        t.partitions.push({ partitionIndex: p.tp.partition, acknowledgementBatches: toAckBatches(p.runs) })
      }
      self.counters.shareAcknowledgeRequests++
      const res = yield* broker.request(ShareAcknowledge, {
        groupId: self.settings.groupId,
        memberId: self.memberId,
        shareSessionEpoch: n.epoch,
        isRenewAck: true,
        topics: [...topics.values()]
      }, { version, timeout: self.settings.requestTimeoutMs }).pipe(
        Effect.tapError(() => Effect.sync(() => self.sessionReset(n)))
      )
      if (res.errorCode !== 0) {
        if (SESSION_ERRORS.has(res.errorCode)) self.sessionReset(n)
        return yield* Effect.fail(errorOf(res.errorCode, res.errorMessage))
      }
      self.nextEpoch(n)
      if (res.acquisitionLockTimeoutMs > 0) self.counters.acquisitionLockTimeoutMs = res.acquisitionLockTimeoutMs
      for (const t of res.responses) {
        const topic = self.idToName.get(t.topicId)
        if (topic === undefined) continue
        for (const d of t.partitions) {
          if (d.errorCode !== 0) self.logAckError(self.ackResult(topic, d.partitionIndex, d.errorCode, d.errorMessage))
        }
      }
    })
  }

  /** Closing: release what this broker's records were not processed, send the rest, close the session. */
  private closeSession(n: NodeState): Effect.Effect<void> {
    const self = this
    return Effect.gen(function*() {
      for (const c of self.ready) {
        if (c.node !== n) continue
        for (const r of c.records) self.ackNow(r, AckCode.release)
      }
      self.ready = self.ready.filter((c) => c.node !== n)
      if (n.epoch > 0) {
        yield* self.acknowledgeRequest(n, true).pipe(
          Effect.timeoutOrElse({ duration: self.settings.closeTimeoutMs, orElse: () => Effect.logWarning(`share group ${self.settings.groupId}: closing the share session on broker ${n.node} timed out`) }),
          Effect.catch((e) => Effect.logDebug(`share group ${self.settings.groupId}: closing the share session on broker ${n.node} failed`, e))
        )
      }
      self.releaseWaiters(n)
    })
  }

  /** Releases the records handed out and not acknowledged (`records` of a reader that ended). */
  releaseUnacked(records: ReadonlyArray<ShareFetchedRecord>): void {
    for (const r of records) if (r.acked === -1) this.ackNow(r, AckCode.release)
    for (const n of this.nodes.values()) if (n.outstanding === 0) n.wake.notify()
  }

  acceptUnacked(records: ReadonlyArray<ShareFetchedRecord>): void {
    let any = false
    for (const r of records) {
      if (r.acked === -1) {
        this.ackNow(r, AckCode.accept)
        any = true
      }
    }
    if (any) for (const n of this.nodes.values()) if (n.waiters.length > 0) n.wake.notify()
  }

  stats(): ShareStats {
    return { ...this.counters }
  }
}

/**
 * Starts the engine in the current scope: connections and fibers in a child scope; closing the
 * scope closes the sessions (acknowledging what was processed, releasing the rest) and leaves.
 */
export const startShareEngine = (cluster: ClusterService, settings: ShareSettings) =>
  Effect.gen(function*() {
    const parent = yield* Effect.scope
    const connScope = yield* Scope.fork(parent)
    const fiberScope = yield* Scope.fork(parent)
    const engine = new ShareEngine(cluster, settings)
    engine.connections = yield* Scope.provide(cluster.brokerSession, connScope)
    engine.coordinator = yield* Scope.provide(cluster.coordinatorSession({ type: "group", key: settings.groupId }), connScope)
    engine.fork = (e) => Effect.forkIn(e, fiberScope)
    yield* Effect.ignore(cluster.refresh(settings.topics))
    const heartbeat = yield* Effect.forkIn(engine.heartbeats, fiberScope)
    yield* Effect.forkIn(engine.dispatcher, fiberScope)

    const abandon = Effect.suspend(() => {
      if (engine.stopped) return Effect.void
      engine.stop()
      return Effect.andThen(Scope.close(fiberScope, Exit.void), Scope.close(connScope, Exit.void))
    })

    yield* Scope.addFinalizer(parent, Effect.suspend(() => {
      if (engine.stopped) return Effect.void
      engine.closing = true
      engine.dataSignal.notify()
      return Effect.gen(function*() {
        for (const n of engine.nodes.values()) n.wake.notify()
        const loops = [...engine.nodes.values()].flatMap((n) => (n.fiber === undefined ? [] : [n.fiber]))
        yield* Fiber.joinAll(loops).pipe(
          Effect.ignore,
          Effect.timeoutOrElse({ duration: settings.maxWaitMs + settings.closeTimeoutMs, orElse: () => Effect.void })
        )
        yield* Fiber.interrupt(heartbeat)
        yield* engine.leave
        engine.stop()
        yield* Scope.close(fiberScope, Exit.void)
        yield* Scope.close(connScope, Exit.void)
      })
    }))
    return { engine, abandon }
  })
