/**
 * One socket to one broker carrying pipelined, size-prefixed frames.
 *
 * Effect only at the edges (`connect`, `request`, `send`, `close`). Inside, plain TypeScript:
 * - a correlation-id map of entries, each resuming its waiting fiber synchronously from the
 *   `'data'` handler (the `resume` of the request's `Effect.callback`: no `Deferred`, no extra
 *   interruption wrapper per request);
 * - a bound on requests in flight (`maxInFlight` slots, FIFO of waiters);
 * - a write queue honouring backpressure (`socket.write` returned false → wait for `'drain'`)
 *   and a gate for exclusive exchanges (re-authentication);
 * - one timer per connection for the requests' timeouts (no fiber and no `setTimeout` per
 *   request): requests with the same timeout expire in submission order, so each timeout has a
 *   FIFO of deadlines and the timer is armed for the earliest head.
 * A timed-out or interrupted request leaves the map; its late response is dropped. A socket error,
 * close, oversized frame or unknown correlation id fails every entry and closes the socket.
 *
 * @internal
 */
import type * as net from "node:net"
import { Deferred, Effect, Exit } from "effect"
import type { Scope } from "effect"
import { ConnectionError, RequestTimeoutError } from "../Errors.ts"
import type { TlsError, TransportError } from "../Errors.ts"
import { FrameParts } from "../../Protocol/internal/ProduceFrame.ts"
import type { FrameBytes } from "../../Protocol/internal/ProduceFrame.ts"
import { FrameSplitter } from "./FrameSplitter.ts"
import { openSocket } from "./Socket.ts"
import type { SocketOptions } from "./Socket.ts"

export type { TlsOptions } from "./Socket.ts"

export interface TransportOptions extends SocketOptions {
  /** Largest frame accepted from the broker (default 100 MiB). Larger → the connection is closed. */
  readonly maxFrameBytes?: number | undefined
  /** Most requests written and awaiting a response at once; further requests wait (default 1024). */
  readonly maxInFlight?: number | undefined
  /**
   * A response whose correlation id is not awaited (and was not given up on): `"fail"` closes the
   * connection (default), `"drop"` ignores it.
   */
  readonly unknownCorrelationId?: "fail" | "drop" | undefined
}

export interface RequestOptions {
  /** Fail with `RequestTimeoutError` after this many ms, waiting for a slot included. 0 = none. */
  readonly timeoutMs?: number | undefined
  /** API name, for error messages. */
  readonly api?: string | undefined
  /** Bypass the slot bound and the gate held by `exclusive` (the re-authentication exchange). */
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
  /** Requests holding a slot (written, or about to be) whose response is awaited. */
  readonly inFlight: number
  readonly stats: TransportStats
  /** The next correlation id: an int32 counter wrapping to 0, skipping ids still in use. */
  nextCorrelationId(): number
  /**
   * Writes a whole size-prefixed frame (one buffer, or parts written back to back) and waits for the response frame with the same
   * correlation id. Succeeds with the response bytes after the size prefix (starting with the
   * correlation id).
   */
  request(frame: FrameBytes, correlationId: number, options?: RequestOptions): Effect.Effect<Uint8Array, TransportError>
  /** Writes a frame that gets no response (Produce with acks=0); completes when handed to the socket. */
  send(frame: FrameBytes, options?: RequestOptions): Effect.Effect<void, TransportError>
  /** Runs `self` while holding back every write that is not `priority`. */
  exclusive<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
  /** Waits until the connection is closed; succeeds with the reason. */
  readonly closed: Effect.Effect<ConnectionError | TlsError>
  /** Closes the socket; in-flight requests fail with `ConnectionError` (reason `Closed`). */
  close(message?: string): Effect.Effect<void>
}

const DEFAULT_MAX_FRAME = 100 * 1024 * 1024
const MAX_ABANDONED = 16_384

const WAITING_SLOT = 0
const WAITING_WRITE = 1
const WRITTEN = 2
const DONE = 3

type Resume = (effect: Effect.Effect<Uint8Array, TransportError>) => void

/** A request from submission to response. */
class Entry {
  readonly correlationId: number
  readonly frame: FrameBytes
  /** Resumes the requesting fiber; called once (later calls are ignored by `Effect.callback`). */
  readonly resume: Resume
  readonly priority: boolean
  readonly api: string | undefined
  readonly timeoutMs: number
  state = WAITING_SLOT
  holdsSlot = false
  /** `performance.now()` by which the response must arrive (when `timeoutMs > 0`). */
  deadline = 0
  /** The deadline FIFO this entry is in (requests with the same `timeoutMs`). */
  deadlines: Fifo<Entry> | undefined = undefined

