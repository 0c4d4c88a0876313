/**
 * `kpax acls list|create|delete`: ACLs over Admin, with the filters Kafka's `kafka-acls` takes —
 * `--allow-principal` / `--deny-principal` (with `--allow-host` / `--deny-host`, default `*`),
 * `--operation` (Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs,
 * AlterConfigs, IdempotentWrite, All, …), the resource (`--topic`, `--group`,
 * `--transactional-id`, `--cluster`) and `--resource-pattern-type`. A table, or `--json`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { Admin } from "../../Admin/Admin.ts"
import type { AclBinding, AclFilter, AclOperation, AclPatternType } from "../../Admin/Admin.ts"
import { failure, UsageError } from "../Errors.ts"
import { withCluster } from "../Kafka.ts"
import { rows } from "../Output.ts"

const OPERATIONS: ReadonlyArray<Exclude<AclOperation, "any">> = [
  "all", "read", "write", "create", "delete", "alter", "describe", "clusterAction", "describeConfigs", "alterConfigs",
  "idempotentWrite", "createTokens", "describeTokens", "twoPhaseCommit"
]
/** Java's spelling: `Read`, `DescribeConfigs`. */
const javaName = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
const RESOURCE_NAME: Record<string, string> = { topic: "Topic", group: "Group", cluster: "Cluster", transactionalId: "TransactionalId", delegationToken: "DelegationToken", user: "User" }

const many = (name: string, description: string) => Flag.String(name).pipe(Flag.withDescription(description), Flag.atLeast(0))

const resourceFlags = {
  topic: many("topic", "a topic (repeatable; \"*\" for every topic)"),
  group: many("group", "a consumer or share group (repeatable; \"*\" for every group)"),
  transactionalId: many("transactional-id", "a transactional id (repeatable)"),
  cluster: Flag.Boolean("cluster").pipe(Flag.withDescription("the cluster itself"), Flag.withDefault(false), Flag.withoutNegation),
  operation: many("operation", `an operation (repeatable): ${OPERATIONS.map(javaName).join(", ")}`)
}

const bindingFlags = {
  ...resourceFlags,
  allowPrincipal: many("allow-principal", "principal allowed, e.g. User:alice (repeatable)"),
  denyPrincipal: many("deny-principal", "principal denied (repeatable)"),
  allowHost: many("allow-host", "host the allowed principals may come from (repeatable; default *)"),
  denyHost: many("deny-host", "host the denied principals are denied from (repeatable; default *)")
}

type Resource = { readonly resourceType: "topic" | "group" | "transactionalId" | "cluster"; readonly resourceName: string }

interface ResourceInput {
  readonly topic: ReadonlyArray<string>
  readonly group: ReadonlyArray<string>
  readonly transactionalId: ReadonlyArray<string>
  readonly cluster: boolean
  readonly operation: ReadonlyArray<string>
}

const resourcesOf = (input: ResourceInput): ReadonlyArray<Resource> => [
  ...input.topic.map((n) => ({ resourceType: "topic" as const, resourceName: n })),
  ...input.group.map((n) => ({ resourceType: "group" as const, resourceName: n })),
  ...input.transactionalId.map((n) => ({ resourceType: "transactionalId" as const, resourceName: n })),
  ...(input.cluster ? [{ resourceType: "cluster" as const, resourceName: "kafka-cluster" }] : [])
]

const operationsOf = (names: ReadonlyArray<string>) =>
  Effect.forEach(names, (name) => {
    const op = OPERATIONS.find((o) => o.toLowerCase() === name.toLowerCase().replace(/[-_]/g, ""))
    return op === undefined
      ? Effect.fail(new UsageError({ message: `--operation: expected one of ${OPERATIONS.map(javaName).join(", ")}, got ${JSON.stringify(name)}` }))
      : Effect.succeed(op)
  })

const patternFlag = (choices: ReadonlyArray<AclPatternType>, fallback: AclPatternType) =>
  Flag.Literals("resource-pattern-type", choices).pipe(
    Flag.withDescription(`how resource names match: ${choices.join(", ")} (default ${fallback})`),
    Flag.withDefault(fallback)
  )

const print = (bindings: ReadonlyArray<AclBinding>) =>
  rows([...bindings].sort((a, b) => `${a.resourceType}${a.resourceName}${a.principal}${a.operation}`.localeCompare(`${b.resourceType}${b.resourceName}${b.principal}${b.operation}`)), [
    { header: "PRINCIPAL", get: (b) => b.principal },
    { header: "HOST", get: (b) => b.host },
    { header: "PERMISSION", get: (b) => javaName(b.permission) },
    { header: "OPERATION", get: (b) => javaName(b.operation) },
    { header: "RESOURCE", get: (b) => RESOURCE_NAME[b.resourceType] ?? b.resourceType },
    { header: "NAME", get: (b) => b.resourceName },
    { header: "PATTERN", get: (b) => b.patternType }
  ])

interface BindingInput extends ResourceInput {
  readonly allowPrincipal: ReadonlyArray<string>
  readonly denyPrincipal: ReadonlyArray<string>
  readonly allowHost: ReadonlyArray<string>
  readonly denyHost: ReadonlyArray<string>
}

