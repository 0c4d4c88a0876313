/** kpax from plain async code: services built in a scope the caller closes. */
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import type { ClusterOptions } from "../../src/Cluster/Cluster.ts"

export const kpaxVersion = (): string =>
  (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version +
  `+${gitRev()}`

const gitRev = (): string => {
  try {
    const head = fs.readFileSync(new URL("../../.git/HEAD", import.meta.url), "utf8").trim()
    const ref = head.startsWith("ref: ") ? fs.readFileSync(new URL(`../../.git/${head.slice(5)}`, import.meta.url), "utf8").trim() : head
    return ref.slice(0, 7)
  } catch {
    return "dev"
  }
}

export interface Scoped<A> {
  readonly value: A
  readonly close: () => Promise<void>
}

/** Runs `make` in a new scope that stays open until `close`. */
export const openScoped = async <A, E>(make: Effect.Effect<A, E, Scope.Scope>): Promise<Scoped<A>> => {
  const scope = await Effect.runPromise(Scope.make())
  const value = await Effect.runPromise(Scope.provide(scope)(make))
  return { value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** Cluster options for a benchmark: the brokers of the run. */
export const clusterOptions = (brokers: string, extra: Partial<ClusterOptions> = {}): ClusterOptions => ({
  bootstrap: brokers.split(","),
  clientId: "kpax-bench",
  ...extra
})

export { Cluster }
