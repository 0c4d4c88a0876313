/**
 * Topic administration: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
 * AlterConfigs and IncrementalAlterConfigs (topic configs; broker configs are read-only defaults).
 *
 * @internal
 */
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { AlterConfigs } from "../../../Protocol/generated/AlterConfigs.ts"
import type { AlterConfigsRequest, AlterConfigsResponse } from "../../../Protocol/generated/AlterConfigs.ts"
import { CreatePartitions } from "../../../Protocol/generated/CreatePartitions.ts"
import type { CreatePartitionsRequest, CreatePartitionsResponse } from "../../../Protocol/generated/CreatePartitions.ts"
import { CreateTopics } from "../../../Protocol/generated/CreateTopics.ts"
import type { CreateTopicsRequest, CreateTopicsResponse, CreateTopicsResponseCreatableTopicResult } from "../../../Protocol/generated/CreateTopics.ts"
import { DeleteTopics } from "../../../Protocol/generated/DeleteTopics.ts"
import type { DeleteTopicsRequest, DeleteTopicsResponse } from "../../../Protocol/generated/DeleteTopics.ts"
import { DescribeConfigs } from "../../../Protocol/generated/DescribeConfigs.ts"
import type { DescribeConfigsRequest, DescribeConfigsResponse, DescribeConfigsResponseResourceResult } from "../../../Protocol/generated/DescribeConfigs.ts"
import { IncrementalAlterConfigs } from "../../../Protocol/generated/IncrementalAlterConfigs.ts"
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from "../../../Protocol/generated/IncrementalAlterConfigs.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import { GROUP_CONFIGS } from "../shareGroups.ts"
import { TOPIC_CONFIG_DEFAULTS, validateConfig } from "../state.ts"
import type { TopicState } from "../state.ts"
import { route, ZERO_UUID } from "./common.ts"
import type { Route } from "./common.ts"

const TOPIC = 2
const BROKER = 4
const GROUP = 32
const GROUP_CONFIG = 8
/** Config sources (DescribeConfigs). */
const DYNAMIC_TOPIC_CONFIG = 1
const STATIC_BROKER_CONFIG = 4
const DEFAULT_CONFIG = 5

const configType = (name: string, value: string): number =>
  name === "cleanup.policy" ? 7 : value === "true" || value === "false" ? 1 : /^-?\d+$/.test(value) ? 5 : /^-?\d+\.\d+$/.test(value) ? 6 : 2

const createTopics = (kafka: Kafka, ctx: RequestContext, req: CreateTopicsRequest): CreateTopicsResponse => {
  const v = ctx.version
  const seen = new Map<string, number>()
  for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1)
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t): CreateTopicsResponseCreatableTopicResult => {
      const failed = (errorCode: number, errorMessage: string | null): CreateTopicsResponseCreatableTopicResult => ({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode,
        errorMessage: v >= 1 ? errorMessage : null,
        topicConfigErrorCode: 0,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null
      })
      const injected = ctx.fault.code(t.name)
      if (injected !== 0) return failed(injected, "injected")
      if ((seen.get(t.name) ?? 0) > 1) return failed(ErrorCode.INVALID_REQUEST, `Create topics request from client contains multiple entries for topic ${t.name}`)
      const assignments = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => a.brokerIds)
      const created = kafka.state.createTopic({
        name: t.name,
        partitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments,
        configs: new Map(t.configs.map((c) => [c.name, c.value]))
      }, req.validateOnly === true)
      if (!created.ok) return failed(created.code, created.message)
      const topic = created.value
      return {
        name: t.name,
        topicId: v >= 7 ? topic.id : ZERO_UUID,
        errorCode: 0,
        errorMessage: null,
        topicConfigErrorCode: 0,
        numPartitions: v >= 5 ? topic.partitions.length : -1,
        replicationFactor: v >= 5 ? (topic.partitions[0]?.replicas.length ?? -1) : -1,
        configs: v >= 5
          ? [...TOPIC_CONFIG_DEFAULTS].map(([name, dflt]) => {
            const value = topic.configs.get(name)
            return { name, value: value ?? dflt, readOnly: false, configSource: value !== undefined ? DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG, isSensitive: false }
          })
          : null
      }
    })
  }
}

