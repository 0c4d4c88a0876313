/**
 * The readers' side of the fetcher: take the next buffered chunk (of one partition, or of the
 * partitions with data in turn), decode it (off the fetch loop, only when pulled), drop what a
 * reader must not see (below the fetch offset, control batches, aborted transactions) and move
 * the partition's position.
 *
 * @internal
 */
import { Cause, Deferred, Effect } from "effect"
import { decodeRecordBatches } from "../../Protocol/RecordBatch.ts"
import { ConsumerClosed, CorruptRecords } from "../Errors.ts"
import type { ConsumerError } from "../Errors.ts"
import type { ConsumerBatch, ConsumerRecord, TopicPartition } from "../Record.ts"
import type { FetcherState } from "./fetcherState.ts"
import type { Chunk, DataChunk, PartitionState } from "./partition.ts"
import { toRecords } from "./records.ts"

const awaitSignal = (signal: Deferred.Deferred<void>): Effect.Effect<void> => Deferred.await(signal)

/** Takes the next chunk (or `"rest"`: the partition's records left from its last chunk): of `only`, or of the partitions with data in turn. */
const take = (f: FetcherState, only: PartitionState | undefined): { readonly p: PartitionState; readonly chunk: Chunk | "rest" } | undefined => {
  if (only !== undefined) {
    if (only.paused || only.revoking) return undefined
    if (only.rest !== undefined) return { p: only, chunk: "rest" }
    if (only.chunks.length === 0) return undefined
    return { p: only, chunk: shift(f, only) }
  }
  const n = f.ready.length
  for (let i = 0; i < n; i++) {
    const p = f.ready.shift()!
    if (!p.assigned || p.revoking || (p.chunks.length === 0 && p.rest === undefined)) {
      p.inReady = false
      continue
    }
    if (p.paused) {
      f.ready.push(p)
      continue
    }
    if (p.rest !== undefined) {
      // back of the queue: the other partitions' records come before this one's next slice
      f.ready.push(p)
      return { p, chunk: "rest" }
    }
    const chunk = shift(f, p)
    if (p.chunks.length > 0) f.ready.push(p)
    else p.inReady = false
    return { p, chunk }
  }
  return undefined
}

/** Hands out the next at most `max` records of a partition's rest. */
const fromRest = (p: PartitionState, max: number): Array<ConsumerRecord> => {
  const rest = p.rest!
  const from = p.restAt
  const to = Math.min(rest.length, from + max)
  const out = from === 0 && to === rest.length ? rest : rest.slice(from, to)
  if (to >= rest.length) {
    p.rest = undefined
    p.position = p.restNext
  } else {
    p.restAt = to
    p.position = rest[to].offset
  }
  return out
}

const shift = (f: FetcherState, p: PartitionState): Chunk => {
  const chunk = p.chunks.shift()!
  if (chunk._tag === "Data") {
    p.bufferedBytes -= chunk.size
    f.release(chunk.size)
  } else {
    p.stalled = false
    f.wake()
  }
  return chunk
}

/**
 * The next records: of partition `only`, or of any partition. Suspends while nothing is
 * buffered; ends (`Cause.Done`) when `only` is unassigned.
 */
export const pull = <A>(
  f: FetcherState,
  only: TopicPartition | undefined,
  emit: (p: PartitionState, chunk: DataChunk, records: Array<ConsumerRecord>) => ReadonlyArray<A>,
  maxRecords = Infinity
): Effect.Effect<readonly [A, ...Array<A>], ConsumerError | Cause.Done> =>
  Effect.suspend(() => pullLoop(f, only, emit, maxRecords))

