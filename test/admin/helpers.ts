/**
 * Helpers of the Admin tests: a cluster and an Admin over the test broker, failures as values,
 * committed offsets written without Admin (a raw OffsetCommit as a non-member), and group members
 * held open by hand (classic JoinGroup/SyncGroup, KIP-848 ConsumerGroupHeartbeat).
 */
import { randomBytes } from "node:crypto"
import { Effect, Exit, Schedule, Scope } from "effect"
import * as Admin from "../../src/Admin/Admin.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import { errorForCode } from "../../src/Protocol/Errors.ts"
import { ConsumerGroupHeartbeat } from "../../src/Protocol/generated/ConsumerGroupHeartbeat.ts"
import { ConsumerProtocolAssignment } from "../../src/Protocol/generated/ConsumerProtocolAssignment.ts"
import { ConsumerProtocolSubscription } from "../../src/Protocol/generated/ConsumerProtocolSubscription.ts"
import { Heartbeat } from "../../src/Protocol/generated/Heartbeat.ts"
import { JoinGroup } from "../../src/Protocol/generated/JoinGroup.ts"
import { LeaveGroup } from "../../src/Protocol/generated/LeaveGroup.ts"
import { OffsetCommit } from "../../src/Protocol/generated/OffsetCommit.ts"
import { SyncGroup } from "../../src/Protocol/generated/SyncGroup.ts"
import type { Data } from "../../src/Protocol/Api.ts"
import { Writer } from "../../src/Protocol/internal/Writer.ts"
import { brokers } from "../kafka/env.ts"
import { uniqueTopic } from "../util/kafka.ts"

export { uniqueTopic }

/**
 * Runs `f` with a cluster over the test broker (in context too) and an Admin, in a scope of its
 * own that closes before the cluster's (so `randomTopic`'s deletion still has the cluster).
 */
export const withAdmin = <A, E>(
  f: (admin: Admin.AdminService, cluster: Cluster.ClusterService) => Effect.Effect<A, E, Scope.Scope | Cluster.Cluster>,
  bootstrap: ReadonlyArray<string> = brokers()
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const cluster = yield* Cluster.make({ bootstrap, clientId: "kpax-admin-test" })
      const admin = yield* Admin.make.pipe(Effect.provideService(Cluster.Cluster, cluster))
      return yield* Effect.scoped(f(admin, cluster)).pipe(Effect.provideService(Cluster.Cluster, cluster))
    })
  )

/** The failure of an effect that must fail (a success fails the test). */
export const failure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<E, string, R> =>
  Effect.flatMap(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.fail(`expected a failure, got ${String(exit.value)}`)
    const e = exit.cause.reasons.find((r) => r._tag === "Fail")
    return e !== undefined && e._tag === "Fail" ? Effect.succeed(e.error as E) : Effect.die(exit.cause)
  })

/** Retries an assertion-like effect until it succeeds (metadata, ACLs and groups settle a moment after a change). */
export const eventually = <A, E, R>(self: Effect.Effect<A, E, R>, times = 100): Effect.Effect<A, E, R> =>
  Effect.retry(self, { schedule: Schedule.spaced("100 millis"), times })

