/**
 * `kpax meta [topic…]`: brokers, then each topic's partitions with leader, replicas, in-sync
 * replicas and offline replicas.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Cluster } from "../../Cluster/Cluster.ts"
import type { PartitionMetadata, TopicMetadata } from "../../Cluster/Cluster.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { table, toJsonLine, write } from "../Output.ts"
import { describeTopics } from "../internal/topics.ts"

const ids = (xs: ReadonlyArray<number>) => (xs.length === 0 ? "-" : xs.join(","))

const underReplicated = (p: PartitionMetadata) => p.leader < 0 || p.isr.length < p.replicas.length || p.offline.length > 0

export const meta = Command.make("meta", {
  topics: Argument.String("topic").pipe(Argument.withDescription("topics to show (default: every topic)"), Argument.variadic()),
  internal: Flag.Boolean("internal").pipe(Flag.withDescription("include internal topics (__consumer_offsets, …)"), Flag.withDefault(false), Flag.withoutNegation),
  underReplicated: Flag.Boolean("under-replicated").pipe(
    Flag.withDescription("only partitions without a leader, with replicas out of sync, or offline"),
    Flag.withDefault(false),
    Flag.withoutNegation
  )
}, (input) =>
  withCluster(Effect.gen(function*() {
    const cluster = yield* Cluster
    const topics: ReadonlyArray<TopicMetadata> = (yield* describeTopics(input.topics)).filter((t) => input.internal || input.topics.length > 0 || !t.isInternal)
    const snapshot = cluster.snapshot()
    const brokers = [...snapshot.brokers.values()].sort((a, b) => a.nodeId - b.nodeId)
    const parts = topics.flatMap((t) => t.partitions.filter((p) => p !== undefined && (!input.underReplicated || underReplicated(p))))
    if (yield* Json) {
      write(toJsonLine({
        clusterId: snapshot.clusterId,
        controller: snapshot.controllerId,
        brokers: brokers.map((b) => ({ id: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        topics: topics.map((t) => ({
          name: t.name,
          topicId: t.topicId,
          internal: t.isInternal,
          partitions: t.partitions.filter((p) => p !== undefined && (!input.underReplicated || underReplicated(p))).map((p) => ({
            partition: p.partition,
            leader: p.leader,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicas,
            isr: p.isr,
            offline: p.offline
          }))
        }))
      }) + "\n")
      return
    }
    const out: Array<string> = [`cluster ${snapshot.clusterId ?? "-"}, controller ${snapshot.controllerId}`, ""]
    out.push(...table(brokers, [
      { header: "BROKER", get: (b) => b.nodeId, right: true },
      { header: "HOST", get: (b) => b.host },
      { header: "PORT", get: (b) => b.port, right: true },
      { header: "RACK", get: (b) => b.rack }
    ]))
    out.push("")
    if (parts.length === 0) out.push(input.underReplicated ? "no under-replicated partitions" : "no topics")
    else {
      out.push(...table(parts, [
        { header: "TOPIC", get: (p) => p.topic },
        { header: "PARTITION", get: (p) => p.partition, right: true },
        { header: "LEADER", get: (p) => (p.leader < 0 ? "none" : p.leader), right: true },
        { header: "EPOCH", get: (p) => p.leaderEpoch, right: true },
        { header: "REPLICAS", get: (p) => ids(p.replicas) },
        { header: "ISR", get: (p) => ids(p.isr) },
        { header: "OFFLINE", get: (p) => ids(p.offline) }
      ]))
    }
    write(out.join("\n") + "\n")
  }))
).pipe(Command.withDescription("Show brokers, and topics' partitions with leaders, replicas, ISR and offline replicas."))
