/**
 * The in-memory broker connection: a `BrokerService` whose requests are answered by the cluster's
 * handlers instead of a socket. Like a real connection it negotiates versions (the cluster's
 * ApiVersions), validates requests, round-trips request and response bodies through the wire
 * codecs at the chosen version, processes one request at a time in arrival order (a Kafka broker
 * mutes a connection until it has answered its request), times requests out, and fails every
 * request in flight with `ConnectionError` when the connection drops or the broker goes down.
 *
 * @internal
 */
import { Deferred, Duration, Effect, Exit, Result } from "effect"
import type { Scope } from "effect"
import type { NodeAddress } from "../../Cluster/Cluster.ts"
import type { BrokerService, BrokerStats, RequestOptions } from "../../Connection/Broker.ts"
import { ConnectionError, RequestTimeoutError, UnsupportedVersionError } from "../../Connection/Errors.ts"
import type { BrokerError } from "../../Connection/Errors.ts"
import { validateRequest } from "../../Connection/internal/Validation.ts"
import type { Api, AnyApi } from "../../Protocol/Api.ts"
import { decodeRequestFrame, decodeResponseFrame, encodeRequestFrameResult, encodeResponseFrame } from "../../Protocol/Frame.ts"
import { rangeOf, routes } from "./handlers/index.ts"
import type { Droppable, Kafka, LoggedRequest, RequestContext } from "./kafka.ts"

interface Conn {
  readonly id: number
  readonly closed: Deferred.Deferred<never, ConnectionError>
  /** Completes when the last request queued on this connection has been processed. */
  tail: Deferred.Deferred<void>
  /** Completes once the connection is set up (at once unless `connectionSetup` is set). */
  readonly ready: Deferred.Deferred<void>
  correlationId: number
}

const done = Deferred.makeUnsafe<void>()
Deferred.doneUnsafe(done, Exit.void)

