/**
 * Partition offsets for commands, through `Admin.listOffsets`: ends (high watermarks, or last
 * stable offsets for read_committed), log starts, and the first offset at or after a time.
 *
 * @internal
 */
import { Effect } from "effect"
import { Admin } from "../../Admin/Admin.ts"
import type { OffsetSpec } from "../../Admin/Admin.ts"
import { CommandFailed, describeError } from "../Errors.ts"
import type { Position } from "../Time.ts"

export type Isolation = "read_uncommitted" | "read_committed"

/** Offsets by partition for a spec; `null` where there is none (no record at or after a time). */
export const listOffsets = (topic: string, partitions: ReadonlyArray<number>, spec: OffsetSpec, isolation: Isolation = "read_uncommitted") =>
  Effect.gen(function*() {
    const admin = yield* Admin
    const listed = yield* admin.listOffsets(partitions.map((partition) => ({ topic, partition })), spec, { isolation }).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `listing offsets of ${topic}: ${describeError(e)}` }))
    )
    const out = new Map<number, bigint | null>()
    for (const l of listed) out.set(l.partition, l.offset)
    return out
  })

/** Bounds of each partition: first offset still in the log, and the end (next offset to be written). */
export interface Bounds {
  readonly start: bigint
  readonly end: bigint
}

export const bounds = (topic: string, partitions: ReadonlyArray<number>, isolation: Isolation = "read_uncommitted") =>
  Effect.gen(function*() {
    const [starts, ends] = yield* Effect.all([
      listOffsets(topic, partitions, "earliest", isolation),
      listOffsets(topic, partitions, "latest", isolation)
    ], { concurrency: 2 })
    const out = new Map<number, Bounds>()
    for (const p of partitions) out.set(p, { start: starts.get(p) ?? 0n, end: ends.get(p) ?? 0n })
    return out
  })

/**
 * The offset of a position in each partition, clamped to its bounds: a time resolves to the
 * first record at or after it (the end when none is that recent).
 */
export const resolvePositions = (
  topic: string,
  partitions: ReadonlyArray<number>,
  position: Position,
  limits: ReadonlyMap<number, Bounds>
) =>
  Effect.gen(function*() {
    const out = new Map<number, bigint>()
    const clamp = (p: number, o: bigint) => {
      const b = limits.get(p)!
      return o < b.start ? b.start : o > b.end ? b.end : o
    }
    if (position._tag === "time") {
      const found = yield* listOffsets(topic, partitions, { timestamp: position.ms })
      for (const p of partitions) out.set(p, clamp(p, found.get(p) ?? limits.get(p)!.end))
      return out
    }
    for (const p of partitions) {
      const b = limits.get(p)!
      out.set(p, position._tag === "earliest" ? b.start : position._tag === "latest" ? b.end : clamp(p, position.offset))
    }
    return out
  })
