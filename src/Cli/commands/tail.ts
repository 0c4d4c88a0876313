/**
 * `kpax tail <topic>`: the last `-n` records of every partition (or those of `--partitions`),
 * then with `--follow` every new one.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { UsageError } from "../Errors.ts"
import * as Flags from "../Flags.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { progress } from "../Progress.ts"
import { bounds } from "../internal/offsets.ts"
import { readRanges } from "../internal/read.ts"
import { selectPartitions, topicOrFail } from "../internal/topics.ts"

export const tail = Command.make("tail", {
  topic: Argument.String("topic").pipe(Argument.withDescription("topic to read")),
  lines: Flag.Int("lines").pipe(Flag.withAlias("n"), Flag.withDescription("records per partition"), Flag.withDefault(10)),
  partitions: Flags.partitions,
  follow: Flag.Boolean("follow").pipe(Flag.withAlias("f"), Flag.withDescription("then keep printing new records (until Ctrl-C)"), Flag.withDefault(false), Flag.withoutNegation),
  ...Flags.format
}, (input) =>
  Effect.gen(function*() {
    if (input.lines < 0) return yield* new UsageError({ message: "--lines must not be negative" })
    const print = yield* Flags.recordPrinter(input, yield* Json)
    const selected = yield* Flags.parsePartitions(input.partitions)
    yield* withCluster(Effect.scoped(Effect.gen(function*() {
      const topic = yield* topicOrFail(input.topic)
      const partitions = yield* selectPartitions(topic, selected)
      const limits = yield* bounds(input.topic, partitions)
      const n = BigInt(input.lines)
      const p = yield* progress("read")
      yield* readRanges({
        topic: input.topic,
        ranges: partitions.map((partition) => {
          const b = limits.get(partition)!
          const from = b.end - n > b.start ? b.end - n : b.start
          return { partition, start: from, end: input.follow ? undefined : b.end }
        }),
        count: undefined,
        isolation: "read_uncommitted",
        print,
        progress: p
      })
    })), { operation: "Read" })
  })
).pipe(Command.withDescription("Print the last records of every partition of a topic (-n per partition), then with --follow every new one."))
