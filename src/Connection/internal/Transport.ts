/**
 * A thin `node:net` / `node:tls` wrapper: one socket, pipelined size-prefixed frames, a
 * correlation-id map of `Deferred`s completed synchronously from the `'data'` handler.
 *
 * Effect lives at the edges (`connect`, `request`, `send`, `close`); the data handler, the frame
 * splitter and the write queue are plain TypeScript.
 *
 * @internal
 */
import * as net from "node:net"
import * as tls from "node:tls"
import { Deferred, Effect, Exit, Redacted, Semaphore } from "effect"
import type { Scope } from "effect"
import { ConnectionError, RequestTimeoutError, TlsError } from "../Errors.ts"
import type { TransportError } from "../Errors.ts"
import { FrameSplitter } from "./FrameSplitter.ts"

/** TLS settings. `true` means TLS with the system CAs. */
export interface TlsOptions {
  /** Trusted CA certificates (PEM). Defaults to Node's bundled CAs. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  /** Client certificate chain (PEM), for mutual TLS. */
  readonly cert?: string | Uint8Array | undefined
  /** Client private key (PEM), for mutual TLS. */
  readonly key?: string | Uint8Array | Redacted.Redacted<string | Uint8Array> | undefined
  /** Passphrase of the private key. */
  readonly passphrase?: Redacted.Redacted<string> | undefined
  /** SNI / hostname to verify; defaults to the host unless it is an IP address. */
  readonly servername?: string | undefined
  /** Verify the broker's certificate (default `true`). */
  readonly rejectUnauthorized?: boolean | undefined
}

export interface TransportOptions {
  readonly host: string
  readonly port: number
  readonly tls?: TlsOptions | boolean | undefined
  /** Time allowed to open TCP (and TLS) before failing with `ConnectTimeout` (default 10 s). */
  readonly connectTimeoutMs?: number | undefined
  /** TCP keep-alive initial delay in ms, `false` to disable (default 60 s). */
  readonly keepAliveMs?: number | false | undefined
  /** Disable Nagle's algorithm (default `true`). */
  readonly noDelay?: boolean | undefined
  /** Largest frame accepted from the broker (default 100 MiB). Larger → the connection is closed. */
  readonly maxFrameBytes?: number | undefined
  /** Most requests awaiting a response at once; further requests wait (default 1024). */
  readonly maxInFlight?: number | undefined
  /**
   * A response whose correlation id was never issued (or is not awaited and was not abandoned):
   * `"fail"` closes the connection (default), `"drop"` ignores it.
   */
  readonly unknownCorrelationId?: "fail" | "drop" | undefined
}

export interface RequestOptions {
  /** Fail with `RequestTimeoutError` after this many ms (waiting for a slot included). 0 = none. */
  readonly timeoutMs?: number | undefined
  /** API name, for error messages. */
  readonly api?: string | undefined
  /** Bypass the write gate held by `exclusive` (used for the re-authentication exchange). */
  readonly priority?: boolean | undefined
}

/** Counters of one transport. */
export interface TransportStats {
  readonly bytesIn: number
  readonly bytesOut: number
  readonly framesIn: number
  readonly framesOut: number
  readonly droppedLateResponses: number
}

/** One open socket to one broker. */
export interface Transport {
  /** `host:port` */
  readonly broker: string
  readonly isOpen: boolean
  /** Requests written or waiting to be written whose response is awaited. */
  readonly inFlight: number
  readonly stats: TransportStats
  /** The next correlation id: an int32 counter wrapping to 0, skipping ids still awaited. */
  nextCorrelationId(): number
  /**
   * Writes a whole size-prefixed frame and waits for the response frame with the same
   * correlation id. Succeeds with the response bytes after the size prefix (starting with the
   * correlation id).
   */
  request(frame: Uint8Array, correlationId: number, options?: RequestOptions): Effect.Effect<Uint8Array, TransportError>
  /** Writes a frame that gets no response (Produce with acks=0); completes when handed to the socket. */
  send(frame: Uint8Array, options?: RequestOptions): Effect.Effect<void, TransportError>
  /** Runs `self` while holding back every write that is not `priority`. */
  exclusive<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
  /** Waits until the connection is closed; succeeds with the reason. */
  readonly closed: Effect.Effect<ConnectionError | TlsError>
  /** Closes the socket; in-flight requests fail with `ConnectionError` (reason `Closed`). */
  close(message?: string): Effect.Effect<void>
}

