/**
 * `Telemetry`: kpax's spans and metrics in OpenTelemetry's messaging semantic conventions
 * (`messaging.system = "kafka"`), and W3C trace context (`traceparent`) carried in record headers
 * from producer to consumer.
 *
 * Spans are made only when a tracer is installed (an `@effect/opentelemetry` layer, an OTLP layer,
 * `Effect.withTracer`): under Effect's default native tracer kpax makes none and does no
 * per-record work. Trace context in headers is opt-in (`Telemetry.propagateTraceContext`).
 * See docs/opentelemetry.md.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import * as Telemetry from "kpax/Telemetry"
 *
 * // producers add a `traceparent` header to each record sent inside a sampled span
 * const TracingLayer = Layer.mergeAll(Telemetry.propagateTraceContext)
 *
 * // a consumer's processing span, a child of the producer's span when the record carries one
 * const handle = (record: Telemetry.TracedRecord) =>
 *   Effect.log("processing").pipe(Telemetry.process(record, { group: "billing" }))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Metric, Tracer } from "effect"
import type { Header } from "../Protocol/internal/RecordBatchCodec.ts"

/**
 * Whether producers write the current span's W3C trace context into each record's `traceparent`
 * header (default `false`). Only sends made inside a sampled span carry one.
 *
 * @since 0.1.0
 */
export const PropagateTraceContext = Context.Reference<boolean>("kpax/Telemetry/PropagateTraceContext", {
  defaultValue: () => false
})

/**
 * Turns on `traceparent` headers for the producers built under it.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as Telemetry from "kpax/Telemetry"
 *
 * const Observability = Layer.mergeAll(Telemetry.propagateTraceContext)
 * ```
 *
 * @since 0.1.0
 */
export const propagateTraceContext: Layer.Layer<never> = Layer.succeed(PropagateTraceContext, true)

/** The header name of W3C trace context. */
export const TRACEPARENT = "traceparent"

/**
 * Whether spans are recorded anywhere: a tracer other than Effect's native one is installed.
 *
 * @since 0.1.0
 */
export const isTracing = (context: Context.Context<never>): boolean =>
  Context.get(context, Tracer.Tracer) !== Tracer.nativeTracer

/**
 * The W3C `traceparent` value of a span: `00-<trace id>-<span id>-<flags>`.
 *
 * @example
 * ```ts
 * import { Tracer } from "effect"
 * import * as Telemetry from "kpax/Telemetry"
 *
 * const span = Tracer.externalSpan({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" })
 * console.log(Telemetry.formatTraceparent(span)) // 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 * ```
 *
 * @since 0.1.0
 */
export const formatTraceparent = (span: Tracer.AnySpan): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/

/**
 * The span a `traceparent` value names, or `undefined` when it is not one (wrong shape, all-zero
 * ids, version `ff`).
 *
 * @example
 * ```ts
 * import * as Telemetry from "kpax/Telemetry"
 *
 * const span = Telemetry.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
 * console.log(span?.spanId) // 00f067aa0ba902b7
 * ```
 *
 * @since 0.1.0
 */
export const parseTraceparent = (value: string): Tracer.ExternalSpan | undefined => {
  const parts = value.trim().split("-")
  if (parts.length < 4) return undefined
  const [version, traceId, spanId, flags] = parts as [string, string, string, string]
  if (version.length !== 2 || version === "ff" || (version === "00" && parts.length !== 4)) return undefined
  if (!HEX32.test(traceId) || !HEX16.test(spanId) || !/^[0-9a-f]{2}$/.test(flags)) return undefined
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined
  return Tracer.externalSpan({ traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 })
}

/**
 * The parts of a consumed record telemetry reads (a `ConsumerRecord` is one).
 *
 * @since 0.1.0
 */
export interface TracedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly key: Uint8Array | null
  readonly headers: ReadonlyArray<Header>
}

/**
 * The producer's span a record's `traceparent` header names, if it has a valid one.
 *
 * @since 0.1.0
 */
export const producerSpanOf = (record: { readonly headers: ReadonlyArray<Header> }): Tracer.ExternalSpan | undefined => {
  const hs = record.headers
  for (let i = hs.length - 1; i >= 0; i--) {
    const h = hs[i]!
    if (h.key === TRACEPARENT && h.value !== null) return parseTraceparent(Buffer.from(h.value.buffer, h.value.byteOffset, h.value.byteLength).toString("latin1"))
  }
  return undefined
}

/** Longest key written as `messaging.kafka.message.key` (longer keys are left out). */
const MAX_KEY_ATTRIBUTE = 256

/** A record key as a span attribute: its UTF-8 text when short and valid, else `undefined`. */
export const keyAttribute = (key: Uint8Array | null | undefined): string | undefined => {
  if (key === null || key === undefined || key.length > MAX_KEY_ATTRIBUTE) return undefined
  const text = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("utf8")
  return text.includes("\uFFFD") ? undefined : text
}

