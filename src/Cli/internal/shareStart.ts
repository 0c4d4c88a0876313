/**
 * Where a share group starts reading, for `consume --share-group`. A share group has one start
 * offset per partition, kept by the brokers; partitions without one start at the group config
 * `share.auto.offset.reset` (`latest` unless set) when a member first reads them, so a new group
 * on an existing topic sees only new records. With `--start`, the partitions that have no start
 * offset yet get one before the member joins (AlterShareGroupOffsets; earliest, latest, a time
 * or an offset, as plain `consume` reads them), said on stderr; partitions that have one keep it
 * (`kpax groups share-offsets reset` moves those). Nothing else changes: no group config is set,
 * so the next new topic of the group starts per `share.auto.offset.reset` again.
 *
 * @internal
 */
import { Effect } from "effect"
import { Admin } from "../../Admin/Admin.ts"
import type { PartitionOffset } from "../../Admin/Admin.ts"
import { failure } from "../Errors.ts"
import { note } from "../Output.ts"
import type { Position } from "../Time.ts"
import { bounds, resolvePositions } from "./offsets.ts"

const where = (ps: ReadonlyArray<{ readonly topic: string; readonly partition: number }>) => {
  const by = new Map<string, Array<number>>()
  for (const p of ps) by.set(p.topic, [...(by.get(p.topic) ?? []), p.partition])
  return [...by].map(([t, list]) => `${t}:${list.join(",")}`).join(" ")
}

/** Gives the group's partitions without a start offset the one of `start` (given as `startText`). */
export const startShareGroup = (group: string, topics: ReadonlyArray<string>, start: { readonly position: Position; readonly text: string } | undefined) =>
  Effect.gen(function*() {
    const admin = yield* Admin
    const offsets = yield* admin.listShareGroupOffsets(group, { topics }).pipe(Effect.mapError(failure(`share offsets of group ${group}`)))
    const missing = offsets.filter((o) => o.startOffset === null)
    if (missing.length === 0) {
      if (start !== undefined) yield* note(`share group ${group} already has start offsets on ${topics.join(" ")}: --start ignored (kpax groups share-offsets reset moves them)`)
      return
    }
    if (start === undefined) {
      return yield* note(
        `share group ${group} has no start offset on ${where(missing)}: those start at the group config share.auto.offset.reset ` +
          "(latest unless set); --start earliest reads what is already there"
      )
    }
    const targets: Array<PartitionOffset> = []
    for (const topic of new Set(missing.map((m) => m.topic))) {
      const ps = missing.filter((m) => m.topic === topic).map((m) => m.partition)
      const at = yield* resolvePositions(topic, ps, start.position, yield* bounds(topic, ps))
      for (const p of ps) targets.push({ topic, partition: p, offset: at.get(p)! })
    }
    const set = yield* admin.resetShareGroupOffsets(group, { to: "offsets", offsets: targets }).pipe(
      Effect.as(true),
      // another member joined meanwhile: the brokers start those partitions per the group config
      Effect.catchTag("GroupHasActiveMembers", () => Effect.succeed(false)),
      Effect.mapError(failure(`setting start offsets of share group ${group}`))
    )
    yield* note(
      set
        ? `share group ${group} had no start offset on ${where(missing)}: set to ${start.text} (${targets.map((t) => t.offset).join(",")})`
        : `share group ${group} has active members: --start not applied to ${where(missing)} (they start per share.auto.offset.reset)`
    )
  })
