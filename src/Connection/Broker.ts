/**
 * `Broker`: one connection to one Kafka broker. Requests are pipelined over a single TCP/TLS
 * connection; versions are negotiated with ApiVersions; SASL authenticates (and re-authenticates)
 * it; a dead connection is re-opened on the next request after a backoff.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Broker } from "kpax/Broker"
 *
 * const program = Effect.gen(function*() {
 *   const broker = yield* Broker
 *   const metadata = yield* broker.request(Metadata, { topics: null, allowAutoTopicCreation: false })
 *   yield* Effect.log(metadata.brokers)
 * })
 *
 * program.pipe(Effect.provide(Broker.layer({ host: "localhost", port: 9092 })), Effect.runPromise)
 * ```
 */
import { Clock, Context, Duration, Effect, Layer, Result, Schedule, Tracer } from "effect"
import type { Scope } from "effect"
import type { AnyApi, Api } from "../Protocol/Api.ts"
import { UnsupportedVersionError } from "./Errors.ts"
import type { BrokerError } from "./Errors.ts"
import type { SaslOptions } from "./Sasl.ts"
import { Connector } from "./internal/Connector.ts"
import { BrokerMetrics } from "./internal/Metrics.ts"
import type { Session } from "./internal/Session.ts"
import type { TlsOptions } from "./internal/Transport.ts"
import { validateRequest } from "./internal/Validation.ts"
import { requestAttributes, responseErrorType } from "./internal/spanAttributes.ts"
import * as Telemetry from "./Telemetry.ts"
import type { VersionRange } from "./internal/Versions.ts"

export type { BrokerError } from "./Errors.ts"
export type { SaslOptions } from "./Sasl.ts"
export type { TlsOptions } from "./internal/Transport.ts"
export type { VersionRange } from "./internal/Versions.ts"

/** Settings of one broker connection. Only `host` and `port` are required. */
export interface BrokerOptions {
  readonly host: string
  readonly port: number
  /** The broker's node id, when known (labels only). */
  readonly nodeId?: number | undefined
  /** `client.id` sent in every request header (default `"kpax"`). */
  readonly clientId?: string | null | undefined
  /** TLS: `true` for system CAs, or explicit settings. Default: plaintext. */
  readonly tls?: TlsOptions | boolean | undefined
  /** SASL mechanism and credentials. Default: none. */
  readonly sasl?: SaslOptions | undefined
  /** Time allowed to open TCP/TLS (default 10 seconds). */
  readonly connectTimeout?: Duration.Input | undefined
  /** Default per-request timeout (default 30 seconds). Also bounds the handshake requests. */
  readonly requestTimeout?: Duration.Input | undefined
  /** TCP keep-alive initial delay, `false` to disable (default 60 seconds). */
  readonly keepAlive?: Duration.Input | false | undefined
  /** Disable Nagle's algorithm (default `true`). */
  readonly noDelay?: boolean | undefined
  /** Largest response frame accepted; larger closes the connection (default 100 MiB). */
  readonly maxFrameBytes?: number | undefined
  /** Most requests awaiting a response at once; more wait for a slot (default 1024). */
  readonly maxInFlight?: number | undefined
  /**
   * Delay between consecutive failed connection attempts; its input is the connection error.
   * When it ends it starts over. Default: jittered exponential from 100 ms, capped at 10 s.
   */
  readonly reconnectBackoff?: Schedule.Schedule<unknown, BrokerError> | undefined
  /**
   * A span per request (default `true`) when a tracer is installed (`Effect.withTracer`, an OTLP
   * layer, …). Under Effect's default native tracer, which records nowhere, no span is made.
   */
  readonly tracing?: boolean | undefined
  /**
   * Check every request against its API's Schema before encoding it (default `true`); a request
   * that does not match fails with `EncodeError` instead of putting bad bytes on the wire.
   */
  readonly validateRequests?: boolean | undefined
  /** Sent in ApiVersions v3+ (default `"kpax"` / the package version). */
  readonly clientSoftwareName?: string | undefined
  readonly clientSoftwareVersion?: string | undefined
}

