/**
 * Position validation after a leader change (KIP-320), as the Java consumer does it: ask the new
 * leader (OffsetForLeaderEpoch) where the epoch of the last fetched batch ends in its log. If it
 * ends before the fetch position, the log was truncated (an unclean election):
 * - when the reader has not yet got records past that point, fetching starts again from the
 *   reader's position (nothing read is lost, nothing diverged is delivered);
 * - otherwise the reader already got records the log no longer has: with the reset policy
 *   `"none"` it gets a `LogTruncation` error, else it reads again from the divergence point.
 * An answer without an end offset is handled as OFFSET_OUT_OF_RANGE; brokers without the API, or
 * errors that retrying cannot fix, skip the check.
 *
 * @internal
 */
import { Effect } from "effect"
import type { BrokerError } from "../../Connection/Errors.ts"
import { errorInfo } from "../../Protocol/Errors.ts"
import { OffsetForLeaderEpoch } from "../../Protocol/generated/OffsetForLeaderEpoch.ts"
import type { OffsetForLeaderEpochRequestOffsetForLeaderTopic } from "../../Protocol/generated/OffsetForLeaderEpoch.ts"
import { LogTruncation, OffsetOutOfRange } from "../Errors.ts"
import type { ConsumerError } from "../Errors.ts"
import type { FetcherState } from "./fetcherState.ts"
import { leaderEpochOf } from "./fetcherState.ts"
import { partitionKey } from "./partition.ts"
import type { PartitionState } from "./partition.ts"

/** One OffsetForLeaderEpoch to the leader `node` for the partitions `ps`. */
export const validatePositions = (f: FetcherState, node: number, ps: ReadonlyArray<PartitionState>): Effect.Effect<void> => {
  const snap = f.cluster.snapshot()
  const sent = new Map(ps.map((p) => [p.key, { p, generation: p.generation, fetchOffset: p.fetchOffset, epoch: leaderEpochOf(snap, p) }]))
  /** The position is good at the current epoch: fetch on. */
  const valid = (x: { readonly p: PartitionState; readonly epoch: number }) => {
    x.p.fetchEpoch = x.epoch
  }
  return Effect.gen(function*() {
    const broker = yield* f.brokerOf(node)
    if (broker === undefined) {
      for (const p of ps) f.backoff(p)
      return
    }
    const supported = yield* Effect.result(broker.versionFor(OffsetForLeaderEpoch))
    if (supported._tag === "Failure") {
      for (const x of sent.values()) valid(x)
      return
    }
    const topics = new Map<string, OffsetForLeaderEpochRequestOffsetForLeaderTopic>()
    for (const { p, epoch } of sent.values()) {
      let t = topics.get(p.topic)
      if (t === undefined) {
        t = { topic: p.topic, partitions: [] }
        topics.set(p.topic, t)
      }
      ;(t.partitions as Array<OffsetForLeaderEpochRequestOffsetForLeaderTopic["partitions"][number]>).push({
        partition: p.partition,
        currentLeaderEpoch: epoch,
        leaderEpoch: p.lastFetchedEpoch
      })
    }
    const res = yield* broker.request(OffsetForLeaderEpoch, { replicaId: -1, topics: [...topics.values()] }, { timeout: f.settings.requestTimeoutMs })
    let refresh = false
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const x = sent.get(partitionKey(t.topic, r.partition))
        if (x === undefined) continue
        const p = x.p
        if (!p.assigned || p.generation !== x.generation || p.fetchOffset !== x.fetchOffset) continue
        if (r.errorCode !== 0) {
          const info = errorInfo(r.errorCode)
          if (info?.invalidMetadata === true) {
            refresh = true
            f.backoff(p)
            yield* f.cluster.leaderIsDown(p.topic, p.partition, node)
          } else if (info?.retriable === true) {
            f.backoff(p)
          } else {
            valid(x) // cannot be checked: go on as before KIP-320
          }
          continue
        }
        if (r.endOffset < 0n || r.leaderEpoch < 0) {
          // the leader knows no such epoch: as OFFSET_OUT_OF_RANGE
          outOfRange(f, p)
          continue
        }
        if (r.endOffset >= p.fetchOffset) {
          valid(x)
          continue
        }
        if (p.position < 0n || r.endOffset >= p.position) {
          // truncated past what the reader got: fetch again from the reader's position
          f.startAt(p, p.position >= 0n ? p.position : r.endOffset)
        } else if (f.settings.offsetReset === "none") {
          f.pushError(p, new LogTruncation({
            topic: p.topic,
            partition: p.partition,
            offset: p.position,
            divergentOffset: r.endOffset,
            message: `the log of ${p.topic}-${p.partition} was truncated at offset ${r.endOffset}, below records already read ` +
              `(up to ${p.position - 1n}), and the reset policy is "none"`
          }))
        } else {
          f.startAt(p, r.endOffset)
        }
      }
    }
    if (refresh && !f.refreshing) yield* f.refreshMetadata()
  }).pipe(
    Effect.catch((e: BrokerError | ConsumerError) =>
      Effect.suspend(() => {
        for (const p of ps) f.backoff(p)
        return f.requestFailed(node, e)
      })
    ),
    Effect.ensuring(Effect.sync(() => {
      for (const p of ps) p.validating = false
      f.wake()
    }))
  )
}

const outOfRange = (f: FetcherState, p: PartitionState): void => {
  const policy = f.settings.offsetReset
  if (policy === "none") {
    f.pushError(p, new OffsetOutOfRange({
      topic: p.topic,
      partition: p.partition,
      offset: p.fetchOffset,
      message: `the new leader of ${p.topic}-${p.partition} has no record of the epoch of offset ${p.fetchOffset} and the reset policy is "none"`
    }))
  } else {
    p.reset = policy
    p.fetchOffset = -1n
    p.lastFetchedEpoch = -1
    p.fetchEpoch = -1
  }
}
