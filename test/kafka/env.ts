/**
 * What tests use to reach the Kafka that `npm test` runs (started by `test/kafka/globalSetup.ts`,
 * or the cluster named by `KAFKA_BROKERS`).
 *
 * @example
 * ```ts
 * import { brokers } from "./kafka/env.ts"
 * const bootstrap = brokers() // ["127.0.0.1:40123"]
 * ```
 */
import { inject } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    /** `host:port` of each bootstrap broker (PLAINTEXT). */
    kafkaBrokers: Array<string>
    /** The broker log of the harness's broker; empty when `KAFKA_BROKERS` named an external one. */
    kafkaLogFile: string
  }
}

/** `host:port` of the bootstrap brokers of the test Kafka. */
export function brokers(): Array<string> {
  const list = inject("kafkaBrokers")
  if (list === undefined || list.length === 0) {
    throw new Error("no Kafka brokers provided: run the tests through vitest with test/kafka/globalSetup.ts (npm test)")
  }
  return [...list]
}

/** {@link brokers} joined with commas (Kafka tools' `--bootstrap-server`). */
export function bootstrapServers(): string {
  return brokers().join(",")
}
