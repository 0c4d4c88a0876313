/**
 * Producer ids and transactions: InitProducerId (any broker for idempotent producers, the
 * transaction coordinator for transactional ones), AddPartitionsToTxn (v0-3 for clients, v4+
 * batched), AddOffsetsToTxn, TxnOffsetCommit (at the group coordinator), EndTxn (v5 bumps the
 * epoch, KIP-890), and the admin views DescribeProducers, ListTransactions, DescribeTransactions.
 *
 * @internal
 */
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { AddOffsetsToTxn } from "../../../Protocol/generated/AddOffsetsToTxn.ts"
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from "../../../Protocol/generated/AddOffsetsToTxn.ts"
import { AddPartitionsToTxn } from "../../../Protocol/generated/AddPartitionsToTxn.ts"
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, AddPartitionsToTxnResponseTopicResult } from "../../../Protocol/generated/AddPartitionsToTxn.ts"
import { DescribeProducers } from "../../../Protocol/generated/DescribeProducers.ts"
import type { DescribeProducersRequest, DescribeProducersResponse } from "../../../Protocol/generated/DescribeProducers.ts"
import { DescribeTransactions } from "../../../Protocol/generated/DescribeTransactions.ts"
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from "../../../Protocol/generated/DescribeTransactions.ts"
import { EndTxn } from "../../../Protocol/generated/EndTxn.ts"
import type { EndTxnRequest, EndTxnResponse } from "../../../Protocol/generated/EndTxn.ts"
import { InitProducerId } from "../../../Protocol/generated/InitProducerId.ts"
import type { InitProducerIdRequest, InitProducerIdResponse } from "../../../Protocol/generated/InitProducerId.ts"
import { ListTransactions } from "../../../Protocol/generated/ListTransactions.ts"
import type { ListTransactionsRequest, ListTransactionsResponse } from "../../../Protocol/generated/ListTransactions.ts"
import { TxnOffsetCommit } from "../../../Protocol/generated/TxnOffsetCommit.ts"
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from "../../../Protocol/generated/TxnOffsetCommit.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import type { Transaction } from "../transactions.ts"
import { leaderError, resolveTopic, route } from "./common.ts"
import type { Route } from "./common.ts"

const txnCoordinatorError = (kafka: Kafka, ctx: RequestContext, transactionalId: string): number => {
  const injected = ctx.fault.code()
  if (injected !== 0) return injected
  if (transactionalId === "") return ErrorCode.INVALID_REQUEST
  return kafka.isCoordinator(ctx.nodeId, "transaction", transactionalId) ? 0 : ErrorCode.NOT_COORDINATOR
}

/** InitProducerId v6's ongoing-transaction fields (KIP-939 two-phase commit, not served). */
const NO_ONGOING = { ongoingTxnProducerId: -1n, ongoingTxnProducerEpoch: -1 }

const initProducerId = (kafka: Kafka, ctx: RequestContext, req: InitProducerIdRequest): InitProducerIdResponse => {
  const failed = (errorCode: number): InitProducerIdResponse => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1, ...NO_ONGOING })
  if (req.transactionalId === null) {
    const injected = ctx.fault.code()
    if (injected !== 0) return failed(injected)
    return { throttleTimeMs: 0, errorCode: 0, producerId: kafka.state.allocateProducerId(), producerEpoch: 0, ...NO_ONGOING }
  }
  const error = txnCoordinatorError(kafka, ctx, req.transactionalId)
  if (error !== 0) return failed(error)
  const r = kafka.txns.initProducerId(req.transactionalId, req.transactionTimeoutMs, req.producerId ?? -1n, req.producerEpoch ?? -1)
  return { throttleTimeMs: 0, errorCode: r.code, producerId: r.producerId, producerEpoch: r.epoch, ...NO_ONGOING }
}

