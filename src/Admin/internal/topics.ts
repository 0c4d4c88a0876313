/**
 * Topics: create, delete, list, describe, add partitions (CreateTopics, DeleteTopics, Metadata,
 * CreatePartitions). Sent to any broker: in KRaft every broker forwards them to the controller.
 *
 * @internal
 */
import { Duration, Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { kafkaError } from "../../Protocol/Errors.ts"
import { CreatePartitions } from "../../Protocol/generated/CreatePartitions.ts"
import { CreateTopics } from "../../Protocol/generated/CreateTopics.ts"
import { DeleteTopics } from "../../Protocol/generated/DeleteTopics.ts"
import { ZERO_UUID } from "../../Protocol/internal/Primitives.ts"
import type { InvalidTopicName } from "../../Topic.ts"
import type { AdminPartialFailure, InvalidAdminRequest } from "../Errors.ts"
import type { ConfigEntry } from "./configTypes.ts"
import { sourceOf } from "./configTypes.ts"
import { fetchMetadata, topicsByName } from "./metadata.ts"
import { checkTopics, codeError, collect, failed, ok, refuse, timeouts, toAnyBroker } from "./request.ts"
import type { Outcome } from "./request.ts"

/**
 * A topic to create. Without `partitions` / `replicationFactor` the broker's defaults apply
 * (`num.partitions`, `default.replication.factor`). `assignment` places replicas explicitly:
 * `assignment[p]` lists the broker ids of partition `p`'s replicas, the preferred leader first;
 * it replaces `partitions` and `replicationFactor`.
 *
 * @since 0.1.0
 */
export interface NewTopic {
  readonly name: string
  readonly partitions?: number | undefined
  readonly replicationFactor?: number | undefined
  readonly assignment?: ReadonlyArray<ReadonlyArray<number>> | undefined
  /** Topic configs, e.g. `{ "retention.ms": "3600000", "cleanup.policy": "compact" }`. */
  readonly configs?: Readonly<Record<string, string>> | undefined
}

/**
 * Options of `createTopics`, `deleteTopics` and `createPartitions`.
 *
 * @since 0.1.0
 */
export interface TopicOperationOptions {
  /** Check the request (names, counts, configs, policies) without doing it. Not for `deleteTopics`. */
  readonly validateOnly?: boolean | undefined
  /** How long the controller may take (default 30 seconds). */
  readonly timeout?: Duration.Input | undefined
}

/**
 * A created topic as the controller reports it (also with `validateOnly`: what would be created).
 *
 * @since 0.1.0
 */
export interface CreatedTopic {
  readonly name: string
  /** The topic's id (base64 uuid); all zeros with `validateOnly`. */
  readonly topicId: string
  readonly partitions: number
  readonly replicationFactor: number
  /** The topic's configs, when the broker sends them (CreateTopics v5+). */
  readonly configs: ReadonlyArray<ConfigEntry>
}

/**
 * A topic in `listTopics`.
 *
 * @since 0.1.0
 */
export interface TopicListing {
  readonly name: string
  readonly topicId: string
  readonly isInternal: boolean
  readonly partitions: number
}

/**
 * One partition of a described topic. `leader` is -1 while it has none.
 *
 * @since 0.1.0
 */
export interface PartitionDescription {
  readonly partition: number
  readonly leader: number
  readonly leaderEpoch: number
  readonly replicas: ReadonlyArray<number>
  readonly isr: ReadonlyArray<number>
  readonly offline: ReadonlyArray<number>
}

/**
 * A described topic.
 *
 * @since 0.1.0
 */
export interface TopicDescription {
  readonly name: string
  readonly topicId: string
  readonly isInternal: boolean
  /** Replicas of partition 0 (Kafka keeps every partition's count the same unless reassigned). */
  readonly replicationFactor: number
  /** By index: `partitions[p].partition === p`. */
  readonly partitions: ReadonlyArray<PartitionDescription>
}

/**
 * Growing a topic to `count` partitions in total. `assignment` lists the replicas of each new
 * partition (as many entries as partitions added).
 *
 * @since 0.1.0
 */
export interface PartitionIncrease {
  readonly topic: string
  readonly count: number
  readonly assignment?: ReadonlyArray<ReadonlyArray<number>> | undefined
}

const duplicates = (names: ReadonlyArray<string>): Array<string> =>
  names.filter((n, i) => names.indexOf(n) !== i)

const checkNames = (operation: string, names: ReadonlyArray<string>) =>
  Effect.andThen(
    checkTopics(names),
    refuse(operation, duplicates(names).length > 0, `topics named more than once: ${[...new Set(duplicates(names))].join(", ")}`)
  )

export const createTopics = (
  cluster: ClusterService,
  topics: ReadonlyArray<NewTopic>,
  options: TopicOperationOptions = {}
): Effect.Effect<Array<CreatedTopic>, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "createTopics"
    yield* checkNames(operation, topics.map((t) => t.name))
    for (const t of topics) {
      const bad = (n: number | undefined, min: number) => n !== undefined && (!Number.isInteger(n) || n < min)
      yield* refuse(operation, bad(t.partitions, 1), `topic ${t.name}: partitions must be a whole number of at least 1, got ${t.partitions}`)
      yield* refuse(operation, bad(t.replicationFactor, 1) || (t.replicationFactor ?? 0) > 32767,
        `topic ${t.name}: replicationFactor must be a whole number from 1 to 32767, got ${t.replicationFactor}`)
      yield* refuse(operation, t.assignment !== undefined && (t.partitions !== undefined || t.replicationFactor !== undefined),
        `topic ${t.name}: give either an assignment or partitions/replicationFactor, not both`)
      yield* refuse(operation, t.assignment !== undefined && (t.assignment.length === 0 || t.assignment.some((r) => r.length === 0)),
        `topic ${t.name}: an assignment needs at least one partition, each with at least one replica`)
    }
    if (topics.length === 0) return []
    const timeout = timeouts(options.timeout)
    const res = yield* toAnyBroker(cluster, CreateTopics, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.assignment !== undefined ? -1 : (t.partitions ?? -1),
        replicationFactor: t.assignment !== undefined ? -1 : (t.replicationFactor ?? -1),
        assignments: (t.assignment ?? []).map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds: [...brokerIds] })),
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value }))
      })),
      timeoutMs: timeout.ms,
      validateOnly: options.validateOnly ?? false
    }, timeout.request)
    const byName = new Map(res.topics.map((t) => [t.name, t]))
    return yield* collect(operation, topics.map((t): Outcome<CreatedTopic> => {
      const item = `topic ${t.name}`
      const r = byName.get(t.name)
      if (r === undefined) return failed(operation, item, kafkaError("UNKNOWN_SERVER_ERROR", "the controller did not answer for this topic"))
      const error = codeError(r.errorCode, r.errorMessage)
      if (error !== undefined) return failed(operation, item, error)
      return ok(item, {
        name: t.name,
        topicId: r.topicId,
        partitions: r.numPartitions >= 0 ? r.numPartitions : (t.assignment?.length ?? t.partitions ?? -1),
        replicationFactor: r.replicationFactor >= 0 ? r.replicationFactor : (t.assignment?.[0]?.length ?? t.replicationFactor ?? -1),
        configs: (r.configs ?? []).map((c) => ({
          name: c.name,
          value: c.value,
          source: sourceOf(c.configSource),
          isDefault: c.configSource === 5,
          isSensitive: c.isSensitive,
          isReadOnly: c.readOnly,
          type: "unknown",
          synonyms: [],
          documentation: null
        }))
      })
    }))
  })

