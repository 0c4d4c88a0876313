/**
 * The `Cluster` service: a Kafka cluster as one thing. Bootstraps from a list of addresses, keeps
 * a metadata cache (brokers, topics, partitions, leaders) refreshed periodically and on demand
 * (concurrent refreshes coalesced), shares one connection per broker, finds partition leaders and
 * group / transaction coordinators, and retries operations by the `RetryPolicy` when leaders or
 * coordinators move. A client whose requests may be held by the broker takes connections of its
 * own, for its scope: a consumer's fetcher (a Fetch long-polls) a `brokerSession`, a consumer group
 * member (its JoinGroup waits for the rebalance) a `coordinatorSession`.
 *
 * Layer: above Connection, under every client (checked by `npm run lint:cycles`). May import
 * Protocol and Connection; never Topic, a client (Consumer, Producer, Admin) or anything above.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cluster from "kpax/Cluster"
 *
 * const program = Effect.gen(function*() {
 *   const cluster = yield* Cluster.Cluster
 *   const leader = yield* cluster.leader("orders", 0)
 *   console.log(`orders-0 is led by broker ${leader.nodeId}`)
 * }).pipe(Effect.provide(Cluster.layer({ bootstrap: ["localhost:9092"] })))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer } from "effect"
import type { Scope } from "effect"
import * as Broker from "../Connection/Broker.ts"
import type { BrokerService } from "../Connection/Broker.ts"
import type { KafkaError } from "../Protocol/Errors.ts"
import { InvalidClusterConfig } from "./Errors.ts"
import type { ClusterError } from "./Errors.ts"
import { makeCluster } from "./internal/cluster.ts"
import type { BrokerSession, Connect, CoordinatorKey, CoordinatorSession, Leader, Located, NodeAddress } from "./internal/cluster.ts"
import type { BrokerNode, ClusterMetadata, PartitionMetadata, TopicMetadata } from "./internal/metadata.ts"
import { parseAddress } from "./internal/metadata.ts"

export type { BrokerNode, BrokerSession, ClusterMetadata, Connect, CoordinatorKey, CoordinatorSession, Leader, Located, NodeAddress, PartitionMetadata, TopicMetadata }
export { BrokerUnavailable, InvalidClusterConfig } from "./Errors.ts"
export type { ClusterError } from "./Errors.ts"

/**
 * What the `Cluster` service offers.
 *
 * @since 0.1.0
 */
