/**
 * The producer's OpenTelemetry: a `send <topic>` span per Produce request (its batches), a
 * `create <topic>` span per `send` made inside a sampled span (whose context goes into the
 * record's `traceparent` header when propagation is on), and the messaging metrics
 * (`messaging.client.sent.messages` per settled batch, `messaging.client.operation.duration` per
 * Produce request).
 *
 * Whether spans are made is decided once, from the producer's context when it is built: without a
 * tracer the sender's hooks only update the metrics (per request and per batch, never per
 * record) and `send` is not wrapped at all.
 *
 * @internal
 */
import { Context, Effect, Exit, Tracer } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import * as Telemetry from "../../Connection/Telemetry.ts"
import type { Header } from "../../Protocol/internal/RecordBatchCodec.ts"
import type { AckPart, Batch } from "./accumulator.ts"

const { A } = Telemetry

/** What telemetry reads of a record to send and of where it went (structural: no import of Producer.ts). */
interface OutgoingRecord {
  readonly topic: string
  readonly partition?: number | undefined
  readonly key?: Uint8Array | null | undefined
  readonly value: Uint8Array | null
  readonly headers?: ReadonlyArray<Header> | undefined
}
interface Written {
  readonly partition: number
  readonly offset: bigint
}
type Send<R extends OutgoingRecord, M extends Written, E> = (r: R) => Effect.Effect<M, E>

export class ProducerTelemetry {
  readonly tracing: boolean
  readonly propagate: boolean
  private readonly cluster: ClusterService
  /** The `create` span of a record sent inside a sampled span, for the batch span's links. */
  private readonly createSpans = new WeakMap<object, Tracer.Span>()
  /** `create` spans not yet ended: while 0 the batch span looks at no record. */
  private liveCreateSpans = 0

  constructor(context: Context.Context<never>, cluster: ClusterService) {
    this.tracing = Telemetry.isTracing(context)
    this.propagate = Context.get(context, Telemetry.PropagateTraceContext)
    this.cluster = cluster
  }

  /**
   * `send` as it is without a tracer; with one, a `create <topic>` span around each send made
   * inside a sampled span (a send outside any span, or in an unsampled one, makes none).
   */
  wrapSend<R extends OutgoingRecord, M extends Written, E>(send: Send<R, M, E>): Send<R, M, E> {
    if (!this.tracing) return send
    return (r) =>
      Effect.contextWith((ctx: Context.Context<never>) => {
        const parent = Context.getOrUndefined(ctx, Tracer.ParentSpan)
        if (parent === undefined || !parent.sampled) return send(r)
        return this.create(send, r, this.propagate || Context.get(ctx, Telemetry.PropagateTraceContext))
      })
  }

  private create<R extends OutgoingRecord, M extends Written, E>(send: Send<R, M, E>, r: R, propagate: boolean): Effect.Effect<M, E> {
    const attributes: Record<string, unknown> = {
      [A.system]: "kafka",
      [A.operationName]: "create",
      [A.operationType]: "create",
      [A.destination]: r.topic
    }
    if (r.partition !== undefined) attributes[A.partition] = String(r.partition)
    const key = Telemetry.keyAttribute(r.key)
    if (key !== undefined) attributes[A.key] = key
    if (r.value === null) attributes[A.tombstone] = true
    return Effect.useSpan(`create ${r.topic}`, { kind: "producer", attributes }, (span) => {
      let record = r
      if (propagate) {
        const header: Header = { key: Telemetry.TRACEPARENT, value: Buffer.from(Telemetry.formatTraceparent(span), "latin1") }
        record = { ...r, headers: r.headers === undefined ? [header] : [...r.headers, header] } as R
      }
      this.createSpans.set(record, span)
      this.liveCreateSpans++
      return send(record).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            this.liveCreateSpans--
            if (Exit.isSuccess(exit)) {
              span.attribute(A.partition, String(exit.value.partition))
              if (exit.value.offset >= 0n) span.attribute(A.offset, Number(exit.value.offset))
            } else {
              const e = exit.cause.reasons.find((x) => x._tag === "Fail")
              span.attribute(A.errorType, e !== undefined ? Telemetry.errorType(e.error) : "_OTHER")
            }
          })
        )
      )
    })
  }

  /** One Produce request to `node`: its duration, and with a tracer a `send` span over it. */
  traceRequest = (request: Effect.Effect<void>, node: number, batches: ReadonlyArray<Batch>): Effect.Effect<void> => {
    const topic = singleTopic(batches)
    const metrics = topic === undefined ? Telemetry.messagingMetrics("send", undefined) : this.sentOf(topic)
    const started = performance.now()
    const timed = Effect.ensuring(request, Effect.sync(() => {
      metrics.duration.updateUnsafe((performance.now() - started) / 1000, Context.empty())
    }))
    if (!this.tracing) return timed
    let count = 0
    for (const b of batches) count += b.records.length
    const attributes: Record<string, unknown> = {
      [A.system]: "kafka",
      [A.operationName]: "send",
      [A.operationType]: "send",
      [A.batchCount]: count
    }
    if (topic !== undefined) attributes[A.destination] = topic
    if (batches.length === 1) attributes[A.partition] = String(batches[0]!.partition)
    const broker = this.cluster.snapshot().brokers.get(node)
    if (broker !== undefined) {
      attributes[A.serverAddress] = broker.host
      attributes[A.serverPort] = broker.port
    }
    const links: Array<Tracer.SpanLink> = []
    if (this.liveCreateSpans > 0) {
      for (const b of batches) {
        for (const r of b.records) {
          const span = this.createSpans.get(r)
          if (span !== undefined) links.push({ span, attributes: {} })
        }
      }
    }
    // a root span: a batch gathers the sends of many callers, none of them its parent
    return Effect.useSpan(topic === undefined ? "send" : `send ${topic}`, { kind: "client", root: true, attributes, links }, (span) => {
      for (const b of batches) this.batchSpans.set(b, span)
      return Effect.withParentSpan(
        Effect.ensuring(timed, Effect.sync(() => {
          for (const b of batches) if (this.batchSpans.get(b) === span) this.batchSpans.delete(b)
        })),
        span
      )
    })
  }

  /** The send span of each batch in a traced Produce request, while the request runs. */
  private readonly batchSpans = new Map<Batch, Tracer.Span>()

  /** A batch settled: its records are counted as sent, with `error.type` for a failed part. */
  onBatchDone = (batch: Batch, parts: ReadonlyArray<AckPart>): void => {
    for (const p of parts) {
      const m = p.error === undefined
        ? this.sentOf(batch.topic)
        : Telemetry.messagingMetrics("send", batch.topic, undefined, Telemetry.errorType(p.error))
      m.messages.updateUnsafe(p.count, Context.empty())
      if (p.error !== undefined && this.tracing) this.batchSpans.get(batch)?.attribute(A.errorType, Telemetry.errorType(p.error))
    }
  }

  /** The metrics of sends to a topic that succeed, by topic (no key built per batch). */
  private readonly sent = new Map<string, Telemetry.MessagingMetrics>()
  private sentOf(topic: string): Telemetry.MessagingMetrics {
    let m = this.sent.get(topic)
    if (m === undefined) {
      m = Telemetry.messagingMetrics("send", topic)
      this.sent.set(topic, m)
    }
    return m
  }
}

const singleTopic = (batches: ReadonlyArray<Batch>): string | undefined => {
  const topic = batches[0]?.topic
  for (const b of batches) if (b.topic !== topic) return undefined
  return topic
}
