/**
 * An in-memory Kafka cluster for tests: N brokers with topics, partitions, leaders and replicas,
 * a log per partition, idempotent and transactional producers, consumer groups (classic and
 * KIP-848), share groups (KIP-932) and committed offsets — behind the real `Cluster` (through its
 * `connect` seam), so the real Producer, Consumer, ShareConsumer and Admin code runs against it
 * without a broker. Requests and responses go through the wire codecs at the negotiated version,
 * as over a socket.
 *
 * Share groups behave as Kafka 4.4's: ShareGroupHeartbeat membership with the simple assignor,
 * ShareFetch share sessions (epochs, piggy-backed acknowledgements, long polls), acquisition locks
 * with delivery counts, accept / release / reject / renew acknowledgements (a record no longer
 * held by the member is INVALID_RECORD_STATE), the delivery limit (archived past it), release of a
 * member's records when its share session closes (epoch -1, or its connection: not when it only
 * leaves the group, as on Kafka 4.4), and the share-group offsets
 * (Describe / Alter / DeleteShareGroupOffsets, ListGroups, DeleteGroups). Group configs are set
 * with IncrementalAlterConfigs on the GROUP resource; the ones applied are
 * `share.auto.offset.reset`, `share.record.lock.duration.ms`, `share.delivery.count.limit`,
 * `share.session.timeout.ms`, `share.heartbeat.interval.ms`, `share.partition.max.record.locks`
 * and `share.isolation.level` (read_committed: up to the last stable offset, aborted transactions
 * archived); the other group configs are stored and described only. Their broker defaults are
 * `Options`' `share*` settings.
 *
 * A `Control` handle injects faults (error codes, latency, dropped connections, brokers down,
 * leaders moving) and inspects the cluster (logs, offsets, groups, the requests it saw). Timers
 * (fetch long-polls, session and transaction timeouts, acquisition locks, injected latency) run
 * on Effect's `Clock`, so under `it.effect` they advance with `TestClock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InMemory } from "kpax/Testing"
 * import * as Producer from "kpax/Producer"
 *
 * const program = Effect.gen(function*() {
 *   const kafka = yield* InMemory.Control
 *   yield* kafka.injectError("Produce", { code: "NOT_LEADER_OR_FOLLOWER", times: 2 })
 *   const producer = yield* Producer.make()
 *   yield* producer.send({ topic: "orders", value: new TextEncoder().encode("hi") })
 *   const records = yield* kafka.records("orders", 0)   // [the record, at offset 0]
 * }).pipe(Effect.provide(InMemory.layer({ brokers: 3, topics: [{ name: "orders", partitions: 1 }] })))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer } from "effect"
import type { Scope } from "effect"
import { Cluster, make as makeCluster } from "../Cluster/Cluster.ts"
import type { ClusterOptions, Connect } from "../Cluster/Cluster.ts"
import type { AnyApi } from "../Protocol/Api.ts"
import { ApisByName } from "../Protocol/Api.ts"
import { ErrorCode, errorForCode, kafkaError } from "../Protocol/Errors.ts"
import type { ErrorName, KafkaError } from "../Protocol/Errors.ts"
import type { KafkaRecord, RecordBatch } from "../Protocol/RecordBatch.ts"
import { makeConnect } from "./internal/connection.ts"
import { Kafka } from "./internal/kafka.ts"
import type { LoggedRequest } from "./internal/kafka.ts"
import { Scheduler } from "./internal/scheduler.ts"
import { describeGroup, describeSharePartition, readRecords } from "./internal/inspect.ts"
import type { GroupInfo, SharePartitionInfo } from "./internal/inspect.ts"
import type { InFlightRecord } from "./internal/sharePartition.ts"

export type { GroupInfo, InFlightRecord, LoggedRequest, SharePartitionInfo }

/**
 * The APIs the in-memory broker answers (the others are `UnsupportedVersionError`, as with a
 * broker that does not know them).
 *
 * @example
 * ```ts
 * yield* kafka.injectError("FindCoordinator" satisfies InMemory.ApiName, { code: "COORDINATOR_LOAD_IN_PROGRESS", times: 2 })
 * ```
 *
 * @since 0.1.0
 */