const deleteTopics = (kafka: Kafka, ctx: RequestContext, req: DeleteTopicsRequest): DeleteTopicsResponse => {
  const v = ctx.version
  const wanted = v >= 6
    ? (req.topics ?? []).map((t) => ({ name: t.name ?? null, topicId: t.topicId }))
    : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }))
  return {
    throttleTimeMs: 0,
    responses: wanted.map((w) => {
      const byId = w.name === null
      const topic: TopicState | undefined = byId ? kafka.state.topicsById.get(w.topicId) : kafka.state.topics.get(w.name!)
      const result = (errorCode: number, errorMessage: string | null) => ({
        name: byId ? topic?.name ?? null : w.name,
        topicId: v >= 6 ? topic?.id ?? w.topicId : ZERO_UUID,
        errorCode,
        errorMessage: v >= 5 ? errorMessage : null
      })
      const injected = ctx.fault.code(topic?.name ?? w.name ?? undefined)
      if (injected !== 0) return result(injected, "injected")
      if (topic === undefined) {
        return result(byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.")
      }
      if (topic.isInternal) return result(ErrorCode.TOPIC_DELETION_DISABLED, `Cannot delete internal topic ${topic.name}`)
      kafka.state.deleteTopic(topic)
      return result(0, null)
    })
  }
}

const createPartitions = (kafka: Kafka, ctx: RequestContext, req: CreatePartitionsRequest): CreatePartitionsResponse => ({
  throttleTimeMs: 0,
  results: req.topics.map((t) => {
    const injected = ctx.fault.code(t.name)
    if (injected !== 0) return { name: t.name, errorCode: injected, errorMessage: "injected" }
    const r = kafka.state.createPartitions(t.name, t.count, t.assignments === null ? null : t.assignments.map((a) => a.brokerIds), req.validateOnly)
    return r.ok ? { name: t.name, errorCode: 0, errorMessage: null } : { name: t.name, errorCode: r.code, errorMessage: r.message }
  })
})

const brokerConfigs = (kafka: Kafka): ReadonlyArray<readonly [string, string]> => [
  ["auto.create.topics.enable", String(kafka.options.autoCreateTopics)],
  ["num.partitions", String(kafka.options.state.defaultPartitions)],
  ["default.replication.factor", String(kafka.options.state.defaultReplicationFactor)],
  ["message.max.bytes", "1048588"],
  ["min.insync.replicas", "1"],
  ["offsets.topic.num.partitions", String(kafka.options.state.internalTopicPartitions)],
  ["transaction.max.timeout.ms", "900000"],
  ["group.min.session.timeout.ms", String(kafka.options.groups.minSessionTimeoutMs)],
  ["group.max.session.timeout.ms", String(kafka.options.groups.maxSessionTimeoutMs)],
  ["group.initial.rebalance.delay.ms", String(kafka.options.groups.initialRebalanceDelayMs)]
]

const describeConfigs = (kafka: Kafka, ctx: RequestContext, req: DescribeConfigsRequest): DescribeConfigsResponse => {
  const v = ctx.version
  const entry = (name: string, value: string, source: number, _isDefault: boolean): DescribeConfigsResponseResourceResult => ({
    name,
    value,
    readOnly: source === STATIC_BROKER_CONFIG,
    configSource: source,
    isSensitive: false,
    synonyms: [],
    configType: v >= 3 ? configType(name, value) : 0,
    documentation: null
  })
  return {
    throttleTimeMs: 0,
    results: req.resources.map((r) => {
      const result = (errorCode: number, errorMessage: string | null, configs: Array<DescribeConfigsResponseResourceResult> = []) => ({
        errorCode,
        errorMessage,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: r.configurationKeys === null ? configs : configs.filter((c) => r.configurationKeys!.includes(c.name))
      })
      const injected = ctx.fault.code(r.resourceType === TOPIC ? r.resourceName : undefined)
      if (injected !== 0) return result(injected, "injected")
      if (r.resourceType === TOPIC) {
        const topic = kafka.state.topics.get(r.resourceName)
        if (topic === undefined) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${r.resourceName} does not exist`)
        return result(0, null, [...TOPIC_CONFIG_DEFAULTS].map(([name, dflt]) => {
          const set = topic.configs.get(name)
          return entry(name, set ?? dflt, set !== undefined ? DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG, set === undefined)
        }))
      }
      if (r.resourceType === BROKER) {
        if (r.resourceName !== "" && r.resourceName !== String(ctx.nodeId)) {
          return result(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${ctx.nodeId} or empty string, but received ${r.resourceName}`)
        }
        return result(0, null, brokerConfigs(kafka).map(([name, value]) => entry(name, value, STATIC_BROKER_CONFIG, false)))
      }
      if (r.resourceType === GROUP) {
        // every group id has the group configs (as Kafka: whether or not the group exists)
        const set = kafka.share.configs.get(r.resourceName)
        return result(0, null, GROUP_CONFIGS.map(([name, type]) => {
          const value = set?.get(name)
          return { ...entry(name, value ?? kafka.share.defaultConfig(name), value === undefined ? DEFAULT_CONFIG : GROUP_CONFIG, value === undefined), configType: v >= 3 ? type : 0 }
        }))
      }
      return result(ErrorCode.INVALID_REQUEST, `unsupported resource type ${r.resourceType}`)
    })
  }
}