  constructor(frame: FrameBytes, correlationId: number, options: RequestOptions | undefined, resume: Resume) {
    this.frame = frame
    this.correlationId = correlationId
    this.resume = resume
    this.priority = options?.priority === true
    this.api = options?.api
    this.timeoutMs = options?.timeoutMs ?? 0
  }
}

/** A frame with no response (`send`) waiting to be written. */
class OneWay {
  readonly frame: FrameBytes
  readonly priority: boolean
  readonly resume: (effect: Effect.Effect<void, TransportError>) => void
  cancelled = false

  constructor(frame: FrameBytes, priority: boolean, resume: (effect: Effect.Effect<void, TransportError>) => void) {
    this.frame = frame
    this.priority = priority
    this.resume = resume
  }
}

type Writable = Entry | OneWay

/** FIFO with O(1) push/shift and lazy removal (stale items are skipped by the consumer). */
class Fifo<A> {
  private items: Array<A | undefined> = []
  private head = 0

  get isEmpty(): boolean {
    return this.head === this.items.length
  }
  push(a: A): void {
    this.items.push(a)
  }
  peek(): A | undefined {
    return this.items[this.head]
  }
  shift(): A | undefined {
    if (this.head === this.items.length) return undefined
    const a = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return a
  }
  drain(): Array<A> {
    const out = this.items.slice(this.head) as Array<A>
    this.items = []
    this.head = 0
    return out
  }
}

const isStale = (w: Writable): boolean => (w instanceof Entry ? w.state !== WAITING_WRITE : w.cancelled)

class TransportImpl implements Transport {
  readonly broker: string
  private readonly socket: net.Socket
  private readonly splitter: FrameSplitter
  /** Every request not finished yet, by correlation id. */
  private readonly pending = new Map<number, Entry>()
  /** Ids given up on after they were written, whose late response is dropped quietly. */
  private readonly abandoned = new Set<number>()
  private readonly slotQueue = new Fifo<Entry>()
  private readonly writeQueue = new Fifo<Writable>()
  private readonly priorityQueue = new Fifo<Writable>()
  private readonly maxInFlight: number
  private readonly closedSignal = Deferred.makeUnsafe<ConnectionError | TlsError>()
  private readonly failOnUnknown: boolean
  private failure: ConnectionError | TlsError | undefined = undefined
  private slotsUsed = 0
  private needDrain = false
  private corked = false
  private paused = 0
  private cid = 0
  /** Entries with a timeout, one FIFO per `timeoutMs` (deadline order within each). */
  private readonly deadlines = new Map<number, Fifo<Entry>>()
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** When `timer` fires (`Infinity` when not armed). */
  private timerAt = Infinity
  private bytesIn = 0
  private bytesOut = 0
  private framesIn = 0
  private framesOut = 0
  private dropped = 0

  constructor(socket: net.Socket, broker: string, options: TransportOptions) {
    this.socket = socket
    this.broker = broker
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1024)
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
    return this.slotsUsed
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

  request(frame: FrameBytes, correlationId: number, options?: RequestOptions): Effect.Effect<Uint8Array, TransportError> {
    // one parameter: a `register` taking a second (the AbortSignal) costs an AbortController per call
    return Effect.callback<Uint8Array, TransportError>((resume) => {
      if (this.failure !== undefined) return resume(Effect.fail(this.failure))
      if (this.pending.has(correlationId)) {
        return resume(Effect.die(new Error(`correlation id ${correlationId} is already in use on ${this.broker}`)))
      }
      const entry = new Entry(frame, correlationId, options, resume)
      this.submit(entry)
      // interruption: forget the entry (a late response is dropped)
      return Effect.sync(() => this.giveUp(entry))
    })
  }

