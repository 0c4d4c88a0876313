/**
 * The Kafka consumer: a consumer-group member (`Group`) whose partitions are read by the fetcher
 * (`PartitionConsumer`) as an Effect `Stream`, with at-least-once commits.
 *
 * - `subscribe(options)`: one stream of the records of every partition the member owns, in offset
 *   order per partition. Process it with ordinary `Stream` operators.
 * - `partitionedStream(options)`: a stream of `[partition, records]` pairs, one per assigned
 *   partition, for processing partitions in parallel with order kept within each; a partition's
 *   stream ends when the partition is revoked or lost.
 *
 * **At-least-once.** An offset is committed only once its record was processed:
 * - `ackMode: "onPull"` (default): the records a stream emitted count as processed once the stream
 *   pulls again: the next pull means the previous chunk went through the whole pipeline. This
 *   holds for pipelines that finish an element before asking for the next (`map`, `mapEffect`
 *   without concurrency, `tap`, `runForEach`, …); with buffering or concurrent stages
 *   (`buffer`, `mapEffect({ concurrency })`, `groupedWithin`, …) use `"manual"`.
 * - `ackMode: "manual"`: only records given to `ack` count (ack in offset order per partition).
 * Processed offsets are committed every `autoCommitInterval` (default 5 s; `autoCommit: false`
 * to only commit on `commit`), before a revoked partition is released (the membership waits for
 * it), and when the consumer closes. Partitions that were lost are not committed.
 *
 * **Rebalances.** Streams emit chunks of at most `maxPollRecords` (500) records, the partitions'
 * in turn. When partitions are revoked (classic eager or cooperative, KIP-848, or closing), the
 * streams get nothing more of them (fetched records not yet handed out are dropped) and the
 * revocation waits until what was handed out is processed (`onPull`: the next pull; `manual`: the
 * acks), at most the rebalance timeout less a margin; then it commits and releases them. So a
 * graceful rebalance processes no record twice. Released on the timeout, a partition's late acks
 * fail with `PartitionRevoked` and are never committed (commits carry the member's generation or
 * epoch, so the coordinator refuses stale ones too). A `partitioned` stream of a revoked
 * partition ends after its last records were processed. A stream that
 * ends (failure, interruption, `take`) puts the partitions it read back at their processed
 * offsets: what it did not finish is read again by the next stream, or by the next owner.
 *
 * **Consume-transform-produce (exactly once).** Per chunk (`Stream.chunks`), in one
 * `producer.transaction`: write the output, then
 * `producer.sendOffsets(offsets, consumer.groupMetadata(offsets))`; read the input with
 * `isolationLevel: "read_committed"` and `autoCommit: false`. With `onPull` the next pull comes
 * after the transaction, so a revocation waits for it; `groupMetadata` refuses partitions the
 * consumer gave up (`PartitionRevoked`), the coordinator refuses a stale generation
 * (`CommitFailed`), and the transaction aborts. A new owner starts at the committed offsets once
 * the transactions that wrote them are complete (OffsetFetch `requireStable`).
 *
 * On assignment a partition starts at the group's committed offset, else per `offsetReset`
 * (`"latest"` by default; `"none"` fails that partition's records with `NoOffsetForPartition`).
 * Closing the scope commits, leaves the group (after revoking, which commits too), stops fetching
 * and closes the connections it opened.
 *
 * Layer: a client on the Cluster (checked by `npm run lint:cycles`). May import Protocol,
 * Connection, Cluster and Topic; never Producer, Admin, SchemaRegistry or anything above. It sits
 * just below Producer and Admin, which use its group-coordinator helpers (`internal/groupErrors.ts`,
 * `internal/groupOffsets.ts`).
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import * as Cluster from "kpax/Cluster"
 * import * as Consumer from "kpax/Consumer"
 *
 * const program = Consumer.subscribe({ groupId: "billing", topics: ["orders"], offsetReset: "earliest" }).pipe(
 *   Stream.mapEffect((record) => handle(record)),
 *   Stream.runDrain,
 *   Effect.provide(Cluster.layer({ bootstrap: ["localhost:9092"] }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import { Cluster } from "../Cluster/Cluster.ts"
import { InvalidConsumerConfig, PartitionRevoked } from "./Errors.ts"
import type { ConsumerError, PartitionNotAssigned } from "./Errors.ts"
import * as Group from "./Group.ts"
import { makeEngine } from "./internal/consumer.ts"
import type { Membership } from "./internal/consumer.ts"
import { startFetcher } from "./internal/fetcher.ts"
import type { FetcherStats } from "./internal/fetcher.ts"
import type { StartPosition } from "./internal/partition.ts"
import { fromFetcher, resolveOptions as resolveFetchOptions } from "./PartitionConsumer.ts"
import type { PartitionConsumerOptions } from "./PartitionConsumer.ts"
import type { ConsumerRecord, TopicPartition } from "./Record.ts"

export * from "./Errors.ts"
export type { ConsumerBatch, ConsumerRecord, TopicPartition, TypedConsumerRecord } from "./Record.ts"
export { decode, decodeRecord, decodeResult, decodeSkipping } from "./Record.ts"
export type { FetcherStats, StartPosition }
export type { GroupError, GroupMembership } from "./Group.ts"

/**
 * Consumer settings: the group's (`groupId`, `topics` or `pattern`, protocol, timeouts, …), the
 * fetcher's (sizes, isolation, `offsetReset`, `rack`, …) and the commit policy. `rack` is also
 * the group member's rack; `retryBackoff` applies to fetching and to the group.
 *
 * @since 0.1.0
 */