/** Principal × host × operation × resource, as kafka-acls expands them. */
const expand = (input: BindingInput, ops: ReadonlyArray<AclOperation>, patternType: AclPatternType) => {
  const who = [
    ...input.allowPrincipal.flatMap((p) => (input.allowHost.length === 0 ? ["*"] : input.allowHost).map((h) => ({ principal: p, host: h, permission: "allow" as const }))),
    ...input.denyPrincipal.flatMap((p) => (input.denyHost.length === 0 ? ["*"] : input.denyHost).map((h) => ({ principal: p, host: h, permission: "deny" as const })))
  ]
  return resourcesOf(input).flatMap((r) => who.flatMap((w) => ops.map((operation) => ({ ...r, ...w, operation, patternType }))))
}

const checkPrincipals = (input: BindingInput) =>
  [...input.allowPrincipal, ...input.denyPrincipal].find((p) => !/^[^:\s]+:.+$/.test(p))

const list = Command.make("list", {
  ...resourceFlags,
  principal: Flag.String("principal").pipe(Flag.withDescription("only ACLs of this principal, e.g. User:alice"), Flag.optional),
  patternType: patternFlag(["any", "match", "literal", "prefixed"], "any")
}, (input) =>
  Effect.gen(function*() {
    const ops = yield* operationsOf(input.operation)
    const base: AclFilter = { patternType: input.patternType, ...(input.principal._tag === "Some" ? { principal: input.principal.value } : {}) }
    const resources = resourcesOf(input)
    const filters: ReadonlyArray<AclFilter> = (resources.length === 0 ? [{}] : resources).flatMap((r) =>
      (ops.length === 0 ? [undefined] : ops).map((operation) => ({ ...base, ...r, ...(operation === undefined ? {} : { operation }) })))
    yield* withCluster(Effect.gen(function*() {
      const admin = yield* Admin
      const found = yield* Effect.forEach(filters, (f) => admin.describeAcls(f).pipe(Effect.mapError(failure("listing ACLs"))))
      yield* print(found.flat())
    }), { operation: "Describe" })
  })
).pipe(Command.withDescription("List ACLs (all, or those of the given resources, principal and operations)."))

const create = Command.make("create", {
  ...bindingFlags,
  patternType: patternFlag(["literal", "prefixed"], "literal")
}, (input) =>
  Effect.gen(function*() {
    const ops = yield* operationsOf(input.operation)
    const bad = checkPrincipals(input)
    if (bad !== undefined) return yield* new UsageError({ message: `principals are TYPE:NAME, e.g. User:alice; got ${JSON.stringify(bad)}` })
    if (input.allowPrincipal.length + input.denyPrincipal.length === 0) return yield* new UsageError({ message: "acls create needs --allow-principal or --deny-principal" })
    if (ops.length === 0) return yield* new UsageError({ message: "acls create needs --operation" })
    if (resourcesOf(input).length === 0) return yield* new UsageError({ message: "acls create needs a resource: --topic, --group, --transactional-id or --cluster" })
    const bindings = expand(input, ops, input.patternType) as ReadonlyArray<AclBinding>
    yield* withCluster(Effect.gen(function*() {
      const admin = yield* Admin
      yield* admin.createAcls(bindings).pipe(Effect.mapError(failure("creating ACLs")))
      yield* print(bindings)
    }), { operation: "Alter" })
  })
).pipe(Command.withDescription("Create ACLs: every principal × host × operation × resource given."))

const del = Command.make("delete", {
  ...bindingFlags,
  patternType: patternFlag(["any", "match", "literal", "prefixed"], "literal")
}, (input) =>
  Effect.gen(function*() {
    const ops = yield* operationsOf(input.operation)
    const bad = checkPrincipals(input)
    if (bad !== undefined) return yield* new UsageError({ message: `principals are TYPE:NAME, e.g. User:alice; got ${JSON.stringify(bad)}` })
    if (resourcesOf(input).length === 0) return yield* new UsageError({ message: "acls delete needs a resource: --topic, --group, --transactional-id or --cluster" })
    const anyone = input.allowPrincipal.length + input.denyPrincipal.length === 0
    const filters: ReadonlyArray<AclFilter> = anyone
      ? resourcesOf(input).flatMap((r) => (ops.length === 0 ? ["any" as const] : ops).map((operation) => ({ ...r, operation, patternType: input.patternType })))
      : expand(input, ops.length === 0 ? ["any"] : ops, input.patternType)
    yield* withCluster(Effect.gen(function*() {
      const admin = yield* Admin
      const deleted = yield* admin.deleteAcls(filters).pipe(Effect.mapError(failure("deleting ACLs")))
      yield* print(deleted)
    }), { operation: "Alter" })
  })
).pipe(Command.withDescription("Delete the ACLs matching the resources (and principals, hosts, operations) given; prints what was deleted."))

export const acls = Command.make("acls").pipe(
  Command.withDescription("List, create and delete ACLs (flags as kafka-acls takes them)."),
  Command.withSubcommands([list, create, del])
)
