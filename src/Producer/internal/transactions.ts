/**
 * Producer identity (InitProducerId) and transactions: begin / commit / abort, partitions and
 * offsets added to the open transaction, fencing.
 *
 * @internal
 */
import { Effect, Schedule } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import * as RetryPolicy from "../../Cluster/RetryPolicy.ts"
import { ErrorCode, errorForCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { AddOffsetsToTxn } from "../../Protocol/generated/AddOffsetsToTxn.ts"
import { AddPartitionsToTxn } from "../../Protocol/generated/AddPartitionsToTxn.ts"
import type { OffsetsError } from "../../Consumer/internal/groupErrors.ts"
import { judge, responseTopicName, topicIdVersion } from "../../Consumer/internal/groupOffsets.ts"
import { EndTxn } from "../../Protocol/generated/EndTxn.ts"
import { InitProducerId } from "../../Protocol/generated/InitProducerId.ts"
import { TxnOffsetCommit } from "../../Protocol/generated/TxnOffsetCommit.ts"
import { ProducerFenced, TransactionError } from "../Errors.ts"
import type { ProducerError } from "../Errors.ts"
import type { Batch } from "./accumulator.ts"
import type { GroupMetadata, OffsetToCommit, ProducerIdentity } from "./types.ts"

const FENCING = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED])


/**
 * CONCURRENT_TRANSACTIONS: the previous transaction's markers are still being written. Asked
 * again every 20 ms (as the Java producer does), not on the transient back-off, whose 250 ms,
 * 500 ms, … made every transaction after a commit wait most of a second once markers took
 * longer than a few milliseconds (the soak's members fell behind on a loaded machine for good).
 */
class StillEnding {
  readonly _tag = "StillEnding"
  readonly error: KafkaError
  constructor(error: KafkaError) {
    this.error = error
  }
}

const stillEnding = (code: number, message: string): Effect.Effect<never, StillEnding> =>
  Effect.fail(new StillEnding(errorForCode(code, message)!))

/** Runs `self` until the previous transaction has ended (at most `timeoutMs`), then maps the marker back. */
const afterPreviousEnded = <A, E>(self: Effect.Effect<A, E | StillEnding>, timeoutMs: number): Effect.Effect<A, E | KafkaError> =>
  self.pipe(
    Effect.retry({ while: (e) => e instanceof StillEnding, schedule: Schedule.spaced("20 millis").pipe(Schedule.upTo({ duration: timeoutMs })) }),
    Effect.catchIf((e): e is StillEnding => e instanceof StillEnding, (e) => Effect.fail(e.error))
  )

const check = (code: number, message: string | null | undefined): Effect.Effect<void, KafkaError> =>
  code === 0 ? Effect.void : Effect.fail(errorForCode(code, message) ?? kafkaError("UNKNOWN_SERVER_ERROR"))

export class Transactions {
  readonly cluster: ClusterService
  readonly identity: ProducerIdentity
  readonly transactionalId: string | null
  readonly transactionTimeoutMs: number
  state: "idle" | "open" | "ending" | "fatal" = "idle"
  fatal: ProducerError | undefined = undefined
  /** The first batch that failed in the open transaction: commit must not succeed then. */
  failure: ProducerError | undefined = undefined
  readonly partitions = new Set<string>()
  constructor(cluster: ClusterService, identity: ProducerIdentity, transactionalId: string | null, transactionTimeoutMs: number) {
    this.cluster = cluster
    this.identity = identity
    this.transactionalId = transactionalId
    this.transactionTimeoutMs = transactionTimeoutMs
  }

  private get key() {
    return { type: "transaction" as const, key: this.transactionalId! }
  }

  private fence(code: number): ProducerError {
    const e = new ProducerFenced({
      transactionalId: this.transactionalId ?? "",
      message: `producer for transactional id ${this.transactionalId} was fenced (${errorForCode(code)?.name ?? code}): another producer with the same id started`
    })
    this.state = "fatal"
    this.fatal = e
    return e
  }

  /** A Kafka error from the coordinator, as a typed producer error (fencing is fatal). */
  private mapError = (e: ProducerError | KafkaError): Effect.Effect<never, ProducerError> =>
    e._tag === "KafkaError" && FENCING.has(e.code) ? Effect.fail(this.fence(e.code)) : Effect.fail(e as ProducerError)

  /** InitProducerId: for an idempotent producer at any broker, for a transactional one at its coordinator. */
  readonly init: Effect.Effect<void, ProducerError> = Effect.suspend(() => {
    const ask = (req: { transactionalId: string | null; transactionTimeoutMs: number }) =>
      (b: { readonly broker: { readonly request: any } }) =>
        Effect.flatMap(
          b.broker.request(InitProducerId, req) as Effect.Effect<{ errorCode: number; producerId: bigint; producerEpoch: number }, ProducerError>,
          (res) =>
            Effect.map(check(res.errorCode, null), () => {
              this.identity.producerId = res.producerId
              this.identity.producerEpoch = res.producerEpoch
            })
        )
    if (this.transactionalId === null) {
      return RetryPolicy.retry(Effect.flatMap(this.cluster.anyBroker, ask({ transactionalId: null, transactionTimeoutMs: this.transactionTimeoutMs })))
    }
    return this.cluster.withCoordinator(this.key, ask({ transactionalId: this.transactionalId, transactionTimeoutMs: this.transactionTimeoutMs })).pipe(
      Effect.catch(this.mapError)
    )
  })

