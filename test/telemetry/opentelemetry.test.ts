/**
 * kpax under @effect/opentelemetry with the SDK's in-memory exporters, against the real broker: a
 * produce → consume round trip makes the messaging spans (create, send, poll, process, the
 * request spans of the group protocol, an Admin call) with the semantic-convention attributes,
 * carries the producer's trace context in the record's `traceparent` header to the consumer's
 * process span (its child), and exports the messaging metrics with their units.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import type { DataPoint, Histogram, MetricData } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Stream } from "effect"
import * as Admin from "../../src/Admin/Admin.ts"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Telemetry from "../../src/Connection/Telemetry.ts"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { brokers } from "../kafka/env.ts"
import { createTopic, uniqueTopic } from "../util/kafka.ts"

const SPAN_KIND = { CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const
const te = new TextEncoder()

describe("OpenTelemetry", () => {
  it.live("produce → consume: messaging spans and attributes, traceparent from producer to consumer, metrics", () => {
    const spans = new InMemorySpanExporter()
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
    const Otel = NodeSdk.layer(() => ({
      resource: { serviceName: "kpax-test" },
      spanProcessor: new SimpleSpanProcessor(spans),
      metricReader: reader
    }))
    const topic = uniqueTopic("otel")
    const groupId = uniqueTopic("otel-g")
    const small = uniqueTopic("otel-small")
    const program = Effect.gen(function*() {
      const cluster = yield* Cluster.Cluster
      yield* createTopic(cluster, topic)
      const producer = yield* Producer.make({ linger: "0 millis" })
      // one send inside a sampled span: a create span, its context in the record's header
      const sent = yield* producer.send({ topic, key: te.encode("order-1"), value: te.encode("v1") }).pipe(Effect.withSpan("test.produce"))
      // a batch sent outside any span: the batch's send span only
      yield* producer.sendAll([2, 3, 4].map((i) => ({ topic, value: te.encode(`v${i}`) })))
      // a record the broker refuses (larger than the topic's max.message.bytes): error.type
      yield* createTopic(cluster, small, { configs: { "max.message.bytes": "1000" } })
      const refused = yield* producer.send({ topic: small, value: new Uint8Array(4000) }).pipe(Effect.withSpan("test.refused"), Effect.flip)
      assert.strictEqual(refused._tag, "RecordTooLarge")
      const admin = yield* Admin.make
      yield* admin.listTopics()
      const consumer = yield* Consumer.make({ groupId, topics: [topic], offsetReset: "earliest", maxWait: "100 millis" })
      const records = yield* consumer.records.pipe(Stream.take(4), Stream.runCollect)
      yield* Effect.log("processing").pipe(Telemetry.process(records[0]!, { group: groupId }))
      return { sent, records }
    })
    return Effect.gen(function*() {
      const { sent, records } = yield* Effect.scoped(program).pipe(
        Effect.provide(Cluster.layer({ bootstrap: brokers(), clientId: "kpax-otel" })),
        Effect.provideService(Telemetry.PropagateTraceContext, true)
      )
      yield* Effect.promise(() => reader.forceFlush())
      const finished = spans.getFinishedSpans()
      const named = (name: string) => finished.filter((s) => s.name === name)
      const one = (name: string): ReadableSpan => {
        const found = named(name)
        assert.isAtLeast(found.length, 1, `a span named ${name} (got ${[...new Set(finished.map((s) => s.name))].join(", ")})`)
        return found[0]!
      }
      const [host, port] = brokers()[0]!.split(":")

      // producer: create span per send in a sampled span, child of the caller's span
      const parent = one("test.produce")
      const create = one(`create ${topic}`)
      assert.strictEqual(named(`create ${topic}`).length, 1, "no create span for the sends outside a span")
      assert.strictEqual(create.kind, SPAN_KIND.PRODUCER)
      assert.strictEqual(create.spanContext().traceId, parent.spanContext().traceId)
      assert.strictEqual(create.parentSpanContext?.spanId, parent.spanContext().spanId)
      assert.deepInclude(create.attributes, {
        "messaging.system": "kafka",
        "messaging.operation.type": "create",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": String(sent.partition),
        "messaging.kafka.message.key": "order-1",
        "messaging.kafka.offset": Number(sent.offset)
      })

      // producer: a send span per Produce request, linked to the create span of its record
      const sends = named(`send ${topic}`)
      assert.isAtLeast(sends.length, 2)
      for (const s of sends) {
        assert.strictEqual(s.kind, SPAN_KIND.CLIENT)
        assert.deepInclude(s.attributes, {
          "messaging.system": "kafka",
          "messaging.operation.name": "send",
          "messaging.operation.type": "send",
          "messaging.destination.name": topic,
          "messaging.destination.partition.id": "0",
          "server.address": host,
          "server.port": Number(port)
        })
      }
      assert.strictEqual(sends.reduce((n, s) => n + (s.attributes["messaging.batch.message_count"] as number), 0), 4)
      const firstSend = sends.find((s) => s.links.some((l) => l.context.spanId === create.spanContext().spanId))
      assert.isDefined(firstSend, "a send span links to the create span")
      const produce = named("kafka.Produce").find((s) => s.parentSpanContext?.spanId === firstSend!.spanContext().spanId)
      assert.isDefined(produce, "the Produce request span is a child of the send span")
      assert.deepInclude(produce!.attributes, { "messaging.destination.name": topic, "server.address": host, "server.port": Number(port) })

      // the record carries the create span's context
      const first = records[0]!
      assert.strictEqual(first.offset, sent.offset)
      const header = first.headers.find((h) => h.key === "traceparent")
      assert.isDefined(header)
      assert.strictEqual(
        new TextDecoder().decode(header!.value!),
        `00-${create.spanContext().traceId}-${create.spanContext().spanId}-01`
      )
      assert.isUndefined(records[1]!.headers.find((h) => h.key === "traceparent"), "records sent outside a span carry none")

      // consumer: poll spans link to the producer; the process span is the create span's child
      const polls = named(`poll ${topic}`)
      assert.isAtLeast(polls.length, 1)
      assert.deepInclude(polls[0]!.attributes, {
        "messaging.system": "kafka",
        "messaging.operation.name": "poll",
        "messaging.operation.type": "receive",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": groupId
      })
      assert.isTrue(polls.some((p) => p.links.some((l) => l.context.spanId === create.spanContext().spanId)))
      const processSpan = one(`process ${topic}`)
      assert.strictEqual(processSpan.kind, SPAN_KIND.CONSUMER)
      assert.strictEqual(processSpan.spanContext().traceId, create.spanContext().traceId)
      assert.strictEqual(processSpan.parentSpanContext?.spanId, create.spanContext().spanId)
      assert.deepInclude(processSpan.attributes, {
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": "0",
        "messaging.kafka.offset": Number(sent.offset),
        "messaging.consumer.group.name": groupId
      })

      // group protocol and admin calls
      assert.deepInclude(one("kafka.JoinGroup").attributes, { "messaging.consumer.group.name": groupId, "messaging.operation.name": "join" })
      assert.deepInclude(one("kafka.SyncGroup").attributes, { "messaging.consumer.group.name": groupId, "messaging.operation.name": "sync" })
      assert.deepInclude(one("Admin.listTopics").attributes, { "messaging.system": "kafka", "messaging.operation.name": "listTopics" })

      // failures carry error.type: the create span, the batch's send span, the sent-messages count
      assert.strictEqual(one(`create ${small}`).attributes["error.type"], "RecordTooLarge")
      assert.strictEqual(one(`send ${small}`).attributes["error.type"], "RecordTooLarge")

      // metrics, with the conventions' names and units
      const exported: Array<MetricData> = metrics.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      const points = (name: string) =>
        exported.filter((m) => m.descriptor.name === name).flatMap((m) =>
          (m.dataPoints as Array<DataPoint<unknown>>).filter((p) => p.attributes["messaging.destination.name"] === topic).map((p) => ({ unit: m.descriptor.unit, p })))
      const sum = (name: string) => points(name).reduce((n, { p }) => n + (p.value as number), 0)
      assert.strictEqual(sum("messaging.client.sent.messages"), 4)
      assert.strictEqual(points("messaging.client.sent.messages")[0]!.unit, "{message}")
      assert.isAtLeast(sum("messaging.client.consumed.messages"), 4)
      const durations = points("messaging.client.operation.duration")
      assert.isAtLeast(durations.length, 1)
      assert.strictEqual(durations[0]!.unit, "s")
      assert.isAtLeast((durations[0]!.p.value as Histogram).count, 1)
      const failed = exported.filter((m) => m.descriptor.name === "messaging.client.sent.messages").flatMap((m) => m.dataPoints as Array<DataPoint<unknown>>)
        .filter((p) => p.attributes["messaging.destination.name"] === small)
      assert.deepStrictEqual(failed.map((p) => [p.attributes["error.type"], p.value]), [["RecordTooLarge", 1]])
    }).pipe(Effect.provide(Otel))
  })
})

describe("traceparent", () => {
  it("round-trips a span's context; rejects what is not W3C trace context", () => {
    const span = Telemetry.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert.deepInclude(span, { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true })
    assert.strictEqual(Telemetry.formatTraceparent(span!), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert.strictEqual(Telemetry.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled, false)
    for (const bad of [
      "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", // too few parts
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // forbidden version
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero span id
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra" // version 00 has 4 parts
    ]) assert.isUndefined(Telemetry.parseTraceparent(bad), bad)
    assert.isUndefined(Telemetry.producerSpanOf({ headers: [{ key: "traceparent", value: null }] }))
  })
})
