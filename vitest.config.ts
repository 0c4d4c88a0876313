import { defineConfig } from "vitest/config"

// Files that need a Schema Registry live under test/schema-registry/: their project adds the
// registry's global setup, which vitest runs only when one of those files is selected.
const REGISTRY_TESTS = "test/schema-registry/**/*.test.ts"

export default defineConfig({
  test: {
    // Starts a real Kafka broker for the run (or uses KAFKA_BROKERS); tests read it via test/kafka/env.ts.
    globalSetup: ["test/kafka/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: "kpax", include: ["test/**/*.test.ts"], exclude: [REGISTRY_TESTS] } },
      {
        extends: true,
        test: {
          name: "schema-registry",
          include: [REGISTRY_TESTS],
          globalSetup: ["test/registry/globalSetup.ts"],
          // Apicurio's in-memory H2 store fails concurrent registrations of new content (lock
          // time-outs, then duplicate content ids: 500s), so these files and tests run one at a time.
          fileParallelism: false
        }
      }
    ]
  }
})