export interface ClusterService {
  /** The current metadata snapshot, synchronously (for hot paths such as partitioning a record). */
  readonly snapshot: () => ClusterMetadata
  /** Refreshes metadata for every topic of interest plus `topics`; coalesced with refreshes in flight. */
  readonly refresh: (topics?: ReadonlyArray<string>) => Effect.Effect<ClusterMetadata, ClusterError>
  /** Stops following topics (deleted ones, say): they leave the cache and periodic refreshes. */
  readonly forget: (topics: ReadonlyArray<string>) => Effect.Effect<void>
  /** Every topic of the cluster (a Metadata request for all topics). */
  readonly listTopics: Effect.Effect<ReadonlyArray<TopicMetadata>, ClusterError>
  /** One topic's metadata, fetched if not cached; `UNKNOWN_TOPIC_OR_PARTITION` when it does not exist. */
  readonly topic: (topic: string) => Effect.Effect<TopicMetadata, ClusterError>
  /** One topic's partitions (by index). */
  readonly partitions: (topic: string) => Effect.Effect<ReadonlyArray<PartitionMetadata>, ClusterError>
  /** The shared connection to a broker by node id. */
  readonly broker: (nodeId: number) => Effect.Effect<BrokerService, ClusterError>
  /** Some reachable broker, for cluster-wide requests. */
  readonly anyBroker: Effect.Effect<Located, ClusterError>
  /** The leader of a partition and the connection to it. */
  readonly leader: (topic: string, partition: number) => Effect.Effect<Leader, ClusterError>
  /** Marks a partition's leader unknown (optionally only if it is still `nodeId`); the next lookup refreshes. */
  readonly leaderIsDown: (topic: string, partition: number, nodeId?: number) => Effect.Effect<void>
  /** Marks every partition led by a broker leaderless (the broker is gone). */
  readonly brokerIsDown: (nodeId: number) => Effect.Effect<void>
  /**
   * The coordinator of a consumer group or transactional id and the cluster's shared connection to
   * it (one per coordinator broker, apart from the data connections). For requests the broker
   * answers at once (admin, offsets, transactions); a group member uses a `coordinatorSession`.
   */
  readonly coordinator: (key: CoordinatorKey) => Effect.Effect<Located, ClusterError>
  /** Finds several coordinators with batched FindCoordinator requests (v4+), keyed `g:<group>` / `t:<id>`. */
  readonly coordinators: (keys: ReadonlyArray<CoordinatorKey>) => Effect.Effect<ReadonlyMap<string, NodeAddress | KafkaError>, ClusterError>
  /** Forgets a coordinator; the next lookup asks the cluster again. */
  readonly coordinatorIsDown: (key: CoordinatorKey) => Effect.Effect<void>
  /**
   * A coordinator session for the current scope: its own connection to `key`'s coordinator,
   * opened on first use, following the coordinator when it moves, closed with the scope. A broker
   * answers one request per connection at a time and holds a JoinGroup until the rebalance is
   * done, so every consumer-group membership talks to its coordinator through sessions of its own:
   * two members on one `Cluster` do not wait behind each other's JoinGroup. The lookup cache
   * (FindCoordinator) stays shared.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import * as Cluster from "kpax/Cluster"
   * import { LeaveGroup } from "kpax/Protocol"
   *
   * const leave = (memberId: string) =>
   *   Effect.scoped(Effect.gen(function*() {
   *     const cluster = yield* Cluster.Cluster
   *     const session = yield* cluster.coordinatorSession({ type: "group", key: "billing" })
   *     yield* session.withCoordinator((c) =>
   *       c.broker.request(LeaveGroup, { groupId: "billing", members: [{ memberId, groupInstanceId: null, reason: null }] }))
   *   })) // the session's connection is closed here
   * ```
   */
  readonly coordinatorSession: (key: CoordinatorKey) => Effect.Effect<CoordinatorSession, never, Scope.Scope>
  /**
   * A broker session for the current scope: connections of its own to the brokers, each opened on
   * first use, closed when the broker leaves the cluster, on `release`, and with the scope. A
   * broker answers one request per connection at a time and holds a Fetch for up to its `maxWait`,
   * so every consumer (`Consumer`, `PartitionConsumer`) fetches through a session of its own: a
   * Producer on the same `Cluster` does not wait behind its long polls, nor do two consumers
   * behind each other's. Metadata and leader lookups stay shared; requests a broker answers at
   * once (Produce, ListOffsets, Metadata) do well on the shared connections (`broker`, `leader`).
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import * as Cluster from "kpax/Cluster"
   *
   * const ownConnection = Effect.scoped(Effect.gen(function*() {
   *   const cluster = yield* Cluster.Cluster
   *   const session = yield* cluster.brokerSession
   *   const leader = yield* session.leader("orders", 0) // not the cluster's shared connection
   *   console.log(`orders-0 is led by broker ${leader.nodeId} (${leader.broker.address})`)
   * })) // the session's connections are closed here
   * ```
   */
  readonly brokerSession: Effect.Effect<BrokerSession, never, Scope.Scope>
  /**
   * Runs `f` against a partition's leader, retrying by the `RetryPolicy`: when the leader moved,
   * metadata is refreshed and `f` runs against the new leader.
   */
  readonly withLeader: <A, E, R>(
    topic: string,
    partition: number,
    f: (leader: Leader) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ClusterError, R>
  /** Runs `f` against a coordinator, looking it up again when it moved, by the `RetryPolicy`. */
  readonly withCoordinator: <A, E, R>(
    key: CoordinatorKey,
    f: (coordinator: Located) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ClusterError, R>
  /** Number of open broker connections (bootstrap ones until the first metadata, and those of open broker and coordinator sessions). */
  readonly connectionCount: () => number
}

/**
 * The `Cluster` service tag.
 *
 * @since 0.1.0
 */
export class Cluster extends Context.Service<Cluster, ClusterService>()("kpax/Cluster") {}

/**
 * Settings of a cluster client. Connection settings (client id, TLS, SASL, time-outs) apply to
 * every broker connection.
 *
 * @since 0.1.0
 */
export interface ClusterOptions extends Omit<Broker.BrokerOptions, "host" | "port" | "nodeId"> {
  /** Bootstrap addresses, `host:port`. At least one. */
  readonly bootstrap: ReadonlyArray<string>
  /** Metadata is refreshed at least this often (default 5 minutes, as `metadata.max.age.ms`). */
  readonly metadataMaxAge?: Duration.Input | undefined
  /** Ask brokers to create topics on first use, if they allow it (default `false`). */
  readonly allowAutoTopicCreation?: boolean | undefined
  /** How to open a broker connection; default `Broker.make` with these options (tests swap it). */
  readonly connect?: Connect | undefined
}

/**
 * A cluster client living in the current scope. Fails with `InvalidClusterConfig` for bad
 * bootstrap addresses; connects lazily (the first operation bootstraps).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cluster from "kpax/Cluster"
 *
 * const topics = Effect.scoped(Effect.gen(function*() {
 *   const cluster = yield* Cluster.make({ bootstrap: ["localhost:9092"] })
 *   return yield* cluster.listTopics
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: ClusterOptions): Effect.Effect<ClusterService, InvalidClusterConfig, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.bootstrap.length === 0) {
      return yield* Effect.fail(new InvalidClusterConfig({ message: "no bootstrap address given (expected host:port)" }))
    }
    const bootstrap: Array<{ host: string; port: number }> = []
    for (const a of options.bootstrap) {
      const parsed = parseAddress(a)
      if (parsed === undefined) {
        return yield* Effect.fail(new InvalidClusterConfig({ message: `bad bootstrap address ${JSON.stringify(a)} (expected host:port)` }))
      }
      bootstrap.push(parsed)
    }
    const { bootstrap: _b, metadataMaxAge, allowAutoTopicCreation, connect, ...brokerOptions } = options
    const connectDefault: Connect = (node) => Broker.make({ ...brokerOptions, host: node.host, port: node.port, nodeId: node.nodeId })
    return yield* makeCluster({
      bootstrap,
      connect: connect ?? connectDefault,
      metadataMaxAge: Duration.fromInputUnsafe(metadataMaxAge ?? "5 minutes"),
      allowAutoTopicCreation: allowAutoTopicCreation ?? false
    })
  })

/**
 * A layer providing `Cluster`.
 *
 * @example
 * ```ts
 * import * as Cluster from "kpax/Cluster"
 *
 * const Live = Cluster.layer({ bootstrap: ["kafka-1:9092", "kafka-2:9092"], clientId: "billing" })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: ClusterOptions): Layer.Layer<Cluster, InvalidClusterConfig> =>
  Layer.effect(Cluster, make(options))
