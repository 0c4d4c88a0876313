/**
 * The test kit, for our users' tests:
 * - `InMemory`: an in-memory Kafka behind the `Cluster`, so the real Producer, consumer and Admin
 *   code runs without a broker, with fault injection (errors, latency, dropped connections, leader
 *   moves) to drive retry policies deterministically;
 * - `RealCluster`: helpers against a real cluster, such as `randomTopic`, a topic that exists for
 *   the length of a scope.
 *
 * Layer: the test kit, above the clients and Layers (checked by `npm run lint:cycles`): the
 * in-memory cluster stands in for the Cluster's brokers, `RealCluster` uses Admin. May import every
 * layer below it; never Cli. Only the root `kpax` entry point imports it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InMemory, RealCluster } from "kpax/Testing"
 *
 * const test = Effect.scoped(Effect.gen(function*() {
 *   const topic = yield* RealCluster.randomTopic({ partitions: 3 })
 *   // … produce to and consume from `topic` …
 * }))
 * ```
 *
 * @since 0.1.0
 */
export * as InMemory from "./InMemory.ts"
export * as RealCluster from "./RealCluster.ts"
