/**
 * The share consumer (KIP-932 share groups, "queues for Kafka"): members of a share group read
 * the same partitions together; the brokers hand each record to one member at a time, under an
 * acquisition lock, and the member acknowledges it one by one:
 * - `accept`: processed, done;
 * - `release`: give it back, it is delivered again (to any member), its `deliveryCount` one higher;
 * - `reject`: unprocessable, never delivered again (archived);
 * - `renew` (KIP-1222, brokers with ShareAcknowledge v2 such as Kafka 4.4): not settled yet, extend the
 *   lock (for jobs longer than the lock); settle it later.
 * A record not acknowledged before its lock expires (`share.record.lock.duration.ms`, default
 * 30 s) goes back to the group as if released; after `share.delivery.count.limit` deliveries
 * (default 5) it is archived instead.
 *
 * **Acknowledging.**
 * - `ackMode: "implicit"` (default): every record a stream emitted and that was not acknowledged
 *   otherwise is accepted when the stream pulls again — the next pull means the previous chunk
 *   went through the pipeline (as the `Consumer`'s `onPull`; for pipelines that buffer or run
 *   stages concurrently use `"explicit"`).
 * - `ackMode: "explicit"`: only what is given to `record.ack(type)` / `acknowledge(record, type)`.
 * Acknowledgements ride on the next ShareFetch; `commit` sends them at once (ShareAcknowledge) and
 * returns the outcome per partition (`InvalidRecordState` when a lock had expired, …).
 *
 * Closing the scope accepts what was processed (acknowledged, or in implicit mode passed), releases
 * every other record fetched, closes the share sessions and leaves the group. A stream that ends
 * (failure, interruption, `take`) releases the records it emitted that were not acknowledged.
 *
 * A share group starts at the latest offset (group config `share.auto.offset.reset`).
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import * as Cluster from "kpax/Cluster"
 * import * as ShareConsumer from "kpax/ShareConsumer"
 *
 * const program = Effect.gen(function*() {
 *   const jobs = yield* ShareConsumer.make({ groupId: "workers", topics: ["jobs"], ackMode: "explicit" })
 *   yield* jobs.records.pipe(
 *     Stream.mapEffect((job) => run(job).pipe(
 *       Effect.andThen(job.ack("accept")),
 *       Effect.catch(() => job.ack(job.deliveryCount < 3 ? "release" : "reject"))
 *     )),
 *     Stream.runDrain
 *   )
 * }).pipe(Effect.scoped, Effect.provide(Cluster.layer({ bootstrap: ["localhost:9092"] })))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Stream } from "effect"
import type { Cause, Scope } from "effect"
import { Cluster } from "../Cluster/Cluster.ts"
import { InvalidConsumerConfig } from "./Errors.ts"
import { AckCode } from "./internal/shareRecords.ts"
import type { AcknowledgeType, ShareFetchedRecord, ShareRecord } from "./internal/shareRecords.ts"
import { startShareEngine } from "./internal/shareEngine.ts"
import type { AcknowledgeResult, ShareEngineError, ShareSettings, ShareStats } from "./internal/shareEngine.ts"
import type { TopicPartition } from "./Record.ts"

export * from "./ShareErrors.ts"
export type { AcknowledgeResult, AcknowledgeType, ShareRecord, ShareStats, TopicPartition }
export { decode, decodeRecord, decodeResult, decodeSkipping } from "./Record.ts"

/**
 * What reading a share group's records can fail with.
 *
 * @since 0.1.0
 */
export type ShareConsumerError = ShareEngineError

/**
 * Share consumer settings.
 *
 * @since 0.1.0
 */
