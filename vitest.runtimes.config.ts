import { defineConfig } from "vitest/config"

// `npm run test:runtimes`: the smoke suite of test/runtimes/ (the packed kpax on Node, Bun and
// Deno), kept out of `npm test`'s file pattern (*.test.ts).
export default defineConfig({
  test: {
    include: ["test/runtimes/**/*.smoke.ts"],
    globalSetup: ["test/kafka/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // one runtime at a time: the checks share a 2-core machine with the brokers
    fileParallelism: false
  }
})
