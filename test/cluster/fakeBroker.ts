/**
 * A scripted `BrokerService` for deterministic cluster tests: each API key is answered by a
 * handler that sees the node id and the request. Every request is logged.
 */
import { Effect } from "effect"
import type { BrokerService } from "../../src/Connection/Broker.ts"
import type { BrokerError } from "../../src/Connection/Errors.ts"
import { ConnectionError } from "../../src/Connection/Errors.ts"
import type { NodeAddress } from "../../src/Cluster/Cluster.ts"
import type { MetadataResponse } from "../../src/Protocol/generated/Metadata.ts"

export interface Logged {
  readonly nodeId: number
  readonly api: string
  readonly req: unknown
}

export type Handler = (nodeId: number, req: any) => Effect.Effect<any, BrokerError>

export const makeFakeCluster = (handlers: Record<number, Handler>, options: { readonly findCoordinatorVersion?: number } = {}) => {
  const log: Array<Logged> = []
  const connects: Array<NodeAddress> = []
  const closed: Array<NodeAddress> = []
  const dead = new Set<string>()
  const connect = (node: NodeAddress) =>
    Effect.gen(function*() {
      connects.push(node)
      yield* Effect.addFinalizer(() => Effect.sync(() => closed.push(node)))
      const address = `${node.host}:${node.port}`
      const broker: BrokerService = {
        address,
        nodeId: node.nodeId,
        request: (api: any, req: any) =>
          Effect.suspend(() => {
            log.push({ nodeId: node.nodeId, api: api.name, req })
            if (dead.has(address)) {
              return Effect.fail(new ConnectionError({ broker: address, reason: "Refused", message: `connect ECONNREFUSED ${address}` }))
            }
            const h = handlers[api.key]
            if (h === undefined) return Effect.die(new Error(`fake broker: no handler for ${api.name}`))
            return h(node.nodeId, req)
          }),
        send: () => Effect.void,
        apiVersions: Effect.succeed(new Map()),
        versionFor: () => Effect.succeed(options.findCoordinatorVersion ?? 6),
        disconnect: Effect.void,
        stats: Effect.succeed({ connected: true, connects: 1, inFlight: 0, bytesIn: 0, bytesOut: 0, droppedLateResponses: 0, reauthentications: 0 })
      }
      return broker
    })
  return { connect, log, connects, closed, dead }
}

export interface FakeTopic {
  readonly name: string
  /** Leader node per partition (-1: no leader). */
  readonly leaders: ReadonlyArray<number>
  readonly errorCode?: number
}

export const metadataResponse = (
  brokers: ReadonlyArray<{ readonly nodeId: number; readonly host?: string; readonly port: number }>,
  topics: ReadonlyArray<FakeTopic>
): MetadataResponse => ({
  throttleTimeMs: 0,
  errorCode: 0,
  brokers: brokers.map((b) => ({ nodeId: b.nodeId, host: b.host ?? "127.0.0.1", port: b.port, rack: null })),
  clusterId: "fake-cluster",
  controllerId: brokers[0]?.nodeId ?? -1,
  topics: topics.map((t) => ({
    errorCode: t.errorCode ?? 0,
    name: t.name,
    topicId: "AAAAAAAAAAAAAAAAAAAAAA",
    isInternal: false,
    partitions: t.leaders.map((leader, i) => ({
      errorCode: leader < 0 ? 5 : 0,
      partitionIndex: i,
      leaderId: leader,
      leaderEpoch: 0,
      replicaNodes: [leader],
      isrNodes: [leader],
      offlineReplicas: []
    })),
    topicAuthorizedOperations: -2147483648
  })),
  clusterAuthorizedOperations: -2147483648
})
