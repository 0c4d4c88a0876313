/**
 * The partition consumer (kpax's "simple consumer"): reads given partitions from given start
 * positions as an Effect `Stream` of records or of per-partition batches, with no consumer group.
 *
 * - **Pull-based, bounded prefetch.** Records are fetched ahead of the reader, but at most
 *   `maxPrefetchBytes` of fetched bytes are held (plus at most one record batch per broker, which
 *   Kafka returns whole even when larger than the room asked for); past that, fetching stops until
 *   the stream is pulled. Fetched bytes are decoded only when the stream pulls them.
 * - **One Fetch per broker** covering every partition that broker serves, with incremental fetch
 *   sessions (KIP-227), topic ids on Fetch v13+, rack-aware follower fetching (KIP-392).
 * - **Positions**: `earliest`, `latest`, `{ timestamp }` or an explicit offset; `seek`, `pause`,
 *   `resume`, `position`, `lag`; `OFFSET_OUT_OF_RANGE` handled by the `offsetReset` policy.
 * - **read_committed** hides records of aborted transactions; control records are never emitted.
 * - Leader moves (`NOT_LEADER_OR_FOLLOWER`, `FENCED_LEADER_EPOCH`, …) refresh metadata and
 *   move the partition to its new leader; other failures are typed errors (`ConsumerError`).
 *
 * **Positions.** Records reach a stream in chunks (a partition's share of one fetch); a chunk
 * handed to a stream counts as read, as records returned by the Java consumer's `poll` do: a
 * stream that stops inside one (`Stream.take`) leaves its rest unread, and `position` is after
 * it. `seek(partition, lastOffset + 1n)` continues exactly; the group `Consumer` does that for
 * you (it re-reads what a stream did not finish).
 *
 * Everything lives in the scope `make` runs in: closing it stops the fetch loop and every request,
 * closes the fetch sessions on the brokers, and ends the streams with `ConsumerClosed`.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import * as Cluster from "kpax/Cluster"
 * import * as PartitionConsumer from "kpax/PartitionConsumer"
 *
 * const program = PartitionConsumer.stream([{ topic: "orders", partition: 0, from: "earliest" }]).pipe(
 *   Stream.take(100),
 *   Stream.runForEach((r) => Effect.log(`${r.offset}: ${r.value?.length} bytes`)),
 *   Effect.provide(Cluster.layer({ bootstrap: ["localhost:9092"] }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Duration, Effect, Stream } from "effect"
import type { Scope } from "effect"
import { Cluster } from "../Cluster/Cluster.ts"
import { InvalidConsumerConfig, PartitionNotAssigned } from "./Errors.ts"
import type { ConsumerError } from "./Errors.ts"
import { startFetcher } from "./internal/fetcher.ts"
import { batchOf } from "./internal/reader.ts"
import type { Fetcher } from "./internal/fetcher.ts"
import type { FetcherSettings, FetcherStats } from "./internal/fetcher.ts"
import type { PartitionState, StartPosition } from "./internal/partition.ts"
import type { ConsumerBatch, ConsumerRecord, TopicPartition } from "./Record.ts"
import { kafkaError } from "../Protocol/Errors.ts"

export * from "./Errors.ts"
export type { ConsumerBatch, ConsumerRecord, FetcherStats, StartPosition, TopicPartition }
export type { TypedConsumerRecord } from "./Record.ts"
export { decode, decodeRecord, decodeResult, decodeSkipping } from "./Record.ts"

/**
 * Consumer settings. Defaults follow the Java client (4.x) where it has the setting.
 *
 * @since 0.1.0
 */
