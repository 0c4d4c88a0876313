/**
 * Test helpers over the real broker: unique topic names, topic creation through kpax's own
 * cluster (CreateTopics, then wait for leaders), and reading a topic back with Kafka's own
 * console consumer (an independent reader).
 */
import { Effect, Schedule } from "effect"
import type { ClusterService } from "../../src/Cluster/Cluster.ts"
import { errorForCode } from "../../src/Protocol/Errors.ts"
import { CreateTopics } from "../../src/Protocol/generated/CreateTopics.ts"
import { runJavaTool } from "../kafka/harness.ts"

let counter = 0
export const uniqueTopic = (prefix: string): string =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`

export const createTopic = (
  cluster: ClusterService,
  name: string,
  options: { readonly partitions?: number; readonly replicationFactor?: number; readonly configs?: Record<string, string> } = {}
) =>
  Effect.gen(function*() {
    const { broker } = yield* cluster.anyBroker
    const res = yield* broker.request(CreateTopics, {
      topics: [{
        name,
        numPartitions: options.partitions ?? 1,
        replicationFactor: options.replicationFactor ?? 1,
        assignments: [],
        configs: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value }))
      }],
      timeoutMs: 30_000
    })
    const r = res.topics[0]
    if (r.errorCode !== 0 && r.errorCode !== 36) return yield* Effect.fail(errorForCode(r.errorCode, r.errorMessage)!)
    // wait until every partition has a leader in our metadata
    yield* Effect.gen(function*() {
      const s = yield* cluster.refresh([name])
      const t = s.topics.get(name)
      if (t === undefined || t.errorCode !== 0 || t.available.length < (options.partitions ?? 1)) {
        return yield* Effect.fail("not ready" as const)
      }
    }).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }))
  })

export interface JavaRecord {
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: string
}

/** Reads `count` records of a topic from the beginning with Kafka's console consumer. */
export const consumeWithJava = async (
  bootstrap: string,
  topic: string,
  count: number,
  options: { readonly isolation?: "read_committed" | "read_uncommitted"; readonly timeoutMs?: number } = {}
): Promise<Array<JavaRecord>> => {
  const r = await runJavaTool("kafka-console-consumer", [
    "--bootstrap-server", bootstrap,
    "--topic", topic,
    "--from-beginning",
    "--max-messages", String(count),
    "--timeout-ms", String(options.timeoutMs ?? 15_000),
    "--isolation-level", options.isolation ?? "read_uncommitted",
    "--formatter-property", "print.partition=true",
    "--formatter-property", "print.offset=true",
    "--formatter-property", "print.key=true",
    "--formatter-property", "key.separator=\t"
  ])
  const out: Array<JavaRecord> = []
  for (const line of r.stdout.split("\n")) {
    const m = /^Partition:(\d+)\tOffset:(\d+)\t(.*?)\t(.*)$/.exec(line)
    if (m === null) continue
    out.push({ partition: Number(m[1]), offset: Number(m[2]), key: m[3] === "null" ? null : m[3], value: m[4] })
  }
  return out
}
