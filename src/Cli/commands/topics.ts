/**
 * `kpax topics list|describe|create|delete`.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Admin } from "../../Admin/Admin.ts"
import type { TopicDescription } from "../../Admin/Admin.ts"
import { failure, UsageError } from "../Errors.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { rows, table, toJsonLine, write } from "../Output.ts"


const bool = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false), Flag.withoutNegation)

/** `k=v` pairs of a repeatable flag. */
export const keyValues = (flag: string, specs: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const out: Record<string, string> = {}
    for (const s of specs) {
      const i = s.indexOf("=")
      if (i <= 0) return Effect.fail(new UsageError({ message: `--${flag}: expected name=value, got ${JSON.stringify(s)}` }))
      out[s.slice(0, i)] = s.slice(i + 1)
    }
    return Effect.succeed(out)
  })

const list = Command.make("list", {
  internal: bool("internal", "include internal topics (__consumer_offsets, …)")
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const topics = yield* admin.listTopics({ includeInternal: input.internal }).pipe(Effect.mapError(failure("listing topics")))
    yield* rows(topics, [
      { header: "TOPIC", get: (t) => t.name },
      { header: "PARTITIONS", get: (t) => t.partitions, right: true },
      { header: "INTERNAL", get: (t) => (t.isInternal ? "yes" : "") },
      { header: "TOPIC ID", get: (t) => t.topicId }
    ], (t) => ({ name: t.name, partitions: t.partitions, internal: t.isInternal, topicId: t.topicId }))
  }))
).pipe(Command.withDescription("List topics."))

const ids = (xs: ReadonlyArray<number>) => (xs.length === 0 ? "-" : xs.join(","))

const describe = Command.make("describe", {
  topics: Argument.String("topic").pipe(Argument.withDescription("topics to describe"), Argument.atLeast(1))
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const described: ReadonlyArray<TopicDescription> = yield* admin.describeTopics(input.topics).pipe(Effect.mapError(failure("describing topics")))
    const configs = yield* admin.describeConfigs(input.topics.map((name) => ({ type: "topic" as const, name }))).pipe(
      Effect.mapError(failure("describing topic configs"))
    )
    const overrides = new Map(configs.map((c) => [c.resource.name, c.entries.filter((e) => e.source === "topic")]))
    const json = yield* Json
    let out = ""
    for (const t of described) {
      const own = overrides.get(t.name) ?? []
      if (json) {
        out += toJsonLine({
          name: t.name,
          topicId: t.topicId,
          internal: t.isInternal,
          replicationFactor: t.replicationFactor,
          configs: Object.fromEntries(own.map((e) => [e.name, e.isSensitive ? null : e.value])),
          partitions: t.partitions.map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offline: p.offline }))
        }) + "\n"
        continue
      }
      if (out !== "") out += "\n"
      out += `topic ${t.name}  id ${t.topicId}  partitions ${t.partitions.length}  replication ${t.replicationFactor}${t.isInternal ? "  internal" : ""}\n`
      out += `configs: ${own.length === 0 ? "(defaults)" : own.map((e) => `${e.name}=${e.isSensitive ? "(sensitive)" : e.value}`).join(" ")}\n`
      out += table(t.partitions, [
        { header: "PARTITION", get: (p) => p.partition, right: true },
        { header: "LEADER", get: (p) => (p.leader < 0 ? "none" : p.leader), right: true },
        { header: "REPLICAS", get: (p) => ids(p.replicas) },
        { header: "ISR", get: (p) => ids(p.isr) },
        { header: "OFFLINE", get: (p) => ids(p.offline) }
      ]).join("\n") + "\n"
    }
    write(out)
  }))
).pipe(Command.withDescription("Describe topics: partitions, leaders, replicas, ISR, and configs set on the topic."))

const create = Command.make("create", {
  topics: Argument.String("topic").pipe(Argument.withDescription("topics to create"), Argument.atLeast(1)),
  partitions: Flag.Int("partitions").pipe(Flag.withDescription("number of partitions (default: the broker's num.partitions)"), Flag.optional),
  replicationFactor: Flag.Int("replication-factor").pipe(Flag.withAlias("r"), Flag.withDescription("replicas per partition (default: the broker's default.replication.factor)"), Flag.optional),
  config: Flag.String("config").pipe(Flag.withAlias("c"), Flag.withDescription("topic config name=value (repeatable)"), Flag.atLeast(0)),
  ifNotExists: bool("if-not-exists", "succeed when a topic already exists"),
  validateOnly: bool("validate-only", "check the request, create nothing")
}, (input) =>
  Effect.flatMap(keyValues("config", input.config), (configs) => withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const created: Array<{ name: string; topicId: string | null; partitions: number | null; replicationFactor: number | null; existed: boolean }> = []
    for (const name of input.topics) {
      const result = yield* admin.createTopic({
        name,
        partitions: Option.getOrUndefined(input.partitions),
        replicationFactor: Option.getOrUndefined(input.replicationFactor),
        configs
      }, { validateOnly: input.validateOnly }).pipe(
        Effect.map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions, replicationFactor: t.replicationFactor, existed: false })),
        Effect.catchIf(
          (e) => input.ifNotExists && e._tag === "AdminItemError" && e.name === "TOPIC_ALREADY_EXISTS",
          () => Effect.succeed({ name, topicId: null, partitions: null, replicationFactor: null, existed: true })
        ),
        Effect.mapError(failure(`creating topic ${name}`))
      )
      created.push(result)
    }
    yield* rows(created, [
      { header: "TOPIC", get: (t) => t.name },
      { header: "RESULT", get: (t) => (t.existed ? "exists" : input.validateOnly ? "valid" : "created") },
      { header: "PARTITIONS", get: (t) => t.partitions, right: true },
      { header: "REPLICATION", get: (t) => t.replicationFactor, right: true },
      { header: "TOPIC ID", get: (t) => t.topicId }
    ])
  })))
).pipe(Command.withDescription("Create topics."))

const del = Command.make("delete", {
  topics: Argument.String("topic").pipe(Argument.withDescription("topics to delete"), Argument.atLeast(1)),
  ifExists: bool("if-exists", "succeed when a topic does not exist")
}, (input) =>
  withCluster(Effect.gen(function*() {
    const admin = yield* Admin
    const done: Array<{ name: string; deleted: boolean }> = []
    for (const name of input.topics) {
      const deleted = yield* admin.deleteTopic(name).pipe(
        Effect.as(true),
        Effect.catchIf(
          (e) => input.ifExists && e._tag === "AdminItemError" && e.name === "UNKNOWN_TOPIC_OR_PARTITION",
          () => Effect.succeed(false)
        ),
        Effect.mapError(failure(`deleting topic ${name}`))
      )
      done.push({ name, deleted })
    }
    yield* rows(done, [
      { header: "TOPIC", get: (t) => t.name },
      { header: "RESULT", get: (t) => (t.deleted ? "deleted" : "did not exist") }
    ])
  }))
).pipe(Command.withDescription("Delete topics (and all their records)."))

export const topics = Command.make("topics").pipe(
  Command.withDescription("Create, delete, list and describe topics."),
  Command.withSubcommands([list, describe, create, del])
)
