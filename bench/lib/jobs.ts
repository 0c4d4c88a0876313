/**
 * What the orchestrator (`bench/run.ts`) asks a client's child process to do, and what comes back.
 * One job = one client, one scenario: a warm-up and then `reps` timed repetitions in the same
 * process (so the JIT is warm and RSS/GC are the client's own).
 */

export type ClientName = "kpax" | "kafkajs" | "platformatic" | "confluent"
export const NODE_CLIENTS: ReadonlyArray<ClientName> = ["kpax", "kafkajs", "platformatic", "confluent"]

export type Acks = 1 | -1
export type Codec = "none" | "lz4" | "zstd"

export interface ProduceJob {
  readonly kind: "produce"
  readonly brokers: string
  readonly topic: string
  readonly partitions: number
  readonly size: number
  readonly count: number
  readonly warmup: number
  readonly reps: number
  readonly acks: Acks
  readonly codec: Codec
  /** Best-practice throughput settings, or the client's defaults. */
  readonly tuned: boolean
  /** Records carry a key (`keyOf(i)`: 1,024 distinct keys), so the key partitioner places them. */
  readonly keyed: boolean
  /**
   * `batch`: the client's batch API (kpax `sendAll`, peers' `send` of message arrays, librdkafka's
   * `produce`); `record`: one send call per record, all of a repetition's sends started at once.
   */
  readonly api: ProduceApi
}

export type ProduceApi = "batch" | "record"

export interface LatencyJob {
  readonly kind: "latency"
  readonly brokers: string
  readonly topic: string
  readonly size: number
  readonly rate: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly acks: Acks
}

export interface ConsumeJob {
  readonly kind: "consume"
  readonly brokers: string
  readonly topic: string
  readonly partitions: number
  /** Records in the topic (every partition is read to its end offset). */
  readonly count: number
  readonly endOffsets: ReadonlyArray<number>
  /** Consumers in one group (1 = alone: kpax without a group, peers in a group of one). */
  readonly members: number
  readonly reps: number
  readonly warmup: boolean
  readonly groupPrefix: string
  /** Group protocol of a group of N: `classic` (JoinGroup/SyncGroup) or `consumer` (KIP-848). */
  readonly protocol: GroupProtocol
}

export type GroupProtocol = "classic" | "consumer"

export interface MetadataJob {
  readonly kind: "metadata"
  readonly brokers: string
  readonly topic: string
  readonly seconds: number
  readonly reps: number
}

export type Job = ProduceJob | LatencyJob | ConsumeJob | MetadataJob

export interface Rep {
  /** Records (or requests) in this repetition, as counted by the client (acks / records read). */
  readonly n: number
  readonly ms: number
  /** Extra per-rep numbers (join time of a group, ...). */
  readonly extra?: Record<string, number>
}

export interface JobResult {
  readonly client: string
  readonly version: string
  /** The settings used, in words, for RESULTS.md. */
  readonly settings: string
  readonly reps: ReadonlyArray<Rep>
  /** Latency samples (ms), send→ack, for latency jobs: p50/p99/p99.9 computed by the child. */
  readonly latency?: { readonly count: number; readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number; readonly achievedRate: number; readonly sent?: number; readonly saturated?: boolean }
  /** Peak resident set of the child process (bytes). */
  readonly peakRss: number
  /** Unsupported in this client (e.g. a codec): the reason; no reps. */
  readonly skipped?: string
}

/** The line a child prints its result on (stdout). */
export const RESULT_PREFIX = "@@bench-result "