  send(frame: FrameBytes, options?: RequestOptions): Effect.Effect<void, TransportError> {
    const priority = options?.priority === true
    const written = Effect.suspend((): Effect.Effect<void, TransportError> => {
      if (this.failure !== undefined) return Effect.fail(this.failure)
      if (this.canWrite(priority)) {
        this.writeNow(frame)
        return Effect.void
      }
      return Effect.callback<void, TransportError>((resume) => {
        const item = new OneWay(frame, priority, resume)
        ;(priority ? this.priorityQueue : this.writeQueue).push(item)
        return Effect.sync(() => {
          item.cancelled = true
        })
      })
    })
    const timeoutMs = options?.timeoutMs ?? 0
    if (timeoutMs <= 0) return written
    return Effect.timeoutOrElse(written, {
      duration: timeoutMs,
      orElse: () => Effect.fail(this.timeoutError(options?.api, -1, timeoutMs))
    })
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

  // ---- plain TypeScript below: runs synchronously, in socket and timer callbacks ----

  private submit(entry: Entry): void {
    this.pending.set(entry.correlationId, entry)
    this.abandoned.delete(entry.correlationId)
    if (entry.timeoutMs > 0) this.addDeadline(entry)
    if (entry.priority) {
      this.enqueueWrite(entry)
    } else if (this.slotsUsed < this.maxInFlight) {
      this.slotsUsed++
      entry.holdsSlot = true
      this.enqueueWrite(entry)
    } else {
      this.slotQueue.push(entry)
    }
  }

  private canWrite(priority: boolean): boolean {
    return !this.needDrain && (priority ? this.priorityQueue.isEmpty : this.paused === 0 && this.writeQueue.isEmpty)
  }

  private enqueueWrite(entry: Entry): void {
    if (this.canWrite(entry.priority)) {
      entry.state = WRITTEN
      this.writeNow(entry.frame)
    } else {
      entry.state = WAITING_WRITE
      ;(entry.priority ? this.priorityQueue : this.writeQueue).push(entry)
    }
  }

  /**
   * Writes within one tick are corked together and flushed with a single `writev` on the next
   * tick: many pipelined requests cost one syscall, not one each. A frame in parts (a Produce
   * request referencing its record batches) is written part by part into the same `writev`.
   */
  private writeNow(frame: FrameBytes): void {
    this.bytesOut += frame.length
    this.framesOut++
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(this.uncork)
    }
    if (frame instanceof FrameParts) {
      const parts = frame.parts
      let ok = true
      for (let i = 0; i < parts.length; i++) ok = this.socket.write(parts[i]) && ok
      if (!ok) this.needDrain = true
    } else if (!this.socket.write(frame)) this.needDrain = true
  }

  private readonly uncork = (): void => {
    this.corked = false
    this.socket.uncork()
  }

  /** Writes queued frames (priority first) until the socket pushes back again. */
  private flush(): void {
    this.flushQueue(this.priorityQueue)
    if (this.paused === 0) this.flushQueue(this.writeQueue)
  }

  private flushQueue(queue: Fifo<Writable>): void {
    while (!this.needDrain && this.failure === undefined) {
      const next = queue.shift()
      if (next === undefined) return
      if (isStale(next)) continue
      this.writeNow(next.frame)
      if (next instanceof Entry) next.state = WRITTEN
      else next.resume(Effect.void)
    }
  }

  private addDeadline(entry: Entry): void {
    let fifo = this.deadlines.get(entry.timeoutMs)
    if (fifo === undefined) {
      fifo = new Fifo<Entry>()
      this.deadlines.set(entry.timeoutMs, fifo)
    }
    entry.deadline = performance.now() + entry.timeoutMs
    entry.deadlines = fifo
    fifo.push(entry)
    if (entry.deadline < this.timerAt) this.armTimer(entry.deadline)
  }

