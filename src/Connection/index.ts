/**
 * kpax connection layer: the `Broker` service (one pipelined TCP/TLS connection per broker, with
 * ApiVersions negotiation, SASL and reconnects) and its typed errors.
 *
 * Layer: above Protocol (checked by `npm run lint:cycles`): single broker connections, knowing
 * nothing of the cluster. May import Protocol only; Cluster and the clients build on it.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Broker } from "kpax/Connection"
 * import { Metadata } from "kpax/Protocol"
 *
 * const program = Effect.gen(function*() {
 *   const broker = yield* Broker
 *   return yield* broker.request(Metadata, { topics: null })
 * }).pipe(Effect.provide(Broker.layer({
 *   host: "localhost",
 *   port: 9093,
 *   tls: true,
 *   sasl: { mechanism: "SCRAM-SHA-256", username: "app", password: Redacted.make("secret") }
 * })))
 * ```
 */
export { Broker, make } from "./Broker.ts"
export type { BrokerOptions, BrokerService, BrokerStats, RequestOptions, TlsOptions, VersionRange } from "./Broker.ts"
export * from "./Errors.ts"
export type * from "./Sasl.ts"
