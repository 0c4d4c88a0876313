/**
 * What tests use to reach the Schema Registry that `npm test` runs (started by
 * `test/registry/globalSetup.ts` for the files under test/schema-registry/, or the one named by
 * `KAFKA_SCHEMA_REGISTRY_URL`).
 *
 * @example
 * ```ts
 * import { registryUrl } from "../registry/env.ts"
 * const url = registryUrl() // "http://127.0.0.1:40123/apis/ccompat/v7"
 * ```
 */
import { inject } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    /** The base URL of the Confluent-compatible API of the test registry. */
    schemaRegistryUrl: string
  }
}

/** The base URL of the test registry's Confluent-compatible API. */
export function registryUrl(): string {
  const url = inject("schemaRegistryUrl")
  if (url === undefined || url === "") {
    throw new Error("no Schema Registry provided: run the test through vitest (npm test); its file must be under test/schema-registry/")
  }
  return url
}
