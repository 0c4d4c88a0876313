/**
 * `kpax groups list|describe|delete` for every group type (classic, consumer, share, streams),
 * and `kpax groups share-offsets list|reset|delete` for share groups' start offsets.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Admin } from "../../Admin/Admin.ts"
import type { GroupMember, OffsetReset, TopicPartitions } from "../../Admin/Admin.ts"
import { failure, UsageError } from "../Errors.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { rows, table, toJsonLine, write } from "../Output.ts"
import { formatTime, parseTime } from "../Time.ts"

const csv = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "")

const topicsText = (a: ReadonlyArray<TopicPartitions>) =>
  a.length === 0 ? "-" : a.map((t) => `${t.topic}:${t.partitions.join(",")}`).join(" ")

/** The member's partitions, or a streams member's tasks (`active 0:0,1 standby 1:2`). */
const assignmentText = (m: GroupMember) => {
  if (m.tasks === null) return topicsText(m.assignment)
  const kinds = (["active", "standby", "warmup"] as const).filter((k) => m.tasks![k].length > 0)
  return kinds.length === 0 ? "-" : kinds.map((k) => `${k} ${m.tasks![k].map((t) => `${t.subtopology}:${t.partitions.join(",")}`).join(" ")}`).join(" ")
}

const list = Command.make("list", {
  state: Flag.String("state").pipe(Flag.withDescription("only groups in these states, comma-separated (Stable, Empty, …)"), Flag.withDefault("")),
  type: Flag.String("type").pipe(Flag.withDescription("only groups of these types, comma-separated (classic, consumer, share, streams)"), Flag.withDefault(""))
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const states = csv(input.state)
    const types = csv(input.type)
    const groups = yield* admin.listGroups({
      ...(states.length > 0 ? { states } : {}),
      ...(types.length > 0 ? { types } : {})
    }).pipe(Effect.mapError(failure("listing groups")))
    yield* rows([...groups].sort((a, b) => a.groupId.localeCompare(b.groupId)), [
      { header: "GROUP", get: (g) => g.groupId },
      { header: "STATE", get: (g) => g.state || "-" },
      { header: "TYPE", get: (g) => g.type || "-" },
      { header: "PROTOCOL TYPE", get: (g) => g.protocolType || "-" },
      { header: "COORDINATOR", get: (g) => g.coordinator, right: true }
    ])
  }))
).pipe(Command.withDescription("List groups of every type (classic, consumer, share, streams) with their state and type."))

const describe = Command.make("describe", {
  groups: Argument.String("group").pipe(Argument.withDescription("groups to describe"), Argument.atLeast(1))
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const described = yield* admin.describeGroups(input.groups).pipe(Effect.mapError(failure("describing groups")))
    const json = yield* Json
    let out = ""
    for (const g of described) {
      if (json) {
        out += toJsonLine({
          group: g.groupId,
          type: g.type,
          state: g.state,
          protocolType: g.protocolType,
          protocol: g.protocol,
          groupEpoch: g.groupEpoch,
          assignmentEpoch: g.assignmentEpoch,
          coordinator: g.coordinator,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            host: m.clientHost,
            memberEpoch: m.memberEpoch,
            subscribedTopics: m.subscribedTopics,
            assignment: m.assignment,
            ...(m.tasks === null ? {} : { tasks: m.tasks })
          }))
        }) + "\n"
        continue
      }
      if (out !== "") out += "\n"
      const epochs = g.groupEpoch === null ? "" : `  epoch ${g.groupEpoch}  assignment epoch ${g.assignmentEpoch ?? "-"}`
      out += `group ${g.groupId}  state ${g.state}  type ${g.type}  protocol ${g.protocol || "-"}  coordinator ${g.coordinator}  members ${g.members.length}${epochs}\n`
      if (g.members.length > 0) {
        out += table(g.members, [
          { header: "MEMBER", get: (m) => m.memberId },
          { header: "CLIENT ID", get: (m) => m.clientId },
          { header: "HOST", get: (m) => m.clientHost },
          ...(g.type === "classic" ? [] : [{ header: "EPOCH", get: (m: (typeof g.members)[number]) => m.memberEpoch, right: true }]),
          { header: "ASSIGNMENT", get: (m) => assignmentText(m) }
        ]).join("\n") + "\n"
      }
    }
    write(out)
  }))
).pipe(Command.withDescription(
  "Describe groups of any type (classic, consumer, share, streams), each by its own API: state, type, protocol, coordinator, " +
    "group and assignment epochs, members with their epochs and partitions."
))

