/**
 * Retry as policy: how kpax retries a request that failed for a reason that goes away by itself.
 *
 * Three reasons, each with its own `Schedule`:
 * - `leaderMoved` — the partition's leader changed or is being elected (NOT_LEADER_OR_FOLLOWER,
 *   LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH, … — every error Kafka
 *   marks as "invalid metadata"): metadata is refreshed, then the request is sent again;
 * - `coordinatorMoved` — the group or transaction coordinator moved or is loading
 *   (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS): the coordinator is
 *   looked up again, then the request is sent again;
 * - `transient` — the network failed, a request timed out, or the broker said "retriable".
 *
 * The defaults are exponential with jitter, capped, and bounded in attempts and in total time.
 * Users replace the policy in code (`RetryPolicy.layer`) or through `Config`
 * (`RetryPolicy.layerConfig`, environment variables such as `KAFKA_RETRY_LEADER_MAX_ATTEMPTS`).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pull from "effect/Pull"
import * as Schedule from "effect/Schedule"

/**
 * Why a failed request may be retried.
 *
 * @since 0.1.0
 */
export type RetryReason = "leaderMoved" | "coordinatorMoved" | "transient"

/**
 * A retry policy: one `Schedule` per reason. Each schedule sees the failure as its input; when it
 * ends, the last failure is returned to the caller.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import * as RetryPolicy from "kpax/RetryPolicy"
 *
 * const patient: RetryPolicy.RetryPolicy = {
 *   ...RetryPolicy.defaultPolicy,
 *   leaderMoved: Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 60 }))
 * }
 * ```
 *
 * @since 0.1.0
 */
export interface RetryPolicy {
  readonly leaderMoved: Schedule.Schedule<unknown, unknown>
  readonly coordinatorMoved: Schedule.Schedule<unknown, unknown>
  readonly transient: Schedule.Schedule<unknown, unknown>
}

/**
 * A declarative backoff: exponential from `initialDelay` by `factor`, each delay capped at
 * `maxDelay`, optionally jittered, ending after `maxAttempts` retries or once `maxElapsed` has
 * passed since the first failure, whichever comes first.
 *
 * @since 0.1.0
 */
export interface Backoff {
  readonly initialDelay: Duration.Input
  readonly factor: number
  readonly maxDelay: Duration.Input
  readonly maxAttempts: number
  readonly maxElapsed: Duration.Input
  readonly jitter: boolean
}

/**
 * Turns a `Backoff` into a `Schedule`.
 *
 * @example
 * ```ts
 * import * as RetryPolicy from "kpax/RetryPolicy"
 *
 * const schedule = RetryPolicy.backoff({
 *   initialDelay: "100 millis", factor: 2, maxDelay: "5 seconds",
 *   maxAttempts: 10, maxElapsed: "30 seconds", jitter: true
 * })
 * ```
 *
 * @since 0.1.0
 */
export const backoff = (b: Backoff): Schedule.Schedule<unknown, unknown> => {
  const capped = Schedule.min([Schedule.exponential(b.initialDelay, b.factor), Schedule.spaced(b.maxDelay)])
  const base = b.jitter ? Schedule.jittered(capped) : capped
  return base.pipe(Schedule.upTo({ times: b.maxAttempts, duration: b.maxElapsed })) as Schedule.Schedule<unknown, unknown>
}

/**
 * The default backoffs: leader moves and coordinator moves start at 100 ms (an election takes a
 * moment), network trouble at 250 ms; all capped at 5 s between attempts and 60 s in total.
 *
 * @since 0.1.0
 */
export const defaultBackoffs: { readonly [K in RetryReason]: Backoff } = {
  leaderMoved: { initialDelay: "100 millis", factor: 2, maxDelay: "5 seconds", maxAttempts: 20, maxElapsed: "60 seconds", jitter: true },
  coordinatorMoved: { initialDelay: "100 millis", factor: 2, maxDelay: "5 seconds", maxAttempts: 20, maxElapsed: "60 seconds", jitter: true },
  transient: { initialDelay: "250 millis", factor: 2, maxDelay: "5 seconds", maxAttempts: 10, maxElapsed: "60 seconds", jitter: true }
}

