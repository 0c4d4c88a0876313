/**
 * kpax — an Apache Kafka client for TypeScript built on Effect. Each layer is also its own module
 * (`kpax/Protocol`, `kpax/Broker`, `kpax/Cluster`, `kpax/Producer`, …); this entry point gathers
 * them as namespaces.
 *
 * @example
 * ```ts
 * import { Cluster, Producer } from "kpax"
 *
 * const Live = Producer.layer({ acks: "all" }).pipe(Layer.provide(Cluster.layer({ bootstrap: ["localhost:9092"] })))
 * ```
 *
 * @since 0.1.0
 */
export * as Admin from "./Admin/Admin.ts"
export * as Assignor from "./Consumer/Assignor.ts"
export * as Avro from "./SchemaRegistry/Avro.ts"
export * as Broker from "./Connection/Broker.ts"
export * as Cluster from "./Cluster/Cluster.ts"
export * as Compression from "./Protocol/Compression.ts"
export * as Consumer from "./Consumer/Consumer.ts"
export * as Errors from "./Protocol/Errors.ts"
export * as Group from "./Consumer/Group.ts"
export * as JsonSchema from "./SchemaRegistry/JsonSchema.ts"
export * as Layers from "./Layers/Layers.ts"
export * as Offsets from "./Consumer/Offsets.ts"
export * as PartitionConsumer from "./Consumer/PartitionConsumer.ts"
export * as Partitioner from "./Producer/Partitioner.ts"
export * as Producer from "./Producer/Producer.ts"
export * as Protobuf from "./SchemaRegistry/Protobuf.ts"
export * as Protocol from "./Protocol/index.ts"
export * as RecordBatch from "./Protocol/RecordBatch.ts"
export * as RegistryTopic from "./SchemaRegistry/RegistryTopic.ts"
export * as RetryPolicy from "./Cluster/RetryPolicy.ts"
export * as SchemaRegistry from "./SchemaRegistry/SchemaRegistry.ts"
export * as SchemaRegistryErrors from "./SchemaRegistry/Errors.ts"
export * as Serde from "./SchemaRegistry/Serde.ts"
export * as Telemetry from "./Connection/Telemetry.ts"
export * as Testing from "./Testing/index.ts"
export * as Topic from "./Topic.ts"