export interface ShareConsumerOptions {
  /** The share group. */
  readonly groupId: string
  /** The topics the member subscribes to. */
  readonly topics: ReadonlyArray<string>
  /** `"implicit"` (default) or `"explicit"` (see the module doc). */
  readonly ackMode?: "implicit" | "explicit" | undefined
  /** How long a ShareFetch waits for records (default 500 ms, as `fetch.max.wait.ms`). */
  readonly maxWait?: Duration.Input | undefined
  /** The bytes a ShareFetch waits for (default 1). */
  readonly minBytes?: number | undefined
  /** The most bytes of a ShareFetch response (default 50 MiB). */
  readonly maxBytes?: number | undefined
  /** The most records a ShareFetch acquires (default 500, as `max.poll.records`); batches may exceed it. */
  readonly maxRecords?: number | undefined
  /** The preferred size of acquired batches (default `maxRecords`). */
  readonly batchSize?: number | undefined
  /** The heartbeat interval until the coordinator names one (default 5 s). */
  readonly heartbeatInterval?: Duration.Input | undefined
  /** Wait between failed attempts (default 100 ms). */
  readonly retryBackoff?: Duration.Input | undefined
  /** Time-out of requests other than the long polls (default 30 s). */
  readonly requestTimeout?: Duration.Input | undefined
  /** How long closing waits for the final acknowledgements and the leave (default 5 s). */
  readonly closeTimeout?: Duration.Input | undefined
  /** The member's rack. */
  readonly rack?: string | undefined
  /** Verify record batch CRCs (default `true`). */
  readonly checkCrcs?: boolean | undefined
}

/**
 * A running share consumer.
 *
 * @since 0.1.0
 */
export interface ShareConsumerService {
  /** The member id (generated by the client, kept for the consumer's life). */
  readonly memberId: string
  /** The records delivered to this member, each with its `deliveryCount`; run one stream at a time. */
  readonly records: Stream.Stream<ShareRecord, ShareConsumerError>
  /** Acknowledges records (a record is acknowledged once; later calls are ignored). */
  readonly acknowledge: (records: ShareRecord | ReadonlyArray<ShareRecord>, type?: AcknowledgeType) => Effect.Effect<void>
  /** Sends the acknowledgements given so far now and waits for them: the outcome per partition. */
  readonly commit: Effect.Effect<ReadonlyArray<AcknowledgeResult>>
  /** The partitions the coordinator assigned to this member (shared with other members). */
  readonly assignment: () => ReadonlyArray<TopicPartition>
  /**
   * Stops heartbeating and fetching and drops the connections without acknowledging or leaving,
   * as a crashed process would (its records go to other members once their locks expire). For
   * tests and failure drills; closing the scope afterwards does nothing more.
   */
  readonly abandon: Effect.Effect<void>
  readonly stats: () => ShareStats
}

/**
 * The `ShareConsumer` service tag.
 *
 * @since 0.1.0
 */
export class ShareConsumer extends Context.Service<ShareConsumer, ShareConsumerService>()("kpax/ShareConsumer") {}

const millis = (name: string, input: Duration.Input | undefined, fallback: Duration.Input, allowZero = false): Effect.Effect<number, InvalidConsumerConfig> => {
  const d = Duration.fromInput(input ?? fallback)
  const ms = d._tag === "None" ? NaN : Duration.toMillis(d.value)
  return Number.isFinite(ms) && (allowZero ? ms >= 0 : ms > 0)
    ? Effect.succeed(Math.round(ms))
    : Effect.fail(new InvalidConsumerConfig({ message: `${name} must be a ${allowZero ? "non-negative" : "positive"} duration, not ${String(input)}` }))
}

const positiveInt = (name: string, value: number | undefined, fallback: number): Effect.Effect<number, InvalidConsumerConfig> => {
  const v = value ?? fallback
  return Number.isInteger(v) && v > 0 && v <= 0x7fffffff
    ? Effect.succeed(v)
    : Effect.fail(new InvalidConsumerConfig({ message: `${name} must be a positive integer, not ${String(value)}` }))
}