export const deleteTopics = (
  cluster: ClusterService,
  names: ReadonlyArray<string>,
  options: TopicOperationOptions = {}
): Effect.Effect<void, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "deleteTopics"
    yield* checkNames(operation, names)
    yield* refuse(operation, options.validateOnly === true, "Kafka cannot validate a topic deletion without doing it")
    if (names.length === 0) return
    const timeout = timeouts(options.timeout)
    const res = yield* toAnyBroker(cluster, DeleteTopics, (v) =>
      v >= 6
        ? { topics: names.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs: timeout.ms }
        : { topicNames: [...names], timeoutMs: timeout.ms }, timeout.request)
    const byName = new Map(res.responses.map((r) => [r.name, r]))
    yield* collect(operation, names.map((name): Outcome<void> => {
      const item = `topic ${name}`
      const r = byName.get(name)
      if (r === undefined) return failed(operation, item, kafkaError("UNKNOWN_SERVER_ERROR", "the controller did not answer for this topic"))
      const error = codeError(r.errorCode, r.errorMessage)
      return error === undefined ? ok(item, undefined) : failed(operation, item, error)
    }))
  })

export const listTopics = (
  cluster: ClusterService,
  options: { readonly includeInternal?: boolean | undefined } = {}
): Effect.Effect<Array<TopicListing>, ClusterError> =>
  Effect.map(fetchMetadata(cluster, null), (res) =>
    res.topics
      .filter((t) => t.errorCode === 0 && t.name !== null && (options.includeInternal === true || !t.isInternal))
      .map((t) => ({ name: t.name!, topicId: t.topicId, isInternal: t.isInternal, partitions: t.partitions.length }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))

export const describeTopics = (
  cluster: ClusterService,
  names: ReadonlyArray<string>
): Effect.Effect<Array<TopicDescription>, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "describeTopics"
    yield* checkNames(operation, names)
    if (names.length === 0) return []
    const byName = topicsByName(yield* fetchMetadata(cluster, names))
    return yield* collect(operation, names.map((name): Outcome<TopicDescription> => {
      const item = `topic ${name}`
      const t = byName.get(name)
      if (t === undefined) return failed(operation, item, kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} is not in the metadata`))
      const error = codeError(t.errorCode, `topic ${name}`)
      if (error !== undefined) return failed(operation, item, error)
      const partitions = [...t.partitions]
        .sort((a, b) => a.partitionIndex - b.partitionIndex)
        .map((p) => ({
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offline: p.offlineReplicas
        }))
      return ok(item, {
        name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        replicationFactor: partitions[0]?.replicas.length ?? 0,
        partitions
      })
    }))
  })

export const createPartitions = (
  cluster: ClusterService,
  increases: ReadonlyArray<PartitionIncrease>,
  options: TopicOperationOptions = {}
): Effect.Effect<void, ClusterError | AdminPartialFailure | InvalidAdminRequest | InvalidTopicName> =>
  Effect.gen(function*() {
    const operation = "createPartitions"
    yield* checkNames(operation, increases.map((i) => i.topic))
    for (const i of increases) {
      yield* refuse(operation, !Number.isInteger(i.count) || i.count < 1, `topic ${i.topic}: count must be a whole number of at least 1, got ${i.count}`)
    }
    if (increases.length === 0) return
    const timeout = timeouts(options.timeout)
    const res = yield* toAnyBroker(cluster, CreatePartitions, {
      topics: increases.map((i) => ({
        name: i.topic,
        count: i.count,
        assignments: i.assignment === undefined ? null : i.assignment.map((r) => ({ brokerIds: [...r] }))
      })),
      timeoutMs: timeout.ms,
      validateOnly: options.validateOnly ?? false
    }, timeout.request)
    const byName = new Map(res.results.map((r) => [r.name, r]))
    yield* collect(operation, increases.map((i): Outcome<void> => {
      const item = `topic ${i.topic}`
      const r = byName.get(i.topic)
      if (r === undefined) return failed(operation, item, kafkaError("UNKNOWN_SERVER_ERROR", "the controller did not answer for this topic"))
      const error = codeError(r.errorCode, r.errorMessage)
      return error === undefined ? ok(item, undefined) : failed(operation, item, error)
    }))
  })