  private armTimer(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(at - performance.now())))
    // the socket keeps the process alive while requests are pending; a timer left armed for an
    // answered request must not
    this.timer.unref()
  }

  /** Drops answered entries from the head of their deadline FIFO (responses mostly come in order). */
  private static dropDone(fifo: Fifo<Entry>): void {
    for (let head = fifo.peek(); head !== undefined && head.state === DONE; head = fifo.peek()) fifo.shift()
  }

  /** Fails the requests whose deadline passed, then arms the timer for the next one. */
  private readonly onTimer = (): void => {
    this.timer = undefined
    this.timerAt = Infinity
    const now = performance.now()
    const expired: Array<Entry> = []
    for (const [timeoutMs, fifo] of this.deadlines) {
      TransportImpl.dropDone(fifo)
      for (let head = fifo.peek(); head !== undefined && head.deadline <= now; head = fifo.peek()) {
        fifo.shift()
        if (head.state !== DONE) expired.push(head)
        TransportImpl.dropDone(fifo)
      }
      if (fifo.isEmpty) this.deadlines.delete(timeoutMs)
    }
    // resuming runs the requesters' fibers synchronously: they may submit (and arm) again
    for (const entry of expired) this.onTimeout(entry)
    let next = Infinity
    for (const fifo of this.deadlines.values()) {
      const head = fifo.peek()
      if (head !== undefined && head.deadline < next) next = head.deadline
    }
    if (next < this.timerAt) this.armTimer(next)
  }

  /** Ends an entry's bookkeeping: map, deadline, slot. */
  private retire(entry: Entry): void {
    entry.state = DONE
    if (this.pending.get(entry.correlationId) === entry) this.pending.delete(entry.correlationId)
    if (entry.deadlines !== undefined) {
      if (entry.deadlines.peek() === entry) TransportImpl.dropDone(entry.deadlines)
      entry.deadlines = undefined
    }
    if (entry.holdsSlot) {
      entry.holdsSlot = false
      this.releaseSlot()
    }
  }

  private releaseSlot(): void {
    this.slotsUsed--
    if (this.failure !== undefined) return
    for (;;) {
      const next = this.slotQueue.shift()
      if (next === undefined) return
      if (next.state !== WAITING_SLOT) continue
      this.slotsUsed++
      next.holdsSlot = true
      this.enqueueWrite(next)
      return
    }
  }

  /** Timeout or interruption: forget the entry; a late response to a written one is dropped. */
  private giveUp(entry: Entry): void {
    if (entry.state === DONE) return
    const written = entry.state === WRITTEN
    this.retire(entry)
    if (written && this.failure === undefined) {
      this.abandoned.add(entry.correlationId)
      if (this.abandoned.size > MAX_ABANDONED) {
        this.abandoned.delete(this.abandoned.values().next().value as number)
      }
    }
  }

  private onTimeout(entry: Entry): void {
    if (entry.state === DONE) return
    const written = entry.state === WRITTEN
    this.giveUp(entry)
    const error = this.timeoutError(entry.api, entry.correlationId, entry.timeoutMs)
    // A broker answers a connection's requests in order: one written and never answered means
    // nothing more will come (a paused broker, a half-open connection). Close it, as the Java
    // client does, so the next request opens a new one instead of timing out too (closed before
    // the caller resumes: resuming may run it at once).
    if (written) this.fail(new ConnectionError({ broker: this.broker, reason: "Closed", message: `closed after ${error.message}` }))
    entry.resume(Exit.fail(error))
  }

  private timeoutError(api: string | undefined, correlationId: number, timeoutMs: number): RequestTimeoutError {
    return new RequestTimeoutError({
      broker: this.broker,
      api: api ?? "unknown",
      correlationId,
      timeoutMs,
      message: `${api ?? "request"}${correlationId >= 0 ? ` (correlation id ${correlationId})` : ""} to ${this.broker} ` +
        `got no response within ${timeoutMs} ms`
    })
  }

  private closedError(message: string): ConnectionError {
    const expected = this.splitter.expectedFrameBytes
    const partial = expected >= 0
      ? ` (mid-frame: ${this.splitter.pendingBytes - 4} of ${expected} bytes received)`
      : ""
    return new ConnectionError({ broker: this.broker, reason: "Closed", message: `${message}: ${this.broker}${partial}` })
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
    const entry = this.pending.get(correlationId)
    if (entry !== undefined && entry.state === WRITTEN) {
      this.retire(entry)
      entry.resume(Exit.succeed(frame))
      return
    }
    if (entry === undefined && (this.abandoned.delete(correlationId) || !this.failOnUnknown)) {
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

  /**
   * Closes the socket and fails everything in flight or waiting. Idempotent. All bookkeeping is
   * settled before any request resumes: resuming one may run its fiber synchronously.
   */
  private fail(error: ConnectionError | TlsError): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.socket.destroy()
    this.splitter.clear()
    const exit = Exit.fail(error)
    const entries = [...this.pending.values()]
    const oneWays = [...this.writeQueue.drain(), ...this.priorityQueue.drain()]
    this.pending.clear()
    this.abandoned.clear()
    this.slotQueue.drain()
    this.slotsUsed = 0
    this.deadlines.clear()
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Infinity
    for (const entry of entries) {
      entry.state = DONE
      entry.holdsSlot = false
      entry.deadlines = undefined
    }
    for (const entry of entries) entry.resume(exit)
    for (const w of oneWays) if (w instanceof OneWay && !w.cancelled) w.resume(exit)
    Deferred.doneUnsafe(this.closedSignal, Exit.succeed(error))
  }
}

/**
 * Opens a connection. The socket is destroyed when the scope closes (in-flight requests then fail
 * with `ConnectionError` reason `Closed`).
 */
export const connect = (options: TransportOptions): Effect.Effect<Transport, ConnectionError | TlsError, Scope.Scope> =>
  Effect.acquireRelease(open(options), (t) => t.close())

/** Opens a connection that the caller must `close`. */
export const open = (options: TransportOptions): Effect.Effect<Transport, ConnectionError | TlsError> =>
  Effect.map(openSocket(options), (socket) => new TransportImpl(socket, `${options.host}:${options.port}`, options))
