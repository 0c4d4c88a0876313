/**
 * `kpax consume <topic…>`: records of a topic within a range — `--start` (default earliest) to
 * `--end` (default: the end when the command started) — or on and on with `--follow`; at most
 * `--count` records in all.
 *
 * - `--group G`: as a member of consumer group G (`--group-protocol classic|consumer`) over one
 *   or more topics: partitions start at the group's committed offsets (else at `--start`:
 *   earliest or latest), and what was printed is committed (at-least-once; `--no-commit` only
 *   reads). Stops when every assigned partition reached the end it had when the command started
 *   (or `--end`), at `--count`, after `--idle` without records, or on Ctrl-C / SIGTERM, with a
 *   clean leave; `--follow` reads on.
 * - `--share-group G`: as a member of share group G: each printed record is acknowledged
 *   (`--ack accept`, the default, or `release` / `reject`); stops at `--count`, after `--idle`
 *   without records, or on Ctrl-C / SIGTERM, then acknowledges what it printed, releases what it
 *   fetched and did not print, and leaves. A new share group starts at the latest offset (group
 *   config `share.auto.offset.reset`); `--start` gives partitions without a start offset one
 *   (see `internal/shareStart.ts`).
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
import { parseDuration } from "../Time.ts"
import type { Position } from "../Time.ts"
import { readGroup, readShareGroup } from "../internal/groupRead.ts"
import { bounds, resolvePositions } from "../internal/offsets.ts"
import { readRanges } from "../internal/read.ts"
import { startShareGroup } from "../internal/shareStart.ts"
import { selectPartitions, topicOrFail } from "../internal/topics.ts"
import * as SchemaRegistryFlags from "../SchemaRegistryFlags.ts"

const usage = (message: string) => Effect.fail(new UsageError({ message }))

export const consume = Command.make("consume", {
  topics: Argument.String("topic").pipe(Argument.withDescription("topics to read (several with --group or --share-group)"), Argument.atLeast(1)),
  partitions: Flags.partitions,
  start: Flag.String("start").pipe(
    Flag.withDescription(
      "where to start: earliest (default), latest, a time (RFC 3339, -1h, @epoch-ms) or an offset; with --group where partitions " +
        "without a committed offset start (earliest or latest); with --share-group the start of partitions the group has none for"
    ),
    Flag.optional
  ),
  end: Flag.String("end").pipe(
    Flag.withDescription("where to stop (exclusive): latest (default: the end when the command started), a time or an offset"),
    Flag.optional
  ),
  count: Flag.Int("count").pipe(Flag.withAlias("n"), Flag.withDescription("stop after this many records in all"), Flag.optional),
  follow: Flag.Boolean("follow").pipe(Flag.withAlias("f"), Flag.withDescription("keep reading new records (until Ctrl-C or --count)"), Flag.withDefault(false), Flag.withoutNegation),
  readCommitted: Flag.Boolean("read-committed").pipe(Flag.withDescription("skip records of aborted transactions, stop at the last stable offset"), Flag.withDefault(false), Flag.withoutNegation),
  group: Flag.String("group").pipe(Flag.withAlias("g"), Flag.withDescription("read as a member of this consumer group, committing what was printed"), Flag.optional),
  groupProtocol: Flag.Literals("group-protocol", ["classic", "consumer"]).pipe(
    Flag.withDescription("with --group: classic (default) or consumer (KIP-848)"),
    Flag.optional
  ),
  commit: Flag.Boolean("commit").pipe(Flag.withDescription("with --group: commit what was printed (--no-commit: only read)"), Flag.withDefault(true)),
  shareGroup: Flag.String("share-group").pipe(Flag.withDescription("read as a member of this share group (KIP-932), acknowledging what was printed"), Flag.optional),
  ack: Flag.Literals("ack", ["accept", "release", "reject"]).pipe(
    Flag.withDescription("with --share-group: how printed records are acknowledged (default accept; release: delivered again; reject: never again)"),
    Flag.optional
  ),
  idle: Flag.String("idle").pipe(Flag.withDescription("with --group or --share-group: stop after this long without a record (500ms, 10s, …)"), Flag.optional),
  ...Flags.format,
  ...SchemaRegistryFlags.consumeFlags
}, (input) =>
  Effect.gen(function*() {
    const now = Date.now()
    const print = yield* Flags.recordPrinter(input, yield* Json)
    const startText = Option.getOrUndefined(input.start)
    const start = startText === undefined ? undefined : yield* Flags.position("start", startText, now)
    const end = Option.isSome(input.end) ? yield* Flags.position("end", input.end.value, now) : undefined
    if (input.follow && end !== undefined) return yield* usage("--follow reads without end: drop --end (or --follow)")
    if (Option.isSome(input.count) && input.count.value < 0) return yield* usage("--count must not be negative")
    if (Option.isSome(input.group) && Option.isSome(input.shareGroup)) return yield* usage("--group and --share-group exclude each other")
    const count = Option.getOrUndefined(input.count)
    let idleMs: number | undefined
    if (Option.isSome(input.idle)) {
      idleMs = parseDuration(input.idle.value)
      if (idleMs === undefined || idleMs <= 0) return yield* usage(`--idle: expected a duration such as 10s or 500ms, got ${JSON.stringify(input.idle.value)}`)
    }
    const isolation = input.readCommitted ? "read_committed" as const : "read_uncommitted" as const
    const inGroup = Option.isSome(input.group) || Option.isSome(input.shareGroup)
    const only = (flag: string, given: boolean, where: string) => (given ? usage(`${flag} goes with ${where}`) : Effect.void)
    yield* only("--idle", !inGroup && idleMs !== undefined, "--group or --share-group")
    yield* only("--ack", Option.isNone(input.shareGroup) && Option.isSome(input.ack), "--share-group")
    yield* only("--group-protocol", Option.isNone(input.group) && Option.isSome(input.groupProtocol), "--group")
    yield* only("--no-commit", Option.isNone(input.group) && !input.commit, "--group (a share group acknowledges: --ack release)")
    if (inGroup && Option.isSome(input.partitions)) return yield* usage("--partitions does not go with a group: the group assigns the partitions")

    if (Option.isSome(input.shareGroup)) {
      const groupId = input.shareGroup.value
      if (end !== undefined) return yield* usage("--end does not go with --share-group (records go to whichever member is free): use --count or --idle")
      if (input.readCommitted) return yield* usage("--read-committed does not go with --share-group: the group config share.isolation.level says")
      return yield* withCluster(Effect.scoped(Effect.gen(function*() {
        for (const t of input.topics) yield* topicOrFail(t)
        yield* startShareGroup(groupId, input.topics, start === undefined ? undefined : { position: start, text: startText! })
        const p = yield* progress("consumed")
        const registry = yield* SchemaRegistryFlags.reader(input)
        yield* readShareGroup({
          groupId,
          topics: input.topics,
          ack: Option.getOrElse(input.ack, () => "accept" as const),
          count,
          idleMs,
          print: registry === undefined ? print : (r) => print(registry.decode(r)),
          prepare: registry?.prepare,
          progress: p
        })
      })), { operation: "Read" })
    }

    if (Option.isSome(input.group)) {
      const groupId = input.group.value
      if (start !== undefined && start._tag !== "earliest" && start._tag !== "latest") {
        return yield* usage("with --group, --start is where partitions without a committed offset start: earliest or latest")
      }
      return yield* withCluster(Effect.scoped(Effect.gen(function*() {
        const ends: Array<{ topic: string; partition: number; end: bigint }> = []
        for (const t of input.topics) {
          const partitions = (yield* topicOrFail(t)).partitions.map((p) => p.partition)
          if (input.follow) continue
          const at = yield* resolvePositions(t, partitions, end ?? { _tag: "latest" }, yield* bounds(t, partitions, isolation))
          for (const [partition, offset] of at) ends.push({ topic: t, partition, end: offset })
        }
        const p = yield* progress("consumed")
        const registry = yield* SchemaRegistryFlags.reader(input)
        yield* readGroup({
          groupId,
          topics: input.topics,
          protocol: Option.getOrElse(input.groupProtocol, () => "classic" as const),
          offsetReset: start?._tag === "latest" ? "latest" : "earliest",
          commit: input.commit,
          isolation,
          ends: input.follow ? undefined : ends,
          count,
          idleMs,
          print: registry === undefined ? print : (r) => print(registry.decode(r)),
          prepare: registry?.prepare,
          progress: p
        })
      })), { operation: "Read" })
    }

    if (input.topics.length > 1) return yield* usage("several topics need --group or --share-group (plain consume reads one topic)")
    const topicName = input.topics[0]!
    const from: Position = start ?? { _tag: "earliest" }
    const selected = yield* Flags.parsePartitions(input.partitions)
    yield* withCluster(Effect.scoped(Effect.gen(function*() {
      const topic = yield* topicOrFail(topicName)
      const partitions = yield* selectPartitions(topic, selected)
      const limits = yield* bounds(topicName, partitions, isolation)
      const starts = yield* resolvePositions(topicName, partitions, from, limits)
      const ends = input.follow ? undefined : yield* resolvePositions(topicName, partitions, end ?? { _tag: "latest" }, limits)
      const p = yield* progress("consumed")
      const registry = yield* SchemaRegistryFlags.reader(input)
      yield* readRanges({
        topic: topicName,
        ranges: partitions.map((partition) => ({ partition, start: starts.get(partition)!, end: ends?.get(partition) })),
        count,
        isolation,
        print: registry === undefined ? print : (r) => print(registry.decode(r)),
        prepare: registry?.prepare,
        progress: p
      })
    })), { operation: "Read" })
  })
).pipe(Command.withDescription(
  "Print records of a topic from --start to --end (default: earliest to the end when the command started), or on with --follow; " +
    "with --group G as a consumer-group member committing what it printed, with --share-group G as a share-group member acknowledging it. " +
    "Output: the value per line (toggle --key --headers --timestamp --partition --offset), --format json, or --template."
))