export type ApiName =
  | "ApiVersions" | "Metadata" | "DescribeCluster" | "FindCoordinator"
  | "Produce" | "Fetch" | "ListOffsets" | "OffsetForLeaderEpoch" | "DeleteRecords"
  | "CreateTopics" | "DeleteTopics" | "CreatePartitions" | "DescribeConfigs" | "AlterConfigs" | "IncrementalAlterConfigs"
  | "JoinGroup" | "SyncGroup" | "Heartbeat" | "LeaveGroup" | "ConsumerGroupHeartbeat" | "ConsumerGroupDescribe"
  | "OffsetCommit" | "OffsetFetch" | "OffsetDelete" | "ListGroups" | "DescribeGroups" | "DeleteGroups"
  | "InitProducerId" | "AddPartitionsToTxn" | "AddOffsetsToTxn" | "TxnOffsetCommit" | "EndTxn"
  | "DescribeProducers" | "ListTransactions" | "DescribeTransactions"
  | "DescribeAcls" | "CreateAcls" | "DeleteAcls"
  | "ShareGroupHeartbeat" | "ShareGroupDescribe" | "ShareFetch" | "ShareAcknowledge"
  | "DescribeShareGroupOffsets" | "AlterShareGroupOffsets" | "DeleteShareGroupOffsets"

/**
 * A topic to create with the cluster (or later with `Control.createTopic`).
 *
 * @example
 * ```ts
 * const topic: InMemory.TopicOptions = { name: "events", partitions: 6, replicationFactor: 3, configs: { "cleanup.policy": "compact" } }
 * ```
 *
 * @since 0.1.0
 */
export interface TopicOptions {
  readonly name: string
  /** Default: the cluster's `defaultPartitions` (1). */
  readonly partitions?: number | undefined
  /** Default: the cluster's `defaultReplicationFactor`. */
  readonly replicationFactor?: number | undefined
  /** Topic configs, e.g. `{ "message.timestamp.type": "LogAppendTime", "max.message.bytes": "2000" }`. */
  readonly configs?: Readonly<Record<string, string>> | undefined
}

/**
 * Settings of an in-memory cluster. Everything is optional.
 *
 * @example
 * ```ts
 * const options: InMemory.Options = {
 *   brokers: 3,
 *   topics: [{ name: "orders", partitions: 3 }],
 *   apiVersions: { Fetch: { max: 12 } },          // an older broker: Fetch by topic name
 *   transactionMarkerDelay: "20 millis"            // markers land a moment after EndTxn, as in Kafka
 * }
 * ```
 *
 * @since 0.1.0
 */