/**
 * Runs `self` in a `process <topic>` span (kind `consumer`) with the record's messaging attributes,
 * a child of the producer's span when the record carries a `traceparent` header (and linked to it),
 * else of the current span. Without a tracer it runs `self` as it is.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Telemetry from "kpax/Telemetry"
 *
 * const handle = (record: Telemetry.TracedRecord) =>
 *   Effect.log(`offset ${record.offset}`).pipe(Telemetry.process(record, { group: "billing" }))
 * ```
 *
 * @since 0.1.0
 */
export const process = (record: TracedRecord, options?: { readonly group?: string | undefined }) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.contextWith((context: Context.Context<never>) => {
    if (!isTracing(context)) return self
    const producer = producerSpanOf(record)
    const attributes: Record<string, unknown> = {
      [A.system]: "kafka",
      [A.operationName]: "process",
      [A.operationType]: "process",
      [A.destination]: record.topic,
      [A.partition]: String(record.partition),
      [A.offset]: Number(record.offset)
    }
    const key = keyAttribute(record.key)
    if (key !== undefined) attributes[A.key] = key
    if (options?.group !== undefined) attributes[A.group] = options.group
    return Effect.withSpan(self, `process ${record.topic}`, {
      kind: "consumer",
      captureStackTrace: false,
      attributes,
      ...(producer !== undefined ? { parent: producer, links: [{ span: producer, attributes: {} }] } : {})
    })
  })

/** Attribute names of the messaging conventions. @internal */
export const A = {
  system: "messaging.system",
  operationName: "messaging.operation.name",
  operationType: "messaging.operation.type",
  destination: "messaging.destination.name",
  partition: "messaging.destination.partition.id",
  key: "messaging.kafka.message.key",
  tombstone: "messaging.kafka.message.tombstone",
  offset: "messaging.kafka.offset",
  group: "messaging.consumer.group.name",
  batchCount: "messaging.batch.message_count",
  clientId: "messaging.client.id",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type"
} as const

/** `error.type` of a failure: a Kafka error's name, else the error's tag. @internal */
export const errorType = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const o = e as { readonly _tag?: unknown; readonly name?: unknown }
    if (o._tag === "KafkaError" && typeof o.name === "string") return o.name
    if (typeof o._tag === "string") return o._tag
  }
  return "_OTHER"
}

/** `host` and `port` of `host:port` (IPv6 hosts in brackets or not). @internal */
export const serverOf = (address: string): { readonly host: string; readonly port: number } => {
  const i = address.lastIndexOf(":")
  const host = i < 0 ? address : address.slice(0, i)
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port: i < 0 ? 0 : Number(address.slice(i + 1)) }
}

// ---- metrics --------------------------------------------------------------------------------

type Labels = Readonly<Record<string, string>>

/** Buckets the conventions advise for `messaging.client.operation.duration`, in seconds. */
const DURATION_BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/**
 * The messaging metrics of one (operation, topic, group, error type): built once and cached,
 * updated with `updateUnsafe` (a metric object per series, as in the broker metrics). The `unit`
 * attribute is what `@effect/opentelemetry` exports as the instrument's unit. @internal
 */
export interface MessagingMetrics {
  /** `messaging.client.sent.messages` or `messaging.client.consumed.messages`. */
  readonly messages: Metric.Metric<number, unknown>
  /** `messaging.client.operation.duration`, seconds. */
  readonly duration: Metric.Metric<number, unknown>
}

const cache = new Map<string, MessagingMetrics>()

/** The metrics of `send` (producer) or `poll` (consumer) for a topic (`undefined`: several). @internal */
export const messagingMetrics = (
  operation: "send" | "poll",
  topic: string | undefined,
  group?: string | undefined,
  errorType?: string | undefined
): MessagingMetrics => {
  const id = `${operation}\u0000${topic}\u0000${group ?? ""}\u0000${errorType ?? ""}`
  let m = cache.get(id)
  if (m !== undefined) return m
  const labels: Labels = {
    [A.system]: "kafka",
    [A.operationName]: operation,
    [A.operationType]: operation === "send" ? "send" : "receive",
    ...(topic !== undefined ? { [A.destination]: topic } : {}),
    ...(group !== undefined ? { [A.group]: group } : {}),
    ...(errorType !== undefined ? { [A.errorType]: errorType } : {})
  }
  m = {
    messages: operation === "send"
      ? Metric.counter("messaging.client.sent.messages", {
        description: "Number of messages the producer attempted to send to the broker",
        incremental: true,
        attributes: { ...labels, unit: "{message}" }
      })
      : Metric.counter("messaging.client.consumed.messages", {
        description: "Number of messages delivered to the application",
        incremental: true,
        attributes: { ...labels, unit: "{message}" }
      }),
    duration: Metric.histogram("messaging.client.operation.duration", {
      description: "Duration of messaging operation initiated by a producer or consumer client",
      boundaries: DURATION_BOUNDARIES,
      attributes: { ...labels, unit: "s" }
    })
  }
  cache.set(id, m)
  return m
}
