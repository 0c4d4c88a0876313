/**
 * Typed errors of the cluster layer.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { BrokerError } from "../Connection/Errors.ts"
import type { KafkaError } from "../Protocol/Errors.ts"

/**
 * No broker of the cluster could be reached: every bootstrap address and every known broker
 * failed. Retried as a transient failure by the default `RetryPolicy`.
 *
 * @example
 * ```ts
 * effect.pipe(Effect.catchTag("BrokerUnavailable", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 */
export class BrokerUnavailable extends Data.TaggedError("BrokerUnavailable")<{
  /** The addresses that were tried. */
  readonly tried: ReadonlyArray<string>
  readonly message: string
  readonly cause?: unknown
}> {
  get retriable(): boolean {
    return true
  }
}

/**
 * Bad client configuration (a malformed bootstrap address, no address at all, …). Never retried.
 *
 * @since 0.1.0
 */
export class InvalidClusterConfig extends Data.TaggedError("InvalidClusterConfig")<{
  readonly message: string
}> {}

/**
 * Everything a cluster operation can fail with.
 *
 * @since 0.1.0
 */
export type ClusterError = BrokerError | KafkaError | BrokerUnavailable
