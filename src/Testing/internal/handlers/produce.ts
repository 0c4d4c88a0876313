/**
 * Produce: per partition, the leader check, injected faults, min.insync.replicas for acks=all,
 * then the log's validation and append (idempotence, transactions, size limits, keys of compacted
 * topics, log-append time).
 *
 * @internal
 */
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { Produce } from "../../../Protocol/generated/Produce.ts"
import type { ProduceRequest, ProduceResponse, ProduceResponsePartitionProduceResponse } from "../../../Protocol/generated/Produce.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import { TOPIC_CONFIG_DEFAULTS } from "../state.ts"
import type { PartitionState, TopicState } from "../state.ts"
import { endpoint, leaderError, resolveTopic, route } from "./common.ts"
import type { Route } from "./common.ts"

export const topicConfig = (t: TopicState, name: string): string => t.configs.get(name) ?? TOPIC_CONFIG_DEFAULTS.get(name) ?? ""

const NO_LEADER = { leaderId: -1, leaderEpoch: -1 }

const produce = (kafka: Kafka, ctx: RequestContext, req: ProduceRequest): ProduceResponse => {
  const v = ctx.version
  const endpoints = new Map<number, ReturnType<typeof endpoint>>()
  const failed = (index: number, errorCode: number, errorMessage: string | null, p?: PartitionState): ProduceResponsePartitionProduceResponse => {
    const movedLeader = v >= 10 && errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER && p !== undefined && p.leader >= 0
    if (movedLeader) {
      const b = kafka.state.brokers.get(p.leader)
      if (b !== undefined) endpoints.set(b.nodeId, endpoint(b))
    }
    return {
      index,
      errorCode,
      baseOffset: -1n,
      logAppendTimeMs: -1n,
      logStartOffset: -1n,
      recordErrors: [],
      errorMessage: v >= 8 ? errorMessage : null,
      currentLeader: movedLeader ? { leaderId: p!.leader, leaderEpoch: p!.leaderEpoch } : NO_LEADER
    }
  }
  const responses = req.topicData.map((td) => {
    // v13+ addresses topics by id (KIP-516) and answers with the id and an empty name
    const { topic, name, topicId, missing } = resolveTopic(kafka, v >= 13, td)
    const topicName = topic?.name ?? name
    return {
      name,
      topicId,
      partitionResponses: td.partitionData.map((pd): ProduceResponsePartitionProduceResponse => {
        const injected = ctx.fault.code(topicName, pd.index)
        const p = topic?.partitions[pd.index]
        if (injected !== 0) return failed(pd.index, injected, "injected", p)
        if (req.acks !== -1 && req.acks !== 0 && req.acks !== 1) return failed(pd.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks ${req.acks} is not -1, 0 or 1`)
        if (topic === undefined && missing === ErrorCode.UNKNOWN_TOPIC_ID) return failed(pd.index, missing, `no topic with id ${topicId}`)
        const notLeader = leaderError(p, ctx.nodeId)
        if (notLeader !== 0) {
          return failed(pd.index, notLeader, notLeader === ErrorCode.NOT_LEADER_OR_FOLLOWER ? `broker ${ctx.nodeId} is not the leader of ${topicName}-${pd.index}` : `${topicName}-${pd.index} does not exist`, p)
        }
        const t = topic!
        const minIsr = Number(topicConfig(t, "min.insync.replicas"))
        if (req.acks === -1 && p!.isr.length < minIsr) {
          return failed(pd.index, ErrorCode.NOT_ENOUGH_REPLICAS, `${p!.isr.length} in-sync replicas, min.insync.replicas is ${minIsr}`)
        }
        const result = p!.log.append(pd.records, {
          now: ctx.now,
          leaderEpoch: p!.leaderEpoch,
          logAppendTime: topicConfig(t, "message.timestamp.type") === "LogAppendTime",
          maxMessageBytes: Number(topicConfig(t, "max.message.bytes")),
          requireKeys: topicConfig(t, "cleanup.policy").split(",").includes("compact"),
          txnCheck: (pid, epoch) => kafka.txns.checkProduce(p!, pid, epoch)
        })
        if (result.errorCode !== 0) {
          const r = result as Extract<typeof result, { errorMessage: string }>
          return { ...failed(pd.index, r.errorCode, r.errorMessage), recordErrors: v >= 8 ? [...r.recordErrors] : [] }
        }
        const ok = result as Extract<typeof result, { baseOffset: bigint }>
        return {
          index: pd.index,
          errorCode: 0,
          baseOffset: ok.baseOffset,
          logAppendTimeMs: ok.logAppendTimeMs,
          logStartOffset: v >= 5 ? p!.log.logStartOffset : -1n,
          recordErrors: [],
          errorMessage: null,
          currentLeader: NO_LEADER
        }
      })
    }
  })
  return { responses, throttleTimeMs: 0, nodeEndpoints: [...endpoints.values()] }
}

export const produceRoutes: ReadonlyArray<Route> = [route(Produce, 3, 13, produce)]
