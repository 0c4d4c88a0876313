/**
 * Topic metadata fetched for one Admin operation (not through the Cluster's cache, so describing or
 * deleting topics does not add them to the topics the Cluster keeps refreshing).
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { Metadata } from "../../Protocol/generated/Metadata.ts"
import type { MetadataResponse, MetadataResponseTopic } from "../../Protocol/generated/Metadata.ts"
import { toAnyBroker } from "./request.ts"

/** Metadata of `topics` (every topic for `null`), from any broker. */
export const fetchMetadata = (
  cluster: ClusterService,
  topics: ReadonlyArray<string> | null
): Effect.Effect<MetadataResponse, ClusterError> =>
  toAnyBroker(cluster, Metadata, {
    topics: topics === null ? null : topics.map((name) => ({ name })),
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false
  })

/** The response's topics by name. */
export const topicsByName = (res: MetadataResponse): ReadonlyMap<string, MetadataResponseTopic> => {
  const out = new Map<string, MetadataResponseTopic>()
  for (const t of res.topics) if (t.name !== null) out.set(t.name, t)
  return out
}