const resolve = (o: ShareConsumerOptions): Effect.Effect<ShareSettings, InvalidConsumerConfig> =>
  Effect.gen(function*() {
    if (typeof o.groupId !== "string" || o.groupId === "") return yield* Effect.fail(new InvalidConsumerConfig({ message: "groupId must be a non-empty string" }))
    if (o.topics.length === 0) return yield* Effect.fail(new InvalidConsumerConfig({ message: "topics must name at least one topic" }))
    const ackMode = o.ackMode ?? "implicit"
    if (ackMode !== "implicit" && ackMode !== "explicit") {
      return yield* Effect.fail(new InvalidConsumerConfig({ message: `ackMode must be "implicit" or "explicit", not ${String(ackMode)}` }))
    }
    const maxRecords = yield* positiveInt("maxRecords", o.maxRecords, 500)
    return {
      groupId: o.groupId,
      topics: [...new Set(o.topics)],
      rackId: o.rack ?? null,
      ackMode,
      maxWaitMs: yield* millis("maxWait", o.maxWait, "500 millis", true),
      minBytes: yield* positiveInt("minBytes", o.minBytes, 1),
      maxBytes: yield* positiveInt("maxBytes", o.maxBytes, 50 * 1024 * 1024),
      maxRecords,
      batchSize: yield* positiveInt("batchSize", o.batchSize, maxRecords),
      heartbeatIntervalMs: yield* millis("heartbeatInterval", o.heartbeatInterval, "5 seconds"),
      retryBackoffMs: yield* millis("retryBackoff", o.retryBackoff, "100 millis"),
      requestTimeoutMs: yield* millis("requestTimeout", o.requestTimeout, "30 seconds"),
      closeTimeoutMs: yield* millis("closeTimeout", o.closeTimeout, "5 seconds"),
      checkCrcs: o.checkCrcs ?? true
    }
  })

/**
 * A share consumer living in the current scope, on the `Cluster` in context. Returns at once; the
 * member joins and gets its partitions in the background.
 *
 * @example
 * ```ts
 * const consumer = yield* ShareConsumer.make({ groupId: "workers", topics: ["jobs"] })
 * yield* consumer.records.pipe(Stream.mapEffect(handle), Stream.runDrain) // accepted as it goes
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: ShareConsumerOptions): Effect.Effect<ShareConsumerService, InvalidConsumerConfig, Cluster | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* resolve(options)
    const cluster = yield* Cluster
    const { engine, abandon } = yield* startShareEngine(cluster, settings)
    const implicit = settings.ackMode === "implicit"

    const records: Stream.Stream<ShareRecord, ShareConsumerError> = Stream.unwrap(Effect.gen(function*() {
      let last: ReadonlyArray<ShareFetchedRecord> | undefined
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          // what this stream emitted and nobody acknowledged goes back to the group
          if (last !== undefined && !engine.stopped) engine.releaseUnacked(last)
          last = undefined
        })
      )
      return Stream.fromPull(Effect.succeed(Effect.suspend(() => {
        if (last !== undefined && implicit) engine.acceptUnacked(last)
        last = undefined
        return Effect.map(engine.pull(), (chunk) => {
          last = chunk
          return chunk as unknown as readonly [ShareRecord, ...Array<ShareRecord>]
        }) as Effect.Effect<readonly [ShareRecord, ...Array<ShareRecord>], ShareConsumerError | Cause.Done>
      })))
    }))

    const acknowledge = (rs: ShareRecord | ReadonlyArray<ShareRecord>, type: AcknowledgeType = "accept"): Effect.Effect<void> =>
      Effect.sync(() => {
        const list = Array.isArray(rs) ? (rs as ReadonlyArray<ShareRecord>) : [rs as ShareRecord]
        for (const r of list) engine.ackNow(r as ShareFetchedRecord, AckCode[type])
      })

    return {
      memberId: engine.memberId,
      records,
      acknowledge,
      commit: engine.commit(),
      assignment: () => engine.assignment(),
      abandon,
      stats: () => engine.stats()
    } satisfies ShareConsumerService
  })

/**
 * A layer providing `ShareConsumer` on the `Cluster` in context.
 *
 * @example
 * ```ts
 * const Live = ShareConsumer.layer({ groupId: "workers", topics: ["jobs"] }).pipe(Layer.provide(Cluster.layer({ bootstrap })))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: ShareConsumerOptions): Layer.Layer<ShareConsumer, InvalidConsumerConfig, Cluster> =>
  Layer.effect(ShareConsumer, make(options))

/**
 * A share group's records from a share consumer that lives as long as the stream (implicit
 * acknowledgement unless `ackMode` says otherwise; ending the stream releases what it did not
 * finish and leaves the group).
 *
 * @example
 * ```ts
 * ShareConsumer.subscribe({ groupId: "workers", topics: ["jobs"] }).pipe(Stream.runForEach(handle))
 * ```
 *
 * @since 0.1.0
 */
export const subscribe = (options: ShareConsumerOptions): Stream.Stream<ShareRecord, ShareConsumerError | InvalidConsumerConfig, Cluster> =>
  Stream.unwrap(Effect.map(make(options), (consumer) => consumer.records))
