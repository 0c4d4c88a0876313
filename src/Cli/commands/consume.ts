/**
 * `kpax consume <topic>`: records of a topic within a range — `--start` (default earliest) to
 * `--end` (default: the end when the command started) — or on and on with `--follow`; at most
 * `--count` records in all.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { UsageError } from "../Errors.ts"
import * as Flags from "../Flags.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { progress } from "../Progress.ts"
import { bounds, resolvePositions } from "../internal/offsets.ts"
import { readRanges } from "../internal/read.ts"
import { selectPartitions, topicOrFail } from "../internal/topics.ts"
import * as SchemaRegistryFlags from "../SchemaRegistryFlags.ts"

export const consume = Command.make("consume", {
  topic: Argument.String("topic").pipe(Argument.withDescription("topic to read")),
  partitions: Flags.partitions,
  start: Flag.String("start").pipe(Flag.withDescription("where to start: earliest, latest, a time (RFC 3339, -1h, @epoch-ms) or an offset"), Flag.withDefault("earliest")),
  end: Flag.String("end").pipe(
    Flag.withDescription("where to stop (exclusive): latest (default: the end when the command started), a time or an offset"),
    Flag.optional
  ),
  count: Flag.Int("count").pipe(Flag.withAlias("n"), Flag.withDescription("stop after this many records in all"), Flag.optional),
  follow: Flag.Boolean("follow").pipe(Flag.withAlias("f"), Flag.withDescription("keep reading new records (until Ctrl-C or --count)"), Flag.withDefault(false), Flag.withoutNegation),
  readCommitted: Flag.Boolean("read-committed").pipe(Flag.withDescription("skip records of aborted transactions, stop at the last stable offset"), Flag.withDefault(false), Flag.withoutNegation),
  ...Flags.format,
  ...SchemaRegistryFlags.consumeFlags
}, (input) =>
  Effect.gen(function*() {
    const now = Date.now()
    const print = yield* Flags.recordPrinter(input, yield* Json)
    const start = yield* Flags.position("start", input.start, now)
    const end = Option.isSome(input.end) ? yield* Flags.position("end", input.end.value, now) : undefined
    if (input.follow && end !== undefined) return yield* new UsageError({ message: "--follow reads without end: drop --end (or --follow)" })
    if (Option.isSome(input.count) && input.count.value < 0) return yield* new UsageError({ message: "--count must not be negative" })
    const isolation = input.readCommitted ? "read_committed" as const : "read_uncommitted" as const
    const selected = yield* Flags.parsePartitions(input.partitions)
    yield* withCluster(Effect.scoped(Effect.gen(function*() {
      const topic = yield* topicOrFail(input.topic)
      const partitions = yield* selectPartitions(topic, selected)
      const limits = yield* bounds(input.topic, partitions, isolation)
      const starts = yield* resolvePositions(input.topic, partitions, start, limits)
      const ends = input.follow ? undefined : yield* resolvePositions(input.topic, partitions, end ?? { _tag: "latest" }, limits)
      const p = yield* progress("consumed")
      const registry = yield* SchemaRegistryFlags.reader(input)
      yield* readRanges({
        topic: input.topic,
        ranges: partitions.map((partition) => ({ partition, start: starts.get(partition)!, end: ends?.get(partition) })),
        count: Option.getOrUndefined(input.count),
        isolation,
        print: registry === undefined ? print : (r) => print(registry.decode(r)),
        prepare: registry?.prepare,
        progress: p
      })
    })))
  })
).pipe(Command.withDescription(
  "Print records of a topic from --start to --end (default: earliest to the end when the command started), or on with --follow. " +
    "Output: the value per line (toggle --key --headers --timestamp --partition --offset), --format json, or --template."
))