const del = Command.make("delete", {
  groups: Argument.String("group").pipe(Argument.withDescription("groups to delete (they must have no members)"), Argument.atLeast(1))
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    yield* admin.deleteGroups(input.groups).pipe(Effect.mapError(failure("deleting groups")))
    yield* rows(input.groups.map((group) => ({ group, deleted: true })), [
      { header: "GROUP", get: (g) => g.group },
      { header: "RESULT", get: () => "deleted" }
    ])
  }))
).pipe(Command.withDescription("Delete groups (classic, consumer, share, streams) and their offsets (groups must have no members)."))

// ---- share-group offsets --------------------------------------------------------------------

const shareList = Command.make("list", {
  group: Argument.String("group").pipe(Argument.withDescription("share group id")),
  topics: Argument.String("topic").pipe(
    Argument.withDescription("topics to show, every partition (default: every partition the group has state for)"),
    Argument.variadic()
  )
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const offsets = yield* admin.listShareGroupOffsets(input.group, input.topics.length > 0 ? { topics: input.topics } : {}).pipe(
      Effect.mapError(failure(`share offsets of group ${input.group}`))
    )
    if (yield* Json) {
      write(toJsonLine({
        group: input.group,
        partitions: offsets.map((o) => ({ topic: o.topic, partition: o.partition, startOffset: o.startOffset, leaderEpoch: o.leaderEpoch, lag: o.lag }))
      }) + "\n")
      return
    }
    if (offsets.length === 0) {
      write(`share group ${input.group} has no offsets\n`)
      return
    }
    let total = 0n
    for (const o of offsets) total += o.lag ?? 0n
    write([
      ...table(offsets, [
        { header: "TOPIC", get: (o) => o.topic },
        { header: "PARTITION", get: (o) => o.partition, right: true },
        { header: "START OFFSET", get: (o) => o.startOffset, right: true },
        { header: "LEADER EPOCH", get: (o) => o.leaderEpoch, right: true },
        { header: "LAG", get: (o) => o.lag, right: true }
      ]),
      `total lag ${total}`
    ].join("\n") + "\n")
  }))
).pipe(Command.withDescription("Show a share group's start offset and lag per partition."))

const toggle = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false), Flag.withoutNegation)

