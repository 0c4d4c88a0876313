/**
 * `kpax configs describe|set|delete <type> <name>`: configs of a topic, a broker (its node id,
 * or `""` for the cluster-wide default), a broker's loggers, a group or a client-metrics
 * subscription. `set` and `delete` change only the configs named (IncrementalAlterConfigs).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Admin } from "../../Admin/Admin.ts"
import type { AlterConfigOp, ConfigResource, ConfigResourceType } from "../../Admin/Admin.ts"
import { failure, UsageError } from "../Errors.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { rows, write } from "../Output.ts"
import { keyValues } from "./topics.ts"

const TYPES = ["topic", "broker", "broker-logger", "group", "client-metrics"] as const
const typeOf: Record<(typeof TYPES)[number], ConfigResourceType> = {
  topic: "topic",
  broker: "broker",
  "broker-logger": "brokerLogger",
  group: "group",
  "client-metrics": "clientMetrics"
}


const resourceArgs = {
  type: Argument.Literals("type", TYPES).pipe(Argument.withDescription("what the configs belong to")),
  name: Argument.String("name").pipe(Argument.withDescription("topic name, broker node id (\"\" for the cluster default), group id, …"))
}

const resourceOf = (input: { readonly type: (typeof TYPES)[number]; readonly name: string }): ConfigResource => ({ type: typeOf[input.type], name: input.name })

const label = (r: ConfigResource) => `${r.type} ${r.name === "" ? "(default)" : r.name}`

const describe = Command.make("describe", {
  ...resourceArgs,
  all: Flag.Boolean("all").pipe(Flag.withAlias("a"), Flag.withDescription("include configs left at their defaults"), Flag.withDefault(false), Flag.withoutNegation),
  names: Flag.String("name").pipe(Flag.withDescription("only this config (repeatable)"), Flag.atLeast(0))
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const resource = resourceOf(input)
    const [described] = yield* admin.describeConfigs([resource], input.names.length > 0 ? { names: input.names } : {}).pipe(
      Effect.mapError(failure(`describing configs of ${label(resource)}`))
    )
    const entries = (described?.entries ?? [])
      .filter((e) => input.all || input.names.length > 0 || !e.isDefault)
      .sort((a, b) => a.name.localeCompare(b.name))
    if (entries.length === 0 && !(yield* Json)) {
      write(`${label(resource)}: every config at its default (--all shows them)\n`)
      return
    }
    yield* rows(entries, [
      { header: "NAME", get: (e) => e.name },
      { header: "VALUE", get: (e) => (e.isSensitive ? "(sensitive)" : e.value) },
      { header: "SOURCE", get: (e) => e.source },
      { header: "READ-ONLY", get: (e) => (e.isReadOnly ? "yes" : "") }
    ], (e) => ({ name: e.name, value: e.isSensitive ? null : e.value, source: e.source, default: e.isDefault, sensitive: e.isSensitive, readOnly: e.isReadOnly }))
  }))
).pipe(Command.withDescription("Show configs (those set away from their defaults, or --all)."))

const alter = (resource: ConfigResource, ops: ReadonlyArray<AlterConfigOp>, validateOnly: boolean) =>
  Effect.gen(function*() {
    const admin = yield* Admin
    yield* admin.alterConfigs([{ resource, ops }], { validateOnly }).pipe(Effect.mapError(failure(`changing configs of ${label(resource)}`)))
    yield* rows(ops.map((o) => ({ name: o.name, op: o.op, value: "value" in o ? o.value : null })), [
      { header: "NAME", get: (o) => o.name },
      { header: validateOnly ? "WOULD" : "DONE", get: (o) => (o.op === "set" ? "set" : "deleted (back to default)") },
      { header: "VALUE", get: (o) => o.value }
    ], (o) => ({ resource: resource.type, name: resource.name, config: o.name, op: o.op, value: o.value, validateOnly }))
  })

const validateOnly = Flag.Boolean("validate-only").pipe(Flag.withDescription("check the change, apply nothing"), Flag.withDefault(false), Flag.withoutNegation)

const set = Command.make("set", {
  ...resourceArgs,
  pairs: Argument.String("name=value").pipe(Argument.withDescription("configs to set"), Argument.atLeast(1)),
  validateOnly
}, (input) =>
  Effect.flatMap(keyValues("name=value", input.pairs), (values) =>
    withCluster(alter(resourceOf(input), Object.entries(values).map(([name, value]) => ({ op: "set" as const, name, value })), input.validateOnly)))
).pipe(Command.withDescription("Set configs (others are left as they are)."))

const del = Command.make("delete", {
  ...resourceArgs,
  names: Argument.String("config").pipe(Argument.withDescription("configs to reset to their defaults"), Argument.atLeast(1)),
  validateOnly
}, (input) =>
  input.names.some((n) => n.includes("="))
    ? Effect.fail(new UsageError({ message: "configs delete takes config names, not name=value" }))
    : withCluster(alter(resourceOf(input), input.names.map((name) => ({ op: "delete" as const, name })), input.validateOnly))
).pipe(Command.withDescription("Delete configs: they return to their defaults."))

export const configs = Command.make("configs").pipe(
  Command.withDescription("Describe and change configs of topics, brokers, broker loggers, groups and client-metrics subscriptions."),
  Command.withSubcommands([describe, set, del])
)
