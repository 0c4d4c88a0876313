/**
 * The registry client behind the `SchemaRegistry` service: the Confluent REST calls over the
 * transport, retried through a `Schedule` while the failure is retriable (no answer, 5xx), with
 * coalescing caches for what does not change: schema by id, id by (subject, schema) for
 * register and lookup, and a subject's fixed versions.
 */
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type { SchemaRegistryError } from "../Errors.ts"
import type {
  CompatibilityLevel,
  CompatibilityResult,
  RegisteredSchema,
  SchemaDefinition,
  SchemaReference,
  SchemaRegistryClient,
  SchemaType
} from "./types.ts"
import * as Cache from "./cache.ts"
import type { Transport } from "./http.ts"

const enc = encodeURIComponent

interface WireSchema {
  readonly subject?: string
  readonly id?: number
  readonly version?: number
  readonly schema: string
  readonly schemaType?: SchemaType
  readonly references?: ReadonlyArray<SchemaReference> | undefined
}

const body = (s: SchemaDefinition) => ({
  schema: s.schema,
  ...(s.schemaType === "AVRO" ? {} : { schemaType: s.schemaType }),
  ...(s.references !== undefined && s.references.length > 0 ? { references: s.references } : {})
})

const definition = (w: WireSchema): SchemaDefinition => ({
  schemaType: w.schemaType ?? "AVRO",
  schema: w.schema,
  references: w.references ?? []
})

const registered = (subject: string, w: WireSchema): RegisteredSchema => ({
  ...definition(w),
  subject: w.subject ?? subject,
  id: w.id ?? -1,
  version: w.version ?? -1
})

const schemaKey = (subject: string, s: SchemaDefinition) =>
  `${subject}\u0000${s.schemaType}\u0000${s.schema}\u0000${JSON.stringify(s.references ?? [])}`

export const make = (transport: Transport, retry: Schedule.Schedule<unknown, unknown>): SchemaRegistryClient => {
  const call = <A>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, payload?: unknown, subject?: string) =>
    transport.request<A>(method, path, payload, subject).pipe(
      Effect.retry({ schedule: retry, while: (e: SchemaRegistryError) => e.retriable })
    )

  const byId = Cache.make((id: number) => id, (id: number) =>
    Effect.map(call<WireSchema>("GET", `/schemas/ids/${id}`), definition))
  const registerCache = Cache.make(
    (k: { subject: string; schema: SchemaDefinition; normalize: boolean }) => `${k.normalize ? 1 : 0}${schemaKey(k.subject, k.schema)}`,
    (k) => Effect.map(
      call<{ id: number }>("POST", `/subjects/${enc(k.subject)}/versions${k.normalize ? "?normalize=true" : ""}`, body(k.schema), k.subject),
      (r) => r.id
    )
  )
  const lookupCache = Cache.make(
    (k: { subject: string; schema: SchemaDefinition }) => schemaKey(k.subject, k.schema),
    (k) => Effect.map(call<WireSchema>("POST", `/subjects/${enc(k.subject)}`, body(k.schema), k.subject), (w) => registered(k.subject, w))
  )
  const versionCache = Cache.make(
    (k: { subject: string; version: number }) => `${k.subject}\u0000${k.version}`,
    (k) => Effect.map(call<WireSchema>("GET", `/subjects/${enc(k.subject)}/versions/${k.version}`, undefined, k.subject), (w) => registered(k.subject, w))
  )

  const remember = (r: RegisteredSchema) => {
    if (r.id >= 0 && byId.peek(r.id) === undefined) byId.set(r.id, definition(r))
    return r
  }

  return {
    url: transport.url,
    register: (subject, schema, options) =>
      registerCache.get({ subject, schema, normalize: options?.normalize === true }).pipe(
        Effect.tap((id) => Effect.sync(() => byId.peek(id) ?? byId.set(id, { ...schema, references: schema.references ?? [] })))
      ),
    lookup: (subject, schema) => Effect.map(lookupCache.get({ subject, schema }), remember),
    getById: (id) => byId.get(id),
    peekById: (id) => byId.peek(id),
    getVersion: (subject, version) =>
      version === "latest"
        ? Effect.map(call<WireSchema>("GET", `/subjects/${enc(subject)}/versions/latest`, undefined, subject), (w) => remember(registered(subject, w)))
        : Effect.map(versionCache.get({ subject, version }), remember),
    versions: (subject) => call<ReadonlyArray<number>>("GET", `/subjects/${enc(subject)}/versions`, undefined, subject),
    subjects: call<ReadonlyArray<string>>("GET", "/subjects"),
    checkCompatibility: (subject, schema, version = "latest") =>
      Effect.map(
        call<{ is_compatible: boolean; messages?: ReadonlyArray<string>; reason?: string }>(
          "POST",
          `/compatibility/subjects/${enc(subject)}/versions/${version}?verbose=true`,
          body(schema),
          subject
        ),
        (r): CompatibilityResult => ({
          isCompatible: r.is_compatible,
          messages: r.messages ?? (r.reason === undefined ? [] : [r.reason])
        })
      ),
    getConfig: (subject) =>
      Effect.map(
        call<{ compatibilityLevel?: CompatibilityLevel; compatibility?: CompatibilityLevel }>(
          "GET",
          subject === undefined ? "/config" : `/config/${enc(subject)}`,
          undefined,
          subject
        ),
        (r) => (r.compatibilityLevel ?? r.compatibility)!
      ),
    setConfig: (compatibility, subject) =>
      Effect.map(
        call<{ compatibility: CompatibilityLevel }>("PUT", subject === undefined ? "/config" : `/config/${enc(subject)}`, { compatibility }, subject),
        (r) => r.compatibility
      ),
    deleteSubject: (subject) => call<ReadonlyArray<number>>("DELETE", `/subjects/${enc(subject)}`, undefined, subject)
  }
}