const shareReset = Command.make("reset", {
  group: Argument.String("group").pipe(Argument.withDescription("share group id (must have no active members)")),
  topics: Argument.String("topic").pipe(
    Argument.withDescription("topics to reset, every partition (default: every partition the group has state for)"),
    Argument.variadic()
  ),
  toEarliest: toggle("to-earliest", "move to each partition's first offset"),
  toLatest: toggle("to-latest", "move to each partition's end"),
  toDatetime: Flag.String("to-datetime").pipe(
    Flag.withDescription("move to the first record at or after a time (RFC 3339, -1h, @epoch-ms); the end where none is that recent"),
    Flag.optional
  ),
  toOffset: Flag.String("to-offset").pipe(Flag.withDescription("move every partition to this offset"), Flag.optional),
  dryRun: toggle("dry-run", "show the offsets, change nothing")
}, (input) =>
  Effect.gen(function*() {
    const chosen = [input.toEarliest, input.toLatest, Option.isSome(input.toDatetime), Option.isSome(input.toOffset)].filter((x) => x).length
    if (chosen !== 1) return yield* new UsageError({ message: "give exactly one of --to-earliest, --to-latest, --to-datetime, --to-offset" })
    let reset: OffsetReset | undefined
    let toOffset: bigint | undefined
    if (input.toEarliest) reset = { to: "earliest" }
    else if (input.toLatest) reset = { to: "latest" }
    else if (Option.isSome(input.toOffset)) {
      const text = input.toOffset.value.trim()
      if (!/^\d+$/.test(text)) return yield* new UsageError({ message: `--to-offset: expected an offset (0 or more), got ${JSON.stringify(input.toOffset.value)}` })
      toOffset = BigInt(text)
    } else {
      const text = Option.getOrThrow(input.toDatetime)
      const ms = parseTime(text, Date.now())
      if (ms === undefined) return yield* new UsageError({ message: `--to-datetime: expected a time (RFC 3339, -1h, @epoch-ms), got ${JSON.stringify(text)}` })
      reset = { to: "timestamp", timestamp: ms }
    }
    yield* withCluster(Effect.gen(function*() {
      const admin = yield* Admin
      const scope = input.topics.length > 0 ? { topics: input.topics } : {}
      const before = yield* admin.listShareGroupOffsets(input.group, scope).pipe(Effect.mapError(failure(`share offsets of group ${input.group}`)))
      const how: OffsetReset = reset ?? {
        to: "offsets",
        offsets: before.map((b) => ({ topic: b.topic, partition: b.partition, offset: toOffset! }))
      }
      if (how.to === "offsets" && how.offsets.length === 0) {
        return yield* new UsageError({ message: `share group ${input.group} has no offsets: name the topics to reset` })
      }
      const set = yield* admin.resetShareGroupOffsets(input.group, how, scope, { dryRun: input.dryRun }).pipe(
        Effect.mapError(failure(`resetting share offsets of group ${input.group}`))
      )
      const was = new Map(before.map((b) => [`${b.topic}\u0000${b.partition}`, b.startOffset]))
      const out = set.map((o) => ({ topic: o.topic, partition: o.partition, from: was.get(`${o.topic}\u0000${o.partition}`) ?? null, to: o.offset }))
      if (yield* Json) {
        write(toJsonLine({
          group: input.group,
          to: how.to === "timestamp" ? formatTime(how.timestamp) : how.to === "offsets" ? toOffset : how.to,
          dryRun: input.dryRun,
          partitions: out
        }) + "\n")
        return
      }
      write([
        ...table(out, [
          { header: "TOPIC", get: (r) => r.topic },
          { header: "PARTITION", get: (r) => r.partition, right: true },
          { header: "START OFFSET", get: (r) => r.from, right: true },
          { header: "NEW OFFSET", get: (r) => r.to, right: true }
        ]),
        input.dryRun ? `dry run: nothing changed for share group ${input.group}` : `reset share group ${input.group}`
      ].join("\n") + "\n")
    }))
  })
).pipe(Command.withDescription(
  "Move a share group's start offsets to the earliest or latest offset, to a time or to an offset, on the topics named " +
    "(default: every partition the group has state for). The group must have no active members. --dry-run changes nothing."
))

const shareDelete = Command.make("delete", {
  group: Argument.String("group").pipe(Argument.withDescription("share group id (must have no active members)")),
  topics: Argument.String("topic").pipe(Argument.withDescription("topics whose share state to delete"), Argument.atLeast(1))
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    yield* admin.deleteShareGroupOffsets(input.group, input.topics).pipe(Effect.mapError(failure(`deleting share offsets of group ${input.group}`)))
    yield* rows(input.topics.map((topic) => ({ group: input.group, topic, deleted: true })), [
      { header: "TOPIC", get: (r) => r.topic },
      { header: "RESULT", get: () => "deleted" }
    ])
  }))
).pipe(Command.withDescription("Delete a share group's offsets (its state) for whole topics; the group must have no active members."))

const shareOffsets = Command.make("share-offsets").pipe(
  Command.withDescription("List, reset and delete share groups' start offsets."),
  Command.withSubcommands([shareList, shareReset, shareDelete])
)

export const groups = Command.make("groups").pipe(
  Command.withDescription("List, describe and delete groups (classic, consumer, share, streams); share groups' offsets."),
  Command.withSubcommands([list, describe, del, shareOffsets])
)