const DEFAULT_MAX_FRAME = 100 * 1024 * 1024
const MAX_ABANDONED = 16_384

interface WriteWaiter {
  readonly frame: Uint8Array
  readonly priority: boolean
  readonly resume: (effect: Effect.Effect<void, ConnectionError | TlsError>) => void
}

class TransportImpl implements Transport {
  readonly broker: string
  private readonly socket: net.Socket
  private readonly splitter: FrameSplitter
  private readonly pending = new Map<number, Deferred.Deferred<Uint8Array, TransportError>>()
  /** Ids given up on (timeout / interruption) whose late response must be dropped quietly. */
  private readonly abandoned = new Set<number>()
  private readonly waiters = new Set<WriteWaiter>()
  private readonly permits: Semaphore.Semaphore
  private readonly closedSignal = Deferred.makeUnsafe<ConnectionError | TlsError>()
  private readonly failOnUnknown: boolean
  private failure: ConnectionError | TlsError | undefined = undefined
  private needDrain = false
  private paused = 0
  private cid = 0
  private bytesIn = 0
  private bytesOut = 0
  private framesIn = 0
  private framesOut = 0
  private dropped = 0

  constructor(socket: net.Socket, broker: string, options: TransportOptions) {
    this.socket = socket
    this.broker = broker
    this.permits = Semaphore.makeUnsafe(options.maxInFlight ?? 1024)
    this.failOnUnknown = (options.unknownCorrelationId ?? "fail") === "fail"
    this.splitter = new FrameSplitter(options.maxFrameBytes ?? DEFAULT_MAX_FRAME, (frame) => this.onFrame(frame))
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("drain", () => {
      this.needDrain = false
      this.flush()
    })
    socket.on("error", (err: NodeJS.ErrnoException) =>
      this.fail(
        new ConnectionError({
          broker,
          reason: "Socket",
          message: `socket error on ${broker}: ${err.code ?? ""} ${err.message}`.replace(/\s+/g, " "),
          cause: err
        })
      )
    )
    socket.on("close", () => this.fail(this.closedError("connection closed by the broker")))
  }

  get isOpen(): boolean {
    return this.failure === undefined
  }

  get inFlight(): number {
    return this.pending.size
  }

  get stats(): TransportStats {
    return {
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      droppedLateResponses: this.dropped
    }
  }

  get closed(): Effect.Effect<ConnectionError | TlsError> {
    return Deferred.await(this.closedSignal)
  }

  nextCorrelationId(): number {
    do {
      this.cid = this.cid === 0x7fffffff ? 0 : this.cid + 1
    } while (this.pending.has(this.cid) || this.abandoned.has(this.cid))
    return this.cid
  }

  request(frame: Uint8Array, correlationId: number, options?: RequestOptions): Effect.Effect<Uint8Array, TransportError> {
    const priority = options?.priority === true
    const exchange = Effect.suspend(() => {
      if (this.failure !== undefined) return Effect.fail(this.failure)
      if (this.pending.has(correlationId)) {
        return Effect.die(new Error(`correlation id ${correlationId} is already awaited on ${this.broker}`))
      }
      const deferred = Deferred.makeUnsafe<Uint8Array, TransportError>()
      this.pending.set(correlationId, deferred)
      this.abandoned.delete(correlationId)
      return this.write(frame, priority).pipe(
        Effect.andThen(Deferred.await(deferred)),
        Effect.onExit(() => Effect.sync(() => this.forget(correlationId, deferred)))
      )
    })
    // Priority requests (re-authentication) must not queue behind requests held by the gate.
    const bounded = priority ? exchange : this.permits.withPermit(exchange)
    return this.withTimeout(bounded, correlationId, options)
  }

  send(frame: Uint8Array, options?: RequestOptions): Effect.Effect<void, TransportError> {
    const written = Effect.suspend(() => this.write(frame, options?.priority === true))
    return this.withTimeout(written, -1, options)
  }

