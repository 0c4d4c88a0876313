/**
 * The shared scenarios against the in-memory cluster (a fresh 3-broker cluster per scenario).
 */
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"
import { adminScenarios } from "./adminScenarios.ts"
import { consumerScenarios } from "./consumerScenarios.ts"
import { producerScenarios } from "./producerScenarios.ts"
import type { Env } from "./support.ts"

const inMemory: Env = {
  name: "in-memory",
  run: (s) =>
    Effect.scoped(Effect.gen(function*() {
      const kafka = yield* InMemory.make({ brokers: 3 })
      const cluster = yield* Cluster.make({ bootstrap: kafka.bootstrap, connect: kafka.connect, clientId: "kpax-scenarios" })
      yield* s.run.pipe(Effect.provideService(Cluster.Cluster, cluster))
    }))
}

describe("scenarios (in-memory cluster)", () => {
  for (const s of [...producerScenarios, ...consumerScenarios, ...adminScenarios]) it.live(s.name, () => inMemory.run(s))
})