export interface Options {
  /** Number of brokers (default 3), node ids from `firstNodeId` (default 1), ports from 9092. */
  readonly brokers?: number | undefined
  readonly firstNodeId?: number | undefined
  /** Rack of each broker, by position (e.g. `["a", "b", "c"]`). */
  readonly racks?: ReadonlyArray<string | null> | undefined
  readonly topics?: ReadonlyArray<TopicOptions> | undefined
  /** Create unknown topics on Metadata requests that allow it (default `false`). */
  readonly autoCreateTopics?: boolean | undefined
  /** Partitions of topics created without a count (default 1). */
  readonly defaultPartitions?: number | undefined
  /** Replication factor of topics created without one (default: min(3, brokers)). */
  readonly defaultReplicationFactor?: number | undefined
  /** Partitions of `__consumer_offsets` and `__transaction_state` (default 50, as Kafka). */
  readonly internalTopicPartitions?: number | undefined
  readonly clusterId?: string | undefined
  /** `group.min.session.timeout.ms` / `group.max.session.timeout.ms` (defaults 6 s / 30 min). */
  readonly groupMinSessionTimeout?: Duration.Input | undefined
  readonly groupMaxSessionTimeout?: Duration.Input | undefined
  /** `group.initial.rebalance.delay.ms` (default 0 here; Kafka's default is 3 s). */
  readonly groupInitialRebalanceDelay?: Duration.Input | undefined
  /** KIP-848 groups: session timeout (default 45 s) and heartbeat interval (default 5 s). */
  readonly consumerSessionTimeout?: Duration.Input | undefined
  readonly consumerHeartbeatInterval?: Duration.Input | undefined
  /**
   * Share groups (KIP-932): the broker defaults of the group configs `share.session.timeout.ms`
   * (45 s), `share.heartbeat.interval.ms` (5 s), `share.record.lock.duration.ms` (the acquisition
   * lock, `group.share.record.lock.duration.ms`, 30 s), `share.delivery.count.limit`
   * (`group.share.delivery.count.limit`, 5) and `share.partition.max.record.locks` (2000). A
   * group sets its own with IncrementalAlterConfigs on its GROUP resource.
   */
  readonly shareSessionTimeout?: Duration.Input | undefined
  readonly shareHeartbeatInterval?: Duration.Input | undefined
  readonly shareRecordLockDuration?: Duration.Input | undefined
  readonly shareDeliveryCountLimit?: number | undefined
  readonly sharePartitionMaxRecordLocks?: number | undefined
  /**
   * The range a group's `share.record.lock.duration.ms` may be set in
   * (`group.share.min.record.lock.duration.ms` / `…max…`, 15 s / 60 s as Kafka). Lower the minimum
   * to test lock expiry with short locks.
   */
  readonly shareMinRecordLockDuration?: Duration.Input | undefined
  readonly shareMaxRecordLockDuration?: Duration.Input | undefined
  /** Narrow the versions the brokers offer, e.g. `{ FindCoordinator: { max: 3 } }` for an older broker. */
  readonly apiVersions?: Readonly<Partial<Record<ApiName, { readonly min?: number; readonly max?: number }>>> | undefined
  /** Round-trip requests and responses through the wire codecs (default `true`). */
  readonly wire?: boolean | undefined
  /** Check requests against their Schema as the real connection does (default `true`). */
  readonly validateRequests?: boolean | undefined
  /**
   * How long a new connection takes to be set up (TCP connect, ApiVersions; default 0): requests
   * made meanwhile wait, then take their places in the connection's queue in the order they resume.
   */
  readonly connectionSetup?: Duration.Input | undefined
  /**
   * Time between EndTxn's answer and the transaction's markers (default 0). Kafka answers EndTxn
   * first and writes the markers after: meanwhile read_committed readers still stop at the
   * transaction, its offsets are not visible (OffsetFetch with requireStable says
   * UNSTABLE_OFFSET_COMMIT), and the coordinator answers CONCURRENT_TRANSACTIONS.
   */
  readonly transactionMarkerDelay?: Duration.Input | undefined
  /**
   * Leaders point consumers that give their rack at an in-sync replica in that rack (KIP-392, as
   * `replica.selector.class=RackAwareReplicaSelector`; default `false`: no preferred replica).
   */
  readonly rackAwareReplicaSelector?: boolean | undefined
  /** How many of the latest requests `Control.requests` keeps (default 10,000). */
  readonly maxLoggedRequests?: number | undefined
  /** Default request timeout of connections (default 30 s). */
  readonly requestTimeout?: Duration.Input | undefined
  /** The client id the brokers see (member ids of groups start with it; default `"kpax"`). */
  readonly clientId?: string | undefined
}

/**
 * Controls and inspects an in-memory cluster. Every operation is an Effect.
 *
 * @example
 * ```ts
 * const kafka = yield* InMemory.Control
 * yield* kafka.moveLeader("orders", 0, 2)
 * const produces = yield* kafka.requests({ api: "Produce" })
 * const log = yield* kafka.records("orders", 0, { isolation: "read_committed" })
 * ```
 *
 * @since 0.1.0
 */
