/**
 * Shared by the issue-20 rebalance tests: a preloaded 6-partition topic, waiting on a condition,
 * and each group protocol's settings (classic eager, classic cooperative, KIP-848).
 */
import { Effect } from "effect"
import * as Assignor from "../../src/Consumer/Assignor.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import type * as Consumer from "../../src/Consumer/Consumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

export const PARTITIONS = 6

export const waitFor = (cond: () => boolean, what: string, timeout = 60_000) =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

/** A topic of `PARTITIONS` partitions with `perPartition` records in each, valued `partition:index`. */
export const preload = (name: string, perPartition: number) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.make({ bootstrap: brokers(), clientId: `kpax-${name}-producer` })
    const topic = uniqueTopic(name)
    yield* createTopic(cluster, topic, { partitions: PARTITIONS })
    const producer = yield* Producer.make({ linger: "5 millis", batchSize: 65536 }).pipe(Effect.provideService(Cluster.Cluster, cluster))
    const te = new TextEncoder()
    for (let partition = 0; partition < PARTITIONS; partition++) {
      yield* producer.sendAll(Array.from({ length: perPartition }, (_, j) => ({ topic, partition, value: te.encode(`${partition}:${j}`) })))
    }
    return topic
  })

export type Protocol = "eager" | "cooperative" | "consumer"

export const groupOptions = (protocol: Protocol): Partial<Consumer.ConsumerOptions> =>
  protocol === "consumer"
    ? { groupProtocol: "consumer" as const }
    : { groupProtocol: "classic", assignors: [protocol === "eager" ? Assignor.range : Assignor.cooperativeSticky], heartbeatInterval: "300 millis", sessionTimeout: "10 seconds" }
