/**
 * A cache whose concurrent misses for one key share one lookup: the first miss starts the lookup
 * (on its own fiber, so a waiter being interrupted never cancels it for the others), every later
 * caller awaits the same result. Successes stay; failures are not cached, the next call tries again.
 * `peek` reads a cached value synchronously (the serdes' per-record path).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

export interface CoalescingCache<K, A, E> {
  readonly get: (key: K) => Effect.Effect<A, E>
  readonly peek: (key: K) => A | undefined
  readonly set: (key: K, value: A) => void
}

export const make = <K, A, E>(keyOf: (key: K) => string | number, lookup: (key: K) => Effect.Effect<A, E>): CoalescingCache<K, A, E> => {
  const values = new Map<string | number, A>()
  const inflight = new Map<string | number, Deferred.Deferred<A, E>>()
  const get = (key: K): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const k = keyOf(key)
      const hit = values.get(k)
      if (hit !== undefined) return Effect.succeed(hit)
      const pending = inflight.get(k)
      if (pending !== undefined) return Deferred.await(pending)
      const deferred = Deferred.makeUnsafe<A, E>()
      inflight.set(k, deferred)
      const run = Effect.exit(lookup(key)).pipe(
        Effect.flatMap((exit) =>
          Effect.sync(() => {
            inflight.delete(k)
            if (Exit.isSuccess(exit)) values.set(k, exit.value)
            Deferred.doneUnsafe(deferred, exit)
          })
        )
      )
      return Effect.flatMap(Effect.forkDetach(run), () => Deferred.await(deferred))
    })
  return {
    get,
    peek: (key) => values.get(keyOf(key)),
    set: (key, value) => void values.set(keyOf(key), value)
  }
}
