/**
 * `kpax groups list|describe|delete`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Admin } from "../../Admin/Admin.ts"
import type { TopicPartitions } from "../../Admin/Admin.ts"
import { failure } from "../Errors.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { rows, table, toJsonLine, write } from "../Output.ts"


const csv = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "")

const assignmentText = (a: ReadonlyArray<TopicPartitions>) =>
  a.length === 0 ? "-" : a.map((t) => `${t.topic}:${t.partitions.join(",")}`).join(" ")

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
).pipe(Command.withDescription("List consumer groups."))

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
          coordinator: g.coordinator,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            host: m.clientHost,
            assignment: m.assignment
          }))
        }) + "\n"
        continue
      }
      if (out !== "") out += "\n"
      out += `group ${g.groupId}  state ${g.state}  type ${g.type}  protocol ${g.protocol || "-"}  coordinator ${g.coordinator}  members ${g.members.length}\n`
      if (g.members.length > 0) {
        out += table(g.members, [
          { header: "MEMBER", get: (m) => m.memberId },
          { header: "CLIENT ID", get: (m) => m.clientId },
          { header: "HOST", get: (m) => m.clientHost },
          { header: "ASSIGNMENT", get: (m) => assignmentText(m.assignment) }
        ]).join("\n") + "\n"
      }
    }
    write(out)
  }))
).pipe(Command.withDescription("Describe consumer groups: state, protocol, coordinator, members and their partitions."))

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
).pipe(Command.withDescription("Delete consumer groups and their committed offsets (groups must have no members)."))

export const groups = Command.make("groups").pipe(
  Command.withDescription("List, describe and delete consumer groups."),
  Command.withSubcommands([list, describe, del])
)