const pullLoop = <A>(
  f: FetcherState,
  only: TopicPartition | undefined,
  emit: (p: PartitionState, chunk: DataChunk, records: Array<ConsumerRecord>) => ReadonlyArray<A>,
  max: number
): Effect.Effect<readonly [A, ...Array<A>], ConsumerError | Cause.Done> => {
  for (;;) {
    if (f.failure !== undefined) return Effect.fail(f.failure)
    if (f.closed) return Effect.fail(new ConsumerClosed({ message: "the consumer is closed" }))
    let state: PartitionState | undefined
    if (only !== undefined) {
      state = f.get(only)
      // a revoked partition's stream ends once it pulls after its last records
      if (state === undefined || state.revoking) return Cause.done()
    }
    const signal = f.dataSignal.current
    const taken = take(f, state)
    if (taken === undefined) return Effect.flatMap(awaitSignal(signal), () => pullLoop(f, only, emit, max))
    const { p, chunk } = taken
    if (chunk === "rest") {
      const records = fromRest(p, max)
      return Effect.succeed(emit(p, p.restChunk!, records) as readonly [A, ...Array<A>])
    }
    if (chunk.generation !== p.generation) continue
    if (chunk._tag === "Error") return Effect.fail(chunk.error)
    return decodeRecordBatches(chunk.bytes, { verifyCrc: f.settings.checkCrcs }).pipe(
      Effect.matchEffect({
        onFailure: (cause) => {
          if (p.generation === chunk.generation) {
            // read the same bytes again next time (and fail again, as the Java client does)
            f.startAt(p, chunk.fetchOffset)
          }
          return Effect.fail(new CorruptRecords({
            topic: p.topic,
            partition: p.partition,
            offset: chunk.fetchOffset,
            cause,
            message: `records of ${p.topic}-${p.partition} fetched at offset ${chunk.fetchOffset} do not decode: ${cause.message}`
          }))
        },
        onSuccess: (batches) => {
          if (p.generation !== chunk.generation) return pullLoop(f, only, emit, max)
          const records: Array<ConsumerRecord> = []
          toRecords(p.topic, p.partition, batches, chunk.fetchOffset, f.settings.isolationLevel === 1, chunk.abortedTransactions, records)
          if (records.length === 0) {
            p.position = chunk.nextOffset
            return pullLoop(f, only, emit, max)
          }
          if (records.length > max) {
            // hand out `max` now, the rest in later pulls (after the other partitions' turns)
            p.rest = records
            p.restAt = 0
            p.restNext = chunk.nextOffset
            p.restChunk = chunk
            if (only === undefined && !p.inReady) {
              // (no wake-up: this reader is the one that will take it)
              p.inReady = true
              f.ready.push(p)
            }
            return Effect.succeed(emit(p, chunk, fromRest(p, max)) as readonly [A, ...Array<A>])
          }
          if (max !== Infinity) return coalesce(f, p, only, emit, max, records, chunk)
          p.position = chunk.nextOffset
          const out = emit(p, chunk, records)
          return Effect.succeed(out as readonly [A, ...Array<A>])
        }
      })
    )
  }
}

/**
 * Adds the partition's next buffered chunks to `records`, up to `max` (Java's max.poll.records
 * spans completed fetches too): a reader that fell behind gets bigger chunks instead of one
 * fetch's worth at a time, so a pipeline with a fixed cost per chunk (a transaction) catches up.
 * Only for bounded pulls: unbounded ones (PartitionConsumer) hand out one chunk per fetch.
 */
const coalesce = <A>(
  f: FetcherState,
  p: PartitionState,
  only: TopicPartition | undefined,
  emit: (p: PartitionState, chunk: DataChunk, records: Array<ConsumerRecord>) => ReadonlyArray<A>,
  max: number,
  records: Array<ConsumerRecord>,
  last: DataChunk
): Effect.Effect<readonly [A, ...Array<A>], ConsumerError | Cause.Done> => {
  const done = () => {
    p.position = last.nextOffset
    return Effect.succeed(emit(p, last, records) as readonly [A, ...Array<A>])
  }
  const next = p.chunks[0]
  if (records.length >= max || next === undefined || next._tag !== "Data" || next.generation !== p.generation || p.paused || p.revoking) {
    return done()
  }
  shift(f, p)
  return decodeRecordBatches(next.bytes, { verifyCrc: f.settings.checkCrcs }).pipe(
    Effect.matchEffect({
      // hand out what decoded; the next pull fetches these bytes again (and fails on them)
      onFailure: () => Effect.andThen(done(), (out) => Effect.sync(() => {
        if (p.generation === next.generation) f.startAt(p, next.fetchOffset)
        return out
      })),
      onSuccess: (batches) => {
        if (p.generation !== next.generation) return pullLoop(f, only, emit, max)
        const more: Array<ConsumerRecord> = []
        toRecords(p.topic, p.partition, batches, next.fetchOffset, f.settings.isolationLevel === 1, next.abortedTransactions, more)
        const room = max - records.length
        if (more.length > room) {
          // the rest of this chunk in later pulls, as for a single chunk over `max`
          p.rest = more
          p.restAt = 0
          p.restNext = next.nextOffset
          p.restChunk = next
          if (only === undefined && !p.inReady) {
            p.inReady = true
            f.ready.push(p)
          }
          for (const r of fromRest(p, room)) records.push(r)
          return Effect.succeed(emit(p, next, records) as readonly [A, ...Array<A>])
        }
        for (const r of more) records.push(r)
        return coalesce(f, p, only, emit, max, records, next)
      }
    })
  )
}

/** A chunk's records as a batch, with the partition's offsets as of its fetch. */
export const batchOf = (p: PartitionState, chunk: DataChunk, records: ReadonlyArray<ConsumerRecord>): ConsumerBatch => ({
  topic: p.topic,
  partition: p.partition,
  records,
  highWatermark: chunk.highWatermark,
  lastStableOffset: chunk.lastStableOffset,
  logStartOffset: chunk.logStartOffset,
  nextOffset: chunk.nextOffset
})
