/**
 * The cluster's id, controller and brokers (DescribeCluster, or Metadata on brokers older than 2.8).
 *
 * @internal
 */
import { Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { DescribeCluster } from "../../Protocol/generated/DescribeCluster.ts"
import { fetchMetadata } from "./metadata.ts"
import { codeError, toAnyBroker } from "./request.ts"

/**
 * A broker of the cluster.
 *
 * @since 0.1.0
 */
export interface BrokerDescription {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
}

/**
 * The cluster as its brokers see it. `controllerId` is a broker the client may send controller
 * requests to (in KRaft a random live broker, which forwards them), -1 when unknown.
 *
 * @since 0.1.0
 */
export interface ClusterDescription {
  readonly clusterId: string | null
  readonly controllerId: number
  /** By node id, ascending. */
  readonly brokers: ReadonlyArray<BrokerDescription>
}

const byNodeId = (a: BrokerDescription, b: BrokerDescription) => a.nodeId - b.nodeId

export const describeCluster = (cluster: ClusterService): Effect.Effect<ClusterDescription, ClusterError> =>
  toAnyBroker(cluster, DescribeCluster, { includeClusterAuthorizedOperations: false }).pipe(
    Effect.flatMap((res): Effect.Effect<ClusterDescription, ClusterError> => {
      const error = codeError(res.errorCode, res.errorMessage)
      if (error !== undefined) return Effect.fail(error)
      return Effect.succeed({
        clusterId: res.clusterId,
        controllerId: res.controllerId,
        brokers: res.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort(byNodeId)
      })
    }),
    Effect.catchTag("UnsupportedVersionError", () =>
      Effect.map(fetchMetadata(cluster, []), (res) => ({
        clusterId: res.clusterId,
        controllerId: res.controllerId,
        brokers: res.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })).sort(byNodeId)
      })))
  )
