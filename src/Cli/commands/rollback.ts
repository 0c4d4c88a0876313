/**
 * `kpax rollback <group> <topic> --to <time>`: commits a group's offsets so that it next reads
 * the first record at or after a time, in every partition (or those of `--partitions`).
 *
 * Where that record is, two ways:
 * - by the records' Kafka timestamps (default): the brokers' time index (ListOffsets by time);
 * - by a time inside the payload (`--time-field path`, `--payload json|url|msgpack`): a binary
 *   search over each partition's offsets reading single records, which assumes the field's
 *   times do not decrease along the partition (see `internal/search.ts`).
 *
 * Partitions without a record that recent move to their end. `--dry-run` shows the offsets and
 * commits nothing. The group must have no active members (Kafka refuses otherwise).
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Admin } from "../../Admin/Admin.ts"
import { CommandFailed, failure, UsageError } from "../Errors.ts"
import * as Flags from "../Flags.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { table, toJsonLine, write } from "../Output.ts"
import { extractor } from "../PayloadTime.ts"
import type { TimeExtractor } from "../PayloadTime.ts"
import { progress } from "../Progress.ts"
import { formatTime } from "../Time.ts"
import type { Bounds } from "../internal/offsets.ts"
import { bounds, resolvePositions } from "../internal/offsets.ts"
import { recordReader } from "../internal/probe.ts"
import { searchOffset } from "../internal/search.ts"
import { selectPartitions, topicOrFail } from "../internal/topics.ts"

/** The payload-search target of one partition. */
const searchPartition = (topic: string, partition: number, b: Bounds, target: number, times: TimeExtractor) =>
  Effect.scoped(Effect.gen(function*() {
    const reader = yield* recordReader(topic, partition)
    return yield* searchOffset(b.start, b.end, target, (o, hi) =>
      Effect.gen(function*() {
        const r = yield* reader.at(o, hi)
        if (r === undefined) return undefined
        const t = times.extract(r.value)
        if (typeof t === "string") return yield* new CommandFailed({ message: `${topic}-${partition} offset ${r.offset}: ${t}` })
        return { offset: r.offset, time: t }
      }))
  }))

export const rollback = Command.make("rollback", {
  group: Argument.String("group").pipe(Argument.withDescription("consumer group id (must have no active members)")),
  topic: Argument.String("topic").pipe(Argument.withDescription("topic whose offsets to move")),
  to: Flag.String("to").pipe(Flag.withDescription("where to move: a time (RFC 3339, -1h, @epoch-ms), earliest, latest or an offset")),
  partitions: Flags.partitions,
  timeField: Flag.String("time-field").pipe(
    Flag.withDescription("find the time in the payload at this dotted path (binary search; assumes times do not decrease along a partition)"),
    Flag.optional
  ),
  payload: Flag.Literals("payload", ["json", "url", "msgpack"]).pipe(Flag.withDescription("payload format for --time-field"), Flag.withDefault("json" as const)),
  timeUnit: Flag.Literals("time-unit", ["auto", "s", "ms", "us", "ns"]).pipe(
    Flag.withDescription("unit of numeric payload times (auto: by magnitude)"),
    Flag.withDefault("auto" as const)
  ),
  dryRun: Flag.Boolean("dry-run").pipe(Flag.withDescription("show the offsets, commit nothing"), Flag.withDefault(false), Flag.withoutNegation)
}, (input) =>
  Effect.gen(function*() {
    const to = yield* Flags.position("to", input.to, Date.now())
    if (Option.isSome(input.timeField) && to._tag !== "time") {
      return yield* new UsageError({ message: "--time-field needs --to to be a time" })
    }
    const selected = yield* Flags.parsePartitions(input.partitions)
    yield* withCluster(Effect.gen(function*() {
      const admin = yield* Admin
      const topic = yield* topicOrFail(input.topic)
      const partitions = yield* selectPartitions(topic, selected)
      const limits = yield* bounds(input.topic, partitions)
      let targets: ReadonlyMap<number, bigint>
      if (Option.isSome(input.timeField) && to._tag === "time") {
        const times = extractor(input.payload, input.timeField.value, input.timeUnit)
        const found = new Map<number, bigint>()
        yield* Effect.scoped(Effect.gen(function*() {
          const p = yield* progress("searched", "partitions")
          yield* Effect.forEach(partitions, (partition) =>
            searchPartition(input.topic, partition, limits.get(partition)!, to.ms, times).pipe(
              Effect.tap((o) => Effect.sync(() => {
                found.set(partition, o)
                p.add(1)
              }))
            ), { concurrency: 4, discard: true })
        }))
        targets = found
      } else {
        targets = yield* resolvePositions(input.topic, partitions, to, limits)
      }
      const before = yield* admin.listGroupOffsets(input.group, { topics: [input.topic] }).pipe(
        Effect.mapError(failure(`offsets of group ${input.group}`))
      )
      const committed = new Map(before.map((r) => [r.partition, r.committedOffset]))
      const rows = partitions.map((partition) => ({ partition, from: committed.get(partition) ?? null, to: targets.get(partition)! }))
      if (!input.dryRun) {
        yield* admin.resetGroupOffsets(input.group, {
          to: "offsets",
          offsets: rows.map((r) => ({ topic: input.topic, partition: r.partition, offset: r.to }))
        }).pipe(Effect.mapError(failure(`committing offsets of group ${input.group}`)))
      }
      if (yield* Json) {
        write(toJsonLine({
          group: input.group,
          topic: input.topic,
          to: to._tag === "time" ? formatTime(to.ms) : to._tag === "offset" ? to.offset : to._tag,
          by: Option.isSome(input.timeField) ? `payload:${input.timeField.value}` : "timestamp",
          dryRun: input.dryRun,
          partitions: rows
        }) + "\n")
        return
      }
      write([
        ...table(rows, [
          { header: "PARTITION", get: (r) => r.partition, right: true },
          { header: "COMMITTED", get: (r) => r.from, right: true },
          { header: "NEW OFFSET", get: (r) => r.to, right: true }
        ]),
        input.dryRun ? `dry run: nothing committed for group ${input.group}` : `committed for group ${input.group}`
      ].join("\n") + "\n")
    }))
  })
).pipe(Command.withDescription(
  "Move a consumer group's offsets on a topic to a point in time: by the records' Kafka timestamps (the broker's time index), " +
    "or with --time-field by a time inside the payload (json, url-encoded or msgpack; binary search over offsets, which assumes " +
    "the payload times do not decrease along a partition). Partitions without a record that recent move to their end. --dry-run commits nothing."
))
