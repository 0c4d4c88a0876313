/**
 * The Kafka producer: records gathered per partition into record batches and sent per leader, with
 * Java-compatible partitioning, acks, compression, idempotence (on by default), transactions,
 * bounded buffering with backpressure, and typed topics.
 *
 * Layer: a client on the Cluster (checked by `npm run lint:cycles`). May import Protocol,
 * Connection, Cluster, Topic and Consumer (its group-coordinator helpers, for transactional offset
 * commits); never its peers Admin and SchemaRegistry, or anything above.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cluster from "kpax/Cluster"
 * import * as Producer from "kpax/Producer"
 *
 * const program = Effect.gen(function*() {
 *   const producer = yield* Producer.Producer
 *   const meta = yield* producer.send({ topic: "orders", key: bytes("o-1"), value: bytes("{...}") })
 *   yield* Effect.log(`written at ${meta.partition}@${meta.offset}`)
 * }).pipe(
 *   Effect.provide(Producer.layer({ acks: "all", compression: "lz4" })),
 *   Effect.provide(Cluster.layer({ bootstrap: ["localhost:9092"] }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer } from "effect"
import type { Scope } from "effect"
import { Cluster } from "../Cluster/Cluster.ts"
import { InvalidProducerConfig } from "./Errors.ts"
import type { ProducerError } from "./Errors.ts"
import { makeProducer } from "./internal/producer.ts"
import type { ProducerService, ResolvedOptions } from "./internal/types.ts"
import type { Partitioner } from "./Partitioner.ts"

export * from "./Errors.ts"
export type { Header } from "../Protocol/RecordBatch.ts"
export type {
  GroupMetadata,
  OffsetToCommit,
  ProducerRecord,
  ProducerService,
  RecordMetadata,
  ResolvedOptions,
  TypedRecord
} from "./internal/types.ts"

/**
 * Producer settings. Defaults follow the Java client (4.x), except where noted ("differs from
 * Java"): `linger`'s default does not wait when nothing is in flight, and batches grow past
 * `batchSize` up to `maxBatchSize` (a setting Java does not have) when records arrive faster
 * than batches leave.
 *
 * @example
 * ```ts
 * const options: Producer.ProducerOptions = { acks: "all", compression: "lz4", linger: "10 millis" }
 * ```
 *
 * @since 0.1.0
 */
export interface ProducerOptions {
  /** `"all"`/-1 (default), 1 or 0. */
  readonly acks?: "all" | -1 | 0 | 1 | undefined
  /** Default `"none"`. */
  readonly compression?: "none" | "gzip" | "snappy" | "lz4" | "zstd" | undefined
  readonly compressionLevel?: number | undefined
  /**
   * How long a batch may wait for more records before it is sent. Set, it is Java's `linger.ms`.
   * **Differs from Java** when not set: a batch whose leader has no Produce request in flight
   * goes at once (waiting would gain nothing: what arrives meanwhile batches up behind that
   * request), otherwise it waits up to 5 ms (Java's default `linger.ms`) or until `batchSize`.
   * So a lone record is not delayed 5 ms, and a steady stream still batches.
   */
  readonly linger?: Duration.Input | undefined
  /**
   * Bytes at which a batch is ready to send (default 16384, as `batch.size`). **Differs from
   * Java**: a ready batch that cannot leave yet (its partition's requests are in flight, or the
   * records arrived faster than the sender runs) keeps taking records up to `maxBatchSize`,
   * where Java opens a new batch at `batch.size`.
   */
  readonly batchSize?: number | undefined
  /**
   * Bytes at which a batch takes no more records (default 1,000,000, librdkafka's `batch.size`;
   * raised to `batchSize` if smaller; at most `maxRequestSize`). Java has no such bound (its
   * batches stop at `batch.size`): with 1 KiB records a 16 KiB batch holds 16, the broker pays
   * per batch and lz4/zstd compress small batches worse, so bursts go out in batches of up to
   * this size instead.
   */
  readonly maxBatchSize?: number | undefined
  /** Bytes of records waiting to be sent before `send` suspends (default 32 MiB, as `buffer.memory`). */
  readonly bufferMemory?: number | undefined
  /** Produce requests in flight per broker (default 5; at most 5 with idempotence). */
  readonly maxInFlightPerBroker?: number | undefined
  /** Largest Produce request, and so largest record (default 1 MiB, as `max.request.size`). */
  readonly maxRequestSize?: number | undefined
  /** Broker-side time-out of a Produce request (default 30 s, as `request.timeout.ms`). */
  readonly requestTimeout?: Duration.Input | undefined
  /** Bound on the time from `send` to acknowledgement, retries included (default 120 s). */
  readonly deliveryTimeout?: Duration.Input | undefined
  /**
   * How long `send` waits for a topic's metadata or for buffer space (default 60 s, as
   * `max.block.ms`), then fails with `MaxBlockTimeout`. **Differs from Java** in one detail: each
   * wait (metadata, then buffer space) is bounded by it on its own, where Java bounds their sum.
   * A blocked `sendAll` gives each of its records this long.
   */
  readonly maxBlock?: Duration.Input | undefined
  /** Exactly-once per partition (default `true`, unless `acks` is not `"all"`). */
  readonly idempotent?: boolean | undefined
  /** Makes the producer transactional (implies idempotence). */
  readonly transactionalId?: string | undefined
  /** Default 60 s. */
  readonly transactionTimeout?: Duration.Input | undefined
  /** Default: the Java client's partitioner (murmur2 of the key, sticky for keyless records). */
  readonly partitioner?: Partitioner | undefined
}

