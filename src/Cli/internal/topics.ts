/**
 * Topic metadata for commands: named topics (each must exist) or every topic.
 *
 * @internal
 */
import { Effect } from "effect"
import { Cluster } from "../../Cluster/Cluster.ts"
import type { TopicMetadata } from "../../Cluster/Cluster.ts"
import { CommandFailed, describeError } from "../Errors.ts"

/** One topic's metadata; a missing topic is `topic <name> does not exist: create it with …`
 * (a broker that creates topics on first use would not have said it is missing). */
export const topicOrFail = (name: string) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster
    return yield* cluster.topic(name).pipe(
      Effect.mapError((e) =>
        e._tag === "KafkaError" && e.name === "UNKNOWN_TOPIC_OR_PARTITION"
          ? new CommandFailed({ message: `topic ${name} does not exist: create it with kpax topics create ${name}` })
          : new CommandFailed({ message: `topic ${name}: ${describeError(e)}` })
      )
    )
  })

/** Every topic sorted by name, or the named ones in the order given. */
export const describeTopics = (names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster
    if (names.length === 0) return [...(yield* cluster.listTopics)].sort((a, b) => a.name.localeCompare(b.name))
    const out: Array<TopicMetadata> = []
    for (const name of names) out.push(yield* topicOrFail(name))
    return out
  })

/**
 * Partitions of a topic selected by `--partitions` (`0,2,5-7`; empty: every partition); a
 * partition the topic does not have is an error.
 */
export const selectPartitions = (topic: TopicMetadata, spec: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const all = topic.partitions.map((p) => p.partition)
    if (spec.length === 0) return all
    for (const p of spec) {
      if (p < 0 || p >= all.length) {
        return yield* new CommandFailed({ message: `topic ${topic.name} has no partition ${p} (it has ${all.length}: 0-${all.length - 1})` })
      }
    }
    return [...new Set(spec)].sort((a, b) => a - b)
  })
