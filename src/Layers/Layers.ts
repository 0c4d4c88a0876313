/**
 * Ready-made layers: a live Kafka client from options or from `Config`, and the pieces for test
 * layers (a `Cluster` over brokers of your own, e.g. scripted ones).
 *
 * Layer: above the clients, wiring only (checked by `npm run lint:cycles`). May import Protocol,
 * Connection, Cluster, Topic and the clients (Consumer, Producer, Admin, SchemaRegistry); never
 * Testing or Cli.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import * as Layers from "kpax/Layers"
 * import * as Producer from "kpax/Producer"
 *
 * // KAFKA_BROKERS=kafka-1:9092,kafka-2:9092 KAFKA_RETRY_LEADER_MAX_ATTEMPTS=50 node app.ts
 * const Live = Producer.layer({ acks: "all" }).pipe(Layer.provideMerge(Layers.fromConfig))
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import type { Config } from "effect"
import { Cluster, make as makeCluster } from "../Cluster/Cluster.ts"
import type { ClusterOptions, Connect, InvalidClusterConfig } from "../Cluster/Cluster.ts"
import * as RetryPolicy from "../Cluster/RetryPolicy.ts"
import * as Producer from "../Producer/Producer.ts"
import { clusterOptions } from "./Config.ts"
import type { InvalidKafkaConfig } from "./Config.ts"

export { clusterOptions, InvalidKafkaConfig } from "./Config.ts"

/**
 * A `Cluster` from options (the default retry policy unless one is provided).
 *
 * @example
 * ```ts
 * const ClusterLive = Layers.cluster({ bootstrap: ["localhost:9092"], clientId: "billing" })
 * ```
 *
 * @since 0.1.0
 */
export const cluster = (options: ClusterOptions): Layer.Layer<Cluster, InvalidClusterConfig> =>
  Layer.effect(Cluster, makeCluster(options))

/**
 * A `Cluster` configured from `Config` (`KAFKA_BROKERS`, `KAFKA_CLIENT_ID`, TLS, SASL, time-outs)
 * with the retry policy from `KAFKA_RETRY_*`.
 *
 * @since 0.1.0
 */
export const fromConfig: Layer.Layer<Cluster, Config.ConfigError | InvalidKafkaConfig | InvalidClusterConfig> = Layer.effect(
  Cluster,
  Effect.flatMap(clusterOptions, makeCluster)
).pipe(Layer.provideMerge(RetryPolicy.layerConfig))

/**
 * A `Cluster` and a `Producer` from options: everything an application needs to produce.
 *
 * @example
 * ```ts
 * const Live = Layers.producer({ bootstrap: ["localhost:9092"] }, { compression: "zstd" })
 * ```
 *
 * @since 0.1.0
 */
export const producer = (clusterOptions: ClusterOptions, producerOptions: Producer.ProducerOptions = {}) =>
  Producer.layer(producerOptions).pipe(Layer.provideMerge(cluster(clusterOptions)))

/**
 * A `Cluster` whose broker connections come from `connect` — the piece for test layers: scripted
 * brokers, fault injection, or an in-memory cluster. The bootstrap address is only a label.
 *
 * @example
 * ```ts
 * const Test = Layers.clusterWith((node) => Effect.succeed(myScriptedBroker(node)))
 * ```
 *
 * @since 0.1.0
 */
export const clusterWith = (
  connect: Connect,
  options: Partial<Omit<ClusterOptions, "connect">> = {}
): Layer.Layer<Cluster, InvalidClusterConfig> =>
  cluster({ bootstrap: ["in-memory:9092"], ...options, connect })