  /**
   * A batch of this producer failed after it got sequence numbers: the partition's log may lack
   * them, so the broker would refuse every later batch as out of order. Once the transaction is
   * aborted, the next `begin` bumps the epoch (InitProducerId with the current id and epoch,
   * KIP-360), which restarts the sequences of every partition at 0, as the Java producer does.
   */
  epochBumpNeeded = false

  private readonly bumpEpoch: Effect.Effect<void, ProducerError> = Effect.suspend(() =>
    this.cluster.withCoordinator(this.key, (c) =>
      Effect.flatMap(
        c.broker.request(InitProducerId, {
          transactionalId: this.transactionalId,
          transactionTimeoutMs: this.transactionTimeoutMs,
          producerId: this.identity.producerId,
          producerEpoch: this.identity.producerEpoch
        }) as Effect.Effect<{ errorCode: number; producerId: bigint; producerEpoch: number }, ProducerError>,
        (res) =>
          Effect.map(check(res.errorCode, null), () => {
            this.identity.producerId = res.producerId
            this.identity.producerEpoch = res.producerEpoch
            this.epochBumpNeeded = false
          })
      )
    ).pipe(Effect.catch(this.mapError))
  )

  readonly begin: Effect.Effect<void, ProducerError> = Effect.suspend(() => {
    if (this.epochBumpNeeded && this.state === "idle" && this.transactionalId !== null) {
      return Effect.andThen(this.bumpEpoch, this.begin)
    }
    if (this.transactionalId === null) {
      return Effect.fail(new TransactionError({ transactionalId: "", code: undefined, message: "transactions need a transactionalId in the producer's options" }))
    }
    if (this.state === "fatal") return Effect.fail(this.fatal!)
    if (this.state !== "idle") {
      return Effect.fail(new TransactionError({ transactionalId: this.transactionalId, code: undefined, message: "a transaction is already open on this producer (transactions do not nest)" }))
    }
    this.state = "open"
    this.failure = undefined
    this.partitions.clear()
    return Effect.void
  })

  /** Whether a partition was added to the open transaction. */
  readonly added = (topic: string, partition: number): boolean => this.partitions.has(topic + "\u0000" + partition)

  /** Before a batch goes out in a transaction: its partition must be part of the transaction. */
  readonly beforeSend = (batches: ReadonlyArray<Batch>): Effect.Effect<void, ProducerError> => {
    if (this.transactionalId === null) return Effect.void
    if (this.state === "fatal") return Effect.fail(this.fatal!)
    const fresh = new Map<string, Array<number>>()
    for (const b of batches) {
      const k = b.topic + "\u0000" + b.partition
      if (this.partitions.has(k)) continue
      const list = fresh.get(b.topic) ?? []
      if (!list.includes(b.partition)) list.push(b.partition)
      fresh.set(b.topic, list)
    }
    if (fresh.size === 0) return Effect.void
    const topics = [...fresh].map(([name, partitions]) => ({ name, partitions }))
    return afterPreviousEnded(this.cluster.withCoordinator(this.key, (c) =>
      Effect.gen({ self: this }, function*() {
        const res = yield* c.broker.request(AddPartitionsToTxn, {
          v3AndBelowTransactionalId: this.transactionalId!,
          v3AndBelowProducerId: this.identity.producerId,
          v3AndBelowProducerEpoch: this.identity.producerEpoch,
          v3AndBelowTopics: topics
        }, { version: 3 })
        for (const r of res.resultsByTopicV3AndBelow) {
          for (const p of r.resultsByPartition) {
            const what = `adding ${r.name}-${p.partitionIndex} to the transaction`
            if (p.partitionErrorCode === ErrorCode.CONCURRENT_TRANSACTIONS) return yield* stillEnding(p.partitionErrorCode, what)
            if (p.partitionErrorCode !== 0) return yield* Effect.fail(errorForCode(p.partitionErrorCode, what)!)
            this.partitions.add(r.name + "\u0000" + p.partitionIndex)
          }
        }
      })
    ), this.transactionTimeoutMs).pipe(Effect.catch(this.mapError))
  }

  /** Records a failed batch of the open transaction (the commit will refuse). */
  batchFailed(error: ProducerError): void {
    if (this.state === "open" && this.failure === undefined) this.failure = error
    if (error._tag === "KafkaError" && FENCING.has(error.code)) this.fence(error.code)
  }

