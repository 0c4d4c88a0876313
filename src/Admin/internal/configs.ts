/**
 * Describing and incrementally altering configs (DescribeConfigs, IncrementalAlterConfigs).
 * A broker's own configs (and its loggers) go to that broker; everything else to any broker.
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import type { Api } from "../../Protocol/Api.ts"
import { DescribeConfigs } from "../../Protocol/generated/DescribeConfigs.ts"
import type { DescribeConfigsResponseResourceResult } from "../../Protocol/generated/DescribeConfigs.ts"
import { IncrementalAlterConfigs } from "../../Protocol/generated/IncrementalAlterConfigs.ts"
import type { InvalidTopicName } from "../../Topic.ts"
import type { AdminPartialFailure, InvalidAdminRequest } from "../Errors.ts"
import type { AlterConfigOp, ConfigEntry, ConfigResource } from "./configTypes.ts"
import { describeResource, opCode, resourceTypeCode, sourceOf, typeOf } from "./configTypes.ts"
import { checkTopics, codeError, collect, failed, ok, refuse, toAnyBroker, toBroker } from "./request.ts"
import type { Outcome } from "./request.ts"

/**
 * The configs of one resource.
 *
 * @since 0.1.0
 */
export interface ResourceConfig {
  readonly resource: ConfigResource
  readonly entries: ReadonlyArray<ConfigEntry>
}

/**
 * Options of `describeConfigs`.
 *
 * @since 0.1.0
 */
export interface DescribeConfigsOptions {
  /** Only these config names (default: all). */
  readonly names?: ReadonlyArray<string> | undefined
  readonly includeSynonyms?: boolean | undefined
  readonly includeDocumentation?: boolean | undefined
}

/**
 * Changes to one resource's configs.
 *
 * @since 0.1.0
 */
export interface ConfigChange {
  readonly resource: ConfigResource
  readonly ops: ReadonlyArray<AlterConfigOp>
}

/** The broker a resource's config request must reach, or `"any"`. */
const destination = (r: ConfigResource): number | "any" | undefined => {
  if ((r.type === "broker" && r.name !== "") || r.type === "brokerLogger") {
    return /^\d+$/.test(r.name) ? Number(r.name) : undefined
  }
  return "any"
}

const checkResources = (operation: string, resources: ReadonlyArray<ConfigResource>) =>
  Effect.gen(function*() {
    yield* checkTopics(resources.filter((r) => r.type === "topic").map((r) => r.name))
    for (const r of resources) {
      yield* refuse(operation, destination(r) === undefined, `${r.type} config resource ${JSON.stringify(r.name)} must be named by a broker's node id`)
    }
  })

/** Runs `f` once per destination broker with its resources, concurrently. */
const perDestination = <A>(
  cluster: ClusterService,
  resources: ReadonlyArray<ConfigResource>,
  f: (to: <Req, Res>(api: Api<Req, Res>, req: (v: number) => Req) => Effect.Effect<Res, ClusterError>, group: ReadonlyArray<ConfigResource>) => Effect.Effect<ReadonlyArray<Outcome<A>>, ClusterError>
): Effect.Effect<ReadonlyArray<Outcome<A>>, ClusterError> => {
  const groups = new Map<number | "any", Array<ConfigResource>>()
  for (const r of resources) {
    const d = destination(r)!
    const list = groups.get(d) ?? []
    list.push(r)
    groups.set(d, list)
  }
  return Effect.forEach([...groups], ([d, group]) =>
    f((api, req) => (d === "any" ? toAnyBroker(cluster, api, req) : toBroker(cluster, d, api, req)), group), {
    concurrency: "unbounded"
  }).pipe(Effect.map((xs) => xs.flat()))
}

const key = (type: number, name: string) => `${type}:${name}`