/**
 * Builds a policy from backoffs; reasons left out keep their default.
 *
 * @example
 * ```ts
 * import * as RetryPolicy from "kpax/RetryPolicy"
 *
 * const policy = RetryPolicy.fromBackoffs({
 *   transient: { ...RetryPolicy.defaultBackoffs.transient, maxAttempts: 3 }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const fromBackoffs = (backoffs: { readonly [K in RetryReason]?: Backoff }): RetryPolicy => ({
  leaderMoved: backoff(backoffs.leaderMoved ?? defaultBackoffs.leaderMoved),
  coordinatorMoved: backoff(backoffs.coordinatorMoved ?? defaultBackoffs.coordinatorMoved),
  transient: backoff(backoffs.transient ?? defaultBackoffs.transient)
})

/**
 * The policy used when none is provided.
 *
 * @since 0.1.0
 */
export const defaultPolicy: RetryPolicy = fromBackoffs({})

/**
 * The current retry policy, a service with a default: provide another with `layer` or
 * `layerConfig`, or `Effect.provideService(RetryPolicy, policy)` around one operation.
 *
 * @since 0.1.0
 */
export const RetryPolicy: Context.Reference<RetryPolicy> = Context.Reference<RetryPolicy>("kpax/RetryPolicy", {
  defaultValue: () => defaultPolicy
})

/**
 * A layer that sets the retry policy.
 *
 * @example
 * ```ts
 * import * as RetryPolicy from "kpax/RetryPolicy"
 *
 * const NoRetries = RetryPolicy.layer(RetryPolicy.fromBackoffs({
 *   transient: { ...RetryPolicy.defaultBackoffs.transient, maxAttempts: 0 }
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (policy: RetryPolicy): Layer.Layer<never> => Layer.succeed(RetryPolicy, policy)

const backoffConfig = (name: string, d: Backoff): Config.Config<Backoff> =>
  Config.all({
    initialDelay: Config.withDefault(Config.Duration("INITIAL_DELAY"), Duration.fromInputUnsafe(d.initialDelay)),
    factor: Config.withDefault(Config.Finite("FACTOR"), d.factor),
    maxDelay: Config.withDefault(Config.Duration("MAX_DELAY"), Duration.fromInputUnsafe(d.maxDelay)),
    maxAttempts: Config.withDefault(Config.Int("MAX_ATTEMPTS"), d.maxAttempts),
    maxElapsed: Config.withDefault(Config.Duration("MAX_ELAPSED"), Duration.fromInputUnsafe(d.maxElapsed)),
    jitter: Config.withDefault(Config.Boolean("JITTER"), d.jitter)
  }).pipe(Config.nested(name))

/**
 * The backoffs read from configuration, every setting optional:
 * `KAFKA_RETRY_{LEADER|COORDINATOR|TRANSIENT}_{INITIAL_DELAY|FACTOR|MAX_DELAY|MAX_ATTEMPTS|MAX_ELAPSED|JITTER}`,
 * e.g. `KAFKA_RETRY_LEADER_MAX_ATTEMPTS=50`, `KAFKA_RETRY_TRANSIENT_MAX_DELAY="2 seconds"`.
 *
 * @since 0.1.0
 */
export const backoffsConfig: Config.Config<{ readonly [K in RetryReason]: Backoff }> = Config.all({
  leaderMoved: backoffConfig("LEADER", defaultBackoffs.leaderMoved),
  coordinatorMoved: backoffConfig("COORDINATOR", defaultBackoffs.coordinatorMoved),
  transient: backoffConfig("TRANSIENT", defaultBackoffs.transient)
}).pipe(Config.nested("RETRY"), Config.nested("KAFKA"))

