/**
 * The route table: every API the in-memory broker answers, with its version range.
 *
 * @internal
 */
import type { Kafka } from "../kafka.ts"
import { aclRoutes } from "./acls.ts"
import { adminRoutes } from "./admin.ts"
import { clusterRoutes, versionTable } from "./cluster.ts"
import type { Route } from "./common.ts"
import { fetchRoutes } from "./fetch.ts"
import { consumerGroupRoutes } from "./consumerGroups.ts"
import { groupRoutes } from "./groups.ts"
import { offsetRoutes } from "./offsets.ts"
import { produceRoutes } from "./produce.ts"
import { shareGroupRoutes } from "./shareGroups.ts"
import { transactionRoutes } from "./transactions.ts"

export type { Handler, Route } from "./common.ts"

export const routes: ReadonlyMap<number, Route> = new Map(
  [...clusterRoutes, ...produceRoutes, ...fetchRoutes, ...adminRoutes, ...aclRoutes, ...groupRoutes, ...consumerGroupRoutes, ...shareGroupRoutes, ...offsetRoutes, ...transactionRoutes].map((r) => [r.api.key, r])
)

/** The version range the cluster advertises for an API key (overrides applied), or undefined. */
export const rangeOf = (kafka: Kafka, apiKey: number): { readonly min: number; readonly max: number } | undefined => {
  const r = routes.get(apiKey)
  if (r === undefined) return undefined
  const o = kafka.options.versions.get(apiKey)
  if (o === undefined) return { min: r.min, max: r.max }
  const min = Math.max(r.min, o.min)
  const max = Math.min(r.max, o.max)
  return max >= min ? { min, max } : undefined
}

versionTable.current = (kafka) => {
  const out: Array<{ apiKey: number; minVersion: number; maxVersion: number }> = []
  for (const key of [...routes.keys()].sort((a, b) => a - b)) {
    const r = rangeOf(kafka, key)
    if (r !== undefined) out.push({ apiKey: key, minVersion: r.min, maxVersion: r.max })
  }
  return out
}
