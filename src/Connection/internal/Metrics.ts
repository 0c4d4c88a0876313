/**
 * Effect metrics of broker requests. Series are labelled by broker and API; the labelled metric
 * objects are built once per (broker, API) and updated with `updateUnsafe` (one context read per
 * request, no Effect per update).
 *
 * @internal
 */
import { Metric } from "effect"
import type { Context } from "effect"

export const requestsTotal = Metric.counter("kpax_broker_requests_total", {
  description: "Requests sent to brokers",
  incremental: true
})
export const errorsTotal = Metric.counter("kpax_broker_request_errors_total", {
  description: "Requests that failed (connection, timeout, decode, version, authentication)",
  incremental: true
})
export const bytesOutTotal = Metric.counter("kpax_broker_bytes_out_total", {
  description: "Request bytes written to brokers (frames, size prefix included)",
  incremental: true
})
export const bytesInTotal = Metric.counter("kpax_broker_bytes_in_total", {
  description: "Response bytes read from brokers (frames, size prefix excluded)",
  incremental: true
})
export const latencyMs = Metric.histogram("kpax_broker_request_latency_ms", {
  description: "Time from writing a request to receiving its response",
  boundaries: Metric.exponentialBoundaries({ start: 0.25, factor: 2, count: 18 })
})
export const inFlight = Metric.gauge("kpax_broker_requests_in_flight", {
  description: "Requests awaiting a response on a broker connection"
})
export const connectsTotal = Metric.counter("kpax_broker_connects_total", {
  description: "Connections established (ApiVersions negotiated, SASL done)",
  incremental: true
})
export const connectErrorsTotal = Metric.counter("kpax_broker_connect_errors_total", {
  description: "Failed connection attempts",
  incremental: true
})

export interface ApiMetrics {
  readonly requests: Metric.Metric<number, unknown>
  readonly errors: Metric.Metric<number, unknown>
  readonly bytesOut: Metric.Metric<number, unknown>
  readonly bytesIn: Metric.Metric<number, unknown>
  readonly latency: Metric.Metric<number, unknown>
}

export class BrokerMetrics {
  readonly inFlight: Metric.Metric<number, unknown>
  readonly connects: Metric.Metric<number, unknown>
  readonly connectErrors: Metric.Metric<number, unknown>
  private readonly broker: string
  private readonly byApi = new Map<string, ApiMetrics>()

  constructor(broker: string) {
    this.broker = broker
    const attrs = { broker }
    this.inFlight = Metric.withAttributes(inFlight, attrs)
    this.connects = Metric.withAttributes(connectsTotal, attrs)
    this.connectErrors = Metric.withAttributes(connectErrorsTotal, attrs)
  }

  api(name: string): ApiMetrics {
    let m = this.byApi.get(name)
    if (m === undefined) {
      const attrs = { broker: this.broker, api: name }
      m = {
        requests: Metric.withAttributes(requestsTotal, attrs),
        errors: Metric.withAttributes(errorsTotal, attrs),
        bytesOut: Metric.withAttributes(bytesOutTotal, attrs),
        bytesIn: Metric.withAttributes(bytesInTotal, attrs),
        latency: Metric.withAttributes(latencyMs, attrs)
      }
      this.byApi.set(name, m)
    }
    return m
  }
}

export type MetricContext = Context.Context<never>
