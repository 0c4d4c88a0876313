/**
 * Keeps at most one live session to a broker: opens it lazily on the first request, shares an
 * in-progress connect among concurrent callers, reconnects on the next request after the
 * connection died, waiting between consecutive failed attempts as the backoff `Schedule` says,
 * and closes everything when its scope ends.
 *
 * @internal
 */
import { Clock, Deferred, Duration, Effect, Exit, Schedule, Scope } from "effect"
import type { Context, Pull } from "effect"
import { ConnectionError } from "../Errors.ts"
import type { BrokerError } from "../Errors.ts"
import type { BrokerMetrics } from "./Metrics.ts"
import { openSession } from "./Handshake.ts"
import type { SessionOptions } from "./Handshake.ts"
import type { Session } from "./Session.ts"

type Step = (now: number, input: BrokerError) => Pull.Pull<[unknown, Duration.Duration], unknown, unknown>

export class Connector {
  /** Successful connects so far. */
  connects = 0
  private session: Session | undefined = undefined
  private sessionScope: Scope.Closeable | undefined = undefined
  private connecting: Deferred.Deferred<Session, BrokerError> | undefined = undefined
  private closed = false
  private nextAttemptAt = 0
  private step: Step | undefined = undefined
  private readonly scope: Scope.Scope
  private readonly options: SessionOptions
  private readonly backoff: Schedule.Schedule<unknown, BrokerError>
  private readonly metrics: BrokerMetrics
  private readonly broker: string

  constructor(
    scope: Scope.Scope,
    options: SessionOptions,
    backoff: Schedule.Schedule<unknown, BrokerError>,
    metrics: BrokerMetrics
  ) {
    this.scope = scope
    this.options = options
    this.backoff = backoff
    this.metrics = metrics
    this.broker = `${options.transport.host}:${options.transport.port}`
  }

  /** The live session if there is one (no connect). */
  get current(): Session | undefined {
    return this.session !== undefined && this.session.transport.isOpen ? this.session : undefined
  }

  /** The live session, connecting first when there is none. */
  get: Effect.Effect<Session, BrokerError> = Effect.suspend(() => {
    const live = this.current
    if (live !== undefined) return Effect.succeed(live)
    if (this.closed) return Effect.fail(this.closedError())
    if (this.connecting !== undefined) return Deferred.await(this.connecting)
    const deferred = Deferred.makeUnsafe<Session, BrokerError>()
    this.connecting = deferred
    // The attempt runs in the broker's scope: interrupting the caller that started it does not
    // abort it for the others waiting on the same deferred.
    const attempt = Effect.exit(this.attempt()).pipe(
      Effect.flatMap((exit) =>
        Effect.sync(() => {
          if (this.connecting === deferred) this.connecting = undefined
          Deferred.doneUnsafe(deferred, exit)
        })
      )
    )
    return Effect.andThen(Effect.forkIn(attempt, this.scope), Deferred.await(deferred))
  })

  /** Closes the current connection (the next request reconnects). */
  disconnect(message: string): Effect.Effect<void> {
    return Effect.suspend(() => this.session?.transport.close(message) ?? Effect.void)
  }

  /** Ends the connector: no more connects; in-flight requests fail with `ConnectionError`. */
  shutdown: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    const waiting = this.connecting
    this.connecting = undefined
    if (waiting !== undefined) Deferred.doneUnsafe(waiting, Exit.fail(this.closedError()))
    const scope = this.sessionScope
    this.session = undefined
    this.sessionScope = undefined
    return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
  })

  private closedError(): ConnectionError {
    return new ConnectionError({ broker: this.broker, reason: "Shutdown", message: `the connection to ${this.broker} was shut down (its scope closed)` })
  }

  private attempt(): Effect.Effect<Session, BrokerError> {
    const self = this
    return Effect.gen(function*() {
      // release what is left of the dead session (re-authentication fiber, socket)
      const old = self.sessionScope
      self.session = undefined
      self.sessionScope = undefined
      if (old !== undefined) yield* Scope.close(old, Exit.void)

      const clock = yield* Clock.Clock
      const wait = self.nextAttemptAt - clock.currentTimeMillisUnsafe()
      if (wait > 0) yield* Effect.sleep(wait)
      if (self.closed) return yield* self.closedError()

      const child = yield* Scope.fork(self.scope)
      const exit = yield* Effect.exit(Scope.provide(child)(openSession(self.options)))
      if (Exit.isSuccess(exit)) {
        if (self.closed) {
          yield* Scope.close(child, Exit.void)
          return yield* self.closedError()
        }
        self.session = exit.value
        self.sessionScope = child
        self.step = undefined
        self.nextAttemptAt = 0
        self.connects++
        yield* Effect.contextWith((ctx: Context.Context<never>) => Effect.sync(() => self.metrics.connects.updateUnsafe(1, ctx)))
        return exit.value
      }
      yield* Scope.close(child, exit)
      yield* Effect.contextWith((ctx: Context.Context<never>) => Effect.sync(() => self.metrics.connectErrors.updateUnsafe(1, ctx)))
      const error = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (error !== undefined && error._tag === "Fail") {
        const delay = yield* self.nextDelay(error.error)
        self.nextAttemptAt = clock.currentTimeMillisUnsafe() + delay
      }
      return yield* exit
    })
  }

  /** The backoff before the next attempt; when the schedule ends it starts over. */
  private nextDelay(error: BrokerError): Effect.Effect<number> {
    const self = this
    return Effect.gen(function*() {
      if (self.step === undefined) self.step = (yield* Schedule.toStep(self.backoff)) as Step
      const clock = yield* Clock.Clock
      const out = yield* Effect.exit(self.step(clock.currentTimeMillisUnsafe(), error))
      if (Exit.isSuccess(out)) return Duration.toMillis(out.value[1])
      self.step = undefined
      return 0
    })
  }
}
