/**
 * The shared scenarios against the real test broker (`npm test` starts it, or `KAFKA_BROKERS`).
 */
import { describe, it } from "@effect/vitest"
import { brokers } from "../kafka/env.ts"
import { adminScenarios } from "./adminScenarios.ts"
import { consumerScenarios } from "./consumerScenarios.ts"
import { groupScenarios } from "./groupScenarios.ts"
import { producerScenarios } from "./producerScenarios.ts"
import { realEnv } from "./support.ts"

const real = realEnv(brokers)

describe("scenarios (real broker)", () => {
  for (const s of [...producerScenarios, ...consumerScenarios, ...groupScenarios, ...adminScenarios]) it.live(s.name, () => real.run(s))
})
