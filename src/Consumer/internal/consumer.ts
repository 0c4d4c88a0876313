/**
 * The group consumer's engine: a fetcher driven by a group membership's assignment events, and
 * at-least-once commits of processed offsets.
 *
 * Processed offsets: with `ackMode: "onPull"`, the records a stream emitted are processed once the
 * stream pulls again (the next pull means the previous chunk went through the whole pipeline, as
 * the Java consumer's next `poll` does); with `"manual"`, only what `ack` was given. Processed
 * offsets are committed every `autoCommitInterval`, on `commit`, before a revoke is confirmed, and
 * when the consumer closes. Lost partitions are dropped without committing. A stream that ends
 * puts the partitions it read back at their processed offsets, so what it did not finish is read
 * again by the next stream.
 *
 * Streams get at most `maxPollRecords` records per pull, the partitions in turn (the fetcher's
 * reader keeps the rest of a decoded chunk). Each partition remembers the offset after the last
 * record handed out (`handed`); a revocation stops handing out the partition and waits until the
 * processed offset reaches it (or a stream that read it ended), then commits and releases: the
 * next owner starts after everything this member processed.
 *
 * @internal
 */
import { Cause, Effect, Queue, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import { NoOffsetForPartition, PartitionRevoked } from "../Errors.ts"
import type { ConsumerError } from "../Errors.ts"
import type { ConsumerRecord, TopicPartition } from "../Record.ts"
import { ProcessedOffsets } from "./commits.ts"
import type { OffsetToCommit } from "./commits.ts"
import type { Fetcher } from "./fetcher.ts"
import type { PartitionState, StartPosition } from "./partition.ts"

/** What the engine needs of a group membership (see `Group.ts`). */
export interface Membership<E> {
  readonly commit: (offsets: ReadonlyArray<OffsetToCommit>) => Effect.Effect<void, E>
  /** Committed offsets (-1: none) of partitions. */
  readonly committed: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<ReadonlyArray<OffsetToCommit>, E>
}

export interface EngineSettings {
  readonly ackMode: "onPull" | "manual"
  /** 0: no periodic commits. */
  readonly autoCommitMs: number
  readonly offsetReset: "earliest" | "latest" | "none"
  /** Most records per chunk a stream emits. */
  readonly maxPollRecords: number
  /** How long a revocation waits for what the streams were handed of the partitions to be processed. */
  readonly revokeTimeoutMs: number
}

type Chunk = readonly [ConsumerRecord, ...Array<ConsumerRecord>]

/**
 * The engine over a running fetcher. The membership's rebalance hooks call `assigned`, `revoked`
 * and `lost` (the membership confirms a change only once its hook returned); `fail` ends every
 * stream when the membership ends for good.
 */
export const makeEngine = <E>(fetcher: Fetcher, membership: Membership<E>, settings: EngineSettings) =>
  Effect.gen(function*() {
    const processed = new ProcessedOffsets()
    /** Queues of running `partitioned` streams: each gets newly assigned partitions. */
    const listeners = new Set<Queue.Queue<TopicPartition, ConsumerError | E | Cause.Done>>()

    const commitPending = (only?: ReadonlyArray<TopicPartition>): Effect.Effect<void, E> =>
      Effect.suspend(() => {
        const pending = processed.pending(only)
        if (pending.length === 0) return Effect.void
        return Effect.tap(membership.commit(pending), () => Effect.sync(() => processed.committed(pending)))
      })

    /** New partitions: start each at its committed offset, else per the reset policy. */
    const assigned = (partitions: ReadonlyArray<TopicPartition>): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (partitions.length === 0) return
        const result = yield* Effect.result(membership.committed(partitions))
        if (result._tag === "Failure") {
          // without a start position the partitions cannot be read: say so on their streams
          for (const tp of partitions) {
            fetcher.assignFailed(tp, result.failure as ConsumerError)
            processed.start(tp, fetcher.get(tp)!, -1n)
          }
          announce(partitions)
          return
        }
        const byKey = new Map(result.success.map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]))
        const ready: Array<TopicPartition & { readonly from: StartPosition }> = []
        const failed: Array<TopicPartition> = []
        for (const tp of partitions) {
          const c = byKey.get(`${tp.topic}\u0000${tp.partition}`) ?? -1n
          if (c >= 0n) ready.push({ ...tp, from: c })
          else if (settings.offsetReset === "none") failed.push(tp)
          else ready.push({ ...tp, from: settings.offsetReset })
        }
        fetcher.assign(ready)
        for (const tp of failed) {
          fetcher.assignFailed(tp, new NoOffsetForPartition({
            topic: tp.topic,
            partition: tp.partition,
            message: `${tp.topic}-${tp.partition} has no committed offset and the reset policy is "none"`
          }))
        }
        for (const tp of partitions) {
          processed.start(tp, fetcher.get(tp)!, byKey.get(`${tp.topic}\u0000${tp.partition}`) ?? -1n)
        }
        announce(partitions)
      })

    const announce = (partitions: ReadonlyArray<TopicPartition>) => {
      for (const q of listeners) for (const tp of partitions) Queue.offerUnsafe(q, tp)
    }

    /**
     * Partitions taken away: hand out nothing more of them (what was fetched and not handed out
     * is dropped), wait until what the streams were handed is processed (with `onPull`, the
     * next pull; with `manual`, the acks), at most `revokeTimeoutMs`, commit, then release them.
     * Released late, a partition's later marks and acks are ignored: nothing of it is committed
     * by this member any more.
     */
    const revoked = (partitions: ReadonlyArray<TopicPartition>): Effect.Effect<void> =>
      Effect.gen(function*() {
        const states: Array<PartitionState> = []
        for (const tp of partitions) {
          const p = fetcher.get(tp)
          if (p !== undefined) states.push(p)
        }
        fetcher.revoke(states)
        const outstanding = () => states.filter((p) => p.handed >= 0n && processed.processed(p) < p.handed && !fetcher.closed)
        let waiting = outstanding()
        if (waiting.length > 0) {
          const deadline = fetcher.now() + settings.revokeTimeoutMs
          while (waiting.length > 0 && fetcher.now() < deadline) {
            yield* Effect.sleep(5)
            waiting = outstanding()
          }
          if (waiting.length > 0) {
            yield* Effect.logWarning(
              `kpax consumer: revoked partitions released before their records were processed (${waiting.map((p) => `${p.topic}-${p.partition}`).join(", ")}); the next owner reads them again`
            )
          }
        }
        yield* commitPending(partitions).pipe(
          Effect.catch((e) => Effect.logWarning("kpax consumer: committing revoked partitions failed", e))
        )
        fetcher.unassign(partitions)
        processed.forget(partitions)
      })

    /** Partitions lost (the member fell out of the group): stop them, commit nothing. */
    const lost = (partitions: ReadonlyArray<TopicPartition>): Effect.Effect<void> =>
      Effect.sync(() => {
        fetcher.unassign(partitions)
        processed.forget(partitions)
      })

    /** The membership ended for good: every stream fails with its error. */
    const fail = (error: E): Effect.Effect<void> =>
      Effect.sync(() => {
        fetcher.failure ??= error as ConsumerError
        fetcher.dataSignal.notify()
        for (const q of listeners) Queue.failCauseUnsafe(q, Cause.fail(error))
      })

    if (settings.autoCommitMs > 0) {
      yield* commitPending().pipe(
        Effect.catch((e) => Effect.logWarning("kpax consumer: periodic commit failed", e)),
        Effect.delay(settings.autoCommitMs),
        Effect.repeat(Schedule.forever),
        Effect.forkScoped
      )
    }

    // closing commits what was processed (finalizers run in reverse: this runs before the
    // membership leaves and the fetcher stops)
    yield* Effect.addFinalizer(() =>
      commitPending().pipe(Effect.catch((e) => Effect.logWarning("kpax consumer: commit on close failed", e)))
    )

    /**
     * A stream of the fetcher's records (of `only`, or of every partition). With `onPull`, each
     * pull first marks the previous chunk processed. When the stream ends (failure, interruption,
     * `take`), the partitions it read go back to their processed offsets: what it was handed and
     * did not finish is delivered again to the next stream (at-least-once).
     */
    const reader = (only: TopicPartition | undefined): Stream.Stream<ConsumerRecord, ConsumerError | E> =>
      Stream.unwrap(Effect.gen(function*() {
        const touched = new Set<PartitionState>()
        let last: { readonly p: PartitionState; readonly next: bigint; readonly epoch: number } | undefined
        const emit = (p: PartitionState, _c: unknown, records: Array<ConsumerRecord>): ReadonlyArray<ConsumerRecord> => {
          touched.add(p)
          // nothing before the first record emitted in this assignment needs processing
          processed.mark(p.topic, p.partition, p, records[0].offset)
          const r = records[records.length - 1]
          const next = r.offset + 1n
          p.handed = next
          last = { p, next, epoch: r.leaderEpoch }
          return records
        }
        const pull = fetcher.pull<ConsumerRecord>(only, emit, settings.maxPollRecords)
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (fetcher.closed) return
            for (const p of touched) {
              if (!p.assigned || fetcher.get(p) !== p) continue
              // being revoked: nothing more of it is read; what was handed will not be processed now
              if (p.revoking) {
                p.handed = -1n
                continue
              }
              const done = processed.processed(p)
              if (done >= 0n && p.position > done) fetcher.startAt(p, done)
              else p.handed = -1n
            }
          })
        )
        return Stream.fromPull(Effect.succeed(Effect.suspend(() => {
          if (last !== undefined && settings.ackMode === "onPull") processed.mark(last.p.topic, last.p.partition, last.p, last.next, last.epoch)
          last = undefined
          return pull as Effect.Effect<Chunk, ConsumerError | Cause.Done>
        })))
      }))

    const records = reader(undefined)
    const partitionRecords = (tp: TopicPartition) => reader(tp)

    const partitioned: Stream.Stream<readonly [TopicPartition, Stream.Stream<ConsumerRecord, ConsumerError | E>], ConsumerError | E> = Stream.unwrap(
      Effect.gen(function*() {
        const q = yield* Queue.unbounded<TopicPartition, ConsumerError | E | Cause.Done>()
        if (fetcher.failure !== undefined) return Stream.fail(fetcher.failure)
        listeners.add(q)
        yield* Effect.addFinalizer(() => Effect.sync(() => listeners.delete(q)))
        for (const p of fetcher.parts.values()) Queue.offerUnsafe(q, { topic: p.topic, partition: p.partition })
        return Stream.fromQueue(q).pipe(Stream.map((tp) => [tp, partitionRecords(tp)] as const))
      })
    )

    /** Marks records processed; refused (`PartitionRevoked`) for a partition no longer tracked. */
    const ack = (record: ConsumerRecord | ReadonlyArray<ConsumerRecord>): Effect.Effect<void, PartitionRevoked> =>
      Effect.suspend(() => {
        let refused: ConsumerRecord | undefined
        if (Array.isArray(record)) {
          for (const r of record as ReadonlyArray<ConsumerRecord>) {
            if (!processed.mark(r.topic, r.partition, undefined, r.offset + 1n, r.leaderEpoch)) refused ??= r
          }
        } else {
          const r = record as ConsumerRecord
          if (!processed.mark(r.topic, r.partition, undefined, r.offset + 1n, r.leaderEpoch)) refused = r
        }
        if (refused === undefined) return Effect.void
        return Effect.fail(new PartitionRevoked({
          topic: refused.topic,
          partition: refused.partition,
          message: `${refused.topic}-${refused.partition} is not owned by this consumer any more (revoked or lost): the ack of offset ${refused.offset} is not committed`
        }))
      })

    /** The first of `partitions` this consumer does not own (released after a revocation, lost, never assigned). */
    const notOwned = (partitions: ReadonlyArray<TopicPartition>): TopicPartition | undefined => partitions.find((tp) => !processed.has(tp))

    return {
      assigned,
      notOwned,
      revoked,
      lost,
      fail,
      records,
      partitioned,
      partitionRecords,
      ack,
      commit: commitPending(),
      processed: (tp: TopicPartition) => processed.processed(tp),
      /** A seek: the processed offset follows (also backwards; -1 until the first record), so commits reflect it. */
      seek: (tp: TopicPartition, offset: bigint) => processed.seek(tp, offset)
    }
  }) satisfies Effect.Effect<unknown, never, Scope.Scope>