const addPartitionsFor = (
  kafka: Kafka,
  ctx: RequestContext,
  t: { readonly transactionalId: string; readonly producerId: bigint; readonly producerEpoch: number; readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: ReadonlyArray<number> }> },
  verifyOnly: boolean
): Array<AddPartitionsToTxnResponseTopicResult> => {
  const flat = t.topics.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.name, partition })))
  const shaped = (codes: ReadonlyArray<number>) => {
    let i = 0
    return t.topics.map((tp) => ({
      name: tp.name,
      resultsByPartition: tp.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: codes[i++] }))
    }))
  }
  const injected = flat.map((tp) => ctx.fault.code(tp.topic, tp.partition))
  if (injected.some((c) => c !== 0)) return shaped(injected.map((c) => (c !== 0 ? c : ErrorCode.OPERATION_NOT_ATTEMPTED)))
  const error = t.transactionalId === "" ? ErrorCode.INVALID_REQUEST : kafka.isCoordinator(ctx.nodeId, "transaction", t.transactionalId) ? 0 : ErrorCode.NOT_COORDINATOR
  if (error !== 0) return shaped(flat.map(() => error))
  return shaped(kafka.txns.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, flat, verifyOnly))
}

const addPartitionsToTxn = (kafka: Kafka, ctx: RequestContext, req: AddPartitionsToTxnRequest): AddPartitionsToTxnResponse => {
  if (ctx.version <= 3) {
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: addPartitionsFor(kafka, ctx, {
        transactionalId: req.v3AndBelowTransactionalId ?? "",
        producerId: req.v3AndBelowProducerId ?? -1n,
        producerEpoch: req.v3AndBelowProducerEpoch ?? -1,
        topics: req.v3AndBelowTopics ?? []
      }, false)
    }
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    resultsByTopicV3AndBelow: [],
    resultsByTransaction: (req.transactions ?? []).map((t) => ({
      transactionalId: t.transactionalId,
      topicResults: addPartitionsFor(kafka, ctx, t, t.verifyOnly === true)
    }))
  }
}

const addOffsetsToTxn = (kafka: Kafka, ctx: RequestContext, req: AddOffsetsToTxnRequest): AddOffsetsToTxnResponse => {
  const error = txnCoordinatorError(kafka, ctx, req.transactionalId)
  if (error !== 0) return { throttleTimeMs: 0, errorCode: error }
  return { throttleTimeMs: 0, errorCode: kafka.txns.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId) }
}

const txnOffsetCommit = (kafka: Kafka, ctx: RequestContext, req: TxnOffsetCommitRequest): TxnOffsetCommitResponse => {
  // v6+ addresses topics by id and answers with the id and an empty name
  const resolved = req.topics.map((t) => resolveTopic(kafka, ctx.version >= 6, t))
  const flat = req.topics.flatMap((t, i) => t.partitions.map((p) => ({ topic: resolved[i].topic?.name ?? resolved[i].name, missing: resolved[i].missing, p })))
  let groupError = 0
  const injected = flat.map(({ topic, p }) => ctx.fault.code(topic, p.partitionIndex))
  if (req.groupId === "") groupError = ErrorCode.INVALID_GROUP_ID
  else if (!kafka.isCoordinator(ctx.nodeId, "group", req.groupId)) groupError = ErrorCode.NOT_COORDINATOR
  else if ((req.generationIdOrMemberEpoch ?? -1) >= 0 || (req.memberId ?? "") !== "") {
    const g = kafka.groups.get(req.groupId)
    groupError = g === undefined
      ? ErrorCode.ILLEGAL_GENERATION
      : g.type === "classic"
      ? kafka.classic.validateCommit(g, req.memberId ?? "", req.generationIdOrMemberEpoch ?? -1, req.groupInstanceId ?? null)
      : kafka.consumer.validateCommit(g, req.memberId ?? "", req.generationIdOrMemberEpoch ?? -1)
  }
  const valid: Array<{ topic: string; partition: number; offset: { offset: bigint; leaderEpoch: number; metadata: string | null; commitTimestamp: number } }> = []
  const codes = flat.map(({ topic, missing, p }, i) => {
    if (injected[i] !== 0) return injected[i]
    if (groupError !== 0) return groupError
    const t = kafka.state.topics.get(topic)
    if (t === undefined) return missing
    if (p.partitionIndex < 0 || p.partitionIndex >= t.partitions.length) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    valid.push({ topic, partition: p.partitionIndex, offset: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata, commitTimestamp: ctx.now } })
    return -1
  })
  if (codes.includes(-1)) {
    const r = kafka.txns.txnOffsetCommit(req.transactionalId, req.producerId, req.producerEpoch, req.groupId, valid)
    for (let i = 0; i < codes.length; i++) if (codes[i] === -1) codes[i] = r
  }
  let i = 0
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t, n) => ({ name: resolved[n].name, topicId: resolved[n].topicId, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes[i++] })) }))
  }
}