export interface ConsumerOptions extends PartitionConsumerOptions, Omit<Group.GroupOptions, "onAssigned" | "onRevoked" | "onLost" | "rackId"> {
  /** When a record counts as processed: `"onPull"` (default) or `"manual"` (see the module doc). */
  readonly ackMode?: "onPull" | "manual" | undefined
  /** Commit processed offsets periodically (default `true`). */
  readonly autoCommit?: boolean | undefined
  /**
   * `false`: never commit — read as a member of the group (sharing its partitions, revocations
   * as usual) and leave its committed offsets as they are (default `true`).
   */
  readonly commitOffsets?: boolean | undefined
  /** How often (default 5 seconds, as `auto.commit.interval.ms`). */
  readonly autoCommitInterval?: Duration.Input | undefined
  /**
   * Most records per chunk the streams emit (default 500, as Java's `max.poll.records`). A
   * partition's fetched records are handed out in turns with the other partitions', at most this
   * many at a time; with `onPull` a chunk counts as processed at the next pull, so this bounds
   * what a revocation waits for and what is read again after a crash.
   */
  readonly maxPollRecords?: number | undefined
  /** Runs after the consumer started reading newly assigned partitions. */
  readonly onAssigned?: ((partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, unknown>) | undefined
  /** Runs after revoked partitions stopped and their processed offsets were committed. */
  readonly onRevoked?: ((partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, unknown>) | undefined
  /** Runs after lost partitions stopped (nothing is committed for them). */
  readonly onLost?: ((partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, unknown>) | undefined
}

/**
 * A running consumer.
 *
 * `records`, `partitioned` read the same partitions: run one of them at a time.
 *
 * @since 0.1.0
 */
export interface ConsumerService {
  /** Records of every partition the member owns. Fails when the membership ends for good. */
  readonly records: Stream.Stream<ConsumerRecord, ConsumerError | Group.GroupError>
  /** `[partition, records]` per assigned partition (the current ones first); each ends when its partition goes. */
  readonly partitioned: Stream.Stream<readonly [TopicPartition, Stream.Stream<ConsumerRecord, ConsumerError | Group.GroupError>], ConsumerError | Group.GroupError>
  /**
   * Marks records processed (`ackMode: "manual"`; with `"onPull"` it can only move further).
   * Fails with `PartitionRevoked` for a partition the consumer no longer owns (its revocation
   * timed out, or it was lost): such acks are never committed.
   */
  readonly ack: (records: ConsumerRecord | ReadonlyArray<ConsumerRecord>) => Effect.Effect<void, PartitionRevoked>
  /** Commits the processed offsets now. */
  readonly commit: Effect.Effect<void, Group.GroupError>
  /** The partitions the member owns. */
  readonly assignment: () => ReadonlyArray<TopicPartition>
  /** The offset of the next record the streams emit for a partition. */
  readonly position: (partition: TopicPartition) => bigint | undefined
  /** High watermark minus position (last stable offset for read_committed), as of the last fetch. */
  readonly lag: (partition: TopicPartition) => bigint | undefined
  /** Moves an owned partition; what is processed (and so committed) moves with it. */
  readonly seek: (partition: TopicPartition, position: StartPosition) => Effect.Effect<void, PartitionNotAssigned>
  readonly pause: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, PartitionNotAssigned>
  readonly resume: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, PartitionNotAssigned>
  /**
   * What `Producer.sendOffsets` takes to commit offsets of `partitions` in a transaction
   * (consume-transform-produce): the group id and the member's current generation (or epoch).
   * Fails with `PartitionRevoked` once the consumer no longer owns one of the partitions (revoked,
   * released when its revocation timed out, or lost). Give `sendOffsets` the Effect itself, not
   * its result: the producer reads it at each attempt (see `Producer.sendOffsets`).
   *
   * @example
   * ```ts
   * const offsets = [{ topic: r.topic, partition: r.partition, offset: r.offset + 1n }]
   * yield* producer.transaction(Effect.andThen(producer.send(transform(r)), producer.sendOffsets(offsets, consumer.groupMetadata(offsets))))
   * ```
   */
  readonly groupMetadata: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<Group.Generation, PartitionRevoked>
  /** The group membership (generation for transactional offset commits, assignment events). */
  readonly membership: Group.GroupMembership
  /** Fetched bytes waiting to be read. */
  readonly bufferedBytes: () => number
  readonly stats: () => FetcherStats
}

/**
 * The `Consumer` service tag.
 *
 * @since 0.1.0
 */
export class Consumer extends Context.Service<Consumer, ConsumerService>()("kpax/Consumer") {}

/**
 * A consumer living in the current scope, on the `Cluster` in context. Returns once it joined
 * (partitions arrive as the group assigns them).
 *
 * @example
 * ```ts
 * const consumer = yield* Consumer.make({ groupId: "billing", topics: ["orders"], ackMode: "manual" })
 * yield* consumer.records.pipe(
 *   Stream.mapEffect((r) => handle(r), { concurrency: 8 }), // keeps order
 *   Stream.mapEffect((r) => consumer.ack(r)),
 *   Stream.runDrain
 * )
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: ConsumerOptions): Effect.Effect<ConsumerService, Group.GroupError | InvalidConsumerConfig, Cluster | Scope.Scope> =>
  Effect.gen(function*() {
    const fetchSettings = yield* resolveFetchOptions(options)
    const ackMode = options.ackMode ?? "onPull"
    if (ackMode !== "onPull" && ackMode !== "manual") {
      return yield* Effect.fail(new InvalidConsumerConfig({ message: `ackMode must be "onPull" or "manual", not ${String(ackMode)}` }))
    }
    const maxPollRecords = options.maxPollRecords ?? 500
    if (!Number.isSafeInteger(maxPollRecords) || maxPollRecords < 1) {
      return yield* Effect.fail(new InvalidConsumerConfig({ message: `maxPollRecords must be a positive integer, not ${String(options.maxPollRecords)}` }))
    }
    // a revocation waits for the streams at most this long (the coordinator's rebalance timeout
    // bounds the whole hook: leave room for the commit)
    const rebalance = Duration.fromInput(options.rebalanceTimeout ?? "5 minutes")
    const rebalanceMs = rebalance._tag === "Some" ? Duration.toMillis(rebalance.value) : 300_000
    const revokeTimeoutMs = Math.max(0, rebalanceMs - Math.min(5000, rebalanceMs / 5))
    let autoCommitMs = 0
    if (options.autoCommit ?? true) {
      const d = Duration.fromInput(options.autoCommitInterval ?? "5 seconds")
      if (d._tag === "None" || !(Duration.toMillis(d.value) > 0)) {
        return yield* Effect.fail(new InvalidConsumerConfig({ message: `autoCommitInterval must be a positive duration, not ${String(options.autoCommitInterval)}` }))
      }
      autoCommitMs = Duration.toMillis(d.value)
    }
    const cluster = yield* Cluster
    const fetcher = yield* startFetcher(cluster, fetchSettings)
    if (fetcher.telemetry !== undefined) fetcher.telemetry.group = options.groupId

    // the membership exists only after `join`, but its hooks may run before `join` returns:
    // they hand it over
    let group: Group.GroupMembership | undefined
    const commits = options.commitOffsets ?? true
    const membership: Membership<Group.GroupError> = {
      commit: (offsets) => Effect.suspend(() => (group === undefined || !commits ? Effect.void : group.commit(offsets))),
      committed: (partitions) =>
        Effect.suspend(() =>
          group === undefined
            ? Effect.succeed(partitions.map((tp) => ({ ...tp, offset: -1n })))
            : Effect.map(group.committed(partitions), (m) =>
              partitions.map((tp) => ({ ...tp, offset: m.get(Group.topicPartitionKey(tp))?.offset ?? -1n })))
        )
    }
    const engine = yield* makeEngine(fetcher, membership, { ackMode, autoCommitMs, offsetReset: fetchSettings.offsetReset, maxPollRecords, revokeTimeoutMs })
    const hook = (
      handle: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>,
      user: ((partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, unknown>) | undefined
    ): Group.RebalanceHook<Group.GroupMembership> =>
    (partitions, m) => {
      group = m
      return user === undefined ? handle(partitions) : Effect.andThen(handle(partitions), user(partitions))
    }
    const { ackMode: _a, autoCommit: _c, autoCommitInterval: _i, commitOffsets: _o, maxPollRecords: _m, onAssigned, onRevoked, onLost, ...rest } = options
    group = yield* Group.join({
      ...rest,
      rackId: options.rack ?? null,
      onAssigned: hook(engine.assigned, onAssigned),
      onRevoked: hook(engine.revoked, onRevoked),
      onLost: hook(engine.lost, onLost)
    })
    const joined = group
    // a membership that ends for good ends every stream with its error
    yield* joined.assignments.pipe(Stream.runDrain, Effect.catch(engine.fail), Effect.forkScoped)
    // closing: commit what was processed while the membership can still commit (it leaves next)
    yield* Effect.addFinalizer(() => Effect.ignore(engine.commit))

    const partitions = fromFetcher(fetcher)
    return {
      records: engine.records,
      partitioned: engine.partitioned,
      ack: engine.ack,
      commit: engine.commit,
      assignment: () => joined.assigned(),
      position: partitions.position,
      lag: partitions.lag,
      seek: (tp, position) =>
        Effect.tap(partitions.seek(tp, position), () => Effect.sync(() => engine.seek(tp, typeof position === "bigint" ? position : -1n))),
      pause: partitions.pause,
      resume: partitions.resume,
      groupMetadata: (owned) =>
        Effect.suspend(() => {
          const gone = engine.notOwned(owned)
          if (gone === undefined) return Effect.succeed(joined.generation())
          return Effect.fail(new PartitionRevoked({
            topic: gone.topic,
            partition: gone.partition,
            message: `${gone.topic}-${gone.partition} is not owned by this consumer any more (revoked or lost): its offsets are not committed`
          }))
        }),
      membership: joined,
      bufferedBytes: partitions.bufferedBytes,
      stats: partitions.stats
    } satisfies ConsumerService
  })

/**
 * A layer providing `Consumer` on the `Cluster` in context.
 *
 * @example
 * ```ts
 * const Live = Consumer.layer({ groupId: "billing", topics: ["orders"] }).pipe(Layer.provide(Cluster.layer({ bootstrap })))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: ConsumerOptions): Layer.Layer<Consumer, Group.GroupError | InvalidConsumerConfig, Cluster> =>
  Layer.effect(Consumer, make(options))

/**
 * The records of a consumer group's subscription, from a consumer that lives as long as the
 * stream (ending the stream commits and leaves the group).
 *
 * @example
 * ```ts
 * Consumer.subscribe({ groupId: "audit", pattern: /^orders\..+/ }).pipe(Stream.runForEach(log))
 * ```
 *
 * @since 0.1.0
 */
export const subscribe = (options: ConsumerOptions): Stream.Stream<ConsumerRecord, ConsumerError | Group.GroupError | InvalidConsumerConfig, Cluster> =>
  Stream.unwrap(Effect.map(make(options), (consumer) => consumer.records))

/**
 * One stream per assigned partition, from a consumer that lives as long as the outer stream: for
 * processing partitions in parallel with order kept within each.
 *
 * @example
 * ```ts
 * Consumer.partitionedStream({ groupId: "billing", topics: ["orders"] }).pipe(
 *   Stream.flatMap(([tp, records]) => records.pipe(Stream.mapEffect(handle)), { concurrency: "unbounded" }),
 *   Stream.runDrain
 * )
 * ```
 *
 * @since 0.1.0
 */
export const partitionedStream = (
  options: ConsumerOptions
): Stream.Stream<readonly [TopicPartition, Stream.Stream<ConsumerRecord, ConsumerError | Group.GroupError>], ConsumerError | Group.GroupError | InvalidConsumerConfig, Cluster> =>
  Stream.unwrap(Effect.map(make(options), (consumer) => consumer.partitioned))