  exclusive<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.acquireUseRelease(
      Effect.sync(() => {
        this.paused++
      }),
      () => self,
      () =>
        Effect.sync(() => {
          this.paused--
          this.flush()
        })
    )
  }

  close(message = "connection closed by the client"): Effect.Effect<void> {
    return Effect.sync(() => this.fail(this.closedError(message)))
  }

  // ---- plain TypeScript below: runs in socket callbacks ----

  private withTimeout<A>(
    self: Effect.Effect<A, TransportError>,
    correlationId: number,
    options: RequestOptions | undefined
  ): Effect.Effect<A, TransportError> {
    const timeoutMs = options?.timeoutMs ?? 0
    if (timeoutMs <= 0) return self
    return Effect.timeoutOrElse(self, {
      duration: timeoutMs,
      orElse: () =>
        Effect.fail(
          new RequestTimeoutError({
            broker: this.broker,
            api: options?.api ?? "unknown",
            correlationId,
            timeoutMs,
            message: `${options?.api ?? "request"} (correlation id ${correlationId}) to ${this.broker} ` +
              `got no response within ${timeoutMs} ms`
          })
        )
    })
  }

  private closedError(message: string): ConnectionError {
    const expected = this.splitter.expectedFrameBytes
    const partial = expected >= 0
      ? ` (mid-frame: ${this.splitter.pendingBytes - 4} of ${expected} bytes received)`
      : ""
    return new ConnectionError({ broker: this.broker, reason: "Closed", message: `${message}: ${this.broker}${partial}` })
  }

  /** Removes an entry that ended without its response (timeout, interruption, failure). */
  private forget(correlationId: number, deferred: Deferred.Deferred<Uint8Array, TransportError>): void {
    if (this.pending.get(correlationId) !== deferred) return // answered (or the map was cleared)
    this.pending.delete(correlationId)
    if (this.failure !== undefined) return
    this.abandoned.add(correlationId)
    if (this.abandoned.size > MAX_ABANDONED) {
      const oldest = this.abandoned.values().next().value as number
      this.abandoned.delete(oldest)
    }
  }

  private write(frame: Uint8Array, priority: boolean): Effect.Effect<void, ConnectionError | TlsError> {
    if (this.failure !== undefined) return Effect.fail(this.failure)
    if (!this.needDrain && (this.paused === 0 || priority)) {
      this.writeNow(frame)
      return Effect.void
    }
    return Effect.callback<void, ConnectionError | TlsError>((resume) => {
      const waiter: WriteWaiter = { frame, priority, resume }
      this.waiters.add(waiter)
      return Effect.sync(() => {
        this.waiters.delete(waiter)
      })
    })
  }

  private writeNow(frame: Uint8Array): void {
    this.bytesOut += frame.length
    this.framesOut++
    if (!this.socket.write(frame)) this.needDrain = true
  }

  /** Writes queued frames until the socket pushes back again. */
  private flush(): void {
    for (const waiter of this.waiters) {
      if (this.failure !== undefined) return
      if (this.needDrain) return
      if (this.paused > 0 && !waiter.priority) continue
      this.waiters.delete(waiter)
      this.writeNow(waiter.frame)
      waiter.resume(Effect.void)
    }
  }

  private onData(chunk: Buffer): void {
    if (this.failure !== undefined) return
    this.bytesIn += chunk.length
    const fault = this.splitter.push(chunk)
    if (fault !== undefined) {
      this.fail(
        new ConnectionError({ broker: this.broker, reason: fault.kind, message: `${fault.message} from ${this.broker}` })
      )
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.failure !== undefined) return
    this.framesIn++
    const correlationId = frame.readInt32BE(0)
    const deferred = this.pending.get(correlationId)
    if (deferred !== undefined) {
      this.pending.delete(correlationId)
      Deferred.doneUnsafe(deferred, Exit.succeed(frame))
      return
    }
    if (this.abandoned.delete(correlationId) || !this.failOnUnknown) {
      this.dropped++
      return
    }
    this.fail(
      new ConnectionError({
        broker: this.broker,
        reason: "Protocol",
        message: `response with unknown correlation id ${correlationId} from ${this.broker}`
      })
    )
  }

  /** Closes the socket and fails everything in flight or waiting to be written. Idempotent. */
  private fail(error: ConnectionError | TlsError): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.socket.destroy()
    this.splitter.clear()
    const exit = Exit.fail(error)
    for (const deferred of this.pending.values()) Deferred.doneUnsafe(deferred, exit)
    this.pending.clear()
    this.abandoned.clear()
    for (const waiter of this.waiters) waiter.resume(exit)
    this.waiters.clear()
    Deferred.doneUnsafe(this.closedSignal, Exit.succeed(error))
  }
}