export interface ControlService {
  /** `host:port` of every broker. */
  readonly bootstrap: ReadonlyArray<string>
  /** The `connect` function for `Cluster.make` / `Layers.clusterWith`. */
  readonly connect: Connect
  /** Node ids of the brokers (down ones included). */
  readonly nodeIds: ReadonlyArray<number>
  /** Creates a topic (fails with `TOPIC_ALREADY_EXISTS`, `INVALID_REPLICATION_FACTOR`, …). */
  readonly createTopic: (name: string, options?: Omit<TopicOptions, "name">) => Effect.Effect<void, KafkaError>
  readonly deleteTopic: (name: string) => Effect.Effect<void, KafkaError>
  /**
   * Answers `api` with `code` instead of doing the work, `times` times (default 1; `Infinity` for
   * always), for every partition of the request or only `topic` / `partition`, on every broker or
   * only `nodeId`. One request takes one use however many of its partitions were hit. ShareFetch
   * and ShareAcknowledge answer a rule without `topic` at the top level (e.g.
   * `SHARE_SESSION_NOT_FOUND`, `INVALID_SHARE_SESSION_EPOCH`), one with a `topic` on its partitions.
   */
  readonly injectError: (
    api: ApiName | AnyApi,
    options: {
      readonly code: ErrorName | number
      readonly times?: number | undefined
      readonly topic?: string | undefined
      readonly partition?: number | undefined
      readonly nodeId?: number | undefined
    }
  ) => Effect.Effect<void>
  /** Adds latency to `api` (by the Effect clock), `times` times (default always). */
  readonly delay: (
    api: ApiName | AnyApi,
    duration: Duration.Input,
    options?: { readonly times?: number | undefined; readonly nodeId?: number | undefined }
  ) => Effect.Effect<void>
  /** Removes every injected error and delay. */
  readonly clearFaults: Effect.Effect<void>
  /** Closes every client connection to a broker: requests in flight fail with `ConnectionError`. */
  readonly dropConnections: (nodeId: number) => Effect.Effect<void>
  /**
   * Stops (`true`) or restarts a broker. A stopped broker refuses connections and leaves the
   * metadata; its partitions fail over to another in-sync replica, or go offline.
   */
  readonly setBrokerDown: (nodeId: number, down: boolean) => Effect.Effect<void>
  /** Moves a partition's leadership (new leader epoch); the old leader answers NOT_LEADER_OR_FOLLOWER. */
  readonly moveLeader: (topic: string, partition: number, toNode: number) => Effect.Effect<void, KafkaError>
  /** The current leader of a partition (-1: none). */
  readonly leaderOf: (topic: string, partition: number) => Effect.Effect<number, KafkaError>
  /** The coordinator node of a group or transactional id (-1: none). */
  readonly coordinatorOf: (type: "group" | "transaction", key: string) => Effect.Effect<number>
  /** Moves a group's or transactional id's coordinator (the leader of its internal partition). */
  readonly moveCoordinator: (type: "group" | "transaction", key: string, toNode: number) => Effect.Effect<void, KafkaError>
  /**
   * The records of a partition's log (no control records). With `read_committed`, records of
   * aborted transactions and of open ones are left out, as a read_committed consumer sees them.
   */
  readonly records: (
    topic: string,
    partition: number,
    options?: { readonly isolation?: "read_uncommitted" | "read_committed" | undefined }
  ) => Effect.Effect<ReadonlyArray<KafkaRecord>, KafkaError>
  /** Every stored batch of a partition, decoded (control batches included). */
  readonly batches: (topic: string, partition: number) => Effect.Effect<ReadonlyArray<RecordBatch>, KafkaError>
  readonly offsets: (topic: string, partition: number) => Effect.Effect<{
    readonly logStartOffset: bigint
    readonly highWatermark: bigint
    readonly lastStableOffset: bigint
  }, KafkaError>
  /** A group's committed offset for a partition, if any. */
  readonly committed: (groupId: string, topic: string, partition: number) => Effect.Effect<bigint | undefined>
  /** A group's state and members (classic, consumer or share group), if the group exists. */
  readonly group: (groupId: string) => Effect.Effect<GroupInfo | undefined>
  /** A share group's in-flight records of a partition (states, delivery counts, owners), if it has state there. */
  readonly sharePartition: (groupId: string, topic: string, partition: number) => Effect.Effect<SharePartitionInfo | undefined>
  /** The requests seen so far (the latest `maxLoggedRequests`; optionally of one API or one broker), in arrival order. */
  readonly requests: (filter?: { readonly api?: ApiName | AnyApi | undefined; readonly nodeId?: number | undefined }) => Effect.Effect<ReadonlyArray<LoggedRequest>>
  readonly clearRequests: Effect.Effect<void>
}

/**
 * The `Control` service of an in-memory cluster, provided by `layer`.
 *
 * @example
 * ```ts
 * const kafka = yield* InMemory.Control
 * yield* kafka.setBrokerDown(1, true)
 * ```
 *
 * @since 0.1.0
 */
export class Control extends Context.Service<Control, ControlService>()("kpax/Testing/InMemory/Control") {}

const ms = (d: Duration.Input | undefined, dflt: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(d ?? dflt))

const apiKeyOf = (api: ApiName | AnyApi): number => {
  if (typeof api !== "string") return api.key
  const found = ApisByName[api]
  if (found === undefined) throw new Error(`unknown API ${api}`)
  return found.key
}

const codeOf = (code: ErrorName | number): number => (typeof code === "number" ? code : ErrorCode[code])

const failWith = (code: number, message: string): KafkaError => errorForCode(code, message) ?? kafkaError("UNKNOWN_SERVER_ERROR", message)

