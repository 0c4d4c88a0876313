import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Fiber, Layer, Schedule } from "effect"
import { TestClock } from "effect/testing"
import * as RetryPolicy from "../../src/Cluster/RetryPolicy.ts"

// A Kafka protocol error as the Cluster sees it (structural: code + flags).
const notLeader = { _tag: "KafkaError", code: 6, name: "NOT_LEADER_OR_FOLLOWER", retriable: true, invalidMetadata: true } as const
const notCoordinator = { _tag: "KafkaError", code: 16, name: "NOT_COORDINATOR", retriable: true, invalidMetadata: false } as const
const unknownServerError = { _tag: "KafkaError", code: -1, name: "UNKNOWN_SERVER_ERROR", retriable: false, invalidMetadata: false } as const
const connectionLost = { _tag: "ConnectionError", message: "socket closed" } as const

type Failure = typeof notLeader | typeof notCoordinator | typeof unknownServerError | typeof connectionLost

/** A scripted request: fails with the given errors in turn, then succeeds; records when each attempt ran. */
const scripted = (failures: ReadonlyArray<Failure>) => {
  const attempts: Array<number> = []
  let i = 0
  const request = Effect.gen(function*() {
    attempts.push(yield* Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe())))
    if (i < failures.length) return yield* Effect.fail(failures[i++])
    return "ok" as const
  })
  return { request, attempts }
}

const fixed = (delay: Duration.Input, times: number) => Schedule.spaced(delay).pipe(Schedule.upTo({ times }))

describe("RetryPolicy", () => {
  it("classifies Kafka errors by code and flags, network failures as transient", () => {
    assert.strictEqual(RetryPolicy.classify(notLeader), "leaderMoved")
    assert.strictEqual(RetryPolicy.classify(notCoordinator), "coordinatorMoved")
    assert.strictEqual(RetryPolicy.classify(connectionLost), "transient")
    assert.strictEqual(RetryPolicy.classify({ ...unknownServerError }), undefined)
    assert.strictEqual(RetryPolicy.classify({ code: 7, retriable: true, invalidMetadata: false }), "transient")
    assert.strictEqual(RetryPolicy.classify(new Error("boom")), undefined)
    assert.strictEqual(RetryPolicy.classify({ _tag: "RequestTimeoutError" }), "transient")
    assert.strictEqual(RetryPolicy.classify({ _tag: "ConnectionError", retriable: false }), undefined)
  })

  it.effect("NOT_LEADER_OR_FOLLOWER n times: n retries, metadata refreshed before each, delays from the policy", () =>
    Effect.gen(function*() {
      const { request, attempts } = scripted([notLeader, notLeader, notLeader])
      const refreshes: Array<number> = []
      const policy: RetryPolicy.RetryPolicy = { ...RetryPolicy.defaultPolicy, leaderMoved: fixed("200 millis", 5) }
      const fiber = yield* RetryPolicy.retry(request, {
        beforeRetry: (reason, _e, attempt) =>
          Effect.clockWith((c) => Effect.sync(() => refreshes.push(c.currentTimeMillisUnsafe()))).pipe(
            Effect.tap(() => Effect.sync(() => assert.strictEqual(reason, "leaderMoved"))),
            Effect.tap(() => Effect.sync(() => assert.strictEqual(attempt, refreshes.length)))
          )
      }).pipe(Effect.provideService(RetryPolicy.RetryPolicy, policy), Effect.forkChild)
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result, "ok")
      assert.deepStrictEqual(attempts, [0, 200, 400, 600])
      assert.deepStrictEqual(refreshes, [200, 400, 600])
    }))

  it.effect("gives up with the last failure when the schedule ends", () =>
    Effect.gen(function*() {
      const { request, attempts } = scripted(Array(10).fill(notLeader))
      const policy = { ...RetryPolicy.defaultPolicy, leaderMoved: fixed("100 millis", 2) }
      const fiber = yield* RetryPolicy.retry(request).pipe(
        Effect.provideService(RetryPolicy.RetryPolicy, policy),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error, notLeader)
      assert.strictEqual(attempts.length, 3)
    }))

  it.effect("each reason advances its own schedule; non-retriable errors fail at once", () =>
    Effect.gen(function*() {
      const { request, attempts } = scripted([notCoordinator, connectionLost, notCoordinator, unknownServerError])
      const policy: RetryPolicy.RetryPolicy = {
        leaderMoved: fixed("1 second", 0),
        coordinatorMoved: fixed("50 millis", 2),
        transient: fixed("300 millis", 1)
      }
      const fiber = yield* RetryPolicy.retry(request).pipe(
        Effect.provideService(RetryPolicy.RetryPolicy, policy),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), unknownServerError)
      assert.deepStrictEqual(attempts, [0, 50, 350, 400])
    }))

  it.effect("the default policy backs off exponentially, capped, and stops in bounded time", () =>
    Effect.gen(function*() {
      const { request, attempts } = scripted(Array(1000).fill(connectionLost))
      const fiber = yield* RetryPolicy.retry(request).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("120 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), connectionLost)
      const b = RetryPolicy.defaultBackoffs.transient
      assert.strictEqual(attempts.length, b.maxAttempts + 1)
      const gaps = attempts.slice(1).map((t, i) => t - attempts[i])
      for (const gap of gaps) assert.isAtMost(gap, Duration.toMillis(Duration.fromInputUnsafe(b.maxDelay)) * 1.25)
      assert.isAtLeast(gaps[1], gaps[0]) // grows
      assert.isAtMost(attempts[attempts.length - 1], 60_000 + 6_250)
    }))

  it.effect("a custom policy given through Config is honoured", () =>
    Effect.gen(function*() {
      const { request, attempts } = scripted(Array(100).fill(notLeader))
      const env = ConfigProvider.fromEnv({
        env: {
          KAFKA_RETRY_LEADER_INITIAL_DELAY: "1 second",
          KAFKA_RETRY_LEADER_FACTOR: "1",
          KAFKA_RETRY_LEADER_MAX_ATTEMPTS: "4",
          KAFKA_RETRY_LEADER_JITTER: "false"
        }
      })
      const fiber = yield* RetryPolicy.retry(request).pipe(
        Effect.provide(RetryPolicy.layerConfig.pipe(Layer.provide(ConfigProvider.layer(env)))),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), notLeader)
      assert.deepStrictEqual(attempts, [0, 1000, 2000, 3000, 4000])
    }))

  it.effect("a bad retry setting is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const env = ConfigProvider.fromEnv({ env: { KAFKA_RETRY_TRANSIENT_MAX_ATTEMPTS: "many" } })
      const error = yield* Layer.build(RetryPolicy.layerConfig.pipe(Layer.provide(ConfigProvider.layer(env)))).pipe(Effect.flip)
      assert.match(String(error), /MAX_ATTEMPTS/)
    }))
})
