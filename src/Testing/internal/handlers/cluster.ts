/**
 * ApiVersions, Metadata, DescribeCluster and FindCoordinator.
 *
 * @internal
 */
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { ApiVersions } from "../../../Protocol/generated/ApiVersions.ts"
import type { ApiVersionsRequest, ApiVersionsResponse } from "../../../Protocol/generated/ApiVersions.ts"
import { DescribeCluster } from "../../../Protocol/generated/DescribeCluster.ts"
import type { DescribeClusterRequest, DescribeClusterResponse } from "../../../Protocol/generated/DescribeCluster.ts"
import { FindCoordinator } from "../../../Protocol/generated/FindCoordinator.ts"
import type { FindCoordinatorRequest, FindCoordinatorResponse } from "../../../Protocol/generated/FindCoordinator.ts"
import { Metadata } from "../../../Protocol/generated/Metadata.ts"
import type { MetadataRequest, MetadataResponse, MetadataResponseTopic } from "../../../Protocol/generated/Metadata.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import type { TopicState } from "../state.ts"
import { route, ZERO_UUID } from "./common.ts"
import type { Route } from "./common.ts"

const NO_OPS = -2147483648

/** Filled in by the route table (it needs every route). */
export const versionTable: { current: (kafka: Kafka) => ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }> } = {
  current: () => []
}

const apiVersions = (kafka: Kafka, ctx: RequestContext, _req: ApiVersionsRequest): ApiVersionsResponse => ({
  errorCode: ctx.fault.code(),
  apiKeys: versionTable.current(kafka).map((v) => ({ apiKey: v.apiKey, minVersion: v.minVersion, maxVersion: v.maxVersion })),
  throttleTimeMs: 0,
  supportedFeatures: ctx.version >= 3 ? [{ name: "metadata.version", minVersion: 1, maxVersion: 25 }] : [],
  finalizedFeaturesEpoch: -1n,
  finalizedFeatures: [],
  zkMigrationReady: false
})

const topicResponse = (kafka: Kafka, t: TopicState, v: number): MetadataResponseTopic => ({
  errorCode: 0,
  name: t.name,
  topicId: v >= 10 ? t.id : ZERO_UUID,
  isInternal: t.isInternal,
  partitions: t.partitions.map((p) => ({
    errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
    partitionIndex: p.index,
    leaderId: p.leader,
    leaderEpoch: v >= 7 ? p.leaderEpoch : -1,
    replicaNodes: [...p.replicas],
    isrNodes: [...p.isr],
    offlineReplicas: v >= 5 ? p.replicas.filter((id) => kafka.state.brokers.get(id)?.up !== true) : []
  })),
  topicAuthorizedOperations: NO_OPS
})

const errorTopic = (code: number, name: string | null, topicId: string): MetadataResponseTopic => ({
  errorCode: code,
  name,
  topicId,
  isInternal: false,
  partitions: [],
  topicAuthorizedOperations: NO_OPS
})

const metadata = (kafka: Kafka, ctx: RequestContext, req: MetadataRequest): MetadataResponse => {
  const v = ctx.version
  const s = kafka.state
  const topics: Array<MetadataResponseTopic> = []
  const all = req.topics === null || (v === 0 && req.topics.length === 0)
  if (all) {
    for (const t of s.topics.values()) {
      const code = ctx.fault.code(t.name)
      topics.push(code !== 0 ? errorTopic(code, t.name, v >= 10 ? t.id : ZERO_UUID) : topicResponse(kafka, t, v))
    }
  } else {
    const autoCreate = kafka.options.autoCreateTopics && (v < 4 || req.allowAutoTopicCreation !== false)
    for (const rt of req.topics!) {
      const byId = rt.name === null && rt.topicId !== undefined && rt.topicId !== ZERO_UUID
      let t = byId ? s.topicsById.get(rt.topicId!) : s.topics.get(rt.name ?? "")
      const name = byId ? t?.name ?? null : rt.name
      const code = ctx.fault.code(name ?? undefined)
      if (code !== 0) {
        topics.push(errorTopic(code, name, t !== undefined && v >= 10 ? t.id : ZERO_UUID))
        continue
      }
      if (t === undefined && !byId && autoCreate && rt.name !== null) {
        const created = s.createTopic({ name: rt.name, partitions: -1, replicationFactor: -1 })
        if (!created.ok) {
          topics.push(errorTopic(created.code, rt.name, ZERO_UUID))
          continue
        }
        t = created.value
      }
      if (t === undefined) {
        topics.push(errorTopic(byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, byId ? rt.topicId! : ZERO_UUID))
        continue
      }
      topics.push(topicResponse(kafka, t, v))
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: s.liveBrokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: v >= 1 ? b.rack : null })),
    clusterId: v >= 2 ? s.clusterId : null,
    controllerId: v >= 1 ? s.controllerId() : -1,
    topics,
    clusterAuthorizedOperations: NO_OPS,
    errorCode: 0
  }
}

