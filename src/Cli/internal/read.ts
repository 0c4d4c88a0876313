/**
 * Reads partitions over offset ranges and prints their records: the engine of `consume` and
 * `tail`. Each partition is read from its start offset up to its end offset (exclusive), or on
 * and on with `follow`; reading stops at `count` records in all, or when every partition reached
 * its end (see `Ends`).
 *
 * @internal
 */
import { Effect, Stream } from "effect"
import type { Scope } from "effect"
import type { Cluster } from "../../Cluster/Cluster.ts"
import * as PartitionConsumer from "../../Consumer/PartitionConsumer.ts"
import type { ConsumerRecord } from "../../Consumer/Record.ts"
import { CommandFailed, describeError } from "../Errors.ts"
import { write } from "../Output.ts"
import type { Progress } from "../Progress.ts"
import { Ends } from "./ends.ts"
import type { Isolation } from "./offsets.ts"

export interface Range {
  readonly partition: number
  readonly start: bigint
  /** Exclusive; `undefined`: no end (follow). */
  readonly end: bigint | undefined
}

export interface ReadOptions {
  readonly topic: string
  readonly ranges: ReadonlyArray<Range>
  /** Most records to print in all. */
  readonly count: number | undefined
  readonly isolation: Isolation
  readonly print: (r: ConsumerRecord) => string
  /** Runs on each batch before it is printed (a registry decoder loads new schema ids). */
  readonly prepare?: ((records: ReadonlyArray<ConsumerRecord>) => Effect.Effect<void>) | undefined
  readonly progress: Progress
}

/** Prints the records of the ranges; succeeds with how many were printed. */
export const readRanges = (o: ReadOptions): Effect.Effect<number, CommandFailed, Scope.Scope | Cluster> =>
  Effect.gen(function*() {
    const open = o.ranges.filter((r) => r.end === undefined || r.start < r.end)
    if (open.length === 0 || o.count === 0) return 0
    const consumer = yield* PartitionConsumer.make({ isolationLevel: o.isolation, offsetReset: "earliest" }).pipe(
      Effect.mapError((e) => new CommandFailed({ message: e.message }))
    )
    const ends = new Map<number, bigint>()
    for (const r of open) if (r.end !== undefined) ends.set(r.partition, r.end)
    yield* consumer.assign(open.map((r) => ({ topic: o.topic, partition: r.partition, from: r.start }))).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `reading ${o.topic}: ${describeError(e)}` }))
    )
    let printed = 0
    const limit = o.count ?? Number.POSITIVE_INFINITY
    const bounded = open.every((r) => r.end !== undefined)
    const tracker = new Ends(ends)
    const isDone = () => printed >= limit || (bounded && tracker.finished.size === open.length)
    const position = (partition: number) => consumer.position({ topic: o.topic, partition })
    const handle = (batch: PartitionConsumer.ConsumerBatch) =>
      Effect.sync(() => {
        let out = ""
        let n = 0
        for (const r of batch.records) {
          if (printed + n >= limit) break
          if (!tracker.admit(batch.partition, r.offset)) break
          out += o.print(r) + "\n"
          n++
        }
        if (out !== "") write(out)
        printed += n
        tracker.handled()
        o.progress.add(n)
        return isDone()
      })
    // A batch whose prepare (a registry lookup) is still running has not been handled yet: the
    // positions say nothing until it is.
    let preparing = 0
    const prepared = (prepare: NonNullable<ReadOptions["prepare"]>, batch: PartitionConsumer.ConsumerBatch) =>
      Effect.suspend(() => {
        preparing++
        return Effect.andThen(prepare(batch.records), handle(batch)).pipe(Effect.ensuring(Effect.sync(() => void preparing--)))
      })
    const poll = Effect.gen(function*() {
      for (;;) {
        yield* Effect.sleep("200 millis")
        if (preparing === 0) tracker.checkPositions(position)
        if (isDone()) return
      }
    })
    yield* Effect.raceFirst(
      consumer.batches.pipe(
        Stream.mapEffect((batch) => (o.prepare === undefined ? handle(batch) : prepared(o.prepare, batch))),
        Stream.takeUntil((done) => done),
        Stream.runDrain
      ),
      bounded ? poll : Effect.never
    ).pipe(Effect.mapError((e) => new CommandFailed({ message: `reading ${o.topic}: ${describeError(e)}` })))
    return printed
  })
