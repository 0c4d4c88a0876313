/**
 * The fetcher's state and its bookkeeping (positions, buffered bytes, backoffs, errors queued for
 * readers, connections), shared by the dispatch loop (`fetcher.ts`) and the requests it sends
 * (`fetchRequest.ts`, `listOffsets.ts`, `validate.ts`) and by the readers (`reader.ts`). Those
 * modules work on a `FetcherState`; the loop's `Fetcher` extends it, so none of them imports
 * `fetcher.ts` back.
 *
 * @internal
 */
import { Effect } from "effect"
import type { BrokerSession, ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterMetadata } from "../../Cluster/internal/metadata.ts"
import type { BrokerService } from "../../Connection/Broker.ts"
import type { BrokerError } from "../../Connection/Errors.ts"
import type { ConsumerError } from "../Errors.ts"
import type { TopicPartition } from "../Record.ts"
import type { FetchSession } from "./fetchSession.ts"
import { partitionKey } from "./partition.ts"
import type { PartitionState, StartPosition } from "./partition.ts"
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

/** What the fetcher knows and the bookkeeping every request and reader does on it. */
export class FetcherState {
  readonly cluster: ClusterService
  /** The fetcher's own connections, for Fetches (the cluster's shared ones until `startFetcher` sets them). */
  connections: BrokerSession | undefined
  /** The metadata the connections were last checked against (see `idleConnections`). */
  connectionsCheckedFor: ClusterMetadata | undefined
  readonly settings: FetcherSettings
  readonly now: () => number
  readonly parts = new Map<string, PartitionState>()
  /** Partitions with chunks, in the order they got them (round robin for readers). */
  ready: Array<PartitionState> = []
  readonly sessions = new Map<number, FetchSession>()
  readonly busyNodes = new Set<number>()
  readonly nodeRetryAt = new Map<number, number>()
  readonly nodeFailures = new Map<number, number>()
  /** When each broker was last sent a Fetch. */
  readonly nodeServedAt = new Map<number, number>()
  refreshing = false
  /** No metadata refresh of the fetcher's own before then (refreshes are throttled by the backoff). */
  refreshAfter = 0
  buffered = 0
  reserved = 0
  /** Wakes the dispatch loop. */
  readonly loopSignal = new Signal()
  /** Wakes readers. */
  readonly dataSignal = new Signal()
  /** A failure that ends every reader. */
  failure: ConsumerError | undefined
  closed = false
  readonly counters = {
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

  get(tp: TopicPartition): PartitionState | undefined {
    return this.parts.get(partitionKey(tp.topic, tp.partition))
  }

  /** Moves a partition to a new start: drops what is buffered or in flight for it. */
  startAt(p: PartitionState, from: StartPosition): void {
    p.generation++
    this.release(p.clearChunks())
    p.retryAt = 0
    p.failures = 0
    p.sizeBoost = 1
    p.lastFetchedEpoch = -1
    p.fetchEpoch = -1
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

  release(bytes: number): void {
    if (bytes === 0) return
    this.buffered -= bytes
    this.wake()
  }

  /** Refreshes metadata, including the topics of the assigned partitions (new to the cluster's cache, maybe). */
  refreshMetadata(): Effect.Effect<void> {
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

  backoff(p: PartitionState): void {
    const s = this.settings
    p.failures++
    p.retryAt = this.now() + Math.min(s.retryBackoffMaxMs, s.retryBackoffMs * 2 ** Math.min(p.failures - 1, 20))
  }

  backoffNode(node: number): void {
    const s = this.settings
    const n = (this.nodeFailures.get(node) ?? 0) + 1
    this.nodeFailures.set(node, n)
    this.nodeRetryAt.set(node, this.now() + Math.min(s.retryBackoffMaxMs, s.retryBackoffMs * 2 ** Math.min(n - 1, 20)))
  }

  fail(error: ConsumerError): void {
    if (this.failure === undefined) this.failure = error
    this.dataSignal.notify()
  }

  /** Queues an error for a partition's reader, after the data before it. */
  pushError(p: PartitionState, error: ConsumerError): void {
    p.chunks.push({ _tag: "Error", generation: p.generation, error })
    p.stalled = true
    this.markReady(p)
  }

  markReady(p: PartitionState): void {
    if (!p.inReady) {
      p.inReady = true
      this.ready.push(p)
    }
    this.dataSignal.notify()
  }

  /** Handles a request-level failure (connection, time-out, unsupported version…). */
  requestFailed(node: number, error: BrokerError | ConsumerError): Effect.Effect<void> {
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
  brokerOf(node: number): Effect.Effect<BrokerService | undefined> {
    return this.reachable(node, this.cluster.broker(node))
  }

  private reachable(node: number, connection: Effect.Effect<BrokerService, unknown>): Effect.Effect<BrokerService | undefined> {
    return Effect.catch(connection, () =>
      Effect.suspend(() => {
        this.backoffNode(node)
        return Effect.as(this.refreshing ? Effect.void : this.refreshMetadata(), undefined)
      }))
  }

  /** The fetcher's own connection to a node, for a Fetch; `undefined` as `brokerOf`. */
  fetchConnection(node: number): Effect.Effect<BrokerService | undefined> {
    return this.connections === undefined ? this.brokerOf(node) : this.reachable(node, this.connections.broker(node))
  }
}

/** The partition's leader in `snap`, or -1 when the metadata does not know it. */
export const leaderOf = (snap: ClusterMetadata, p: PartitionState): number => snap.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1

/** The partition leader's epoch in `snap`, or -1. */
export const leaderEpochOf = (snap: ClusterMetadata, p: PartitionState): number =>
  snap.topics.get(p.topic)?.partitions[p.partition]?.leaderEpoch ?? -1
