/**
 * The shared scenarios against the real test broker (`npm test` starts it, or `KAFKA_BROKERS`).
 */
import { describe, it } from "@effect/vitest"
import { brokers } from "../kafka/env.ts"
import { adminScenarios } from "./adminScenarios.ts"
import { consumerScenarios } from "./consumerScenarios.ts"
import { groupScenarios } from "./groupScenarios.ts"
import { producerScenarios } from "./producerScenarios.ts"
import { shareScenarios } from "./shareScenarios.ts"
import { realEnv } from "./support.ts"

const real = realEnv(brokers)

/** The acquisition lock of the share-group lock scenarios: the least Kafka lets a group set (group.share.min.record.lock.duration.ms). */
const LOCK_MS = 15_000

describe("scenarios (real broker)", () => {
  for (const s of [...producerScenarios, ...consumerScenarios, ...groupScenarios, ...adminScenarios, ...shareScenarios(LOCK_MS)]) it.live(s.name, () => real.run(s), 90_000)
})
