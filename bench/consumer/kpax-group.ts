/** kpax group consumer driver: filled in when src/Consumer/Consumer.ts (the group consumer) lands. */
import type { ConsumeJob } from "../lib/jobs.ts"
import { kpaxVersion } from "../lib/kpax.ts"
import type { ConsumeSession, Skipped } from "../lib/worker.ts"

export const consumeGroup = async (_job: ConsumeJob): Promise<ConsumeSession | Skipped> => ({
  skipped: "kpax's group consumer has no benchmark driver yet",
  version: kpaxVersion()
})
