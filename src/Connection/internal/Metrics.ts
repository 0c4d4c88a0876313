/**
 * Effect metrics of broker requests. Series are labelled by broker and API; the labelled metric
 * objects are built once per (broker, API) and updated with `updateUnsafe` (no Effect per update).
 *
 * Each series is its own metric object with its attributes fixed at construction, not
 * `Metric.withAttributes` over a shared metric: `withAttributes` adds the attributes to the
 * context on every update (a new `Context`, a copy of its map once it is deep), and the shared
 * metric's series-key cache is keyed by the last attribute set, so alternating brokers or APIs
 * rebuilt the key on every update — about 1 µs per update, 6 updates per request
 * (`npx node bench/metadata/micro.ts`). Both forms address the same series in the registry.
 *
 * @internal
 */
import { Metric } from "effect"
import type { Context } from "effect"

type Attributes = Readonly<Record<string, string>>

const counter = (name: string, description: string) => (attributes: Attributes) =>
  Metric.counter(name, { description, incremental: true, attributes })

const latencyBoundaries = Metric.exponentialBoundaries({ start: 0.25, factor: 2, count: 18 })

const requestsOf = counter("kpax_broker_requests_total", "Requests sent to brokers")
const errorsOf = counter(
  "kpax_broker_request_errors_total",
  "Requests that failed (connection, timeout, decode, version, authentication)"
)
const bytesOutOf = counter("kpax_broker_bytes_out_total", "Request bytes written to brokers (frames, size prefix included)")
const bytesInOf = counter("kpax_broker_bytes_in_total", "Response bytes read from brokers (frames, size prefix excluded)")
const latencyOf = (attributes: Attributes) =>
  Metric.histogram("kpax_broker_request_latency_ms", {
    description: "Time from writing a request to receiving its response",
    boundaries: latencyBoundaries,
    attributes
  })
const inFlightOf = (attributes: Attributes) =>
  Metric.gauge("kpax_broker_requests_in_flight", {
    description: "Requests awaiting a response on a broker connection",
    attributes
  })
const connectsOf = counter("kpax_broker_connects_total", "Connections established (ApiVersions negotiated, SASL done)")
const connectErrorsOf = counter("kpax_broker_connect_errors_total", "Failed connection attempts")

/** The requests counter without attributes: `Metric.withAttributes(requestsTotal, { broker, api })` reads one series. */
export const requestsTotal = requestsOf({})

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
    this.inFlight = inFlightOf(attrs)
    this.connects = connectsOf(attrs)
    this.connectErrors = connectErrorsOf(attrs)
  }

  api(name: string): ApiMetrics {
    let m = this.byApi.get(name)
    if (m === undefined) {
      const attrs = { broker: this.broker, api: name }
      m = {
        requests: requestsOf(attrs),
        errors: errorsOf(attrs),
        bytesOut: bytesOutOf(attrs),
        bytesIn: bytesInOf(attrs),
        latency: latencyOf(attrs)
      }
      this.byApi.set(name, m)
    }
    return m
  }
}

export type MetricContext = Context.Context<never>
