/**
 * Fetches a schema's references (and theirs), dependencies first, each subject/version once.
 */
import * as Effect from "effect/Effect"
import type { SchemaRegistryError } from "../Errors.ts"
import type { SchemaDefinition, SchemaRegistryClient } from "../SchemaRegistry.ts"
import type { ResolvedReference } from "./format.ts"

export const resolve = (
  client: SchemaRegistryClient,
  definition: SchemaDefinition
): Effect.Effect<ReadonlyArray<ResolvedReference>, SchemaRegistryError> =>
  Effect.gen(function*() {
    const out: Array<ResolvedReference> = []
    const seen = new Set<string>()
    const visit = (d: SchemaDefinition): Effect.Effect<void, SchemaRegistryError> =>
      Effect.forEach(d.references ?? [], (ref) =>
        Effect.gen(function*() {
          const key = `${ref.subject}\u0000${ref.version}`
          if (seen.has(key)) return
          seen.add(key)
          const r = yield* client.getVersion(ref.subject, ref.version)
          yield* visit(r)
          out.push({ name: ref.name, subject: ref.subject, version: ref.version, definition: r })
        }), { discard: true })
    yield* visit(definition)
    return out
  })