export interface PartitionConsumerOptions {
  /** `"read_uncommitted"` (default) or `"read_committed"` (hide aborted transactions). */
  readonly isolationLevel?: "read_uncommitted" | "read_committed" | undefined
  /**
   * What to do when a position is outside the log (`OFFSET_OUT_OF_RANGE`), and where a partition
   * assigned without `from` starts: `"latest"` (default, as `auto.offset.reset`), `"earliest"`, or
   * `"none"` (the stream fails with `OffsetOutOfRange`).
   */
  readonly offsetReset?: "earliest" | "latest" | "none" | undefined
  /** How long a broker may hold a Fetch waiting for `minBytes` (default 500 ms, `fetch.max.wait.ms`). */
  readonly maxWait?: Duration.Input | undefined
  /** Bytes a broker waits for before answering (default 1, `fetch.min.bytes`). */
  readonly minBytes?: number | undefined
  /** Most bytes one Fetch returns (default 50 MiB, `fetch.max.bytes`; never above the room left under `maxPrefetchBytes`). */
  readonly maxBytes?: number | undefined
  /** Most bytes one Fetch returns per partition (default 1 MiB, `max.partition.fetch.bytes`). */
  readonly partitionMaxBytes?: number | undefined
  /**
   * Most fetched bytes held ahead of the reader (default 64 MiB): fetching pauses while this much
   * waits to be pulled. Bytes are counted as fetched (compressed): decompression happens as the
   * stream pulls.
   */
  readonly maxPrefetchBytes?: number | undefined
  /** The consumer's rack (`client.rack`): brokers may then point it at a replica in that rack (KIP-392). */
  readonly rack?: string | undefined
  /** Incremental fetch sessions (KIP-227; default `true`). */
  readonly fetchSessions?: boolean | undefined
  /** First delay after a retriable error of a partition or broker (default 100 ms, doubling). */
  readonly retryBackoff?: Duration.Input | undefined
  /** Longest such delay (default 1 second). */
  readonly retryBackoffMax?: Duration.Input | undefined
  /** Check record batch CRCs (default `true`, `check.crcs`). */
  readonly checkCrcs?: boolean | undefined
  /** Time a request may take on top of `maxWait` (default 30 s). */
  readonly requestTimeout?: Duration.Input | undefined
  /** How long a preferred read replica is used before going back to the leader (default 5 minutes). */
  readonly preferredReplicaLease?: Duration.Input | undefined
}

/**
 * A partition to read and where to start (default: per `offsetReset`, i.e. `"latest"`).
 *
 * @since 0.1.0
 */
export interface Assignment extends TopicPartition {
  readonly from?: StartPosition | undefined
}

/**
 * A running partition consumer.
 *
 * `records`, `batches` and `partitionRecords` all read the same buffers: run one of them (or one
 * `partitionRecords` per partition). A stream can be run again after it ended or failed.
 *
 * @since 0.1.0
 */
export interface PartitionConsumer {
  /** Adds partitions; a partition already assigned moves to its new start. Fails for unknown topics or partitions. */
  readonly assign: (partitions: ReadonlyArray<Assignment>) => Effect.Effect<void, ConsumerError>
  /** Stops reading partitions: what is buffered for them is dropped; their `partitionRecords` streams end. */
  readonly unassign: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
  readonly assignment: () => ReadonlyArray<TopicPartition>
  /** Moves a partition: what is buffered or in flight for it is dropped; the next record read is at `position`. */
  readonly seek: (partition: TopicPartition, position: StartPosition) => Effect.Effect<void, PartitionNotAssigned>
  /** Stops emitting and fetching partitions (what is buffered is kept). */
  readonly pause: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, PartitionNotAssigned>
  readonly resume: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<void, PartitionNotAssigned>
  readonly paused: () => ReadonlyArray<TopicPartition>
  /** The offset of the next record the streams emit for a partition (`undefined` while being looked up or not assigned). */
  readonly position: (partition: TopicPartition) => bigint | undefined
  /** The high watermark from the last fetch (`undefined` before the first). */
  readonly highWatermark: (partition: TopicPartition) => bigint | undefined
  /**
   * Records between the position and the end of the partition: `highWatermark - position`
   * (`lastStableOffset - position` for read_committed), as of the last fetch.
   */
  readonly lag: (partition: TopicPartition) => bigint | undefined
  /** Records of every assigned partition, in offset order per partition. Never ends by itself. */
  readonly records: Stream.Stream<ConsumerRecord, ConsumerError>
  /** The same as batches: one per partition and fetch. */
  readonly batches: Stream.Stream<ConsumerBatch, ConsumerError>
  /** Records of one partition; ends when the partition is unassigned. */
  readonly partitionRecords: (partition: TopicPartition) => Stream.Stream<ConsumerRecord, ConsumerError>
  /** Fetched bytes waiting to be read (the gauge `maxPrefetchBytes` bounds). */
  readonly bufferedBytes: () => number
  readonly stats: () => FetcherStats
}

