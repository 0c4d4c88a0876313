/**
 * The peers' codec entry points, as their own producers/consumers call them.
 *
 * - kafkajs 2.x: CommonJS internals under `kafkajs/src/protocol/` (record batch v0 = magic 2,
 *   the Encoder/Decoder, request/response modules per version). Its compression codecs: none and
 *   gzip built in; snappy/lz4/zstd throw `KafkaJSNotImplemented` unless the application plugs a
 *   third-party codec into `CompressionCodecs`.
 * - @platformatic/kafka: ESM, `createRecordsBatch` / `readRecordsBatches` / `Reader` / `Writer` /
 *   `metadataV12` / `produceV7`. Codecs: gzip and zstd through `node:zlib` (native), snappy and lz4
 *   through `@platformatic/wasm-utils` (WebAssembly). CRC-32C via `@node-rs/crc32` when installed
 *   (it is here), else wasm.
 */
import * as plat from "@platformatic/kafka"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

// ---- kafkajs ----------------------------------------------------------------------------------

export interface KLong {
  toString(): string
}
export const KLong = require("kafkajs/src/utils/long") as { fromString(s: string): KLong; fromValue(v: unknown): KLong; fromInt(n: number): KLong }

export interface KEncoder {
  readonly buffer: Buffer
  size(): number
}
export interface KDecoderT {
  readonly buffer: Buffer
}

export const KRecordBatch = (require("kafkajs/src/protocol/recordBatch/v0") as {
  RecordBatch: (o: Record<string, unknown>) => Promise<KEncoder>
}).RecordBatch
export const KRecord = require("kafkajs/src/protocol/recordBatch/record/v0") as (o: {
  offsetDelta: number
  timestampDelta: number
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer>
}) => KEncoder
export const KDecoder = require("kafkajs/src/protocol/decoder") as new (b: Buffer) => KDecoderT
export interface KDecodedRecord {
  readonly offset: string
  readonly timestamp: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Record<string, Buffer | Array<Buffer>>
}
export const KRecordBatchDecoder = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (d: KDecoderT) => Promise<{
  readonly firstOffset: string
  readonly records: ReadonlyArray<KDecodedRecord>
}>
export const KCompressionTypes = (require("kafkajs/src/protocol/message/compression") as { Types: Record<string, number> }).Types

/** `protocol/request.js`: size + request header v1 + body, as kafkajs' connection builds a frame. */
export const KRequest = require("kafkajs/src/protocol/request") as (o: {
  correlationId: number
  clientId: string
  request: KRequestT
}) => Promise<KEncoder>
export interface KRequestT {
  readonly apiKey: number
  readonly apiVersion: number
  encode(): Promise<KEncoder>
}

export const kafkajsRequest = (path: string): (o: Record<string, unknown>) => KRequestT =>
  require(`kafkajs/src/protocol/requests/${path}/request`)

export interface KMetadataResponse {
  readonly brokers: ReadonlyArray<{ nodeId: number; host: string; port: number; rack: string | null }>
  readonly topicMetadata: ReadonlyArray<{
    topic: string
    partitionMetadata: ReadonlyArray<{ partitionId: number; leader: number; replicas: Array<number>; isr: Array<number> }>
  }>
}
export const kafkajsMetadataDecode = (v: number): (b: Buffer) => Promise<KMetadataResponse> =>
  (require(`kafkajs/src/protocol/requests/metadata/v${v}/response`) as { decode: (b: Buffer) => Promise<KMetadataResponse> }).decode

// ---- @platformatic/kafka ----------------------------------------------------------------------

export { plat }

export interface PMessage {
  key: Buffer
  value: Buffer
  headers: Map<Buffer, Buffer>
  timestamp: bigint
  topic: string
  partition: number
}

export interface PWriter {
  readonly buffer: Buffer
  readonly length: number
  appendInt16(v: number): PWriter
  appendInt32(v: number): PWriter
  appendString(v: string | null, compact?: boolean): PWriter
  appendTaggedFields(): PWriter
  appendFrom(w: PWriter): PWriter
  prependLength(): PWriter
}

export const PWriterClass = plat.Writer as unknown as { create(): PWriter }

export interface PRecord {
  readonly timestampDelta: bigint
  readonly offsetDelta: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: ReadonlyArray<[Buffer, Buffer]>
}
export const pCreateRecordsBatch = plat.createRecordsBatch as unknown as (
  messages: Array<PMessage>,
  options: { compression?: string }
) => PWriter
export const pReadRecordsBatches = plat.readRecordsBatches as unknown as (r: unknown) => Array<{
  readonly firstOffset: bigint
  readonly firstTimestamp: bigint
  readonly records: ReadonlyArray<PRecord>
}>
export const pReader = (b: Buffer): unknown => plat.Reader.from(b)

export interface PMetadataResponse {
  readonly brokers: ReadonlyArray<{ nodeId: number; host: string; port: number; rack: string | null }>
  readonly topics: ReadonlyArray<{
    name: string | null
    topicId: string
    partitions: ReadonlyArray<{ partitionIndex: number; leaderId: number; leaderEpoch: number; replicaNodes: Array<number>; isrNodes: Array<number> }>
  }>
}
const pApi = (name: string): { createRequest: (...args: Array<unknown>) => PWriter; parseResponse: (c: number, k: number, v: number, r: unknown) => unknown } =>
  (plat as unknown as Record<string, never>)[name]
export const pMetadataV12 = pApi("metadataV12") as unknown as {
  createRequest(topics: Array<string>, allowAutoTopicCreation: boolean, includeTopicAuthorizedOperations: boolean): PWriter
  parseResponse(correlationId: number, apiKey: number, apiVersion: number, reader: unknown): PMetadataResponse
}
export const pProduceV7 = pApi("produceV7") as unknown as {
  createRequest(acks: number, timeout: number, messages: Array<PMessage>, options: { compression?: string }): PWriter
}

/**
 * A request frame as @platformatic/kafka's `Connection#send` builds it: header (v2 when the API
 * has request-header tagged fields) + payload, length prepended, then `writer.buffer` (one
 * contiguous Buffer, concatenated from the writer's chunks).
 */
export const pFrame = (apiKey: number, apiVersion: number, correlationId: number, clientId: string, flexible: boolean, payload: PWriter): Buffer => {
  const w = PWriterClass.create().appendInt16(apiKey).appendInt16(apiVersion).appendInt32(correlationId).appendString(clientId, false)
  if (flexible) w.appendTaggedFields()
  return w.appendFrom(payload).prependLength().buffer
}