/**
 * The `Producer` service tag.
 *
 * @since 0.1.0
 */
export class Producer extends Context.Service<Producer, ProducerService>()("kpax/Producer") {}

const CODECS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const

const ms = (d: Duration.Input | undefined, dflt: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(d ?? dflt))

/**
 * Checks the options and applies the defaults.
 *
 * @since 0.1.0
 */
export const resolveOptions = (o: ProducerOptions): Effect.Effect<ResolvedOptions, InvalidProducerConfig> =>
  Effect.suspend(() => {
    const bad = (message: string) => Effect.fail(new InvalidProducerConfig({ message }))
    const acks = o.acks === undefined || o.acks === "all" ? -1 : o.acks
    if (acks !== -1 && acks !== 0 && acks !== 1) return bad(`acks must be "all", -1, 0 or 1, not ${String(o.acks)}`)
    const transactionalId = o.transactionalId ?? null
    if (transactionalId !== null && transactionalId.length === 0) return bad("transactionalId must not be empty")
    if (transactionalId !== null && o.idempotent === false) return bad("a transactional producer is idempotent: idempotent: false contradicts transactionalId")
    const idempotent = transactionalId !== null || (o.idempotent ?? acks === -1)
    if (idempotent && acks !== -1) return bad(`idempotence needs acks "all" (got acks ${acks}); set idempotent: false for acks 0 or 1`)
    const compression = CODECS[o.compression ?? "none"]
    if (compression === undefined) return bad(`unknown compression ${String(o.compression)}`)
    const maxInFlight = o.maxInFlightPerBroker ?? 5
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) return bad(`maxInFlightPerBroker must be a positive integer, not ${maxInFlight}`)
    if (idempotent && maxInFlight > 5) return bad(`with idempotence at most 5 requests may be in flight per broker (got ${maxInFlight})`)
    const batchSize = o.batchSize ?? 16384
    const bufferMemory = o.bufferMemory ?? 32 * 1024 * 1024
    const maxRequestSize = o.maxRequestSize ?? 1024 * 1024
    const maxBatchSize = o.maxBatchSize ?? Math.min(1_000_000, maxRequestSize)
    for (const [name, v] of [["batchSize", batchSize], ["maxBatchSize", maxBatchSize], ["bufferMemory", bufferMemory], ["maxRequestSize", maxRequestSize]] as const) {
      if (!Number.isInteger(v) || v < 1) return bad(`${name} must be a positive integer, not ${v}`)
    }
    if (maxBatchSize > maxRequestSize) return bad(`maxBatchSize (${maxBatchSize}) must not exceed maxRequestSize (${maxRequestSize})`)
    try {
      return Effect.succeed({
        acks,
        compression,
        compressionLevel: o.compressionLevel,
        lingerMs: ms(o.linger, "5 millis"),
        lingerWhenIdle: o.linger === undefined,
        batchSize,
        maxBatchSize: Math.max(batchSize, maxBatchSize),
        bufferMemory,
        maxInFlight,
        maxRequestSize,
        requestTimeoutMs: ms(o.requestTimeout, "30 seconds"),
        deliveryTimeoutMs: ms(o.deliveryTimeout, "120 seconds"),
        maxBlockMs: ms(o.maxBlock, "60 seconds"),
        idempotent,
        transactionalId,
        transactionTimeoutMs: ms(o.transactionTimeout, "60 seconds"),
        partitioner: o.partitioner
      } satisfies ResolvedOptions)
    } catch (e) {
      return bad(`bad duration: ${String(e)}`)
    }
  })

/**
 * A producer living in the current scope, on the `Cluster` in context. Closing the scope sends
 * and waits for everything accepted, then stops.
 *
 * @example
 * ```ts
 * const producer = yield* Producer.make({ linger: "10 millis", compression: "zstd" })
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: ProducerOptions = {}): Effect.Effect<ProducerService, ProducerError | InvalidProducerConfig, Cluster | Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = yield* resolveOptions(options)
    const cluster = yield* Cluster
    return yield* makeProducer(cluster, resolved)
  })

/**
 * A layer providing `Producer` on the `Cluster` in context.
 *
 * @example
 * ```ts
 * const Live = Producer.layer({ acks: "all" }).pipe(Layer.provide(Cluster.layer({ bootstrap: ["localhost:9092"] })))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: ProducerOptions = {}): Layer.Layer<Producer, ProducerError | InvalidProducerConfig, Cluster> =>
  Layer.effect(Producer, make(options))