// ---- connecting ----

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "HOSTNAME_MISMATCH"
])

const isTlsFailure = (err: NodeJS.ErrnoException): boolean => {
  const code = err.code ?? ""
  return TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") ||
    "library" in err || "reason" in err
}

const ignore = () => {}

const reveal = <A>(value: A | Redacted.Redacted<A> | undefined): A | undefined =>
  value === undefined ? undefined : Redacted.isRedacted(value) ? Redacted.value(value) : value

const tlsConnectOptions = (options: TransportOptions, settings: TlsOptions): tls.ConnectionOptions => {
  const servername = settings.servername ?? (net.isIP(options.host) === 0 ? options.host : undefined)
  const out: tls.ConnectionOptions = {
    host: options.host,
    port: options.port,
    rejectUnauthorized: settings.rejectUnauthorized ?? true
  }
  if (servername !== undefined) out.servername = servername
  if (settings.ca !== undefined) out.ca = settings.ca as tls.ConnectionOptions["ca"]
  if (settings.cert !== undefined) out.cert = settings.cert as tls.ConnectionOptions["cert"]
  const key = reveal(settings.key)
  if (key !== undefined) out.key = key as tls.ConnectionOptions["key"]
  const passphrase = reveal(settings.passphrase)
  if (passphrase !== undefined) out.passphrase = passphrase
  return out
}

/**
 * Opens a connection. The socket is destroyed when the scope closes (in-flight requests then fail
 * with `ConnectionError` reason `Closed`).
 */
export const connect = (options: TransportOptions): Effect.Effect<Transport, ConnectionError | TlsError, Scope.Scope> =>
  Effect.acquireRelease(open(options), (t) => t.close())

/** Opens a connection that the caller must `close`. */
export const open = (options: TransportOptions): Effect.Effect<Transport, ConnectionError | TlsError> =>
  Effect.callback<Transport, ConnectionError | TlsError>((resume, _signal) => {
    const broker = `${options.host}:${options.port}`
    const tlsSettings = options.tls === true ? {} : options.tls === false ? undefined : options.tls
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    let tcpConnected = false
    let settled = false

    const socket: net.Socket = tlsSettings !== undefined
      ? tls.connect(tlsConnectOptions(options, tlsSettings))
      : net.connect({ host: options.host, port: options.port })

    const timer = setTimeout(() => {
      settle()
      socket.on("error", ignore)
      socket.destroy()
      resume(Effect.fail(
        new ConnectionError({
          broker,
          reason: "ConnectTimeout",
          message: `could not connect to ${broker} within ${connectTimeoutMs} ms` +
            (tcpConnected ? " (TLS handshake incomplete)" : "")
        })
      ))
    }, connectTimeoutMs)

    const onTcp = () => {
      tcpConnected = true
    }
    const onError = (err: NodeJS.ErrnoException) => {
      settle()
      socket.on("error", ignore) // a destroyed socket may still report; never leave 'error' unhandled
      socket.destroy()
      if (tlsSettings !== undefined && (isTlsFailure(err) || tcpConnected)) {
        resume(Effect.fail(new TlsError({ broker, code: err.code, message: `TLS handshake with ${broker} failed: ${err.message}`, cause: err })))
      } else {
        resume(Effect.fail(
          new ConnectionError({ broker, reason: "Refused", message: `could not connect to ${broker}: ${err.message}`, cause: err })
        ))
      }
    }
    const onClose = () => onError(Object.assign(new Error("connection closed during connect"), { code: "ECONNRESET" }))
    const onReady = () => {
      settle()
      socket.setNoDelay(options.noDelay ?? true)
      if (options.keepAliveMs !== false) socket.setKeepAlive(true, options.keepAliveMs ?? 60_000)
      resume(Effect.succeed(new TransportImpl(socket, broker, options)))
    }
    function settle() {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.off("connect", onTcp)
      socket.off("error", onError)
      socket.off("close", onClose)
      socket.off(tlsSettings !== undefined ? "secureConnect" : "connect", onReady)
    }

    socket.on("connect", onTcp)
    socket.once(tlsSettings !== undefined ? "secureConnect" : "connect", onReady)
    socket.once("error", onError)
    socket.once("close", onClose)
    return Effect.sync(() => {
      if (!settled) {
        settle()
        socket.on("error", ignore)
        socket.destroy()
      }
    })
  })