/** Applies config changes to a topic (all or nothing); `undefined` when fine, else the error. */
const alterTopic = (
  kafka: Kafka,
  name: string,
  change: (configs: Map<string, string>) => string | undefined,
  validateOnly: boolean
): { readonly code: number; readonly message: string } | undefined => {
  const topic = kafka.state.topics.get(name)
  if (topic === undefined) return { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `Topic ${name} does not exist` }
  const next = new Map(topic.configs)
  const bad = change(next)
  if (bad !== undefined) return { code: ErrorCode.INVALID_CONFIG, message: bad }
  for (const [k, v] of next) {
    const invalid = validateConfig(k, v)
    if (invalid !== undefined) return { code: ErrorCode.INVALID_CONFIG, message: invalid }
  }
  if (!validateOnly) {
    topic.configs.clear()
    for (const [k, v] of next) topic.configs.set(k, v)
  }
  return undefined
}

/** IncrementalAlterConfigs on a GROUP resource (SET and DELETE), all or nothing: undefined, or why not. */
const alterGroup = (
  kafka: Kafka,
  groupId: string,
  changes: IncrementalAlterConfigsRequest["resources"][number]["configs"],
  validateOnly: boolean
): string | undefined => {
  if (groupId === "") return "Group id must not be empty."
  const next = new Map(kafka.share.configs.get(groupId) ?? [])
  for (const c of changes) {
    if (c.configOperation !== 0 && c.configOperation !== 1) return `The config operation ${c.configOperation} is not supported for ${c.name}`
    const invalid = kafka.share.validateConfig(c.name, c.configOperation === 0 ? c.value ?? "" : null)
    if (invalid !== undefined) return invalid
    if (c.configOperation === 0) next.set(c.name, c.value ?? "")
    else next.delete(c.name)
  }
  if (!validateOnly) kafka.share.configs.set(groupId, next)
  return undefined
}

const incrementalAlterConfigs = (kafka: Kafka, ctx: RequestContext, req: IncrementalAlterConfigsRequest): IncrementalAlterConfigsResponse => ({
  throttleTimeMs: 0,
  responses: req.resources.map((r) => {
    const result = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName })
    const injected = ctx.fault.code(r.resourceType === TOPIC ? r.resourceName : undefined)
    if (injected !== 0) return result(injected, "injected")
    if (r.resourceType === GROUP) {
      const failed = alterGroup(kafka, r.resourceName, r.configs, req.validateOnly)
      return failed === undefined ? result(0, null) : result(ErrorCode.INVALID_CONFIG, failed)
    }
    if (r.resourceType !== TOPIC) return result(ErrorCode.INVALID_REQUEST, "only topic and group configs can be altered in memory")
    const failed = alterTopic(kafka, r.resourceName, (configs) => {
      for (const c of r.configs) {
        const current = configs.get(c.name) ?? TOPIC_CONFIG_DEFAULTS.get(c.name) ?? ""
        switch (c.configOperation) {
          case 0:
            if (c.value === null) return `a SET of ${c.name} needs a value`
            configs.set(c.name, c.value)
            break
          case 1:
            configs.delete(c.name)
            break
          case 2:
            configs.set(c.name, [...new Set([...current.split(",").filter((x) => x !== ""), ...(c.value ?? "").split(",")])].join(","))
            break
          case 3: {
            const drop = new Set((c.value ?? "").split(","))
            configs.set(c.name, current.split(",").filter((x) => !drop.has(x)).join(","))
            break
          }
          default:
            return `unknown config operation ${c.configOperation}`
        }
      }
      return undefined
    }, req.validateOnly)
    return failed === undefined ? result(0, null) : result(failed.code, failed.message)
  })
})

const alterConfigs = (kafka: Kafka, ctx: RequestContext, req: AlterConfigsRequest): AlterConfigsResponse => ({
  throttleTimeMs: 0,
  responses: req.resources.map((r) => {
    const result = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName })
    const injected = ctx.fault.code(r.resourceType === TOPIC ? r.resourceName : undefined)
    if (injected !== 0) return result(injected, "injected")
    if (r.resourceType !== TOPIC) return result(ErrorCode.INVALID_REQUEST, "only topic configs can be altered in memory")
    const failed = alterTopic(kafka, r.resourceName, (configs) => {
      configs.clear()
      for (const c of r.configs) if (c.value !== null) configs.set(c.name, c.value)
      return undefined
    }, req.validateOnly)
    return failed === undefined ? result(0, null) : result(failed.code, failed.message)
  })
})

export const adminRoutes: ReadonlyArray<Route> = [
  route(CreateTopics, 2, 7, createTopics),
  route(DeleteTopics, 1, 6, deleteTopics),
  route(CreatePartitions, 0, 3, createPartitions),
  route(DescribeConfigs, 1, 4, describeConfigs),
  route(AlterConfigs, 0, 2, alterConfigs),
  route(IncrementalAlterConfigs, 0, 1, incrementalAlterConfigs)
]
