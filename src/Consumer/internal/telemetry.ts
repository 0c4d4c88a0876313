/**
 * The consumer's OpenTelemetry: `messaging.client.consumed.messages` per delivered chunk, and with
 * a tracer a `poll <topic>` span (kind `client`) per pull that returns records, carrying the
 * messaging attributes and links to the producers' spans named by the records' `traceparent`
 * headers. Whether spans are made is decided once, from the fetcher's context; without a tracer
 * nothing is done per record.
 *
 * @internal
 */
import { Context, Effect, Exit, Tracer } from "effect"
import * as Telemetry from "../../Connection/Telemetry.ts"
import type { ConsumerRecord, TopicPartition } from "../Record.ts"
import type { DataChunk, PartitionState } from "./partition.ts"

const { A } = Telemetry

/** Most producer links one poll span carries. */
const MAX_LINKS = 128

type Emit<A> = (p: PartitionState, chunk: DataChunk, records: Array<ConsumerRecord>) => ReadonlyArray<A>

/** What one traced pull saw. */
interface Seen {
  count: number
  topic: string | undefined
  partition: number
  mixed: boolean
  offset: bigint
  links: Array<Tracer.SpanLink>
}

export class FetcherTelemetry {
  readonly tracing: boolean
  /** The consumer group, when the fetcher serves one (set by the group consumer). */
  group: string | undefined = undefined

  constructor(context: Context.Context<never>) {
    this.tracing = Telemetry.isTracing(context)
  }

  /** Runs one pull with `emit` wrapped: records counted, and with a tracer a `poll` span. */
  pull<A, E>(
    only: TopicPartition | undefined,
    emit: Emit<A>,
    run: (emit: Emit<A>) => Effect.Effect<readonly [A, ...Array<A>], E>
  ): Effect.Effect<readonly [A, ...Array<A>], E> {
    if (!this.tracing) {
      return run((p, chunk, records) => {
        this.consumedOf(p.topic).messages.updateUnsafe(records.length, Context.empty())
        return emit(p, chunk, records)
      })
    }
    const seen: Seen = { count: 0, topic: undefined, partition: -1, mixed: false, offset: -1n, links: [] }
    const pulled = run((p, chunk, records) => {
      this.consumedOf(p.topic).messages.updateUnsafe(records.length, Context.empty())
      if (seen.count === 0) {
        seen.topic = p.topic
        seen.partition = p.partition
        seen.offset = records[0]!.offset
      } else if (seen.topic !== p.topic || seen.partition !== p.partition) seen.mixed = true
      seen.count += records.length
      for (const r of records) {
        if (seen.links.length >= MAX_LINKS) break
        const producer = Telemetry.producerSpanOf(r)
        if (producer !== undefined) seen.links.push({ span: producer, attributes: {} })
      }
      return emit(p, chunk, records)
    })
    return Effect.tap(pulled, () => this.span(only, seen))
  }

  /** The consumed-messages metrics by topic (no key built per chunk). */
  private readonly consumed = new Map<string, Telemetry.MessagingMetrics>()
  private consumedOf(topic: string): Telemetry.MessagingMetrics {
    let m = this.consumed.get(topic)
    if (m === undefined) {
      m = Telemetry.messagingMetrics("poll", topic, this.group)
      this.consumed.set(topic, m)
    }
    return m
  }

  /** The span of a pull that returned records (made when they are handed over: no waiting in it). */
  private span(only: TopicPartition | undefined, seen: Seen): Effect.Effect<void> {
    const topic = only?.topic ?? (seen.mixed ? undefined : seen.topic)
    const attributes: Record<string, unknown> = {
      [A.system]: "kafka",
      [A.operationName]: "poll",
      [A.operationType]: "receive",
      [A.batchCount]: seen.count
    }
    if (topic !== undefined) attributes[A.destination] = topic
    if (!seen.mixed) {
      attributes[A.partition] = String(seen.partition)
      if (seen.count === 1) attributes[A.offset] = Number(seen.offset)
    }
    if (this.group !== undefined) attributes[A.group] = this.group
    return Effect.flatMap(
      Effect.makeSpan(topic === undefined ? "poll" : `poll ${topic}`, { kind: "client", attributes, links: seen.links }),
      (span) => Effect.clockWith((clock) => Effect.sync(() => span.end(clock.currentTimeNanosUnsafe(), Exit.void)))
    )
  }
}
