/**
 * What the runtime smoke program (`smoke.ts`, run on Node, Bun and Deno) and its Node driver
 * (`runtimes.smoke.ts`) agree on: the checks, in the order they run, and the line each one prints.
 */

/** Every check of the library smoke program, in the order it runs them. */
export const CHECKS = [
  "produce + consume none",
  "produce + consume gzip",
  "produce + consume snappy",
  "produce + consume lz4",
  "produce + consume zstd",
  "classic group",
  "KIP-848 group",
  "transaction",
  "TLS + SCRAM-SHA-512 from Config",
  "unsupported feature is a typed error"
] as const

export type CheckName = (typeof CHECKS)[number]

/** One line of the program's stdout per finished check (JSON). */
export interface CheckResult {
  readonly check: CheckName
  readonly ok: boolean
  /** What went wrong (the failure's tag and message, or the assertion). */
  readonly error?: string | undefined
  readonly ms: number
}

/** The environment variables the driver passes to the program. */
export const ENV = {
  /** Plain broker(s), `host:port[,…]`. */
  brokers: "KPAX_SMOKE_BROKERS",
  /** The library entry point to test (a file URL of the packed package's `dist/index.js`). */
  entry: "KPAX_SMOKE_ENTRY",
  /** Runs only these checks (comma-separated names), for debugging. */
  only: "KPAX_SMOKE_ONLY"
} as const