const describeCluster = (kafka: Kafka, ctx: RequestContext, req: DescribeClusterRequest): DescribeClusterResponse => {
  const code = ctx.fault.code()
  const endpointType = req.endpointType ?? 1
  const s = kafka.state
  return {
    throttleTimeMs: 0,
    errorCode: code !== 0 ? code : endpointType === 1 ? 0 : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
    errorMessage: null,
    endpointType: ctx.version >= 1 ? endpointType : 1,
    clusterId: s.clusterId,
    controllerId: s.controllerId(),
    brokers: code !== 0 ? [] : s.liveBrokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: false })),
    clusterAuthorizedOperations: NO_OPS
  }
}

const findOne = (kafka: Kafka, ctx: RequestContext, keyType: number, key: string) => {
  const found = (nodeId: number) => {
    const b = kafka.state.brokers.get(nodeId)!
    return { nodeId, host: b.host, port: b.port, errorCode: 0, errorMessage: null }
  }
  const failed = (errorCode: number, errorMessage: string) => ({ nodeId: -1, host: "", port: -1, errorCode, errorMessage })
  const injected = ctx.fault.code()
  if (injected !== 0) return failed(injected, "injected")
  if (keyType !== 0 && keyType !== 1 && keyType !== 2) return failed(ErrorCode.INVALID_REQUEST, `unknown key type ${keyType}`)
  if (key === "") return failed(ErrorCode.INVALID_REQUEST, "an empty coordinator key")
  // key type 2: the share coordinator of a share-partition ("groupId:topicId:partition"), the
  // leader of its __share_group_state partition
  if (keyType === 2 && !/^.+:[A-Za-z0-9_-]{22}:\d+$/.test(key)) return failed(ErrorCode.INVALID_REQUEST, `Invalid coordinator key ${key}`)
  const node = kafka.state.coordinatorOf(keyType === 0 ? "group" : keyType === 1 ? "transaction" : "share", key)
  return node < 0 ? failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.") : found(node)
}

const findCoordinator = (kafka: Kafka, ctx: RequestContext, req: FindCoordinatorRequest): FindCoordinatorResponse => {
  const keyType = req.keyType ?? 0
  if (ctx.version >= 4) {
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      nodeId: 0,
      host: "",
      port: 0,
      coordinators: (req.coordinatorKeys ?? []).map((key) => ({ key, ...findOne(kafka, ctx, keyType, key) }))
    }
  }
  const one = findOne(kafka, ctx, keyType, req.key ?? "")
  return {
    throttleTimeMs: 0,
    errorCode: one.errorCode,
    errorMessage: ctx.version >= 1 ? one.errorMessage : null,
    nodeId: one.nodeId,
    host: one.host,
    port: one.port,
    coordinators: []
  }
}

export const clusterRoutes: ReadonlyArray<Route> = [
  route(ApiVersions, 0, 4, apiVersions),
  route(Metadata, 0, 13, metadata),
  route(DescribeCluster, 0, 2, describeCluster),
  route(FindCoordinator, 0, 6, findCoordinator)
]