const toEntry = (c: DescribeConfigsResponseResourceResult, version: number): ConfigEntry => ({
  name: c.name,
  value: c.value,
  source: sourceOf(c.configSource),
  isDefault: c.configSource === 5,
  isSensitive: c.isSensitive,
  isReadOnly: c.readOnly,
  type: typeOf(c.configType),
  synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: sourceOf(s.source) })),
  documentation: c.documentation
})

export const describeConfigs = (
  cluster: ClusterService,
  resources: ReadonlyArray<ConfigResource>,
  options: DescribeConfigsOptions = {}
): Effect.Effect<Array<ResourceConfig>, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "describeConfigs"
    yield* checkResources(operation, resources)
    const outcomes = yield* perDestination<ResourceConfig>(cluster, resources, (to, group) => {
      let version = 0
      return to(DescribeConfigs, (v) => {
        version = v
        return {
          resources: group.map((r) => ({
            resourceType: resourceTypeCode(r.type),
            resourceName: r.name,
            configurationKeys: options.names === undefined ? null : [...options.names]
          })),
          ...(v >= 1 ? { includeSynonyms: options.includeSynonyms ?? false } : {}),
          ...(v >= 3 ? { includeDocumentation: options.includeDocumentation ?? false } : {})
        }
      }).pipe(Effect.map((res) => {
        const byKey = new Map(res.results.map((r) => [key(r.resourceType, r.resourceName), r]))
        return group.map((resource): Outcome<ResourceConfig> => {
          const item = describeResource(resource)
          const r = byKey.get(key(resourceTypeCode(resource.type), resource.name))
          if (r === undefined) return failed(operation, item, codeError(-1, "the broker did not answer for this resource")!)
          const error = codeError(r.errorCode, r.errorMessage)
          if (error !== undefined) return failed(operation, item, error)
          return ok(item, { resource, entries: r.configs.map((c) => toEntry(c, version)) })
        })
      }))
    })
    return yield* collect(operation, orderLike(resources, outcomes))
  })

export const alterConfigs = (
  cluster: ClusterService,
  changes: ReadonlyArray<ConfigChange>,
  options: { readonly validateOnly?: boolean | undefined } = {}
): Effect.Effect<void, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "alterConfigs"
    const resources = changes.map((c) => c.resource)
    yield* checkResources(operation, resources)
    const opsOf = new Map(changes.map((c) => [key(resourceTypeCode(c.resource.type), c.resource.name), c.ops]))
    const outcomes = yield* perDestination<void>(cluster, resources, (to, group) =>
      to(IncrementalAlterConfigs, () => ({
        resources: group.map((r) => ({
          resourceType: resourceTypeCode(r.type),
          resourceName: r.name,
          configs: (opsOf.get(key(resourceTypeCode(r.type), r.name)) ?? []).map((o) => ({
            name: o.name,
            configOperation: opCode(o.op),
            value: o.op === "delete" ? null : o.value
          }))
        })),
        validateOnly: options.validateOnly ?? false
      })).pipe(Effect.map((res) => {
        const byKey = new Map(res.responses.map((r) => [key(r.resourceType, r.resourceName), r]))
        return group.map((resource): Outcome<void> => {
          const item = describeResource(resource)
          const r = byKey.get(key(resourceTypeCode(resource.type), resource.name))
          if (r === undefined) return failed(operation, item, codeError(-1, "the broker did not answer for this resource")!)
          const error = codeError(r.errorCode, r.errorMessage)
          return error === undefined ? ok(item, undefined) : failed(operation, item, error)
        })
      })))
    yield* collect(operation, orderLike(resources, outcomes))
  })

/** Outcomes in the order of the resources asked for. */
const orderLike = <A>(resources: ReadonlyArray<ConfigResource>, outcomes: ReadonlyArray<Outcome<A>>): ReadonlyArray<Outcome<A>> => {
  const byItem = new Map(outcomes.map((o) => [o.item, o]))
  return resources.map((r) => byItem.get(describeResource(r))!)
}