const ms = (d: Duration.Input | undefined, dflt: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(d ?? dflt))

/**
 * Checks the options and applies the defaults.
 *
 * @since 0.1.0
 */
export const resolveOptions = (o: PartitionConsumerOptions): Effect.Effect<FetcherSettings, InvalidConsumerConfig> =>
  Effect.suspend(() => {
    const bad = (message: string) => Effect.fail(new InvalidConsumerConfig({ message }))
    const isolation = o.isolationLevel ?? "read_uncommitted"
    if (isolation !== "read_uncommitted" && isolation !== "read_committed") return bad(`unknown isolationLevel ${String(isolation)}`)
    const offsetReset = o.offsetReset ?? "latest"
    if (offsetReset !== "earliest" && offsetReset !== "latest" && offsetReset !== "none") return bad(`unknown offsetReset ${String(offsetReset)}`)
    const sizes = {
      minBytes: o.minBytes ?? 1,
      maxBytes: o.maxBytes ?? 50 * 1024 * 1024,
      partitionMaxBytes: o.partitionMaxBytes ?? 1024 * 1024,
      maxPrefetchBytes: o.maxPrefetchBytes ?? 64 * 1024 * 1024
    }
    for (const [name, v] of Object.entries(sizes)) {
      if (!Number.isInteger(v) || v < (name === "minBytes" ? 0 : 1) || v > 0x7fffffff) {
        return bad(`${name} must be an integer between ${name === "minBytes" ? 0 : 1} and 2^31-1, not ${v}`)
      }
    }
    try {
      return Effect.succeed({
        isolationLevel: isolation === "read_committed" ? 1 : 0,
        offsetReset,
        maxWaitMs: ms(o.maxWait, "500 millis"),
        ...sizes,
        rack: o.rack ?? "",
        sessions: o.fetchSessions ?? true,
        retryBackoffMs: Math.max(1, ms(o.retryBackoff, "100 millis")),
        retryBackoffMaxMs: Math.max(1, ms(o.retryBackoffMax, "1 second")),
        checkCrcs: o.checkCrcs ?? true,
        requestTimeoutMs: ms(o.requestTimeout, "30 seconds"),
        preferredReplicaLeaseMs: ms(o.preferredReplicaLease, "5 minutes")
      } satisfies FetcherSettings)
    } catch (e) {
      return bad(`bad duration: ${String(e)}`)
    }
  })

