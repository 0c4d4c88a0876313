/**
 * ACLs: create, describe and delete (CreateAcls, DescribeAcls, DeleteAcls), with typed bindings
 * and filters. Sent to any broker (in KRaft brokers forward creations and deletions to the
 * controller; descriptions are answered from the broker's metadata, which follows shortly after).
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { kafkaError } from "../../Protocol/Errors.ts"
import { CreateAcls } from "../../Protocol/generated/CreateAcls.ts"
import { DeleteAcls } from "../../Protocol/generated/DeleteAcls.ts"
import { DescribeAcls } from "../../Protocol/generated/DescribeAcls.ts"
import { itemError } from "../Errors.ts"
import type { AdminItemError, AdminPartialFailure, InvalidAdminRequest } from "../Errors.ts"
import { codeError, collect, failed, ok, refuse, toAnyBroker } from "./request.ts"
import type { Outcome } from "./request.ts"

/**
 * What an ACL protects (`"any"` only in filters).
 *
 * @since 0.1.0
 */
export type AclResourceType = "any" | "topic" | "group" | "cluster" | "transactionalId" | "delegationToken" | "user"

/**
 * How an ACL's resource name matches: exactly (`"literal"`) or as a prefix (`"prefixed"`). Filters
 * also take `"any"` (either) and `"match"` (every ACL that would apply to the name, wildcards and
 * prefixes included).
 *
 * @since 0.1.0
 */
export type AclPatternType = "any" | "match" | "literal" | "prefixed"

/**
 * An operation an ACL allows or denies (`"any"` only in filters).
 *
 * @since 0.1.0
 */
export type AclOperation =
  | "any"
  | "all"
  | "read"
  | "write"
  | "create"
  | "delete"
  | "alter"
  | "describe"
  | "clusterAction"
  | "describeConfigs"
  | "alterConfigs"
  | "idempotentWrite"
  | "createTokens"
  | "describeTokens"
  | "twoPhaseCommit"

/**
 * Allow or deny (`"any"` only in filters).
 *
 * @since 0.1.0
 */
export type AclPermission = "any" | "allow" | "deny"

/**
 * One ACL: `principal` (e.g. `"User:alice"`) from `host` (`"*"` for any) may (or may not) do
 * `operation` on the resource.
 *
 * @since 0.1.0
 */
export interface AclBinding {
  readonly resourceType: Exclude<AclResourceType, "any">
  /** `"*"` matches every resource of the type; `"kafka-cluster"` names the cluster. */
  readonly resourceName: string
  readonly patternType: "literal" | "prefixed"
  readonly principal: string
  readonly host: string
  readonly operation: Exclude<AclOperation, "any">
  readonly permission: Exclude<AclPermission, "any">
}

/**
 * Which ACLs to describe or delete; every field left out matches anything.
 *
 * @since 0.1.0
 */
export interface AclFilter {
  readonly resourceType?: AclResourceType | undefined
  readonly resourceName?: string | null | undefined
  readonly patternType?: AclPatternType | undefined
  readonly principal?: string | null | undefined
  readonly host?: string | null | undefined
  readonly operation?: AclOperation | undefined
  readonly permission?: AclPermission | undefined
}

const RESOURCE: { readonly [K in AclResourceType]: number } = {
  any: 1,
  topic: 2,
  group: 3,
  cluster: 4,
  transactionalId: 5,
  delegationToken: 6,
  user: 7
}
const PATTERN: { readonly [K in AclPatternType]: number } = { any: 1, match: 2, literal: 3, prefixed: 4 }
const OPERATION: { readonly [K in AclOperation]: number } = {
  any: 1,
  all: 2,
  read: 3,
  write: 4,
  create: 5,
  delete: 6,
  alter: 7,
  describe: 8,
  clusterAction: 9,
  describeConfigs: 10,
  alterConfigs: 11,
  idempotentWrite: 12,
  createTokens: 13,
  describeTokens: 14,
  twoPhaseCommit: 15
}
const PERMISSION: { readonly [K in AclPermission]: number } = { any: 1, deny: 2, allow: 3 }

const nameOf = <K extends string>(table: { readonly [k in K]: number }, code: number): K | undefined =>
  (Object.keys(table) as Array<K>).find((k) => table[k] === code)

interface WireBinding {
  readonly resourceType: number
  readonly resourceName: string
  readonly patternType: number
  readonly principal: string
  readonly host: string
  readonly operation: number
  readonly permissionType: number
}

