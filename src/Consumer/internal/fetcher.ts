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
 * Connections: Fetches go through a broker session of the fetcher's own (`Cluster.brokerSession`),
 * one connection per broker it fetches from, so that its long polls hold up no other client of the
 * Cluster (a broker answers one request per connection at a time); a connection to a broker that
 * no assigned partition is read from any more is let go when the metadata changes. ListOffsets
 * and OffsetForLeaderEpoch, answered at once, use the cluster's shared connections. Fetch sessions
 * (KIP-227) are the broker's, not the connection's: they carry on over a new connection.
 *
 * Plain TypeScript decides; Effect runs the loop, one fiber per request, and the reader's pull.
 *
 * @internal
 */
import { Deferred, Effect, Exit, Scope } from "effect"
import type { Cause } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterMetadata } from "../../Cluster/internal/metadata.ts"
import type { ConsumerError } from "../Errors.ts"
import type { ConsumerRecord, TopicPartition } from "../Record.ts"
import { closeSessions, fetchFrom } from "./fetchRequest.ts"
import { FetcherState, leaderEpochOf, leaderOf } from "./fetcherState.ts"
import type { FetcherSettings } from "./fetcherState.ts"
import { resolveOffsets } from "./listOffsets.ts"
import { validatePositions } from "./validate.ts"
import { PartitionState, partitionKey } from "./partition.ts"
import type { DataChunk, StartPosition } from "./partition.ts"
import { pull as pullRecords } from "./reader.ts"
import { FetcherTelemetry } from "./telemetry.ts"

export type { FetcherSettings, FetcherStats } from "./fetcherState.ts"

type Work = Effect.Effect<void>

/** The dispatch loop and assignment changes, on the state its requests and readers share (`fetcherState.ts`). */
export class Fetcher extends FetcherState {
  /** Consumed-messages metrics and, with a tracer, poll spans (set by `startFetcher`). */
  telemetry: FetcherTelemetry | undefined = undefined

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
      p.revoking = false
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

