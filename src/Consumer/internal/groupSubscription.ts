/**
 * What a member subscribes to: a list of topics, or a pattern matched (whole name, as Java's
 * `Pattern.matches`) against the cluster's non-internal topics.
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"

export type SubscriptionSpec =
  | { readonly _tag: "Topics"; readonly topics: ReadonlyArray<string> }
  | { readonly _tag: "Pattern"; readonly source: string; readonly regex: RegExp }

export const topicsSpec = (topics: ReadonlyArray<string>): SubscriptionSpec => ({ _tag: "Topics", topics: [...new Set(topics)].sort() })

/** A pattern subscription; `undefined` when the pattern does not compile. */
export const patternSpec = (pattern: RegExp | string): SubscriptionSpec | undefined => {
  const source = typeof pattern === "string" ? pattern : pattern.source
  const flags = typeof pattern === "string" ? "" : pattern.flags.replace(/[gy]/g, "")
  try {
    return { _tag: "Pattern", source, regex: new RegExp(`^(?:${source})$`, flags) }
  } catch {
    return undefined
  }
}

/** The topics the member subscribes to now, sorted. */
export const subscribedTopics = (cluster: ClusterService, spec: SubscriptionSpec): Effect.Effect<ReadonlyArray<string>, ClusterError> =>
  spec._tag === "Topics"
    ? Effect.succeed(spec.topics)
    : Effect.map(cluster.listTopics, (topics) =>
      topics.filter((t) => !t.isInternal && t.errorCode === 0 && spec.regex.test(t.name)).map((t) => t.name).sort())

/** Partition counts of the topics that exist (after a metadata refresh for them). */
export const partitionCounts = (
  cluster: ClusterService,
  topics: ReadonlyArray<string>
): Effect.Effect<Map<string, number>, ClusterError> =>
  topics.length === 0
    ? Effect.succeed(new Map())
    : Effect.map(cluster.refresh(topics), (s) => {
      const out = new Map<string, number>()
      for (const name of topics) {
        const t = s.topics.get(name)
        if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0) out.set(name, t.partitions.length)
      }
      return out
    })

export const sameList = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

export const sameCounts = (a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k) === v)

/** Cluster failures that retrying cannot fix: the membership ends with them. */
export const isFatalClusterError = (e: { readonly _tag: string }): boolean =>
  e._tag === "UnsupportedVersionError" || e._tag === "AuthenticationError"
