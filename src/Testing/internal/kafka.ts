/**
 * The whole in-memory Kafka: cluster state, coordinators, fault rules, the request log and the
 * open connections. Handlers and connections share this one object.
 *
 * @internal
 */
import type { FaultMatcher } from "./faults.ts"
import { Faults } from "./faults.ts"
import type { ClassicGroup, GroupSettings } from "./groups.ts"
import { ClassicCoordinator } from "./groups.ts"
import type { ConsumerGroup, ConsumerGroupSettings } from "./consumerGroups.ts"
import { ConsumerCoordinator } from "./consumerGroups.ts"
import { OffsetStore } from "./offsets.ts"
import type { ShareGroupSettings } from "./shareGroups.ts"
import { ShareCoordinator } from "./shareGroups.ts"
import { ShareSessionCache } from "./shareSessions.ts"
import type { Scheduler } from "./scheduler.ts"
import type { StateOptions } from "./state.ts"
import { ClusterState } from "./state.ts"
import { TransactionCoordinator } from "./transactions.ts"

export interface KafkaOptions {
  readonly state: StateOptions
  readonly autoCreateTopics: boolean
  readonly groups: GroupSettings
  readonly consumerGroups: ConsumerGroupSettings
  readonly shareGroups: ShareGroupSettings
  /** Version range overrides by API key. */
  readonly versions: ReadonlyMap<number, { readonly min: number; readonly max: number }>
  /** Round-trip every request and response through the wire codecs at the negotiated version. */
  readonly wire: boolean
  readonly validateRequests: boolean
  readonly requestTimeoutMs: number
  readonly clientId: string
  /** Time a new connection takes to be set up (TCP, ApiVersions): requests wait for it. */
  readonly connectionSetupMs: number
  /** Time between EndTxn's answer and the transaction markers (Kafka writes them asynchronously). */
  readonly transactionMarkerDelayMs: number
  /** Leaders point consumers at an in-sync replica in their rack (`RackAwareReplicaSelector`). */
  readonly rackAwareReplicaSelector: boolean
  /** The request log keeps the latest this many requests. */
  readonly maxLoggedRequests: number
}

/**
 * One request as the cluster saw it: the decoded request body (after the wire round trip) and,
 * once answered, the response.
 *
 * @example
 * ```ts
 * const attempts = (yield* kafka.requests({ api: "Produce" })).map((r) => [r.nodeId, r.failure ?? "answered"])
 * ```
 *
 * @since 0.1.0
 */
export interface LoggedRequest {
  /** Order of arrival over the whole cluster, from 0. */
  readonly seq: number
  readonly nodeId: number
  /** Connection number (a new one after a drop or a disconnect). */
  readonly connection: number
  readonly api: string
  readonly apiKey: number
  readonly version: number
  readonly request: unknown
  /** Clock time the request arrived. */
  readonly at: number
  /** The response, once answered (undefined while in flight, for acks=0, or when it failed). */
  response?: unknown
  /** Why no response was delivered (connection dropped, time-out). */
  failure?: string
}

/** What every handler gets besides the request body. */
export interface RequestContext {
  readonly nodeId: number
  readonly version: number
  readonly now: number
  /** The client connection the request came on (share sessions live and die with it). */
  readonly connection: number
  readonly fault: FaultMatcher
  readonly clientId: string
}

export type AnyGroup = ClassicGroup | ConsumerGroup

/** Something to close when a broker's connections drop. */
export interface Droppable {
  readonly nodeId: number | undefined
  readonly targetNodeId: number | undefined
  readonly drop: (reason: string) => void
}

export class Kafka {
  readonly options: KafkaOptions
  readonly state: ClusterState
  readonly scheduler: Scheduler
  readonly faults = new Faults()
  readonly offsets = new OffsetStore()
  readonly txns: TransactionCoordinator
  readonly classic: ClassicCoordinator
  readonly consumer: ConsumerCoordinator
  readonly groups = new Map<string, AnyGroup>()
  readonly share: ShareCoordinator
  readonly shareSessions = new ShareSessionCache()
  readonly requests: Array<LoggedRequest> = []
  readonly handles = new Set<Droppable>()
  private seq = 0
  connectionCounter = 0

  constructor(options: KafkaOptions, scheduler: Scheduler) {
    this.options = options
    this.scheduler = scheduler
    this.state = new ClusterState(options.state)
    this.txns = new TransactionCoordinator(this.state, scheduler, this.offsets, options.transactionMarkerDelayMs)
    this.classic = new ClassicCoordinator(scheduler, options.groups)
    this.consumer = new ConsumerCoordinator(this.state, scheduler, options.consumerGroups)
    this.share = new ShareCoordinator(this.state, scheduler, options.shareGroups, this.shareSessions)
  }

  /**
   * A client connection closed (by the client, dropped, its broker down): as Kafka 4.4, the share
   * sessions opened on it go, and their members' acquired records are released at once.
   */
  connectionClosed(connection: number): void {
    for (const s of this.shareSessions.onConnection(connection)) this.share.closeSession(s)
  }

  logRequest(entry: Omit<LoggedRequest, "seq">): LoggedRequest {
    const logged: LoggedRequest = { ...entry, seq: this.seq++ }
    this.requests.push(logged)
    const max = this.options.maxLoggedRequests
    if (this.requests.length > max + (max >> 1)) this.requests.splice(0, this.requests.length - max)
    return logged
  }

  /** Closes every connection to `nodeId`: requests in flight on them fail. */
  dropConnections(nodeId: number, reason: string): void {
    for (const h of [...this.handles]) if (h.targetNodeId === nodeId) h.drop(reason)
  }

  /** Is `nodeId` the coordinator of this key right now? */
  isCoordinator(nodeId: number, type: "group" | "transaction", key: string): boolean {
    return this.state.coordinatorOf(type, key) === nodeId
  }

  shutdown(): void {
    for (const g of this.groups.values()) {
      if (g.type === "classic") this.classic.shutdown(g)
      else this.consumer.shutdown(g)
    }
    this.share.shutdown()
    this.scheduler.shutdown()
  }
}