/**
 * An in-memory cluster living in the current scope, with its `Control`. Use `connect` to put a
 * `Cluster` on it (or use `layer`, which does that).
 *
 * @example
 * ```ts
 * const kafka = yield* InMemory.make({ brokers: 1, topics: [{ name: "t", partitions: 3 }] })
 * const cluster = yield* Cluster.make({ bootstrap: kafka.bootstrap, connect: kafka.connect })
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<ControlService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const brokers = options.brokers ?? 3
    if (!Number.isInteger(brokers) || brokers < 1) return yield* Effect.die(new Error(`brokers must be a positive integer, not ${brokers}`))
    const context = yield* Effect.context<never>()
    const clock = yield* Effect.clockWith(Effect.succeed)
    const scheduler = new Scheduler(context, clock)
    const versions = new Map<number, { min: number; max: number }>()
    for (const [name, r] of Object.entries(options.apiVersions ?? {})) {
      if (r === undefined) continue
      versions.set(apiKeyOf(name as ApiName), { min: r.min ?? 0, max: r.max ?? 32767 })
    }
    const kafka = new Kafka({
      state: {
        brokers,
        firstNodeId: options.firstNodeId ?? 1,
        host: "in-memory",
        basePort: 9092,
        racks: options.racks,
        clusterId: options.clusterId ?? "in-memory-kpax-cluster",
        defaultPartitions: options.defaultPartitions ?? 1,
        defaultReplicationFactor: options.defaultReplicationFactor ?? Math.min(3, brokers),
        internalTopicPartitions: options.internalTopicPartitions ?? 50
      },
      autoCreateTopics: options.autoCreateTopics ?? false,
      groups: {
        minSessionTimeoutMs: ms(options.groupMinSessionTimeout, "6 seconds"),
        maxSessionTimeoutMs: ms(options.groupMaxSessionTimeout, "30 minutes"),
        initialRebalanceDelayMs: ms(options.groupInitialRebalanceDelay, 0)
      },
      consumerGroups: {
        sessionTimeoutMs: ms(options.consumerSessionTimeout, "45 seconds"),
        heartbeatIntervalMs: ms(options.consumerHeartbeatInterval, "5 seconds")
      },
      shareGroups: {
        sessionTimeoutMs: ms(options.shareSessionTimeout, "45 seconds"),
        heartbeatIntervalMs: ms(options.shareHeartbeatInterval, "5 seconds"),
        recordLockDurationMs: ms(options.shareRecordLockDuration, "30 seconds"),
        minRecordLockDurationMs: ms(options.shareMinRecordLockDuration, "15 seconds"),
        maxRecordLockDurationMs: ms(options.shareMaxRecordLockDuration, "60 seconds"),
        deliveryCountLimit: options.shareDeliveryCountLimit ?? 5,
        partitionMaxRecordLocks: options.sharePartitionMaxRecordLocks ?? 2000
      },
      versions,
      wire: options.wire ?? true,
      validateRequests: options.validateRequests ?? true,
      requestTimeoutMs: ms(options.requestTimeout, "30 seconds"),
      clientId: options.clientId ?? "kpax",
      connectionSetupMs: ms(options.connectionSetup, 0),
      transactionMarkerDelayMs: ms(options.transactionMarkerDelay, 0),
      maxLoggedRequests: Math.max(1, options.maxLoggedRequests ?? 10_000),
      rackAwareReplicaSelector: options.rackAwareReplicaSelector ?? false
    }, scheduler)
    yield* Effect.addFinalizer(() => Effect.sync(() => kafka.shutdown()))

    const createTopic = (name: string, o: Omit<TopicOptions, "name"> = {}) =>
      Effect.suspend(() => {
        const r = kafka.state.createTopic({
          name,
          partitions: o.partitions ?? -1,
          replicationFactor: o.replicationFactor ?? -1,
          configs: new Map(Object.entries(o.configs ?? {}))
        })
        return r.ok ? Effect.void : Effect.fail(failWith(r.code, r.message))
      })
    for (const t of options.topics ?? []) yield* Effect.orDie(createTopic(t.name, t))

    const partitionOf = (topic: string, partition: number) =>
      Effect.suspend(() => {
        const p = kafka.state.partition(topic, partition)
        return p === undefined ? Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `${topic}-${partition} does not exist`)) : Effect.succeed(p)
      })

    const service: ControlService = {
      bootstrap: [...kafka.state.brokers.values()].map((b) => `${b.host}:${b.port}`),
      connect: makeConnect(kafka),
      nodeIds: [...kafka.state.brokers.keys()],
      createTopic,
      deleteTopic: (name) =>
        Effect.suspend(() => {
          const t = kafka.state.topics.get(name)
          if (t === undefined) return Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`))
          kafka.state.deleteTopic(t)
          return Effect.void
        }),
      injectError: (api, o) =>
        Effect.sync(() =>
          kafka.faults.addError({
            apiKey: apiKeyOf(api),
            code: codeOf(o.code),
            remaining: o.times ?? 1,
            topic: o.topic,
            partition: o.partition,
            nodeId: o.nodeId
          })
        ),
      delay: (api, duration, o = {}) =>
        Effect.sync(() =>
          kafka.faults.addDelay({ apiKey: apiKeyOf(api), ms: ms(duration, 0), remaining: o.times ?? Infinity, nodeId: o.nodeId })
        ),
      clearFaults: Effect.sync(() => kafka.faults.clear()),
      dropConnections: (nodeId) => Effect.sync(() => kafka.dropConnections(nodeId, `connection to broker ${nodeId} dropped (injected)`)),
      setBrokerDown: (nodeId, down) =>
        Effect.sync(() => {
          if (down) {
            kafka.state.brokerDown(nodeId)
            kafka.dropConnections(nodeId, `broker ${nodeId} went down`)
          } else kafka.state.brokerUp(nodeId)
        }),
      moveLeader: (topic, partition, toNode) =>
        Effect.suspend(() => {
          const r = kafka.state.moveLeader(topic, partition, toNode)
          return r.ok ? Effect.void : Effect.fail(failWith(r.code, r.message))
        }),
      leaderOf: (topic, partition) => Effect.map(partitionOf(topic, partition), (p) => p.leader),
      coordinatorOf: (type, key) => Effect.sync(() => kafka.state.coordinatorOf(type, key)),
      moveCoordinator: (type, key, toNode) =>
        Effect.suspend(() => {
          const p = kafka.state.coordinatorPartition(type, key)
          const r = kafka.state.moveLeader(p.topic.name, p.index, toNode)
          return r.ok ? Effect.void : Effect.fail(failWith(r.code, r.message))
        }),
      records: (topic, partition, o = {}) => Effect.map(partitionOf(topic, partition), (p) => readRecords(p.log, o.isolation === "read_committed")),
      batches: (topic, partition) => Effect.map(partitionOf(topic, partition), (p) => p.log.decoded()),
      offsets: (topic, partition) =>
        Effect.map(partitionOf(topic, partition), (p) => ({
          logStartOffset: p.log.logStartOffset,
          highWatermark: p.log.highWatermark,
          lastStableOffset: p.log.lastStableOffset
        })),
      committed: (groupId, topic, partition) => Effect.sync(() => kafka.offsets.get(groupId, topic, partition)?.offset),
      group: (groupId) => Effect.sync(() => describeGroup(kafka, groupId)),
      sharePartition: (groupId, topic, partition) => Effect.sync(() => describeSharePartition(kafka, groupId, topic, partition)),
      requests: (filter = {}) =>
        Effect.sync(() => {
          const key = filter.api === undefined ? undefined : apiKeyOf(filter.api)
          return kafka.requests.filter((r) => (key === undefined || r.apiKey === key) && (filter.nodeId === undefined || r.nodeId === filter.nodeId))
        }),
      clearRequests: Effect.sync(() => {
        kafka.requests.length = 0
      })
    }
    return service
  })

/**
 * A `Cluster` on a new in-memory cluster, and the cluster's `Control`. `cluster` passes settings
 * to the `Cluster` (metadata max age, auto-creation, …).
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 *
 * it.effect("sends", () =>
 *   Effect.gen(function*() {
 *     const producer = yield* Producer.make()
 *     yield* producer.send({ topic: "t", value: null })
 *   }).pipe(Effect.provide(InMemory.layer({ topics: [{ name: "t" }] }))))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options = {},
  cluster: Partial<Omit<ClusterOptions, "bootstrap" | "connect">> = {}
): Layer.Layer<Cluster | Control> => {
  const control = Layer.effect(Control, make(options))
  const clusterLayer = Layer.effect(
    Cluster,
    Effect.flatMap(Control, (c) =>
      Effect.orDie(makeCluster({ clientId: options.clientId ?? "kpax", ...cluster, bootstrap: c.bootstrap, connect: c.connect })))
  )
  return clusterLayer.pipe(Layer.provideMerge(control))
}