  readonly end = (commit: boolean): Effect.Effect<void, ProducerError> =>
    Effect.suspend(() => {
      const id = this.transactionalId!
      if (this.state === "fatal") return Effect.fail(this.fatal!)
      this.state = "ending"
      const endTxn = this.partitions.size === 0 && !this.offsetsAdded
        ? Effect.void // nothing was written: nothing to end at the coordinator
        : this.cluster.withCoordinator(this.key, (c) =>
          Effect.flatMap(
            c.broker.request(EndTxn, {
              transactionalId: id,
              producerId: this.identity.producerId,
              producerEpoch: this.identity.producerEpoch,
              committed: commit
            }, { version: 4 }),
            (res) => check(res.errorCode, null)
          ))
      return endTxn.pipe(
        Effect.catch(this.mapError),
        Effect.ensuring(Effect.sync(() => {
          if (this.state === "ending") this.state = "idle"
          this.offsetsAdded = false
        }))
      )
    })

  offsetsAdded = false

  /**
   * AddOffsetsToTxn, then TxnOffsetCommit as the group member `group` says. A refusal of the
   * member's generation or epoch (`CommitFailed`, `RebalanceInProgress`) is final for a plain
   * `GroupMetadata`; given as an Effect, the metadata is read again and the commit retried (every
   * 100 ms, for at most half the transaction timeout) for as long as that Effect succeeds: a
   * consumer's generation moves on in a rebalance in which it keeps its partitions, and its
   * `groupMetadata(partitions)` fails once it gave them up, so released partitions' offsets are
   * never committed.
   */
  readonly sendOffsets = <E = never>(
    offsets: ReadonlyArray<OffsetToCommit>,
    group: GroupMetadata | Effect.Effect<GroupMetadata, E>
  ): Effect.Effect<void, ProducerError | OffsetsError | E> =>
    Effect.gen({ self: this }, function*() {
      if (this.state !== "open") {
        return yield* Effect.fail(new TransactionError({
          transactionalId: this.transactionalId ?? "", code: undefined,
          message: "sendOffsets needs an open transaction (inside Producer.transaction)"
        }))
      }
      const id = this.transactionalId!
      const live = Effect.isEffect(group)
      let first: GroupMetadata | undefined = live ? yield* group : group
      const groupId = first.groupId
      yield* afterPreviousEnded(this.cluster.withCoordinator(this.key, (c) =>
        Effect.flatMap(
          c.broker.request(AddOffsetsToTxn, { transactionalId: id, producerId: this.identity.producerId, producerEpoch: this.identity.producerEpoch, groupId }),
          (res): Effect.Effect<void, KafkaError | StillEnding> =>
            res.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS ? stillEnding(res.errorCode, "adding offsets to the transaction") : check(res.errorCode, null)
        )), this.transactionTimeoutMs).pipe(Effect.catch(this.mapError))
      this.offsetsAdded = true
      const byTopic = new Map<string, Array<OffsetToCommit>>()
      for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o])
      const commit = (member: GroupMetadata) =>
        this.cluster.withCoordinator({ type: "group", key: groupId }, (c) =>
          Effect.gen({ self: this }, function*() {
            // v6+ addresses topics by id
            const { ids, version } = yield* topicIdVersion(c, TxnOffsetCommit, 6, [...byTopic.keys()])
            const res = yield* c.broker.request(TxnOffsetCommit, {
              transactionalId: id,
              groupId,
              producerId: this.identity.producerId,
              producerEpoch: this.identity.producerEpoch,
              generationIdOrMemberEpoch: member.generationId ?? -1,
              memberId: member.memberId ?? "",
              groupInstanceId: member.groupInstanceId ?? null,
              topics: [...byTopic].map(([name, list]) => ({
                name,
                ...(ids.has(name) ? { topicId: ids.get(name)! } : {}),
                partitions: list.map((o) => ({
                  partitionIndex: o.partition,
                  committedOffset: o.offset,
                  committedLeaderEpoch: o.leaderEpoch ?? -1,
                  committedMetadata: o.metadata ?? null
                }))
              }))
            }, { version })
            const codes = res.topics.flatMap((t) => t.partitions.map((p) => ({ topic: responseTopicName(t, ids), partition: p.partitionIndex, code: p.errorCode })))
            // this producer fenced: fatal for it (below); the group's errors: typed as for OffsetCommit
            const fenced = codes.find((r) => FENCING.has(r.code))
            if (fenced !== undefined) return yield* check(fenced.code, `${fenced.topic}-${fenced.partition}`)
            yield* judge(groupId, "TxnOffsetCommit", codes)
          })).pipe(Effect.catch((e): Effect.Effect<never, ProducerError | OffsetsError> => e._tag === "KafkaError" ? this.mapError(e) : Effect.fail(e)))
      const attempt: Effect.Effect<void, ProducerError | OffsetsError | E> = Effect.suspend(() => {
        const given = first
        first = undefined
        return given !== undefined ? commit(given) : Effect.flatMap(group as Effect.Effect<GroupMetadata, E>, commit)
      })
      yield* live
        ? attempt.pipe(Effect.retry({
          schedule: Schedule.spaced("100 millis"),
          times: Math.ceil(this.transactionTimeoutMs / 200),
          while: (e) => typeof e === "object" && e !== null && "_tag" in e && (e._tag === "CommitFailed" || e._tag === "RebalanceInProgress")
        }))
        : attempt
    })
}
