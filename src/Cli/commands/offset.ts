/**
 * `kpax offset <group> [topic…]`: a group's committed offsets, the partitions' ends and the lag,
 * per partition and in total.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Admin } from "../../Admin/Admin.ts"
import { failure } from "../Errors.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { table, toJsonLine, write } from "../Output.ts"

export const offset = Command.make("offset", {
  group: Argument.String("group").pipe(Argument.withDescription("consumer group id")),
  topics: Argument.String("topic").pipe(
    Argument.withDescription("topics to show, every partition (default: every partition the group committed to)"),
    Argument.variadic()
  )
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const rows = yield* admin.listGroupOffsets(input.group, input.topics.length > 0 ? { topics: input.topics } : {}).pipe(
      Effect.mapError(failure(`offsets of group ${input.group}`))
    )
    let total = 0n
    for (const r of rows) total += r.lag ?? 0n
    if (yield* Json) {
      write(toJsonLine({
        group: input.group,
        partitions: rows.map((r) => ({ topic: r.topic, partition: r.partition, committed: r.committedOffset, end: r.endOffset, lag: r.lag })),
        lag: total
      }) + "\n")
      return
    }
    if (rows.length === 0) {
      // a share group keeps start offsets, not committed ones: point there
      const d = yield* admin.describeGroup(input.group).pipe(Effect.option)
      const share = d._tag === "Some" && d.value.type === "share"
      write(share
        ? `group ${input.group} is a share group: see 'kpax groups share-offsets list ${input.group}'\n`
        : `group ${input.group} has no committed offsets\n`)
      return
    }
    write([
      ...table(rows, [
        { header: "TOPIC", get: (r) => r.topic },
        { header: "PARTITION", get: (r) => r.partition, right: true },
        { header: "COMMITTED", get: (r) => r.committedOffset, right: true },
        { header: "END", get: (r) => r.endOffset, right: true },
        { header: "LAG", get: (r) => r.lag, right: true }
      ]),
      `total lag ${total}`
    ].join("\n") + "\n")
  }))
).pipe(Command.withDescription("Show a consumer group's committed offsets and lag per partition, and its total lag."))