/** A binding from the wire; `undefined` for codes this version of kpax does not know. */
const fromWire = (w: WireBinding): AclBinding | undefined => {
  const resourceType = nameOf(RESOURCE, w.resourceType)
  const patternType = nameOf(PATTERN, w.patternType)
  const operation = nameOf(OPERATION, w.operation)
  const permission = nameOf(PERMISSION, w.permissionType)
  if (resourceType === undefined || resourceType === "any" || (patternType !== "literal" && patternType !== "prefixed")) return undefined
  if (operation === undefined || operation === "any" || permission === undefined || permission === "any") return undefined
  return { resourceType, resourceName: w.resourceName, patternType, principal: w.principal, host: w.host, operation, permission }
}

const filterWire = (f: AclFilter) => ({
  resourceTypeFilter: RESOURCE[f.resourceType ?? "any"],
  resourceNameFilter: f.resourceName ?? null,
  patternTypeFilter: PATTERN[f.patternType ?? "any"],
  principalFilter: f.principal ?? null,
  hostFilter: f.host ?? null,
  operation: OPERATION[f.operation ?? "any"],
  permissionType: PERMISSION[f.permission ?? "any"]
})

/** `ACL allow User:alice read topic orders (literal) from *` */
export const describeBinding = (b: AclBinding): string =>
  `ACL ${b.permission} ${b.principal} ${b.operation} ${b.resourceType} ${b.resourceName} (${b.patternType}) from ${b.host}`

const describeFilter = (f: AclFilter): string => `ACL filter ${JSON.stringify(filterForDisplay(f))}`
const filterForDisplay = (f: AclFilter) =>
  Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined && v !== null))

export const createAcls = (
  cluster: ClusterService,
  bindings: ReadonlyArray<AclBinding>
): Effect.Effect<void, ClusterError | AdminPartialFailure | InvalidAdminRequest> =>
  Effect.gen(function*() {
    const operation = "createAcls"
    for (const b of bindings) {
      yield* refuse(operation, b.principal === "" || b.host === "" || b.resourceName === "",
        `${describeBinding(b)}: principal, host and resource name cannot be empty`)
    }
    if (bindings.length === 0) return
    const res = yield* toAnyBroker(cluster, CreateAcls, {
      creations: bindings.map((b) => ({
        resourceType: RESOURCE[b.resourceType],
        resourceName: b.resourceName,
        resourcePatternType: PATTERN[b.patternType],
        principal: b.principal,
        host: b.host,
        operation: OPERATION[b.operation],
        permissionType: PERMISSION[b.permission]
      }))
    })
    yield* collect(operation, bindings.map((b, i): Outcome<void> => {
      const r = res.results[i]
      const error = r === undefined ? kafkaError("UNKNOWN_SERVER_ERROR", "the broker did not answer for this ACL") : codeError(r.errorCode, r.errorMessage)
      return error === undefined ? ok(describeBinding(b), undefined) : failed(operation, describeBinding(b), error)
    }))
  })

export const describeAcls = (
  cluster: ClusterService,
  filter: AclFilter = {}
): Effect.Effect<Array<AclBinding>, ClusterError | AdminItemError> =>
  Effect.gen(function*() {
    const res = yield* toAnyBroker(cluster, DescribeAcls, filterWire(filter))
    const error = codeError(res.errorCode, res.errorMessage)
    if (error !== undefined) return yield* Effect.fail(itemError("describeAcls", describeFilter(filter), error))
    const out: Array<AclBinding> = []
    for (const r of res.resources) {
      for (const a of r.acls) {
        const b = fromWire({ ...a, resourceType: r.resourceType, resourceName: r.resourceName, patternType: r.patternType })
        if (b !== undefined) out.push(b)
      }
    }
    return out
  })

export const deleteAcls = (
  cluster: ClusterService,
  filters: ReadonlyArray<AclFilter>
): Effect.Effect<Array<AclBinding>, ClusterError | AdminPartialFailure> =>
  Effect.gen(function*() {
    const operation = "deleteAcls"
    if (filters.length === 0) return []
    const res = yield* toAnyBroker(cluster, DeleteAcls, { filters: filters.map(filterWire) })
    const outcomes = filters.map((f, i): Outcome<Array<AclBinding>> => {
      const item = describeFilter(f)
      const r = res.filterResults[i]
      if (r === undefined) return failed(operation, item, kafkaError("UNKNOWN_SERVER_ERROR", "the broker did not answer for this filter"))
      const error = codeError(r.errorCode, r.errorMessage)
      if (error !== undefined) return failed(operation, item, error)
      const deleted: Array<AclBinding> = []
      for (const m of r.matchingAcls) {
        const b = fromWire(m)
        if (b === undefined) continue
        const e = codeError(m.errorCode, m.errorMessage)
        if (e !== undefined) return failed(operation, describeBinding(b), e)
        deleted.push(b)
      }
      return ok(item, deleted)
    })
    return (yield* collect(operation, outcomes)).flat()
  })
