/**
 * Test kit for tests against a real Kafka: throw-away topics that exist for the length of a scope.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import * as Cluster from "kpax/Cluster"
 * import { RealCluster } from "kpax/Testing"
 *
 * it.live("orders round-trip", () =>
 *   Effect.gen(function*() {
 *     const topic = yield* RealCluster.randomTopic({ partitions: 3 })
 *     // … produce to and consume from `topic`; it is deleted when the test ends
 *   }).pipe(Effect.scoped, Effect.provide(Cluster.layer({ bootstrap: ["localhost:9092"] }))))
 * ```
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect, Schedule } from "effect"
import type { Scope } from "effect"
import * as Admin from "../Admin/Admin.ts"
import { Cluster } from "../Cluster/Cluster.ts"

/**
 * Options of `randomTopic`.
 *
 * @since 0.1.0
 */
export interface RandomTopicOptions {
  /** Default 1. */
  readonly partitions?: number | undefined
  /** Default: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number | undefined
  readonly configs?: Readonly<Record<string, string>> | undefined
  /** Start of the topic's name (default `"kpax-test"`); a time stamp and random letters follow. */
  readonly prefix?: string | undefined
  /** How long to wait for every partition to have a leader (default 30 seconds). */
  readonly timeout?: Duration.Input | undefined
}

/**
 * A topic created by `randomTopic` did not get a leader for every partition in time.
 *
 * @since 0.1.0
 */
export class TopicNotReady extends Data.TaggedError("TopicNotReady")<{
  readonly topic: string
  readonly message: string
}> {}

const randomLetters = (n: number): string => {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
  let s = ""
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)]
  return s
}

let counter = 0

/**
 * A name no other test run picks: `<prefix>-<time>-<counter><random>`.
 *
 * @since 0.1.0
 */
export const uniqueName = (prefix = "kpax-test"): string =>
  `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}${randomLetters(6)}`

/**
 * Creates a uniquely named topic on the `Cluster` in context, waits until every partition has a
 * leader in the cluster's metadata (so producers and consumers can use it at once), and deletes it
 * when the scope closes (a topic the test deleted itself is fine). Succeeds with the topic's name.
 *
 * @example
 * ```ts
 * const topic = yield* RealCluster.randomTopic({ partitions: 6, configs: { "cleanup.policy": "compact" } })
 * ```
 *
 * @since 0.1.0
 */
export const randomTopic = (
  options: RandomTopicOptions = {}
): Effect.Effect<string, Admin.AdminError | TopicNotReady, Cluster | Scope.Scope> =>
  Effect.gen(function*() {
    const cluster = yield* Cluster
    const admin = yield* Admin.make
    const name = uniqueName(options.prefix)
    const created = yield* Effect.acquireRelease(
      admin.createTopic({
        name,
        partitions: options.partitions ?? 1,
        ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }),
        ...(options.configs === undefined ? {} : { configs: options.configs })
      }),
      () =>
        admin.deleteTopic(name).pipe(
          Effect.catchReason("AdminItemError", "UNKNOWN_TOPIC_OR_PARTITION", () => Effect.void),
          Effect.catch((e) => Effect.logWarning(`randomTopic: could not delete topic ${name}: ${e.message}`)),
          Effect.andThen(cluster.forget([name]))
        )
    )
    const ready = Effect.flatMap(cluster.refresh([name]), (snapshot): Effect.Effect<void, string> => {
      const t = snapshot.topics.get(name)
      if (t === undefined || t.errorCode !== 0) return Effect.fail(`topic ${name} is not in the metadata yet`)
      if (t.partitions.length < created.partitions) return Effect.fail(`${t.partitions.length} of ${created.partitions} partitions known`)
      if (t.available.length < created.partitions) return Effect.fail(`${t.available.length} of ${created.partitions} partitions have a leader`)
      return Effect.void
    })
    const timeout = Duration.fromInputUnsafe(options.timeout ?? "30 seconds")
    const notReady = (why: string) =>
      new TopicNotReady({ topic: name, message: `topic ${name} is not ready after ${Duration.format(timeout)}: ${why}` })
    let lastWhy = "no metadata fetched"
    yield* ready.pipe(
      Effect.tapError((e) => Effect.sync(() => typeof e === "string" && (lastWhy = e))),
      Effect.retry({ schedule: Schedule.spaced("50 millis"), while: (e) => typeof e === "string" }),
      Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(notReady(lastWhy)) }),
      Effect.mapError((e) => (typeof e === "string" ? notReady(e) : e))
    )
    return name
  })
