/**
 * How Admin requests are sent and how their per-item answers are gathered.
 *
 * @internal
 */
import { Duration, Effect } from "effect"
import type { ClusterService } from "../../Cluster/Cluster.ts"
import type { ClusterError } from "../../Cluster/Errors.ts"
import * as RetryPolicy from "../../Cluster/RetryPolicy.ts"
import type { BrokerService } from "../../Connection/Broker.ts"
import type { Api } from "../../Protocol/Api.ts"
import { errorForCode, kafkaError } from "../../Protocol/Errors.ts"
import type { KafkaError } from "../../Protocol/Errors.ts"
import { InvalidTopicName, validateName } from "../../Topic.ts"
import { AdminPartialFailure, InvalidAdminRequest, itemError, partialFailure } from "../Errors.ts"
import type { AdminItemError } from "../Errors.ts"

/** The request, built for the version that will be used. */
export type RequestFor<Req> = Req | ((version: number) => Req)

/** Sends a request to `broker` at the highest common version, building it for that version. */
export const send = <Req, Res>(
  broker: BrokerService,
  api: Api<Req, Res>,
  req: RequestFor<Req>,
  timeout?: Duration.Input
): Effect.Effect<Res, ClusterError> =>
  Effect.flatMap(broker.versionFor(api), (version) =>
    broker.request(api, typeof req === "function" ? (req as (v: number) => Req)(version) : req, {
      version,
      ...(timeout === undefined ? {} : { timeout })
    }))

/**
 * Sends a cluster-wide request to any broker (in KRaft every broker forwards controller requests),
 * retrying network failures by the `RetryPolicy`.
 */
export const toAnyBroker = <Req, Res>(
  cluster: ClusterService,
  api: Api<Req, Res>,
  req: RequestFor<Req>,
  timeout?: Duration.Input
): Effect.Effect<Res, ClusterError> =>
  RetryPolicy.retry(Effect.flatMap(cluster.anyBroker, ({ broker }) => send(broker, api, req, timeout)))

/** Sends a request to one broker by node id, retrying network failures by the `RetryPolicy`. */
export const toBroker = <Req, Res>(
  cluster: ClusterService,
  nodeId: number,
  api: Api<Req, Res>,
  req: RequestFor<Req>,
  timeout?: Duration.Input
): Effect.Effect<Res, ClusterError> =>
  RetryPolicy.retry(Effect.flatMap(cluster.broker(nodeId), (broker) => send(broker, api, req, timeout)))

/** The Kafka error of a code (`undefined` for 0). */
export const codeError = (code: number, message?: string | null): KafkaError | undefined =>
  code === 0 ? undefined : (errorForCode(code, message) ?? kafkaError("UNKNOWN_SERVER_ERROR"))

/** One item's outcome: its value, or its error. */
export type Outcome<A> =
  | { readonly item: string; readonly ok: true; readonly value: A }
  | { readonly item: string; readonly ok: false; readonly error: AdminItemError }

export const ok = <A>(item: string, value: A): Outcome<A> => ({ item, ok: true, value })

export const failed = <A = never>(operation: string, item: string, error: KafkaError): Outcome<A> => ({
  item,
  ok: false,
  error: itemError(operation, item, error)
})

/** Every item's value, or an `AdminPartialFailure` listing the items that failed. */
export const collect = <A>(operation: string, outcomes: ReadonlyArray<Outcome<A>>): Effect.Effect<Array<A>, AdminPartialFailure> => {
  const values: Array<A> = []
  const failures: Array<AdminItemError> = []
  const succeeded: Array<string> = []
  for (const o of outcomes) {
    if (o.ok) {
      values.push(o.value)
      succeeded.push(o.item)
    } else {
      failures.push(o.error)
    }
  }
  return failures.length === 0 ? Effect.succeed(values) : Effect.fail(partialFailure(operation, failures, succeeded))
}

/** The first value of a one-item operation; its partial failure becomes the item's own error. */
export const single = <A, E, R>(
  self: Effect.Effect<ReadonlyArray<A>, E | AdminPartialFailure, R>
): Effect.Effect<A, Exclude<E, AdminPartialFailure> | AdminItemError, R> =>
  self.pipe(
    Effect.map((as) => as[0]),
    Effect.catch((e: E | AdminPartialFailure) =>
      Effect.fail(e instanceof AdminPartialFailure && e.failures.length > 0 ? e.failures[0] : e)
    )
  ) as Effect.Effect<A, Exclude<E, AdminPartialFailure> | AdminItemError, R>

/** Checks topic names by Kafka's rules before anything is sent. */
export const checkTopics = (topics: Iterable<string>): Effect.Effect<void, InvalidTopicName> =>
  Effect.suspend(() => {
    for (const t of topics) {
      const r = validateName(t)
      if (r._tag === "Failure") return Effect.fail(r.failure)
    }
    return Effect.void
  })

/** Fails with `InvalidAdminRequest` when `condition` holds. */
export const refuse = (operation: string, condition: boolean, message: string): Effect.Effect<void, InvalidAdminRequest> =>
  condition ? Effect.fail(new InvalidAdminRequest({ operation, message })) : Effect.void

/** The milliseconds of a server-side time-out and a client request time-out that outlasts it. */
export const timeouts = (timeout: Duration.Input | undefined, fallback: Duration.Input = "30 seconds") => {
  const ms = Duration.toMillis(Duration.fromInputUnsafe(timeout ?? fallback))
  return { ms: Math.min(ms, 2_147_483_647), request: Duration.millis(ms + 10_000) }
}

export { InvalidTopicName }
