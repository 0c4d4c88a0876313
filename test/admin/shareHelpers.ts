/**
 * Helpers of the share-group tests: records with chosen timestamps written by a raw Produce, and
 * share-group and streams-group members held open by hand (ShareGroupHeartbeat,
 * StreamsGroupHeartbeat), without a share consumer or Kafka Streams.
 */
import { randomBytes } from "node:crypto"
import { Effect, Schedule } from "effect"
import type * as Cluster from "../../src/Cluster/Cluster.ts"
import { errorForCode } from "../../src/Protocol/Errors.ts"
import { Produce } from "../../src/Protocol/generated/Produce.ts"
import { ShareGroupHeartbeat } from "../../src/Protocol/generated/ShareGroupHeartbeat.ts"
import { StreamsGroupHeartbeat } from "../../src/Protocol/generated/StreamsGroupHeartbeat.ts"
import { encodeRecordBatchSync } from "../../src/Protocol/RecordBatch.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)

/**
 * Sends `counts[p]` records to each partition `p`, record `i` with timestamp `base + i * 1000`:
 * one raw Produce (v12, by topic name) per partition to its leader.
 */
export const fill = (cluster: Cluster.ClusterService, topic: string, counts: ReadonlyArray<number>, base: number) =>
  Effect.forEach(counts, (n, partition) =>
    Effect.gen(function*() {
      if (n === 0) return
      const { broker } = yield* cluster.leader(topic, partition)
      const records = encodeRecordBatchSync(Array.from({ length: n }, (_, i) => ({ value: utf8(`p${partition}-${i}`), timestamp: base + i * 1000 })))
      const res = yield* broker.request(Produce, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }]
      }, { version: 12 })
      const code = res.responses[0]?.partitionResponses[0]?.errorCode ?? -1
      if (code !== 0) return yield* Effect.fail(errorForCode(code === -1 ? 2 : code)!)
    }), { discard: true })

/**
 * A share-group member held open until the scope closes: joins with ShareGroupHeartbeat (epoch
 * 0), heartbeats so the assignment reaches it, and leaves (epoch -1) at the end.
 */
export const shareMember = (cluster: Cluster.ClusterService, group: string, topics: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { broker } = yield* cluster.coordinator({ type: "group", key: group })
    const memberId = randomBytes(16).toString("base64url")
    const first = yield* broker.request(ShareGroupHeartbeat, {
      groupId: group,
      memberId,
      memberEpoch: 0,
      rackId: null,
      subscribedTopicNames: [...topics]
    })
    if (first.errorCode !== 0) return yield* Effect.fail(errorForCode(first.errorCode, first.errorMessage)!)
    let epoch = first.memberEpoch
    yield* Effect.suspend(() => broker.request(ShareGroupHeartbeat, { groupId: group, memberId, memberEpoch: epoch })).pipe(
      Effect.tap((res) => Effect.sync(() => {
        if (res.errorCode === 0) epoch = res.memberEpoch
      })),
      Effect.ignore,
      Effect.repeat(Schedule.spaced("500 millis")),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() => broker.request(ShareGroupHeartbeat, { groupId: group, memberId, memberEpoch: -1 }).pipe(Effect.ignore))
    return { memberId }
  })


/**
 * A streams-group member held open until the scope closes: joins with StreamsGroupHeartbeat
 * (epoch 0) with a one-subtopology topology reading `topics`, heartbeats so its tasks reach it,
 * and leaves (epoch -1) at the end.
 */
export const streamsMember = (cluster: Cluster.ClusterService, group: string, topics: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { broker } = yield* cluster.coordinator({ type: "group", key: group })
    const memberId = randomBytes(16).toString("base64url")
    const first = yield* broker.request(StreamsGroupHeartbeat, {
      groupId: group,
      memberId,
      memberEpoch: 0,
      endpointInformationEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      topology: {
        epoch: 0,
        subtopologies: [{
          subtopologyId: "0",
          sourceTopics: [...topics],
          sourceTopicRegex: [],
          stateChangelogTopics: [],
          repartitionSinkTopics: [],
          repartitionSourceTopics: [],
          copartitionGroups: []
        }]
      },
      activeTasks: [],
      standbyTasks: [],
      warmupTasks: [],
      processId: randomBytes(8).toString("hex"),
      userEndpoint: null,
      clientTags: [],
      taskOffsets: [],
      taskEndOffsets: [],
      shutdownApplication: false
    })
    if (first.errorCode !== 0) return yield* Effect.fail(errorForCode(first.errorCode, first.errorMessage)!)
    let epoch = first.memberEpoch
    yield* Effect.suspend(() =>
      broker.request(StreamsGroupHeartbeat, { groupId: group, memberId, memberEpoch: epoch, endpointInformationEpoch: 0 })
    ).pipe(
      Effect.tap((res) => Effect.sync(() => {
        if (res.errorCode === 0) epoch = res.memberEpoch
      })),
      Effect.ignore,
      Effect.repeat(Schedule.spaced("500 millis")),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      broker.request(StreamsGroupHeartbeat, { groupId: group, memberId, memberEpoch: -1, endpointInformationEpoch: 0 }).pipe(Effect.ignore)
    )
    return { memberId }
  })