/** Per-request settings. */
export interface RequestOptions {
  /** Use this version instead of the highest both sides support (must be in both ranges). */
  readonly version?: number | undefined
  /** Overrides the broker's default request timeout. */
  readonly timeout?: Duration.Input | undefined
}

/** Counters of a `Broker`. */
export interface BrokerStats {
  readonly connected: boolean
  /** Successful connects (1 + reconnects) over the broker's life. */
  readonly connects: number
  readonly inFlight: number
  /** Counters of the current connection. */
  readonly bytesIn: number
  readonly bytesOut: number
  readonly droppedLateResponses: number
  /** SASL re-authentications (KIP-368) on the current connection. */
  readonly reauthentications: number
}

export interface BrokerService {
  /** `host:port` */
  readonly address: string
  readonly nodeId: number | undefined
  /**
   * Sends a request and waits for its response, at the highest version both sides support
   * (or `options.version`).
   */
  readonly request: <Req, Res>(
    api: Api<Req, Res>,
    req: Req,
    options?: RequestOptions
  ) => Effect.Effect<Res, BrokerError>
  /** Sends a request that gets no response (Produce with acks=0); completes once written. */
  readonly send: <Req>(api: Api<Req, any>, req: Req, options?: RequestOptions) => Effect.Effect<void, BrokerError>
  /** The broker's version ranges by API key (connects if needed). */
  readonly apiVersions: Effect.Effect<ReadonlyMap<number, VersionRange>, BrokerError>
  /** The version a request of this API would use (connects if needed). */
  readonly versionFor: (api: AnyApi, forced?: number) => Effect.Effect<number, BrokerError>
  /** Closes the current connection; the next request reconnects. */
  readonly disconnect: Effect.Effect<void>
  readonly stats: Effect.Effect<BrokerStats>
}

const defaultBackoff: Schedule.Schedule<unknown, BrokerError> = Schedule.jittered(
  Schedule.min([Schedule.exponential("100 millis", 2), Schedule.spaced("10 seconds")])
)

const unsupported = (session: Session, api: AnyApi, forced: number | undefined): UnsupportedVersionError => {
  const range = session.versions.ranges.get(api.key)
  const theirs = range === undefined ? "does not support it" : `supports v${range.min}-v${range.max}`
  const ours = `v${api.minVersion}-v${api.maxVersion}`
  return new UnsupportedVersionError({
    broker: session.broker,
    api: api.name,
    apiKey: api.key,
    clientMin: api.minVersion,
    clientMax: api.maxVersion,
    brokerMin: range?.min,
    brokerMax: range?.max,
    message: forced !== undefined
      ? `${api.name} v${forced} is not supported: client ${ours}, broker ${session.broker} ${theirs}`
      : `no common version of ${api.name}: client ${ours}, broker ${session.broker} ${theirs}`
  })
}

const throttleOf = (res: unknown): number => {
  const t = (res as { readonly throttleTimeMs?: unknown } | null)?.throttleTimeMs
  return typeof t === "number" && t > 0 ? t : 0
}

/**
 * A broker connection living in the current scope; the connection opens on the first request.
 * Closing the scope closes it: in-flight requests fail with `ConnectionError`, nothing hangs.
 *
 * @example
 * ```ts
 * const twoBrokers = Effect.gen(function*() {
 *   const a = yield* make({ host: "kafka-1", port: 9092, nodeId: 1 })
 *   const b = yield* make({ host: "kafka-2", port: 9092, nodeId: 2 })
 *   return [a, b]
 * })
 * ```
 */
