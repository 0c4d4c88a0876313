/**
 * The Cluster implementation: metadata cache with coalesced refreshes, one shared connection per
 * broker (and one per coordinator), broker and coordinator sessions with connections of their own,
 * leader and coordinator lookup.
 *
 * @internal
 */
import { Clock, Deferred, Duration, Effect, Exit, Schedule, Scope } from "effect"
import type { BrokerService } from "../../Connection/Broker.ts"
import type { BrokerError } from "../../Connection/Errors.ts"
import { ErrorCode, errorForCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { FindCoordinator } from "../../Protocol/generated/FindCoordinator.ts"
import { Metadata } from "../../Protocol/generated/Metadata.ts"
import { BrokerUnavailable } from "../Errors.ts"
import type { ClusterError } from "../Errors.ts"
import * as RetryPolicy from "../RetryPolicy.ts"
import {
  applyMetadataResponse,
  emptyMetadata,
  withBrokerDown,
  withLeaderDown
} from "./metadata.ts"
import type { BrokerNode, ClusterMetadata, PartitionMetadata, TopicMetadata } from "./metadata.ts"

export interface NodeAddress {
  readonly nodeId: number
  readonly host: string
  readonly port: number
}

export type Connect = (node: NodeAddress) => Effect.Effect<BrokerService, never, Scope.Scope>

export interface CoordinatorKey {
  readonly type: "group" | "transaction"
  readonly key: string
}

export interface Located {
  readonly nodeId: number
  readonly broker: BrokerService
  /**
   * The ids of these topics (from metadata, refreshed for those not known yet; a topic without
   * one is left out): what requests addressing topics by id (OffsetCommit/OffsetFetch v10+,
   * TxnOffsetCommit v6+) send. Coordinators found through the cluster have it.
   */
  readonly topicIds?: ((topics: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, string>>) | undefined
}

const ZERO_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAA"

export interface Leader extends Located {
  readonly leaderEpoch: number
}

/**
 * A coordinator seen through connections of one's own: what a consumer-group membership (or any
 * client of a coordinator whose requests the coordinator may hold) uses instead of the cluster's
 * shared coordinator connection. A broker answers one request per connection at a time, in order,
 * and holds a JoinGroup (or SyncGroup) until the rebalance is done: on a shared connection, one
 * member's JoinGroup would hold up every other member's JoinGroup, SyncGroup, Heartbeat and commit,
 * and the group would never settle (Java clients have one network client per consumer for the same
 * reason).
 *
 * The connection is opened on first use, replaced when the coordinator moved (the connection to
 * the previous coordinator is closed), and closed with the scope the session was acquired in.
 * After that scope closed, the session falls back to the cluster's shared coordinator connection,
 * so a late request still works and nothing is left open.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cluster from "kpax/Cluster"
 * import { Heartbeat } from "kpax/Protocol"
 *
 * const beat = (generationId: number, memberId: string) =>
 *   Effect.scoped(Effect.gen(function*() {
 *     const cluster = yield* Cluster.Cluster
 *     const session = yield* cluster.coordinatorSession({ type: "group", key: "billing" })
 *     return yield* session.withCoordinator((c) =>
 *       c.broker.request(Heartbeat, { groupId: "billing", generationId, memberId, groupInstanceId: null }))
 *   }))
 * ```
 *
 * @since 0.1.0
 */
export interface CoordinatorSession {
  /** The group or transactional id this session talks to the coordinator of. */
  readonly key: CoordinatorKey
  /** The coordinator and this session's own connection to it (looked up and opened if need be). */
  readonly coordinator: Effect.Effect<Located, ClusterError>
  /** Runs `f` against the coordinator on this session's connection, looking it up again when it moved, by the `RetryPolicy`. */
  readonly withCoordinator: <A, E, R>(f: (coordinator: Located) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | ClusterError, R>
  /** Forgets the coordinator (for the whole cluster: it moved); the next use looks it up again. */
  readonly coordinatorIsDown: Effect.Effect<void>
}

/**
 * Brokers seen through connections of one's own: what a client whose requests the broker may hold
 * (a consumer's fetcher, whose Fetch long-polls for up to `maxWait`) uses instead of the cluster's
 * shared data connections. A broker answers one request per connection at a time, in order: on a
 * shared connection, every Produce, Metadata or other Fetch to that broker would wait behind the
 * long poll (Java clients have one network client per consumer and per producer for the same
 * reason).
 *
 * A connection to a broker is opened on its first use, replaced when the broker's address changed,
 * closed when the broker leaves the cluster's metadata or on `release`, and closed with the scope
 * the session was acquired in. Metadata and leader lookups stay the cluster's. After that scope
 * closed, the session falls back to the cluster's shared connections, so a late request still
 * works and nothing is left open.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cluster from "kpax/Cluster"
 * import { Fetch } from "kpax/Protocol"
 *
 * // a long poll: parked up to 5 s on the session's connection, holding up no other client of the Cluster
 * const poll = (fetchOffset: bigint) =>
 *   Effect.scoped(Effect.gen(function*() {
 *     const cluster = yield* Cluster.Cluster
 *     const session = yield* cluster.brokerSession
 *     return yield* session.withLeader("orders", 0, (leader) =>
 *       leader.broker.request(Fetch, {
 *         replicaId: -1, maxWaitMs: 5000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
 *         sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: "",
 *         topics: [{ topic: "orders", partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: leader.leaderEpoch }] }]
 *       }, { version: 12, timeout: "35 seconds" }))
 *   })) // the session's connections are closed here
 * ```
 *
 * @since 0.1.0
 */
export interface BrokerSession {
  /** This session's connection to a broker by node id (opened if need be). */
  readonly broker: (nodeId: number) => Effect.Effect<BrokerService, ClusterError>
  /** The leader of a partition and this session's connection to it. */
  readonly leader: (topic: string, partition: number) => Effect.Effect<Leader, ClusterError>
  /** Runs `f` against a partition's leader on this session's connection, as `Cluster.withLeader` does. */
  readonly withLeader: <A, E, R>(
    topic: string,
    partition: number,
    f: (leader: Leader) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ClusterError, R>
  /** Closes this session's connection to a broker it no longer needs (requests on it fail); the next use opens a new one. */
  readonly release: (nodeId: number) => Effect.Effect<void>
  /** The brokers this session has a connection to. */
  readonly nodeIds: () => ReadonlyArray<number>
}

export interface ClusterImplOptions {
  readonly bootstrap: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly connect: Connect
  readonly metadataMaxAge: Duration.Duration
  readonly allowAutoTopicCreation: boolean
}

interface Connection {
  readonly host: string
  readonly port: number
  readonly scope: Scope.Closeable
  readonly broker: BrokerService
}

const coordinatorCacheKey = (k: CoordinatorKey) => (k.type === "group" ? "g:" : "t:") + k.key

export const makeCluster = (options: ClusterImplOptions) =>
  Effect.gen(function*() {
    // A scope of the cluster's own, made now: everything the cluster opens later (connections,
    // refresh fibers) closes at this point of the caller's scope, not before finalizers that the
    // caller registered after creating the cluster (e.g. deleting a test topic).
    const clusterScope = yield* Scope.fork(yield* Effect.scope)
    let snapshot: ClusterMetadata = emptyMetadata
    /** Topics the application asked about: every refresh fetches all of them. */
    const interest = new Set<string>()
    const dataConnections = new Map<number, Connection>()
    /**
     * The shared connections to coordinators, apart from the others: a broker handles one request
     * per connection at a time, so a Fetch long poll must not delay coordinator requests, nor they
     * produce and fetch. Only for requests the coordinator answers at once (admin, standalone
     * offsets, transactions): a group member, whose JoinGroup the coordinator holds for the whole
     * rebalance, uses coordinator sessions of its own (`coordinatorSession`), as each Java
     * consumer has its own network client.
     */
    const coordinatorConnections = new Map<number, Connection>()
    const coordinators = new Map<string, NodeAddress>()
    /** The connections of each open broker or coordinator session, apart from the shared ones. */
    const sessionConnections = new Set<Map<number, Connection>>()
    // added first, so it runs after the connections' scopes (forked from clusterScope) closed:
    // once closed, the cluster counts no connection
    yield* Scope.addFinalizer(clusterScope, Effect.sync(() => {
      dataConnections.clear()
      coordinatorConnections.clear()
      sessionConnections.clear()
    }))
    let bootstrapped = false

    // ---- connections ------------------------------------------------------------------------

    /** The shared connection to a node; a new one when the node's address changed. */
    const connectionTo = (node: NodeAddress, connections: Map<number, Connection> = dataConnections): Effect.Effect<BrokerService> =>
      Effect.suspend(() => {
        const existing = connections.get(node.nodeId)
        if (existing !== undefined && existing.host === node.host && existing.port === node.port) {
          return Effect.succeed(existing.broker)
        }
        return Effect.gen(function*() {
          if (existing !== undefined) {
            connections.delete(node.nodeId)
            yield* Scope.close(existing.scope, Exit.void)
          }
          // re-check: another fiber may have connected while we closed the old one
          const again = connections.get(node.nodeId)
          if (again !== undefined && again.host === node.host && again.port === node.port) return again.broker
          const scope = yield* Scope.fork(clusterScope)
          const broker = yield* options.connect(node).pipe(Scope.provide(scope))
          const raced = connections.get(node.nodeId)
          if (raced !== undefined && raced.host === node.host && raced.port === node.port) {
            yield* Scope.close(scope, Exit.void)
            return raced.broker
          }
          connections.set(node.nodeId, { host: node.host, port: node.port, scope, broker })
          return broker
        })
      })

    /** Closes connections to brokers that left the cluster and bootstrap connections. */
    const pruneConnections = Effect.suspend(() => {
      const gone: Array<Connection> = []
      for (const map of [dataConnections, coordinatorConnections, ...sessionConnections]) {
        for (const [id, c] of map) {
          const b = snapshot.brokers.get(id)
          if (id < 0 || b === undefined) {
            gone.push(c)
            map.delete(id)
          }
        }
      }
      return Effect.forEach(gone, (c) => Scope.close(c.scope, Exit.void), { discard: true })
    })

    /** Candidates for a cluster-wide request: connected brokers first, then the others, then bootstrap. */
    const candidates = (): ReadonlyArray<NodeAddress> => {
      const known = [...snapshot.brokers.values()]
      const connected = known.filter((b) => dataConnections.has(b.nodeId))
      const others = known.filter((b) => !dataConnections.has(b.nodeId))
      shuffle(others)
      const out: Array<NodeAddress> = [...connected, ...others]
      if (out.length === 0 || !bootstrapped) {
        options.bootstrap.forEach((a, i) => out.push({ nodeId: -1 - i, host: a.host, port: a.port }))
      }
      return out
    }

    /** Sends a cluster-wide request to the first broker that answers. */
    const anyBrokerRequest = <A>(
      f: (broker: BrokerService, node: NodeAddress) => Effect.Effect<A, ClusterError>
    ): Effect.Effect<A, ClusterError> =>
      Effect.suspend(() => {
        const nodes = candidates()
        const tried: Array<string> = []
        let lastError: unknown = undefined
        const attempt = (i: number): Effect.Effect<A, ClusterError> => {
          if (i >= nodes.length) {
            return Effect.fail(
              new BrokerUnavailable({
                tried,
                message: `no broker of the cluster answered (tried ${tried.join(", ")})`,
                cause: lastError
              })
            )
          }
          const node = nodes[i]
          tried.push(`${node.host}:${node.port}`)
          return connectionTo(node).pipe(
            Effect.flatMap((broker) => f(broker, node)),
            Effect.catch((e: ClusterError) => {
              // a broker-level failure (connection, TLS, timeout): try the next broker;
              // a protocol answer (KafkaError) or auth failure is the cluster's answer.
              if (e._tag === "ConnectionError" || e._tag === "RequestTimeoutError") {
                lastError = e
                return attempt(i + 1)
              }
              return Effect.fail(e)
            })
          )
        }
        return attempt(0)
      })

    // ---- metadata ---------------------------------------------------------------------------

    let inflight: { readonly topics: ReadonlySet<string> | "all"; readonly done: Deferred.Deferred<ClusterMetadata, ClusterError> } | undefined

    const fetchMetadata = (topics: ReadonlySet<string> | "all"): Effect.Effect<ClusterMetadata, ClusterError> =>
      anyBrokerRequest((broker) =>
        broker.request(Metadata, {
          topics: topics === "all" ? null : [...topics].map((name) => ({ name })),
          allowAutoTopicCreation: options.allowAutoTopicCreation,
          includeTopicAuthorizedOperations: false
        })
      ).pipe(
        Effect.flatMap((res) => {
          // v13+: a top-level error (REBOOTSTRAP_REQUIRED, KIP-1102): the whole answer is refused,
          // as a typed KafkaError; after REBOOTSTRAP_REQUIRED the next request goes to the bootstrap servers
          if (res.errorCode !== 0) {
            if (res.errorCode === ErrorCode.REBOOTSTRAP_REQUIRED) bootstrapped = false
            return Effect.fail(errorForCode(res.errorCode, "Metadata") ?? kafkaError("UNKNOWN_SERVER_ERROR", `Metadata error ${res.errorCode}`))
          }
          return Clock.currentTimeMillis.pipe(
            Effect.map((now) => {
              snapshot = applyMetadataResponse(snapshot, res, now)
              bootstrapped = true
              return snapshot
            })
          )
        }),
        Effect.tap(() => pruneConnections)
      )

    const covers = (have: ReadonlySet<string> | "all", want: ReadonlyArray<string>) =>
      have === "all" || want.every((t) => have.has(t))

    /**
     * Refreshes metadata for every topic of interest plus `topics`. Concurrent refreshes are
     * coalesced: a call whose topics an in-flight refresh covers waits for that one.
     */
    const refresh = (topics: ReadonlyArray<string> = [], all = false): Effect.Effect<ClusterMetadata, ClusterError> =>
      Effect.suspend(() => {
        for (const t of topics) interest.add(t)
        const current = inflight
        if (current !== undefined) {
          if (!all && covers(current.topics, topics)) return Deferred.await(current.done)
          return Deferred.await(current.done).pipe(
            Effect.ignore,
            Effect.flatMap(() => refresh(topics, all))
          )
        }
        const wanted: ReadonlySet<string> | "all" = all ? "all" : new Set(interest)
        const done = Deferred.makeUnsafe<ClusterMetadata, ClusterError>()
        inflight = { topics: wanted, done }
        return fetchMetadata(wanted).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              if (inflight?.done === done) inflight = undefined
            }).pipe(Effect.andThen(Deferred.done(done, exit)))
          ),
          // run in the cluster's scope: interrupting one waiter doesn't cancel the others' refresh
          Effect.forkIn(clusterScope),
          Effect.flatMap(() => Deferred.await(done))
        )
      })

    // periodic refresh (metadata.max.age)
    yield* refresh().pipe(
      Effect.ignore,
      Effect.delay(options.metadataMaxAge),
      Effect.repeat(Schedule.forever),
      Effect.forkIn(clusterScope)
    )

    const topic = (name: string): Effect.Effect<TopicMetadata, ClusterError> =>
      Effect.suspend(() => {
        const t = snapshot.topics.get(name)
        // a cached topic that carried an error (LEADER_NOT_AVAILABLE just after creation, …) is asked for again
        const known = t !== undefined && t.errorCode === 0 && interest.has(name) ? Effect.succeed(snapshot) : refresh([name])
        return known.pipe(
          Effect.flatMap((s) => {
            const t = s.topics.get(name)
            if (t === undefined) return Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} is not in the cluster's metadata`))
            if (t.errorCode !== 0) return Effect.fail(errorForCode(t.errorCode, `topic ${name}`) ?? kafkaError("UNKNOWN_SERVER_ERROR"))
            return Effect.succeed(t)
          })
        )
      })

    const brokerNode = (nodeId: number): Effect.Effect<BrokerNode, ClusterError> =>
      Effect.suspend(() => {
        const b = snapshot.brokers.get(nodeId)
        if (b !== undefined) return Effect.succeed(b)
        return refresh().pipe(
          Effect.flatMap((s) => {
            const b = s.brokers.get(nodeId)
            return b !== undefined
              ? Effect.succeed(b)
              : Effect.fail(kafkaError("BROKER_NOT_AVAILABLE", `broker ${nodeId} is not in the cluster's metadata`))
          })
        )
      })

    const broker = (nodeId: number): Effect.Effect<BrokerService, ClusterError> =>
      Effect.flatMap(brokerNode(nodeId), connectionTo)

    const partitionLeader = (t: TopicMetadata, partition: number): PartitionMetadata | KafkaError => {
      const p = t.partitions[partition]
      if (p === undefined) {
        return kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${partition} of ${t.name} does not exist (${t.partitions.length} partitions)`)
      }
      if (p.leader < 0) {
        return errorForCode(p.errorCode !== 0 ? p.errorCode : ErrorCode.LEADER_NOT_AVAILABLE, `${t.name}-${partition} has no leader`) ??
          kafkaError("LEADER_NOT_AVAILABLE")
      }
      return p
    }

    /** A partition's leader, with the connection to it that `connect` gives (the shared one, or a session's). */
    const leaderVia = (connect: (nodeId: number) => Effect.Effect<BrokerService, ClusterError>) =>
    (topicName: string, partition: number): Effect.Effect<Leader, ClusterError> =>
      Effect.gen(function*() {
        let t = yield* topic(topicName)
        let p = partitionLeader(t, partition)
        if (!("leader" in p)) {
          yield* refresh([topicName])
          t = yield* topic(topicName)
          p = partitionLeader(t, partition)
          if (!("leader" in p)) return yield* Effect.fail(p)
        }
        const b = yield* connect(p.leader)
        return { nodeId: p.leader, leaderEpoch: p.leaderEpoch, broker: b }
      })

    const leader = leaderVia(broker)

    const leaderIsDown = (topicName: string, partition: number, nodeId?: number): Effect.Effect<void> =>
      Effect.sync(() => {
        snapshot = withLeaderDown(snapshot, topicName, partition, nodeId)
      })

    const brokerIsDown = (nodeId: number): Effect.Effect<void> =>
      Effect.sync(() => {
        snapshot = withBrokerDown(snapshot, nodeId)
      })

    // ---- coordinators -----------------------------------------------------------------------

    const findCoordinators = (
      keys: ReadonlyArray<CoordinatorKey>
    ): Effect.Effect<ReadonlyMap<string, NodeAddress | KafkaError>, ClusterError> =>
      anyBrokerRequest((b) =>
        Effect.gen(function*() {
          const out = new Map<string, NodeAddress | KafkaError>()
          const version = yield* b.versionFor(FindCoordinator)
          const byType = new Map<number, Array<string>>()
          for (const k of keys) {
            const keyType = k.type === "group" ? 0 : 1
            const list = byType.get(keyType) ?? []
            list.push(k.key)
            byType.set(keyType, list)
          }
          for (const [keyType, list] of byType) {
            const prefix = keyType === 0 ? "g:" : "t:"
            if (version >= 4) {
              const res = yield* b.request(FindCoordinator, { keyType, coordinatorKeys: list })
              for (const c of res.coordinators) {
                out.set(prefix + c.key, c.errorCode === 0
                  ? { nodeId: c.nodeId, host: c.host, port: c.port }
                  : (errorForCode(c.errorCode, c.errorMessage) ?? kafkaError("UNKNOWN_SERVER_ERROR")))
              }
            } else {
              for (const key of list) {
                const res = yield* b.request(FindCoordinator, { key, keyType })
                out.set(prefix + key, res.errorCode === 0
                  ? { nodeId: res.nodeId, host: res.host, port: res.port }
                  : (errorForCode(res.errorCode, res.errorMessage) ?? kafkaError("UNKNOWN_SERVER_ERROR")))
              }
            }
          }
          return out
        })
      )

    /** The coordinator's address: cached, else asked with FindCoordinator. */
    const locateCoordinator = (key: CoordinatorKey): Effect.Effect<NodeAddress, ClusterError> =>
      Effect.suspend(() => {
        const ck = coordinatorCacheKey(key)
        const node = coordinators.get(ck)
        if (node !== undefined) return Effect.succeed(node)
        return Effect.flatMap(findCoordinators([key]), (found) => {
          const f = found.get(ck)
          if (f === undefined) return Effect.fail(kafkaError("COORDINATOR_NOT_AVAILABLE", `no coordinator returned for ${key.type} ${key.key}`))
          if ("_tag" in f) return Effect.fail(f)
          coordinators.set(ck, f)
          return Effect.succeed(f)
        })
      })

    const topicIds = (topics: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, string>> => {
      const known = () => {
        const out = new Map<string, string>()
        for (const name of topics) {
          const id = snapshot.topics.get(name)?.topicId
          if (id !== undefined && id !== ZERO_TOPIC_ID) out.set(name, id)
        }
        return out
      }
      const first = known()
      if (first.size === new Set(topics).size) return Effect.succeed(first)
      return refresh(topics.filter((t) => !first.has(t))).pipe(Effect.ignore, Effect.map(known))
    }

    const coordinator = (key: CoordinatorKey): Effect.Effect<Located, ClusterError> =>
      Effect.flatMap(locateCoordinator(key), (node) =>
        Effect.map(connectionTo(node, coordinatorConnections), (broker): Located => ({ nodeId: node.nodeId, broker, topicIds })))

    const coordinatorIsDown = (key: CoordinatorKey): Effect.Effect<void> =>
      Effect.sync(() => {
        coordinators.delete(coordinatorCacheKey(key))
      })

    const closeAll = (connections: Map<number, Connection>, except?: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const gone: Array<Connection> = []
        for (const [id, c] of connections) {
          if (id === except) continue
          connections.delete(id)
          gone.push(c)
        }
        return Effect.forEach(gone, (c) => Scope.close(c.scope, Exit.void), { discard: true })
      })

    const closeOne = (connections: Map<number, Connection>, nodeId: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const c = connections.get(nodeId)
        if (c === undefined) return Effect.void
        connections.delete(nodeId)
        return Scope.close(c.scope, Exit.void)
      })

    /**
     * Connections of one's own for the current scope (what broker and coordinator sessions are
     * made of): counted and pruned with the cluster's, closed with the scope. `to` gives the
     * connection to a node, opened if need be; once the scope has closed, `shared` instead.
     */
    const ownConnections = Effect.gen(function*() {
      const own = new Map<number, Connection>()
      let ended = false
      sessionConnections.add(own)
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          ended = true
          sessionConnections.delete(own)
          return closeAll(own)
        })
      )
      const to = (node: NodeAddress, shared: Effect.Effect<BrokerService, ClusterError>): Effect.Effect<BrokerService, ClusterError> =>
        Effect.suspend(() => {
          if (ended) return shared
          return Effect.flatMap(connectionTo(node, own), (b) =>
            // the scope closed while connecting: let the new connection go
            ended ? Effect.andThen(closeAll(own), shared) : Effect.succeed(b))
        })
      return { connections: own, to }
    })

    const coordinatorSession = (key: CoordinatorKey): Effect.Effect<CoordinatorSession, never, Scope.Scope> =>
      Effect.map(ownConnections, (own): CoordinatorSession => {
        /** At most one connection, to the coordinator last found. */
        const located: Effect.Effect<Located, ClusterError> = Effect.flatMap(locateCoordinator(key), (node) =>
          closeAll(own.connections, node.nodeId).pipe( // the coordinator moved: let go of the previous one
            Effect.andThen(own.to(node, connectionTo(node, coordinatorConnections))),
            Effect.map((broker): Located => ({ nodeId: node.nodeId, broker, topicIds }))
          ))
        return {
          key,
          coordinator: located,
          withCoordinator: (f) => retryOnCoordinator(key, located, f),
          coordinatorIsDown: coordinatorIsDown(key)
        }
      })

    const brokerSession: Effect.Effect<BrokerSession, never, Scope.Scope> = Effect.map(ownConnections, (own): BrokerSession => {
      const sessionBroker = (nodeId: number): Effect.Effect<BrokerService, ClusterError> =>
        Effect.flatMap(brokerNode(nodeId), (node) => own.to(node, connectionTo(node)))
      const sessionLeader = leaderVia(sessionBroker)
      return {
        broker: sessionBroker,
        leader: sessionLeader,
        withLeader: (topicName, partition, f) => retryOnLeader(topicName, partition, sessionLeader, f),
        release: (nodeId) => closeOne(own.connections, nodeId),
        nodeIds: () => [...own.connections.keys()]
      }
    })

    // ---- retrying combinators ---------------------------------------------------------------

    const retryOnLeader = <A, E, R>(
      topicName: string,
      partition: number,
      located: (topicName: string, partition: number) => Effect.Effect<Leader, ClusterError>,
      f: (leader: Leader) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ClusterError, R> => {
      let lastLeader = -1
      return RetryPolicy.retry(
        Effect.flatMap(located(topicName, partition), (l) => {
          lastLeader = l.nodeId
          return f(l)
        }),
        {
          beforeRetry: (reason) =>
            reason === "coordinatorMoved"
              ? Effect.void
              : leaderIsDown(topicName, partition, lastLeader >= 0 ? lastLeader : undefined).pipe(
                Effect.andThen(refresh([topicName])),
                Effect.ignore
              )
        }
      )
    }

    const withLeader = <A, E, R>(
      topicName: string,
      partition: number,
      f: (leader: Leader) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ClusterError, R> => retryOnLeader(topicName, partition, leader, f)

    const retryOnCoordinator = <A, E, R>(
      key: CoordinatorKey,
      located: Effect.Effect<Located, ClusterError>,
      f: (coordinator: Located) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ClusterError, R> =>
      RetryPolicy.retry(Effect.flatMap(located, f), {
        beforeRetry: (reason) => (reason === "transient" || reason === "coordinatorMoved" ? coordinatorIsDown(key) : Effect.void)
      })

    const withCoordinator = <A, E, R>(
      key: CoordinatorKey,
      f: (coordinator: Located) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | ClusterError, R> => retryOnCoordinator(key, coordinator(key), f)

    const forget = (topics: ReadonlyArray<string>): Effect.Effect<void> =>
      Effect.sync(() => {
        const next = new Map(snapshot.topics)
        for (const t of topics) {
          interest.delete(t)
          next.delete(t)
        }
        snapshot = { ...snapshot, topics: next }
      })

    return {
      snapshot: () => snapshot,
      forget,
      refresh: (topics?: ReadonlyArray<string>) => refresh(topics ?? []),
      listTopics: Effect.map(refresh([], true), (s) => [...s.topics.values()]),
      topic,
      partitions: (name: string) => Effect.map(topic(name), (t) => t.partitions),
      broker,
      anyBroker: anyBrokerRequest((b, node) => Effect.succeed({ nodeId: node.nodeId, broker: b } as Located)),
      leader,
      leaderIsDown,
      brokerIsDown,
      coordinator,
      coordinators: (keys: ReadonlyArray<CoordinatorKey>) => findCoordinators(keys),
      coordinatorIsDown,
      coordinatorSession,
      brokerSession,
      withLeader,
      withCoordinator,
      connectionCount: () => {
        let n = dataConnections.size + coordinatorConnections.size
        for (const own of sessionConnections) n += own.size
        return n
      }
    }
  })

function shuffle<A>(xs: Array<A>): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const t = xs[i]
    xs[i] = xs[j]
    xs[j] = t
  }
}

export type ClusterImpl = Effect.Success<ReturnType<typeof makeCluster>>
export type { BrokerError }