  /**
   * Starts revoking partitions: nothing more of them is fetched or handed out (what is buffered
   * or in flight is dropped); they stay assigned until `unassign`, so that what readers were
   * already handed can still be processed and committed. Keeps `handed`.
   */
  revoke(partitions: ReadonlyArray<PartitionState>): void {
    for (const p of partitions) {
      const handed = p.handed
      p.revoking = true
      p.generation++
      this.release(p.clearChunks())
      p.handed = handed
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
  dispatch(): { work: Array<Work>; wakeIn: number } {
    const now = this.now()
    const snap = this.cluster.snapshot()
    const work: Array<Work> = []
    let wakeAt = Infinity
    let needMetadata = false
    const toResolve = new Map<number, Array<PartitionState>>()
    const toFetch = new Map<number, Array<PartitionState>>()
    const toValidate = new Map<number, Array<PartitionState>>()
    for (const p of this.parts.values()) {
      if (p.inFlight || p.resolving || p.validating || p.stalled || p.revoking) continue
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
      // the leader changed since the position was fetched: check it is still in the log (KIP-320)
      if (p.fetchEpoch >= 0 && p.lastFetchedEpoch >= 0 && leaderEpochOf(snap, p) > p.fetchEpoch) {
        const leader = leaderOf(snap, p)
        if (leader >= 0) {
          push(toValidate, leader, p)
          continue
        }
      }
      push(toFetch, node, p)
    }
    for (const [node, ps] of toValidate) {
      for (const p of ps) p.validating = true
      work.push(validatePositions(this, node, ps))
    }
    for (const [node, ps] of toResolve) {
      for (const p of ps) p.resolving = true
      work.push(resolveOffsets(this, node, ps))
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
      work.push(fetchFrom(this, node, ps, reserve))
    }
    const idle = this.idleConnections(snap)
    if (idle !== undefined) work.push(idle)
    if (needMetadata) {
      if (!this.refreshing && now >= this.refreshAfter) work.push(this.refreshMetadata())
      wakeAt = Math.min(wakeAt, Math.max(now + s.retryBackoffMs, this.refreshAfter))
    }
    return { work, wakeIn: wakeAt === Infinity ? Infinity : wakeAt - now }
  }

  /**
   * Lets go of the fetcher's connections to brokers that no assigned partition is read from any
   * more (leaders moved away), once per metadata snapshot; a connection with a Fetch in flight is
   * looked at again at the next dispatch.
   */
  idleConnections(snap: ClusterMetadata): Work | undefined {
    const connections = this.connections
    if (connections === undefined || snap === this.connectionsCheckedFor) return undefined
    this.connectionsCheckedFor = snap
    const open = connections.nodeIds()
    if (open.length === 0) return undefined
    const used = new Set<number>()
    for (const p of this.parts.values()) {
      used.add(leaderOf(snap, p))
      if (p.preferredReplica >= 0) used.add(p.preferredReplica)
    }
    const idle: Array<number> = []
    for (const node of open) {
      if (used.has(node)) continue
      if (this.busyNodes.has(node)) this.connectionsCheckedFor = undefined
      else idle.push(node)
    }
    return idle.length === 0 ? undefined : Effect.forEach(idle, (node) => connections.release(node), { discard: true })
  }

  /** The replica to fetch a partition from: a live preferred read replica, else the leader. */
  nodeFor(snap: ClusterMetadata, p: PartitionState, now: number): number {
    if (p.preferredReplica >= 0) {
      if (now < p.preferredUntil && snap.brokers.has(p.preferredReplica)) return p.preferredReplica
      p.preferredReplica = -1
    }
    return leaderOf(snap, p)
  }

  // ---- readers ------------------------------------------------------------------------------

  /**
   * The next records (at most `maxRecords`; a chunk with more is handed out in turns with the
   * other partitions): of partition `only`, or of any partition. Suspends while nothing is
   * buffered; ends (`Cause.Done`) when `only` is unassigned or being revoked.
   */
  pull<A>(
    only: TopicPartition | undefined,
    emit: (p: PartitionState, chunk: DataChunk, records: Array<ConsumerRecord>) => ReadonlyArray<A>,
    maxRecords = Infinity
  ): Effect.Effect<readonly [A, ...Array<A>], ConsumerError | Cause.Done> {
    const t = this.telemetry
    return t === undefined
      ? pullRecords(this, only, emit, maxRecords)
      : t.pull(only, emit, (e) => pullRecords(this, only, e, maxRecords))
  }

  /** Closes the fetch sessions on the brokers (best effort). */
  closeSessions(timeoutMs: number): Effect.Effect<void> {
    return closeSessions(this, timeoutMs)
  }
}

const awaitSignal = (signal: Deferred.Deferred<void>): Effect.Effect<void> => Deferred.await(signal)


const push = <K, V>(m: Map<K, Array<V>>, k: K, v: V) => {
  const list = m.get(k)
  if (list === undefined) m.set(k, [v])
  else list.push(v)
}



/**
 * A fetcher running in the current scope: its loop, requests and connections live in a child
 * scope; closing the scope ends the readers (`ConsumerClosed`), stops every request, closes the
 * fetcher's connections and then the fetch sessions.
 */
export const startFetcher = (cluster: ClusterService, settings: FetcherSettings): Effect.Effect<Fetcher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const parentScope = yield* Effect.scope
    const scope = yield* Scope.fork(parentScope)
    const clock = yield* Effect.clockWith(Effect.succeed)
    const fetcher = new Fetcher(cluster, settings, () => clock.currentTimeMillisUnsafe())
    fetcher.telemetry = new FetcherTelemetry(yield* Effect.context<never>())
    // closed with the requests, before the sessions are closed (over the shared connections)
    fetcher.connections = yield* Scope.provide(cluster.brokerSession, scope)
    yield* Effect.forkIn(fetcher.run((work) => Effect.forkIn(work, scope)), scope)
    yield* Scope.addFinalizer(parentScope, Effect.gen(function*() {
      fetcher.closed = true
      fetcher.dataSignal.notify()
      yield* Scope.close(scope, Exit.void)
      yield* fetcher.closeSessions(Math.min(settings.requestTimeoutMs, 2000))
    }))
    return fetcher
  })
