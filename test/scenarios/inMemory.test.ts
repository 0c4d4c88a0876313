/**
 * The shared scenarios against the in-memory cluster: a fresh 3-broker cluster per scenario, with
 * a little of a real cluster's asynchrony (connection set-up, transaction markers written after
 * EndTxn's answer).
 */
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as InMemory from "../../src/Testing/InMemory.ts"
import { adminScenarios } from "./adminScenarios.ts"
import { consumerScenarios } from "./consumerScenarios.ts"
import { groupScenarios } from "./groupScenarios.ts"
import { producerScenarios } from "./producerScenarios.ts"
import { shareScenarios } from "./shareScenarios.ts"
import { Clients } from "./support.ts"
import type { Env } from "./support.ts"

/** The acquisition lock of the share-group lock scenarios (the in-memory minimum is lowered to it). */
const LOCK_MS = 1_000

const inMemory: Env = {
  name: "in-memory",
  run: (s) =>
    Effect.scoped(Effect.gen(function*() {
      const kafka = yield* InMemory.make({ brokers: 3, connectionSetup: "2 millis", transactionMarkerDelay: "20 millis", consumerHeartbeatInterval: "500 millis", shareMinRecordLockDuration: LOCK_MS })
      const newCluster = Effect.orDie(Cluster.make({ bootstrap: kafka.bootstrap, connect: kafka.connect, clientId: "kpax-scenarios" }))
      const cluster = yield* newCluster
      yield* s.run.pipe(Effect.provideService(Cluster.Cluster, cluster), Effect.provideService(Clients, { newCluster }))
    }))
}

describe("scenarios (in-memory cluster)", () => {
  for (const s of [...producerScenarios, ...consumerScenarios, ...groupScenarios, ...adminScenarios, ...shareScenarios(LOCK_MS)]) it.live(s.name, () => inMemory.run(s))
})
