import { describe, expect, it } from "@effect/vitest"
import { registryUrl } from "../registry/env.ts"

describe("registry harness", () => {
  it("serves the Confluent-compatible API", async () => {
    const res = await fetch(`${registryUrl()}/subjects`)
    expect(res.status).toBe(200)
    expect(Array.isArray(await res.json())).toBe(true)
  })
})
