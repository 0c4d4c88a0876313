/**
 * The producer's shared types: records, metadata, the service's shape and the resolved settings,
 * in one module that `Producer.ts` (which re-exports the public ones) and the internal modules
 * both import, so neither imports the other's types.
 *
 * @internal
 */
import type { Effect, Sink } from "effect"
import type { OffsetsError } from "../../Consumer/internal/groupErrors.ts"
import type { Header } from "../../Protocol/RecordBatch.ts"
import type { Topic } from "../../Topic.ts"
import type { ProducerError } from "../Errors.ts"
import type { Partitioner } from "../Partitioner.ts"

/**
 * A record to send. `partition` overrides the partitioner; `timestamp` defaults to the time the
 * record's batch was opened.
 *
 * @since 0.1.0
 */
export interface ProducerRecord {
  readonly topic: string
  readonly partition?: number | undefined
  readonly key?: Uint8Array | null | undefined
  readonly value: Uint8Array | null
  readonly headers?: ReadonlyArray<Header> | undefined
  readonly timestamp?: number | undefined
}

/**
 * Where a record was written. `offset` is -1 when unknown (acks=0).
 *
 * @since 0.1.0
 */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly timestamp: number
}

/**
 * A record for a typed topic: key and value in the topic's types.
 *
 * @since 0.1.0
 */
export interface TypedRecord<K, V> {
  readonly key?: K | null | undefined
  readonly value: V
  readonly partition?: number | undefined
  readonly headers?: ReadonlyArray<Header> | undefined
  readonly timestamp?: number | undefined
}

/** An offset to commit with a transaction (consume-transform-produce). */
export interface OffsetToCommit {
  readonly topic: string
  readonly partition: number
  /** The offset of the next record to consume. */
  readonly offset: bigint
  readonly leaderEpoch?: number | undefined
  readonly metadata?: string | null | undefined
}

/**
 * The consumer group the offsets belong to (generation and member fence zombie consumers). Give
 * it as an Effect (`consumer.groupMetadata(partitions)`) to have it read at each attempt: see
 * `sendOffsets`.
 */
export interface GroupMetadata {
  readonly groupId: string
  readonly generationId?: number | undefined
  readonly memberId?: string | undefined
  readonly groupInstanceId?: string | null | undefined
}

/**
 * What the `Producer` service offers.
 *
 * @since 0.1.0
 */
export interface ProducerService {
  /** Sends a record; succeeds once the broker acknowledged it (per `acks`). */
  readonly send: (record: ProducerRecord) => Effect.Effect<RecordMetadata, ProducerError>
  /**
   * Sends many records in order, without a fiber per record; succeeds with their metadata in
   * order, or fails with the first failure (the other records are still sent).
   */
  readonly sendAll: (records: Iterable<ProducerRecord>) => Effect.Effect<ReadonlyArray<RecordMetadata>, ProducerError>
  /** Sends a record of a typed topic, encoding key and value through the topic's schemas. */
  readonly sendTyped: <K, V>(topic: Topic<K, V>, record: TypedRecord<K, V>) => Effect.Effect<RecordMetadata, ProducerError>
  /**
   * A sink for streams of records: each chunk is appended as it comes (suspending only for buffer
   * space); the sink ends once every record is acknowledged, or fails with the first failure.
   */
  readonly sink: Sink.Sink<void, ProducerRecord, never, ProducerError>
  /** Sends everything accepted so far at once (no lingering) and waits for it. */
  readonly flush: Effect.Effect<void>
  /**
   * Runs `effect` in a transaction: committed when it succeeds, aborted when it fails or is
   * interrupted. Needs `transactionalId`.
   */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ProducerError, R>
  /**
   * Adds consumed offsets to the open transaction (consume-transform-produce), committed in the
   * group's name as the member `group` says. Refused by the coordinator (`CommitFailed`: the
   * member is not in that generation or epoch any more; `RebalanceInProgress`), the transaction
   * must abort. Pass a consumer's `groupMetadata(partitions)` (an Effect): the producer reads it
   * at each attempt and retries while the consumer still owns the partitions (its generation
   * moved on in a rebalance that left them with it), and the call fails with `PartitionRevoked`
   * once the consumer gave them up, so a revoked partition's offsets never land on its next
   * owner's.
   *
   * @example
   * ```ts
   * yield* producer.transaction(Effect.gen(function*() {
   *   yield* producer.sendAll(chunk.map(transform))
   *   const offsets = nextOffsets(chunk)
   *   yield* producer.sendOffsets(offsets, consumer.groupMetadata(offsets))
   * }))
   * ```
   */
  readonly sendOffsets: <E = never>(
    offsets: ReadonlyArray<OffsetToCommit>,
    group: GroupMetadata | Effect.Effect<GroupMetadata, E>
  ) => Effect.Effect<void, ProducerError | OffsetsError | E>
  /** The producer id and epoch (-1 when not idempotent). */
  readonly identity: () => { readonly producerId: bigint; readonly producerEpoch: number }
  /** Bytes accepted and not yet acknowledged. */
  readonly bufferedBytes: () => number
}

/** Settings with every default applied. @internal */
export interface ResolvedOptions {
  readonly acks: -1 | 0 | 1
  readonly compression: number
  readonly compressionLevel: number | undefined
  readonly lingerMs: number
  readonly lingerWhenIdle: boolean
  readonly batchSize: number
  readonly maxBatchSize: number
  readonly bufferMemory: number
  readonly maxInFlight: number
  readonly maxRequestSize: number
  readonly requestTimeoutMs: number
  readonly deliveryTimeoutMs: number
  readonly maxBlockMs: number
  readonly idempotent: boolean
  readonly transactionalId: string | null
  readonly transactionTimeoutMs: number
  readonly partitioner: Partitioner | undefined
}

/** The producer id and epoch the sender stamps on batches (-1 when not idempotent). */
export interface ProducerIdentity {
  producerId: bigint
  producerEpoch: number
}