export const make = (options: BrokerOptions): Effect.Effect<BrokerService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const address = `${options.host}:${options.port}`
    const requestTimeoutMs = Duration.toMillis(options.requestTimeout ?? "30 seconds")
    const metrics = new BrokerMetrics(address)
    const server = { host: options.host, port: options.port }
    const tracing = options.tracing ?? true
    const validate = options.validateRequests ?? true
    const connector = new Connector(
      scope,
      {
        transport: {
          host: options.host,
          port: options.port,
          tls: options.tls,
          connectTimeoutMs: Duration.toMillis(options.connectTimeout ?? "10 seconds"),
          keepAliveMs: options.keepAlive === false ? false : Duration.toMillis(options.keepAlive ?? "60 seconds"),
          noDelay: options.noDelay,
          maxFrameBytes: options.maxFrameBytes,
          maxInFlight: options.maxInFlight
        },
        clientId: options.clientId === undefined ? "kpax" : options.clientId,
        requestTimeoutMs,
        sasl: options.sasl,
        clientSoftwareName: options.clientSoftwareName ?? "kpax",
        clientSoftwareVersion: options.clientSoftwareVersion ?? "0.1.0"
      },
      options.reconnectBackoff ?? defaultBackoff,
      metrics
    )
    yield* Effect.addFinalizer(() => connector.shutdown)

    /** Requests to this broker are held until then (KIP-219 throttling). */
    let throttledUntil = 0

    /** The transport options of requests with the default timeout, by API name (one object each). */
    const defaultSendOptions = new Map<string, { readonly timeoutMs: number; readonly api: string }>()
    const sendOptionsOf = (api: AnyApi, options: RequestOptions | undefined) => {
      if (options?.timeout !== undefined) return { timeoutMs: Duration.toMillis(options.timeout), api: api.name }
      let o = defaultSendOptions.get(api.name)
      if (o === undefined) {
        o = { timeoutMs: requestTimeoutMs, api: api.name }
        defaultSendOptions.set(api.name, o)
      }
      return o
    }

    /**
     * One request on a live session, run synchronously up to the write (called from the
     * request's one `contextWith`: no `suspend`/`flatMap` layers before the transport).
     */
    const exchange = <Req, Res>(
      session: Session,
      ctx: Context.Context<never>,
      api: Api<Req, Res>,
      req: Req,
      options: RequestOptions | undefined,
      expectResponse: boolean
    ): Effect.Effect<Res | undefined, BrokerError> => {
      const version = session.versions.pick(api, options?.version)
      if (version < 0) return Effect.fail(unsupported(session, api, options?.version))
      const sendOptions = sendOptionsOf(api, options)
      const clock = Context.get(ctx, Clock.Clock)
      const m = metrics.api(api.name)
      // a span nobody records costs a span object, an attributes map and a context per request
      const traced = tracing && Context.get(ctx, Tracer.Tracer) !== Tracer.nativeTracer
      const transport = session.transport
      const write = (): Effect.Effect<Res | undefined, BrokerError> => {
        if (validate) {
          const invalid = validateRequest(api, version, req)
          if (invalid !== undefined) {
            m.errors.updateUnsafe(1, ctx)
            return Effect.fail(invalid)
          }
        }
        const correlationId = transport.nextCorrelationId()
        const encoded = session.encode(api, version, correlationId, req)
        if (Result.isFailure(encoded)) {
          m.errors.updateUnsafe(1, ctx)
          return Effect.fail(encoded.failure)
        }
        const frame = encoded.success
        m.requests.updateUnsafe(1, ctx)
        m.bytesOut.updateUnsafe(frame.length, ctx)
        const started = performance.now()
        let effect: Effect.Effect<Res | undefined, BrokerError>
        if (expectResponse) {
          metrics.inFlight.updateUnsafe(transport.inFlight + 1, ctx)
          effect = Effect.flatMap(transport.request(frame, correlationId, sendOptions), (bytes) => {
            m.bytesIn.updateUnsafe(bytes.length, ctx)
            m.latency.updateUnsafe(performance.now() - started, ctx)
            metrics.inFlight.updateUnsafe(transport.inFlight, ctx)
            const decoded = session.decode(api, version, bytes)
            if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
            const res = decoded.success
            const throttle = throttleOf(res)
            if (throttle > 0) throttledUntil = Math.max(throttledUntil, clock.currentTimeMillisUnsafe() + throttle)
            if (!traced) return Effect.succeed(res)
            const errorType = responseErrorType(res)
            return Effect.as(
              errorType === undefined
                ? Effect.annotateCurrentSpan("kafka.response.bytes", bytes.length)
                : Effect.annotateCurrentSpan({ "kafka.response.bytes": bytes.length, [Telemetry.A.errorType]: errorType }),
              res
            )
          })
        } else {
          effect = Effect.as(transport.send(frame, sendOptions), undefined)
        }
        effect = Effect.tapError(effect, () =>
          Effect.sync(() => {
            m.errors.updateUnsafe(1, ctx)
            metrics.inFlight.updateUnsafe(transport.inFlight, ctx)
          }))
        if (!traced) return effect
        return Effect.withSpan(
          Effect.tapError(effect, (e) => Effect.annotateCurrentSpan(Telemetry.A.errorType, Telemetry.errorType(e))),
          `kafka.${api.name}`,
          {
            kind: "client",
            captureStackTrace: false,
            attributes: requestAttributes(api.name, req, {
              "messaging.system": "kafka",
              "server.address": server.host,
              "server.port": server.port,
              "kafka.api": api.name,
              "kafka.api.version": version,
              "kafka.broker": address,
              "kafka.correlation_id": correlationId,
              "kafka.request.bytes": frame.length
            })
          }
        )
      }
      const wait = throttledUntil - clock.currentTimeMillisUnsafe()
      return wait > 0 ? Effect.andThen(Effect.sleep(wait), Effect.suspend(write)) : write()
    }

    /** The live session's exchange, or connect first. */
    const onSession = <Req, Res>(
      api: Api<Req, Res>,
      req: Req,
      options: RequestOptions | undefined,
      expectResponse: boolean
    ): Effect.Effect<Res | undefined, BrokerError> =>
      Effect.contextWith((ctx: Context.Context<never>) => {
        const live = connector.current
        return live !== undefined
          ? exchange(live, ctx, api, req, options, expectResponse)
          : Effect.flatMap(connector.get, (session) => exchange(session, ctx, api, req, options, expectResponse))
      })

    const request = <Req, Res>(api: Api<Req, Res>, req: Req, options?: RequestOptions) =>
      onSession(api, req, options, true) as Effect.Effect<Res, BrokerError>

    const send = <Req>(api: Api<Req, any>, req: Req, options?: RequestOptions) =>
      Effect.asVoid(onSession(api, req, options, false))

    const service: BrokerService = {
      address,
      nodeId: options.nodeId,
      request,
      send,
      apiVersions: Effect.map(connector.get, (session) => session.versions.ranges),
      versionFor: (api, forced) =>
        Effect.flatMap(connector.get, (session) => {
          const v = session.versions.pick(api, forced)
          return v < 0 ? Effect.fail(unsupported(session, api, forced)) : Effect.succeed(v)
        }),
      disconnect: connector.disconnect("disconnected by the client"),
      stats: Effect.sync(() => {
        const current = connector.current
        const t = current?.transport.stats
        return {
          connected: current !== undefined,
          connects: connector.connects,
          inFlight: current?.transport.inFlight ?? 0,
          bytesIn: t?.bytesIn ?? 0,
          bytesOut: t?.bytesOut ?? 0,
          droppedLateResponses: t?.droppedLateResponses ?? 0,
          reauthentications: current?.reauthentications ?? 0
        }
      })
    }
    return service
  })

/**
 * The `Broker` service: one connection to one broker.
 *
 * @example
 * ```ts
 * const layer = Broker.layer({
 *   host: "kafka.example.com",
 *   port: 9093,
 *   tls: true,
 *   sasl: { mechanism: "SCRAM-SHA-512", username: "app", password: Redacted.make(secret) }
 * })
 * ```
 */
export class Broker extends Context.Service<Broker, BrokerService>()("kpax/Broker") {
  /** A layer holding one broker connection for the layer's lifetime. */
  static readonly layer = (options: BrokerOptions): Layer.Layer<Broker> => Layer.effect(Broker, make(options))
}
