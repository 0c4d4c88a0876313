/**
 * The soak's chaos schedule: a seeded, reproducible list of faults spread over the run (every
 * kind at least once when the run is long enough, in a seeded order), and how each is carried out
 * on the cluster, the fault proxy and the members.
 */
import type { KafkaHandle } from "../../test/kafka/harness.ts"
import type { Direction, FaultProxy } from "./proxy.ts"

export const FAULT_KINDS = [
  "kill9", // SIGKILL a broker, restart it
  "sigstop", // SIGSTOP a broker longer than the request timeout, then SIGCONT
  "rolling", // graceful restart of every broker, one after the other
  "drop", // the proxy resets every client connection
  "delay", // the proxy delays one direction of one broker's connections
  "blackhole", // the proxy swallows one direction of one broker's connections
  "cut", // the proxy cuts responses of one broker in the middle
  "member-crash" // SIGKILL a member process, start a new one
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface PlannedFault {
  readonly kind: FaultKind
  /** Seconds after the chaos phase starts. */
  readonly at: number
  /** Broker index (0-based) or member slot. */
  readonly target: number
  readonly direction: Direction
}

/** mulberry32: small, fast and good enough for picking faults. */
export const rng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** How long each kind usually takes (s), to space the schedule. */
const COST: Record<FaultKind, number> = {
  kill9: 35, sigstop: 30, rolling: 90, drop: 5, delay: 20, blackhole: 20, cut: 10, "member-crash": 20
}

/**
 * Faults for a chaos phase of `seconds`: the kinds in a seeded order (repeated while time is
 * left), one after the other with a pause of 10–25 s between them. `kinds` restricts the set.
 */
export const plan = (seed: number, seconds: number, kinds: ReadonlyArray<FaultKind> = FAULT_KINDS): Array<PlannedFault> => {
  const random = rng(seed)
  const out: Array<PlannedFault> = []
  let t = 0
  for (;;) {
    const order = [...kinds]
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    for (const kind of order) {
      if (t + COST[kind] > seconds) return out
      out.push({ kind, at: t, target: Math.floor(random() * 3), direction: random() < 0.5 ? "toBroker" : "toClient" })
      t += COST[kind] + 10 + Math.floor(random() * 16)
    }
  }
}

export interface ChaosContext {
  readonly kafka: KafkaHandle
  readonly proxy: FaultProxy
  readonly requestTimeoutMs: number
  readonly crashMember: (slot: number) => Promise<void>
  readonly log: (message: string) => void
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Carries out one fault; resolves when the fault is over (not when the pipeline recovered). */
export const inject = async (fault: PlannedFault, ctx: ChaosContext): Promise<string> => {
  const nodeId = fault.target + 1
  const { kafka, proxy } = ctx
  switch (fault.kind) {
    case "kill9": {
      await kafka.kill(nodeId, "SIGKILL")
      await sleep(8000)
      await kafka.restart(nodeId)
      return `broker ${nodeId} SIGKILLed, restarted after 8 s`
    }
    case "sigstop": {
      const pid = kafka.node(nodeId).pid
      const ms = ctx.requestTimeoutMs + 5000
      if (pid === undefined) return `broker ${nodeId} not running`
      process.kill(pid, "SIGSTOP")
      try {
        await sleep(ms)
      } finally {
        process.kill(pid, "SIGCONT")
      }
      return `broker ${nodeId} SIGSTOPped for ${ms / 1000} s, then SIGCONT`
    }
    case "rolling": {
      for (const id of [1, 2, 3]) {
        await kafka.restart(id)
        await sleep(5000)
      }
      return "brokers 1, 2, 3 restarted one after the other (SIGTERM, start, 5 s pause)"
    }
    case "drop": {
      let n = 0
      for (let i = 0; i < 3; i++) {
        n += proxy.drop()
        await sleep(1000)
      }
      return `every client connection reset, 3 times 1 s apart (${n} connections)`
    }
    case "delay": {
      proxy.delay(fault.target, fault.direction, 400)
      await sleep(20_000)
      proxy.delay(fault.target, fault.direction, 0)
      return `broker ${nodeId}: ${fault.direction} traffic delayed 400 ms for 20 s`
    }
    case "blackhole": {
      const ms = ctx.requestTimeoutMs + 5000
      proxy.blackhole(fault.target, fault.direction, true)
      await sleep(ms)
      proxy.blackhole(fault.target, fault.direction, false)
      return `broker ${nodeId}: ${fault.direction} traffic black-holed for ${ms / 1000} s (those connections stay silent)`
    }
    case "cut": {
      // the target broker may serve no client at the moment (it leads nothing after a restart):
      // after 10 s without a cut, every broker's next responses are cut instead
      const armed = () => proxy.brokers.reduce((n, b) => n + b.faults.cuts, 0)
      proxy.cutResponses(fault.target, 5)
      let deadline = Date.now() + 10_000
      while (armed() > 0 && Date.now() < deadline) await sleep(100)
      let where = `broker ${nodeId}`
      let cut = 5 - armed()
      if (cut === 0) {
        proxy.cutResponses(undefined, 2)
        where = `broker ${nodeId} (idle), then every broker`
        deadline = Date.now() + 10_000
        while (armed() > 0 && Date.now() < deadline) await sleep(100)
        cut = 2 * proxy.brokers.length - armed()
      }
      proxy.cutResponses(undefined, 0)
      return `${where}: ${cut} responses cut in the middle (connection closed after half a frame)`
    }
    case "member-crash": {
      await ctx.crashMember(fault.target)
      return `member ${fault.target} SIGKILLed, a new one started in its place`
    }
  }
}
