/**
 * Per-partition requests (ListOffsets, DeleteRecords) sent to each partition's leader: one request
 * per leader with all its partitions. Partitions whose leader is unknown, moved, or whose broker
 * could not be reached are retried one by one through `Cluster.withLeader` (by the RetryPolicy).
 *
 * @internal
 */
import { Effect, Result } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import { classify } from "../../Cluster/RetryPolicy.ts"
import type { BrokerService } from "../../Connection/Broker.ts"
import { ErrorCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { fetchMetadata, topicsByName } from "./metadata.ts"
import { codeError, failed, ok } from "./request.ts"
import type { Outcome } from "./request.ts"

/**
 * A partition of a topic.
 *
 * @since 0.1.0
 */
export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export const partitionItem = (tp: TopicPartition): string => `partition ${tp.topic}-${tp.partition}`

/** Reads one partition's answer out of a response. */
export type Answers<A> = (topic: string, partition: number) => Result.Result<A, KafkaError>

/** Indexes a response's `topics[].partitions[]` by partition, with each partition's answer. */
export const answersOf = <P, A>(
  topics: ReadonlyArray<{ readonly name: string; readonly partitions: ReadonlyArray<P> }>,
  partitionIndex: (p: P) => number,
  answer: (p: P) => Result.Result<A, KafkaError>
): Answers<A> => {
  const map = new Map<string, P>()
  for (const t of topics) for (const p of t.partitions) map.set(partitionKey(t.name, partitionIndex(p)), p)
  return (topic, partition) => {
    const p = map.get(partitionKey(topic, partition))
    return p === undefined ? Result.fail(kafkaError("UNKNOWN_SERVER_ERROR", "the leader did not answer for this partition")) : answer(p)
  }
}

/** `Result` of an error code. */
export const answerOf = <A>(code: number, value: A, message?: string | null): Result.Result<A, KafkaError> => {
  const error = codeError(code, message)
  return error === undefined ? Result.succeed(value) : Result.fail(error)
}

export const perLeader = <I extends TopicPartition, A>(
  cluster: ClusterService,
  operation: string,
  items: ReadonlyArray<I>,
  send: (broker: BrokerService, items: ReadonlyArray<I>) => Effect.Effect<Answers<A>, ClusterError>
): Effect.Effect<Array<Outcome<A>>, ClusterError> =>
  Effect.gen(function*() {
    const outcomes = new Map<I, Outcome<A>>()
    const retry: Array<I> = []
    const byLeader = new Map<number, Array<I>>()
    const topics = topicsByName(yield* fetchMetadata(cluster, [...new Set(items.map((i) => i.topic))]))
    for (const i of items) {
      const t = topics.get(i.topic)
      if (t === undefined || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        outcomes.set(i, failed(operation, partitionItem(i), kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${i.topic} does not exist`)))
        continue
      }
      const p = t.errorCode === 0 ? t.partitions.find((p) => p.partitionIndex === i.partition) : undefined
      if (t.errorCode === 0 && p === undefined) {
        outcomes.set(i, failed(operation, partitionItem(i),
          kafkaError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${i.partition} of ${i.topic} does not exist (${t.partitions.length} partitions)`)))
      } else if (p === undefined || p.leaderId < 0) {
        retry.push(i)
      } else {
        const list = byLeader.get(p.leaderId) ?? []
        list.push(i)
        byLeader.set(p.leaderId, list)
      }
    }
    yield* Effect.forEach([...byLeader], ([nodeId, group]) =>
      Effect.result(Effect.flatMap(cluster.broker(nodeId), (broker) => send(broker, group))).pipe(
        Effect.flatMap((r) => {
          if (Result.isFailure(r)) {
            // the leader is unreachable or moved: try these partitions again one by one
            if (classify(r.failure) === undefined) return Effect.fail(r.failure)
            retry.push(...group)
            return Effect.void
          }
          for (const i of group) {
            const a = r.success(i.topic, i.partition)
            if (Result.isSuccess(a)) outcomes.set(i, ok(partitionItem(i), a.success))
            else if (a.failure.invalidMetadata) retry.push(i)
            else outcomes.set(i, failed(operation, partitionItem(i), a.failure))
          }
          return Effect.void
        })
      ), { concurrency: "unbounded", discard: true })
    yield* Effect.forEach(retry, (i) =>
      cluster.withLeader(i.topic, i.partition, (leader) =>
        Effect.flatMap(send(leader.broker, [i]), (answers) => Effect.fromResult(answers(i.topic, i.partition)))).pipe(
          Effect.map((a) => ok(partitionItem(i), a)),
          Effect.catchTag("KafkaError", (e) => Effect.succeed(failed<A>(operation, partitionItem(i), e))),
          Effect.map((o) => {
            outcomes.set(i, o)
          })
        ), { concurrency: 16, discard: true })
    return items.map((i) => outcomes.get(i)!)
  })
