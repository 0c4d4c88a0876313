/**
 * Helpers for the in-memory cluster's own tests: a Cluster over a fresh in-memory cluster, and a
 * way to run an effect to completion under `TestClock` by advancing time in small steps.
 */
import { Effect, Fiber } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"

const te = new TextEncoder()
export const utf8 = (s: string) => te.encode(s)
const td = new TextDecoder()
export const str = (b: Uint8Array | null) => (b === null ? null : td.decode(b))

/** Runs `f` with a fresh in-memory cluster's Control and a `Cluster` on it. */
export const withKafka = <A, E>(
  options: InMemory.Options,
  f: (kafka: InMemory.ControlService, cluster: Cluster.ClusterService) => Effect.Effect<A, E, Cluster.Cluster | Scope.Scope>,
  clusterOptions: Partial<Cluster.ClusterOptions> = {}
): Effect.Effect<A, E> =>
  Effect.scoped(Effect.gen(function*() {
    const kafka = yield* InMemory.make(options)
    const cluster = yield* Effect.orDie(Cluster.make({ bootstrap: kafka.bootstrap, connect: kafka.connect, ...clusterOptions }))
    return yield* f(kafka, cluster).pipe(Effect.provideService(Cluster.Cluster, cluster))
  }))

/**
 * Runs `effect` in a fiber and advances the `TestClock` by `step` until it completes (at most
 * `limit` of simulated time), so retries and timers run without real sleeping.
 */
export const runWithClock = <A, E, R>(effect: Effect.Effect<A, E, R>, options: { readonly step?: number; readonly limit?: number } = {}) =>
  Effect.gen(function*() {
    const step = options.step ?? 10
    const limit = options.limit ?? 120_000
    const fiber = yield* Effect.forkChild(effect)
    let elapsed = 0
    while (fiber.pollUnsafe() === undefined) {
      if (elapsed >= limit) return yield* Effect.die(new Error(`still running after ${limit} ms of test clock`))
      yield* TestClock.adjust(step)
      elapsed += step
    }
    return yield* Fiber.join(fiber)
  })

/** The API names of the logged requests, in order. */
export const apiSequence = (requests: ReadonlyArray<InMemory.LoggedRequest>) => requests.map((r) => r.api)

/** Advances the TestClock 1 ms at a time until a request of `api` is in flight (at most `limit` ms). */
export const awaitInFlight = (kafka: InMemory.ControlService, api: InMemory.ApiName, limit = 10_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < limit; i++) {
      const pending = (yield* kafka.requests({ api })).filter((r) => r.response === undefined && r.failure === undefined)
      if (pending.length > 0) return pending[0]
      yield* TestClock.adjust(1)
    }
    return yield* Effect.die(new Error(`no ${api} request in flight after ${limit} ms`))
  })
