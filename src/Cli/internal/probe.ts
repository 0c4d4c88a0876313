/**
 * Reads single records at given offsets of one partition, for searches: a partition consumer
 * with small fetches, moved (`seek`) to each probe offset.
 *
 * @internal
 */
import { Effect, Option, Stream } from "effect"
import * as PartitionConsumer from "../../Consumer/PartitionConsumer.ts"
import type { ConsumerRecord } from "../../Consumer/Record.ts"
import { CommandFailed, describeError } from "../Errors.ts"

/**
 * A reader of the first record at or after an offset (below a bound) of a partition, living
 * in the current scope.
 */
export const recordReader = (topic: string, partition: number) =>
  Effect.gen(function*() {
    const consumer = yield* PartitionConsumer.make({
      offsetReset: "earliest",
      partitionMaxBytes: 64 * 1024,
      maxPrefetchBytes: 256 * 1024,
      fetchSessions: false
    }).pipe(Effect.mapError((e) => new CommandFailed({ message: e.message })))
    const tp = { topic, partition }
    let assigned = false
    const fail = (e: unknown) => new CommandFailed({ message: `reading ${topic}-${partition}: ${describeError(e)}` })
    /**
     * Resolves once no record below `hi` is left: the consumer's position is at or past it on two
     * checks in a row. (The position jumps to the end of a fetched chunk as soon as the chunk is
     * pulled, a moment before its first record reaches the reader: one sighting is not enough.)
     */
    const exhausted = (hi: bigint) =>
      Effect.gen(function*() {
        let seen = false
        for (;;) {
          yield* Effect.sleep("50 millis")
          const pos = consumer.position(tp)
          const past = pos !== undefined && pos >= hi
          if (past && seen) return undefined
          seen = past
        }
      })
    return {
      /** The first record with an offset in `[offset, hi)`, or `undefined`. */
      at: (offset: bigint, hi: bigint): Effect.Effect<ConsumerRecord | undefined, CommandFailed> =>
        Effect.gen(function*() {
          if (offset >= hi) return undefined
          if (!assigned) {
            yield* consumer.assign([{ ...tp, from: offset }]).pipe(Effect.mapError(fail))
            assigned = true
          } else yield* consumer.seek(tp, offset).pipe(Effect.mapError(fail))
          const first = consumer.partitionRecords(tp).pipe(
            Stream.runHead,
            Effect.map(Option.getOrUndefined),
            Effect.mapError(fail)
          )
          const r = yield* Effect.raceFirst(first, exhausted(hi))
          return r !== undefined && r.offset < hi ? r : undefined
        })
    }
  })
