/**
 * Shared pieces of the registry tests: the kpax registry layer on the test registry, a
 * @kafkajs/confluent-schema-registry client on the same registry (the interop peer), unique
 * subject/topic names and the schemas the tests use.
 */
import { SchemaRegistry as PeerRegistry } from "@kafkajs/confluent-schema-registry"
import { Effect, Result, Schedule } from "effect"
import * as SchemaRegistry from "../../src/SchemaRegistry/SchemaRegistry.ts"
import { registryUrl } from "../registry/env.ts"

let counter = 0
/** A name no other test (or earlier run against the same registry) uses. */
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`

/** kpax's registry client on the test registry; few quick retries so failures surface fast. */
export const registryLayer = () =>
  SchemaRegistry.layer({ url: registryUrl(), retry: Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 5 })) })

/** The interop peer. */
export const peer = () => new PeerRegistry({ host: registryUrl() })

export const withRegistry = <A, E>(effect: Effect.Effect<A, E, SchemaRegistry.SchemaRegistry>) =>
  Effect.provide(effect, registryLayer())

export const userAvro = (name: string, extra: ReadonlyArray<{ readonly name: string; readonly type: unknown; readonly default?: unknown }> = []) => ({
  type: "record",
  name: "User",
  namespace: name.replace(/[^A-Za-z0-9_]/g, "_"),
  fields: [{ name: "name", type: "string" as unknown }, { name: "age", type: "int" as unknown }, ...extra]
})

export const userJson = {
  title: "User",
  type: "object",
  properties: { name: { type: "string" }, age: { type: "integer" } },
  required: ["name", "age"],
  additionalProperties: false
}

export const userProto = (pkg: string) =>
  `syntax = "proto3";\npackage ${pkg.replace(/[^A-Za-z0-9_]/g, "_")};\n\nmessage User {\n  string name = 1;\n  int32 age = 2;\n}\n\nmessage Other {\n  string note = 1;\n}\n`

/** The success of a Result, or a thrown error naming the failure. */
export const ok = <A, E>(r: Result.Result<A, E>): A => {
  if (Result.isFailure(r)) throw new Error(`expected success, got ${String((r.failure as any)?.message ?? r.failure)}`)
  return r.success
}