let groupCounter = 0
export const uniqueGroup = (prefix: string): string =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${(groupCounter++).toString(36)}`

const kafkaFailure = (code: number, message?: string | null) => Effect.fail(errorForCode(code, message)!)

/** Commits offsets as a non-member (generation -1), straight through the coordinator. */
export const commitOffsets = (
  cluster: Cluster.ClusterService,
  group: string,
  offsets: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly offset: bigint }>
) =>
  // OffsetCommit v10+ addresses topics by id: the ids from metadata
  Effect.andThen(cluster.refresh([...new Set(offsets.map((o) => o.topic))]), (md) =>
  cluster.withCoordinator({ type: "group", key: group }, ({ broker }) =>
    broker.request(OffsetCommit, {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [...new Set(offsets.map((o) => o.topic))].map((name) => ({
        name,
        topicId: md.topics.get(name)!.topicId,
        partitions: offsets.filter((o) => o.topic === name).map((o) => ({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedMetadata: "by the test"
        }))
      }))
    }).pipe(
      Effect.flatMap((res) => {
        for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== 0) return kafkaFailure(p.errorCode)
        return Effect.void
      })
    )))

const encodeData = <T>(data: Data<T>, version: number, value: T): Uint8Array => {
  const w = new Writer()
  w.int16(version)
  data.encode(w, version, value)
  return w.finish()
}

/**
 * A classic consumer-group member held open until the scope closes: joins (JoinGroup with the
 * member id the coordinator asks for), assigns itself `assignment` as leader (SyncGroup),
 * heartbeats in the background, and leaves the group at the end.
 */
export const classicMember = (
  cluster: Cluster.ClusterService,
  group: string,
  topics: ReadonlyArray<string>,
  assignment: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<number> }>
) =>
  Effect.gen(function*() {
    const { broker } = yield* cluster.coordinator({ type: "group", key: group })
    const metadata = encodeData(ConsumerProtocolSubscription, 1, { topics: [...topics], userData: null, ownedPartitions: [] })
    const join = (memberId: string) =>
      broker.request(JoinGroup, {
        groupId: group,
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId,
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [{ name: "range", metadata }]
      })
    let joined = yield* join("")
    if (joined.errorCode === 79) joined = yield* join(joined.memberId) // MEMBER_ID_REQUIRED
    if (joined.errorCode !== 0) return yield* kafkaFailure(joined.errorCode)
    const memberId = joined.memberId
    const generationId = joined.generationId
    const synced = yield* broker.request(SyncGroup, {
      groupId: group,
      generationId,
      memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: "range",
      assignments: [{
        memberId,
        assignment: encodeData(ConsumerProtocolAssignment, 1, {
          assignedPartitions: assignment.map((a) => ({ topic: a.topic, partitions: [...a.partitions] })),
          userData: null
        })
      }]
    })
    if (synced.errorCode !== 0) return yield* kafkaFailure(synced.errorCode)
    yield* broker.request(Heartbeat, { groupId: group, generationId, memberId, groupInstanceId: null }).pipe(
      Effect.ignore,
      Effect.repeat(Schedule.spaced("1 second")),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      broker.request(LeaveGroup, { groupId: group, members: [{ memberId, groupInstanceId: null }] }).pipe(Effect.ignore)
    )
    return { memberId, generationId }
  })

/**
 * A KIP-848 consumer-group member held open until the scope closes: joins with
 * ConsumerGroupHeartbeat (epoch 0), heartbeats so the server-side assignor's assignment reaches
 * it, and leaves (epoch -1) at the end.
 */
export const consumerMember = (cluster: Cluster.ClusterService, group: string, topics: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { broker } = yield* cluster.coordinator({ type: "group", key: group })
    // KIP-1082: the member picks its own id
    const chosenId = randomBytes(16).toString("base64url")
    const first = yield* broker.request(ConsumerGroupHeartbeat, {
      groupId: group,
      memberId: chosenId,
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [...topics],
      serverAssignor: null,
      topicPartitions: []
    })
    if (first.errorCode !== 0) return yield* kafkaFailure(first.errorCode, first.errorMessage)
    const memberId = first.memberId ?? chosenId
    let epoch = first.memberEpoch
    let owned = first.assignment?.topicPartitions.map((t) => ({ topicId: t.topicId, partitions: [...t.partitions] })) ?? []
    yield* Effect.suspend(() =>
      broker.request(ConsumerGroupHeartbeat, {
        groupId: group,
        memberId,
        memberEpoch: epoch,
        topicPartitions: owned
      })
    ).pipe(
      Effect.tap((res) =>
        Effect.sync(() => {
          if (res.errorCode !== 0) return
          epoch = res.memberEpoch
          if (res.assignment !== null) owned = res.assignment.topicPartitions.map((t) => ({ topicId: t.topicId, partitions: [...t.partitions] }))
        })
      ),
      Effect.ignore,
      Effect.repeat(Schedule.spaced("500 millis")),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      broker.request(ConsumerGroupHeartbeat, { groupId: group, memberId, memberEpoch: -1 }).pipe(Effect.ignore)
    )
    return { memberId }
  })
