/** Loads @confluentinc/kafka-javascript's KafkaJS-style API, or says why it cannot (its native addon is built by build-confluent.sh). */
import { createRequire } from "node:module"
import { versionOf } from "./peers.ts"
import type { Skipped } from "./worker.ts"

const require = createRequire(import.meta.url)

export type ConfluentKafkaJS = typeof import("@confluentinc/kafka-javascript").KafkaJS

export const loadConfluent = (): ConfluentKafkaJS | Skipped => {
  try {
    return (require("@confluentinc/kafka-javascript") as typeof import("@confluentinc/kafka-javascript")).KafkaJS
  } catch (e) {
    return {
      skipped: `native addon not built (run bench/lib/build-confluent.sh): ${String(e instanceof Error ? e.message : e).split("\n")[0]}`,
      version: versionOf("@confluentinc/kafka-javascript")
    }
  }
}

export const confluentVersion = () => {
  const v = versionOf("@confluentinc/kafka-javascript")
  try {
    return `${v} (librdkafka ${(require("@confluentinc/kafka-javascript") as { librdkafkaVersion: string }).librdkafkaVersion})`
  } catch {
    return v
  }
}