const endTxn = (kafka: Kafka, ctx: RequestContext, req: EndTxnRequest): EndTxnResponse => {
  const error = txnCoordinatorError(kafka, ctx, req.transactionalId)
  if (error !== 0) return { throttleTimeMs: 0, errorCode: error, producerId: -1n, producerEpoch: -1 }
  const r = kafka.txns.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed, ctx.version >= 5)
  return { throttleTimeMs: 0, errorCode: r.code, producerId: ctx.version >= 5 ? r.producerId : -1n, producerEpoch: ctx.version >= 5 ? r.epoch : -1 }
}

const describeProducers = (kafka: Kafka, ctx: RequestContext, req: DescribeProducersRequest): DescribeProducersResponse => ({
  throttleTimeMs: 0,
  topics: req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => {
      const injected = ctx.fault.code(t.name, partitionIndex)
      const p = kafka.state.partition(t.name, partitionIndex)
      const error = injected !== 0 ? injected : leaderError(p, ctx.nodeId)
      if (error !== 0) return { partitionIndex, errorCode: error, errorMessage: null, activeProducers: [] }
      return {
        partitionIndex,
        errorCode: 0,
        errorMessage: null,
        activeProducers: [...p!.log.producers].map(([producerId, e]) => {
          const last = e.batches[e.batches.length - 1]
          return {
            producerId,
            producerEpoch: e.epoch,
            lastSequence: last?.lastSequence ?? -1,
            lastTimestamp: BigInt(last?.timestamp ?? -1),
            coordinatorEpoch: 0,
            currentTxnStartOffset: p!.log.openTxns.get(producerId) ?? -1n
          }
        })
      }
    })
  }))
})

const txnState = (t: Transaction): string => t.status

const listTransactions = (kafka: Kafka, ctx: RequestContext, req: ListTransactionsRequest): ListTransactionsResponse => {
  const known = new Set(["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "PrepareEpochFence", "Dead"])
  const injected = ctx.fault.code()
  if (injected !== 0) return { throttleTimeMs: 0, errorCode: injected, unknownStateFilters: [], transactionStates: [] }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    unknownStateFilters: req.stateFilters.filter((s) => !known.has(s)),
    transactionStates: [...kafka.txns.txns.values()]
      .filter((t) => kafka.isCoordinator(ctx.nodeId, "transaction", t.transactionalId))
      .filter((t) => req.stateFilters.length === 0 || req.stateFilters.includes(txnState(t)))
      .filter((t) => req.producerIdFilters.length === 0 || req.producerIdFilters.includes(t.producerId))
      .map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: txnState(t) }))
  }
}

const describeTransactions = (kafka: Kafka, ctx: RequestContext, req: DescribeTransactionsRequest): DescribeTransactionsResponse => ({
  throttleTimeMs: 0,
  transactionStates: req.transactionalIds.map((transactionalId) => {
    const base = { transactionalId, transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] }
    const error = txnCoordinatorError(kafka, ctx, transactionalId)
    if (error !== 0) return { ...base, errorCode: error }
    const t = kafka.txns.txns.get(transactionalId)
    if (t === undefined) return { ...base, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND }
    const byTopic = new Map<string, Array<number>>()
    for (const p of t.partitions) byTopic.set(p.topic.name, [...(byTopic.get(p.topic.name) ?? []), p.index])
    return {
      errorCode: 0,
      transactionalId,
      transactionState: txnState(t),
      transactionTimeoutMs: t.timeoutMs,
      transactionStartTimeMs: -1n,
      producerId: t.producerId,
      producerEpoch: t.epoch,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions }))
    }
  })
})

export const transactionRoutes: ReadonlyArray<Route> = [
  route(InitProducerId, 0, 5, initProducerId),
  route(AddPartitionsToTxn, 0, 5, addPartitionsToTxn),
  route(AddOffsetsToTxn, 0, 4, addOffsetsToTxn),
  route(TxnOffsetCommit, 0, 6, txnOffsetCommit),
  route(EndTxn, 0, 5, endTxn),
  route(DescribeProducers, 0, 0, describeProducers),
  route(ListTransactions, 0, 2, listTransactions),
  route(DescribeTransactions, 0, 0, describeTransactions)
]
