/**
 * What handlers share: their type, the zero uuid, and small builders.
 *
 * @internal
 */
import type { Effect } from "effect"
import type { AnyApi } from "../../../Protocol/Api.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import { ErrorCode } from "../../../Protocol/Errors.ts"
import type { BrokerNode, PartitionState, TopicState } from "../state.ts"

/** Answers one request: synchronously, or as an Effect when it waits (Fetch, JoinGroup, SyncGroup). */
export type Handler<Req, Res> = (kafka: Kafka, ctx: RequestContext, req: Req) => Res | Effect.Effect<Res>

export interface Route {
  readonly api: AnyApi
  /** The versions the in-memory broker answers (within the API's generated range). */
  readonly min: number
  readonly max: number
  readonly handle: Handler<any, any>
}

export const route = <Req, Res>(
  api: { readonly key: number; readonly minVersion: number; readonly maxVersion: number } & AnyApi,
  min: number,
  max: number,
  handle: Handler<Req, Res>
): Route => ({ api, min: Math.max(min, api.minVersion), max: Math.min(max, api.maxVersion), handle })

export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"

/** The leader check every partition request starts with: 0, or why this broker cannot answer. */
export const leaderError = (p: PartitionState | undefined, nodeId: number): number => {
  if (p === undefined) return 3 // UNKNOWN_TOPIC_OR_PARTITION
  if (p.leader !== nodeId) return 6 // NOT_LEADER_OR_FOLLOWER
  return 0
}

/** KIP-320: the client's idea of the leader epoch against the partition's. */
export const epochError = (p: PartitionState, currentLeaderEpoch: number | undefined): number => {
  if (currentLeaderEpoch === undefined || currentLeaderEpoch < 0) return 0
  if (currentLeaderEpoch > p.leaderEpoch) return 74 // UNKNOWN_LEADER_EPOCH
  if (currentLeaderEpoch < p.leaderEpoch) return 75 // FENCED_LEADER_EPOCH
  return 0
}

export const endpoint = (b: BrokerNode) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })

/**
 * A request's topic, addressed by name (older versions) or by id (Produce v13, OffsetCommit and
 * OffsetFetch v10, …): the topic if it exists, its name and id as the response echoes them (the
 * id-addressed versions answer with the id and an empty name), and the error for a missing one.
 */
export const resolveTopic = (
  kafka: Kafka,
  byId: boolean,
  t: { readonly name?: string | null | undefined; readonly topicId?: string | undefined }
): { readonly topic: TopicState | undefined; readonly name: string; readonly topicId: string; readonly missing: number } => {
  if (byId) {
    const topicId = t.topicId ?? ZERO_UUID
    const topic = kafka.state.topicsById.get(topicId)
    return { topic, name: "", topicId, missing: ErrorCode.UNKNOWN_TOPIC_ID }
  }
  const name = t.name ?? ""
  return { topic: kafka.state.topics.get(name), name, topicId: ZERO_UUID, missing: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
}