/**
 * A layer that reads the policy from configuration (see `backoffsConfig`); a bad value is a
 * `ConfigError` naming the setting.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as RetryPolicy from "kpax/RetryPolicy"
 *
 * // KAFKA_RETRY_LEADER_MAX_ATTEMPTS=50 KAFKA_RETRY_LEADER_MAX_ELAPSED="2 minutes" node app.ts
 * const Live = Layer.provideMerge(AppLayer, RetryPolicy.layerConfig)
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<never, Config.ConfigError> = Layer.effect(
  RetryPolicy,
  Effect.map(backoffsConfig, fromBackoffs)
)

const COORDINATOR_CODES = new Set([14, 15, 16]) // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
const TRANSIENT_TAGS = new Set(["ConnectionError", "RequestTimeoutError", "BrokerUnavailable"])

/**
 * The default classification of a failure: Kafka protocol errors by their code and flags
 * (`invalidMetadata` → leader moved, coordinator codes → coordinator moved, other `retriable` →
 * transient), connection failures (but a refused oversize frame) and request time-outs → transient,
 * anything else → not retried.
 *
 * @since 0.1.0
 */
export const classify = (error: unknown): RetryReason | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const e = error as { readonly _tag?: unknown; readonly code?: unknown; readonly retriable?: unknown; readonly invalidMetadata?: unknown }
  if (typeof e.code === "number" && typeof e.retriable === "boolean") {
    if (COORDINATOR_CODES.has(e.code)) return "coordinatorMoved"
    if (e.invalidMetadata === true) return "leaderMoved"
    return e.retriable ? "transient" : undefined
  }
  return typeof e._tag === "string" && TRANSIENT_TAGS.has(e._tag) && e.retriable !== false ? "transient" : undefined
}

/**
 * Options of `retry`.
 *
 * @since 0.1.0
 */
export interface RetryOptions<E, R> {
  /** Which reason a failure is retried for; `undefined` fails at once. Default: `classify`. */
  readonly classify?: ((error: E) => RetryReason | undefined) | undefined
  /**
   * Runs after the delay and before the next attempt: refresh metadata for `leaderMoved`,
   * look the coordinator up again for `coordinatorMoved`.
   */
  readonly beforeRetry?: ((reason: RetryReason, error: E, attempt: number) => Effect.Effect<void, never, R>) | undefined
}

/**
 * Runs `self`, retrying its failures by the current `RetryPolicy`: each reason advances its own
 * schedule; when that schedule ends, the last failure is returned. Defects and interruptions are
 * never retried.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as RetryPolicy from "kpax/RetryPolicy"
 *
 * declare const produce: Effect.Effect<void, { readonly code: number; readonly retriable: boolean }>
 * declare const refreshMetadata: Effect.Effect<void>
 *
 * const sent = RetryPolicy.retry(produce, {
 *   beforeRetry: (reason) => reason === "leaderMoved" ? refreshMetadata : Effect.void
 * })
 * ```
 *
 * @since 0.1.0
 */
export const retry = <A, E, R, R2 = never>(
  self: Effect.Effect<A, E, R>,
  options: RetryOptions<E, R2> = {}
): Effect.Effect<A, E, R | R2> =>
  Effect.gen(function*() {
    const policy = yield* RetryPolicy
    const classifyError = options.classify ?? (classify as (e: E) => RetryReason | undefined)
    const steps = new Map<RetryReason, (input: unknown) => Pull.Pull<unknown, never, unknown>>()
    let attempt = 0
    for (;;) {
      const result = yield* Effect.result(self)
      if (result._tag === "Success") return result.success
      const error = result.failure
      const reason = classifyError(error)
      if (reason === undefined) return yield* Effect.fail(error)
      let step = steps.get(reason)
      if (step === undefined) {
        step = yield* Schedule.toStepWithSleep(policy[reason])
        steps.set(reason, step)
      }
      const again = yield* step(error).pipe(
        Effect.as(true),
        Pull.catchDone(() => Effect.succeed(false))
      )
      if (!again) return yield* Effect.fail(error)
      attempt++
      if (options.beforeRetry !== undefined) yield* options.beforeRetry(reason, error, attempt)
    }
  })