export const makeConnect = (kafka: Kafka) => (node: NodeAddress): Effect.Effect<BrokerService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const target = [...kafka.state.brokers.values()].find((b) => b.host === node.host && b.port === node.port)
    const address = `${node.host}:${node.port}`
    const clientId = kafka.options.clientId
    let conn: Conn | undefined
    let connects = 0
    let inFlight = 0
    let bytesIn = 0
    let bytesOut = 0

    const close = (message: string) => {
      const c = conn
      if (c === undefined) return
      conn = undefined
      kafka.connectionClosed(c.id)
      Deferred.doneUnsafe(c.closed, Exit.fail(new ConnectionError({ broker: address, reason: "Closed", message })))
    }

    const handle: Droppable = { nodeId: node.nodeId, targetNodeId: target?.nodeId, drop: close }
    kafka.handles.add(handle)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        kafka.handles.delete(handle)
        close(`connection to ${address} closed by the client`)
      })
    )

    const open = (): Result.Result<Conn, ConnectionError> => {
      if (conn !== undefined) return Result.succeed(conn)
      if (target === undefined || !target.up) {
        return Result.fail(new ConnectionError({ broker: address, reason: "Refused", message: `connect ECONNREFUSED ${address}` }))
      }
      connects++
      bytesIn = 0
      bytesOut = 0
      let ready = done
      const setupMs = kafka.options.connectionSetupMs
      if (setupMs > 0) {
        const pending = Deferred.makeUnsafe<void>()
        kafka.scheduler.after(setupMs, () => Deferred.doneUnsafe(pending, Exit.void))
        ready = pending
      }
      conn = { id: ++kafka.connectionCounter, closed: Deferred.makeUnsafe(), tail: done, correlationId: 0, ready }
      return Result.succeed(conn)
    }

    const pick = (api: AnyApi, forced: number | undefined): number => {
      const range = rangeOf(kafka, api.key)
      if (range === undefined) return -1
      const lo = Math.max(api.minVersion, range.min)
      const hi = Math.min(api.maxVersion, range.max)
      if (forced !== undefined) return forced >= lo && forced <= hi ? forced : -1
      return hi >= lo ? hi : -1
    }

    const unsupported = (api: AnyApi, forced: number | undefined) => {
      const range = rangeOf(kafka, api.key)
      return new UnsupportedVersionError({
        broker: address,
        api: api.name,
        apiKey: api.key,
        clientMin: api.minVersion,
        clientMax: api.maxVersion,
        brokerMin: range?.min,
        brokerMax: range?.max,
        message: forced !== undefined
          ? `${api.name} v${forced} is not supported by the in-memory broker ${address}`
          : `no common version of ${api.name} with the in-memory broker ${address}`
      })
    }

    /**
     * Queues a request on the connection; the returned effect processes it (after the requests
     * before it) and gives its response. Fails at once for an unusable request.
     */
    const submit = <Req, Res>(api: Api<Req, Res>, req: Req, options: RequestOptions | undefined): Result.Result<Effect.Effect<Res, BrokerError>, BrokerError> => {
      const opened = open()
      if (Result.isFailure(opened)) return Result.fail(opened.failure)
      const c = opened.success
      const version = pick(api, options?.version)
      if (version < 0) return Result.fail(unsupported(api, options?.version))
      if (kafka.options.validateRequests) {
        const invalid = validateRequest(api, version, req)
        if (invalid !== undefined) return Result.fail(invalid)
      }
      const correlationId = c.correlationId++
      let body: unknown = req
      if (kafka.options.wire) {
        const frame = encodeRequestFrameResult(api, version, correlationId, clientId, req)
        if (Result.isFailure(frame)) return Result.fail(frame.failure)
        bytesOut += frame.success.length
        const decoded = decodeRequestFrame(frame.success.subarray(4))
        if (Result.isFailure(decoded)) throw new Error(`in-memory broker: cannot read back ${api.name} v${version}: ${decoded.failure.message}`)
        body = decoded.success.body
      }
      const nodeId = target!.nodeId
      const route = routes.get(api.key)!
      // the request takes its place in the connection's queue once the connection is set up
      let logged: LoggedRequest | undefined
      const enqueue = (): Effect.Effect<Res, BrokerError> => {
        logged = kafka.logRequest({
          nodeId,
          connection: c.id,
          api: api.name,
          apiKey: api.key,
          version,
          request: body,
          at: kafka.scheduler.now()
        })
        const previous = c.tail
        const mine = Deferred.makeUnsafe<void>()
        c.tail = mine
        const process: Effect.Effect<Res, BrokerError> = Effect.suspend(() => {
          const delayMs = kafka.faults.takeDelay(api.key, nodeId)
          const answer = Effect.suspend((): Effect.Effect<Res, BrokerError> => {
            if (!target!.up) {
              return Effect.fail(new ConnectionError({ broker: address, reason: "Closed", message: `broker ${nodeId} went down` }))
            }
            const fault = kafka.faults.matcher(api.key, nodeId)
            const ctx: RequestContext = { nodeId, version, now: kafka.scheduler.now(), connection: c.id, fault, clientId }
            let out: unknown
            try {
              out = route.handle(kafka, ctx, body)
            } finally {
              fault.end()
            }
            const response = (Effect.isEffect(out) ? out : Effect.succeed(out)) as Effect.Effect<Res>
            return kafka.options.wire ? Effect.map(response, (res) => roundTrip(api, version, correlationId, res)) : response
          })
          return delayMs > 0 ? Effect.andThen(Effect.sleep(delayMs), answer) : answer
        })
        const ordered = Deferred.await(previous).pipe(
          Effect.andThen(process),
          Effect.ensuring(Effect.sync(() => Deferred.doneUnsafe(mine, Exit.void)))
        )
        return Effect.raceFirst(ordered, Deferred.await(c.closed))
      }
      const timeoutMs = options?.timeout === undefined ? kafka.options.requestTimeoutMs : Duration.toMillis(Duration.fromInputUnsafe(options.timeout))
      const queued = Deferred.isDoneUnsafe(c.ready)
        ? enqueue()
        : Effect.andThen(Effect.raceFirst(Deferred.await(c.ready), Deferred.await(c.closed)), Effect.suspend(enqueue))
      return Result.succeed(
        queued.pipe(
          Effect.timeoutOrElse({
            duration: timeoutMs,
            orElse: () =>
              Effect.fail(new RequestTimeoutError({
                broker: address,
                api: api.name,
                correlationId,
                timeoutMs,
                message: `${api.name} to ${address} timed out after ${timeoutMs} ms`
              }))
          }),
          Effect.tap((res) => Effect.sync(() => {
            if (logged !== undefined) logged.response = res
          })),
          Effect.tapError((e) => Effect.sync(() => {
            if (logged !== undefined) logged.failure = e.message
          }))
        )
      )
    }

    const roundTrip = <Res>(api: Api<any, Res>, version: number, correlationId: number, res: Res): Res => {
      let frame: Uint8Array
      try {
        frame = encodeResponseFrame(api, version, correlationId, res)
      } catch (e) {
        throw new Error(`in-memory broker: its ${api.name} v${version} response cannot be encoded: ${(e as Error).message}`)
      }
      bytesIn += frame.length
      const decoded = decodeResponseFrame(api, version, frame.subarray(4))
      if (Result.isFailure(decoded)) throw new Error(`in-memory broker: cannot read back its ${api.name} v${version} response: ${decoded.failure.message}`)
      return decoded.success.body
    }

    const request = <Req, Res>(api: Api<Req, Res>, req: Req, options?: RequestOptions): Effect.Effect<Res, BrokerError> =>
      Effect.suspend(() => {
        const submitted = submit(api, req, options)
        if (Result.isFailure(submitted)) return Effect.fail(submitted.failure)
        inFlight++
        return Effect.ensuring(submitted.success, Effect.sync(() => inFlight--))
      })

    const send = <Req>(api: Api<Req, any>, req: Req, options?: RequestOptions): Effect.Effect<void, BrokerError> =>
      Effect.suspend(() => {
        const submitted = submit(api, req, options)
        if (Result.isFailure(submitted)) return Effect.fail(submitted.failure)
        // no response: processed in the background, in order with the connection's other requests
        kafka.scheduler.run(Effect.ignore(submitted.success))
        return Effect.void
      })

    const service: BrokerService = {
      address,
      nodeId: node.nodeId,
      request,
      send,
      apiVersions: Effect.suspend(() => {
        const opened = open()
        if (Result.isFailure(opened)) return Effect.fail(opened.failure)
        const m = new Map<number, { readonly min: number; readonly max: number }>()
        for (const key of routes.keys()) {
          const r = rangeOf(kafka, key)
          if (r !== undefined) m.set(key, r)
        }
        return Effect.succeed(m as ReadonlyMap<number, { readonly min: number; readonly max: number }>)
      }),
      versionFor: (api, forced) =>
        Effect.suspend((): Effect.Effect<number, BrokerError> => {
          const opened = open()
          if (Result.isFailure(opened)) return Effect.fail(opened.failure)
          const v = pick(api, forced)
          return v < 0 ? Effect.fail(unsupported(api, forced)) : Effect.succeed(v)
        }),
      disconnect: Effect.sync(() => close(`connection to ${address} closed by the client`)),
      stats: Effect.sync((): BrokerStats => ({
        connected: conn !== undefined,
        connects,
        inFlight,
        bytesIn,
        bytesOut,
        droppedLateResponses: 0,
        reauthentications: 0
      }))
    }
    return service
  })
