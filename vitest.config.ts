import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Starts a real Kafka broker for the run (or uses KAFKA_BROKERS); tests read it via test/kafka/env.ts.
    globalSetup: ["test/kafka/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000
  }
})