/**
 * A partition consumer living in the current scope, on the `Cluster` in context, with nothing
 * assigned yet.
 *
 * @example
 * ```ts
 * const consumer = yield* PartitionConsumer.make({ isolationLevel: "read_committed" })
 * yield* consumer.assign([{ topic: "orders", partition: 0, from: { timestamp: Date.now() - 3_600_000 } }])
 * const lastHour = consumer.records.pipe(Stream.takeWhile((r) => r.timestamp < Date.now()))
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: PartitionConsumerOptions = {}): Effect.Effect<PartitionConsumer, InvalidConsumerConfig, Cluster | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* resolveOptions(options)
    const cluster = yield* Cluster
    const fetcher = yield* startFetcher(cluster, settings)
    return fromFetcher(fetcher)
  })

const notAssigned = (tp: TopicPartition) =>
  new PartitionNotAssigned({ topic: tp.topic, partition: tp.partition, message: `${tp.topic}-${tp.partition} is not assigned to this consumer` })

const states = (fetcher: Fetcher, tps: ReadonlyArray<TopicPartition>): Effect.Effect<Array<PartitionState>, PartitionNotAssigned> =>
  Effect.suspend(() => {
    const out: Array<PartitionState> = []
    for (const tp of tps) {
      const p = fetcher.get(tp)
      if (p === undefined) return Effect.fail(notAssigned(tp))
      out.push(p)
    }
    return Effect.succeed(out)
  })

/** @internal */
export const fromFetcher = (fetcher: Fetcher): PartitionConsumer => {
  const cluster = fetcher.cluster
  const defaultFrom: StartPosition = fetcher.settings.offsetReset === "earliest" ? "earliest" : "latest"
  const assign = (partitions: ReadonlyArray<Assignment>): Effect.Effect<void, ConsumerError> =>
    Effect.gen(function*() {
      const topics = new Set(partitions.map((a) => a.topic))
      for (const name of topics) {
        const t = yield* cluster.topic(name)
        for (const a of partitions) {
          if (a.topic === name && (!Number.isInteger(a.partition) || a.partition < 0 || a.partition >= t.partitions.length)) {
            return yield* Effect.fail(kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `${name} has no partition ${a.partition} (${t.partitions.length} partitions)`))
          }
        }
      }
      fetcher.assign(partitions.map((a) => ({ topic: a.topic, partition: a.partition, from: a.from ?? defaultFrom })))
    })
  const query = <A>(f: (p: PartitionState) => A | undefined) => (tp: TopicPartition): A | undefined => {
    const p = fetcher.get(tp)
    return p === undefined ? undefined : f(p)
  }
  const records: Stream.Stream<ConsumerRecord, ConsumerError> = Stream.fromPull(
    Effect.sync(() => fetcher.pull<ConsumerRecord>(undefined, (_p, _c, rs) => rs))
  )
  return {
    assign,
    unassign: (tps) => Effect.sync(() => fetcher.unassign(tps)),
    assignment: () => [...fetcher.parts.values()].map((p) => ({ topic: p.topic, partition: p.partition })),
    seek: (tp, position) =>
      Effect.suspend(() => {
        const p = fetcher.get(tp)
        if (p === undefined) return Effect.fail(notAssigned(tp))
        fetcher.startAt(p, position)
        return Effect.void
      }),
    pause: (tps) => Effect.map(states(fetcher, tps), (ps) => fetcher.setPaused(ps, true)),
    resume: (tps) => Effect.map(states(fetcher, tps), (ps) => fetcher.setPaused(ps, false)),
    paused: () => [...fetcher.parts.values()].filter((p) => p.paused).map((p) => ({ topic: p.topic, partition: p.partition })),
    position: query((p) => (p.position >= 0n ? p.position : undefined)),
    highWatermark: query((p) => (p.highWatermark >= 0n ? p.highWatermark : undefined)),
    lag: query((p) => {
      const end = fetcher.settings.isolationLevel === 1 && p.lastStableOffset >= 0n ? p.lastStableOffset : p.highWatermark
      if (end < 0n || p.position < 0n) return undefined
      return end > p.position ? end - p.position : 0n
    }),
    records,
    batches: Stream.fromPull(Effect.sync(() => fetcher.pull<ConsumerBatch>(undefined, (p, c, rs) => [batchOf(p, c, rs)]))),
    partitionRecords: (tp) => Stream.fromPull(Effect.sync(() => fetcher.pull<ConsumerRecord>(tp, (_p, _c, rs) => rs))),
    bufferedBytes: () => fetcher.buffered,
    stats: () => fetcher.stats()
  }
}

/**
 * Records of the given partitions, from a partition consumer that lives as long as the stream.
 *
 * @example
 * ```ts
 * const fromOffset42 = PartitionConsumer.stream([{ topic: "orders", partition: 3, from: 42n }])
 * ```
 *
 * @since 0.1.0
 */
export const stream = (
  partitions: ReadonlyArray<Assignment>,
  options: PartitionConsumerOptions = {}
): Stream.Stream<ConsumerRecord, ConsumerError | InvalidConsumerConfig, Cluster> =>
  Stream.unwrap(Effect.gen(function*() {
    const consumer = yield* make(options)
    yield* consumer.assign(partitions)
    return consumer.records
  }))

/**
 * Per-partition batches of the given partitions, from a partition consumer that lives as long as
 * the stream.
 *
 * @example
 * ```ts
 * const batches = PartitionConsumer.batches([{ topic: "orders", partition: 0, from: "earliest" }])
 * ```
 *
 * @since 0.1.0
 */
export const batches = (
  partitions: ReadonlyArray<Assignment>,
  options: PartitionConsumerOptions = {}
): Stream.Stream<ConsumerBatch, ConsumerError | InvalidConsumerConfig, Cluster> =>
  Stream.unwrap(Effect.gen(function*() {
    const consumer = yield* make(options)
    yield* consumer.assign(partitions)
    return consumer.batches
  }))
