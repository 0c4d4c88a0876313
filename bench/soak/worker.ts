/**
 * A soak client in a process of its own (so a crash is a real SIGKILL, and memory is its own):
 * `node --expose-gc bench/soak/worker.ts '<job json>'`, with an IPC channel to the driver.
 * - `feeder`: an idempotent producer sending `rate` records a second, keys `k00..`, values
 *   `<key>:<seq>` (seq counts per key); at the end it writes what was acknowledged to `ackFile`.
 * - `member`: one consumer-group member doing consume-transform-produce: each chunk the stream
 *   hands out becomes one transaction (the transformed records, then `sendOffsets` with the
 *   member's generation). A failed incarnation (transaction fenced, membership lost, …) is closed
 *   and started again with the same transactional id, which fences its zombie.
 * Both sample their memory after a GC every `sampleMs`, and on `stop` close every scope and
 * report what is left open (sockets, timers: a fiber left running holds one of them) before they
 * let the process end by itself.
 */
import { Cause, Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as fs from "node:fs"
import * as Cluster from "../../src/Cluster/Cluster.ts"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import type { ProducerRecord } from "../../src/Producer/Producer.ts"

export interface FeederJob {
  readonly role: "feeder"
  readonly bootstrap: ReadonlyArray<string>
  readonly topic: string
  readonly rate: number
  readonly keys: number
  readonly ackFile: string
  readonly requestTimeoutMs: number
  readonly sampleMs: number
}

export interface MemberJob {
  readonly role: "member"
  readonly slot: number
  readonly bootstrap: ReadonlyArray<string>
  readonly input: string
  readonly output: string
  readonly groupId: string
  readonly transactionalId: string
  readonly protocol: "classic" | "consumer"
  readonly requestTimeoutMs: number
  readonly sampleMs: number
}

export type Job = FeederJob | MemberJob

/** Messages to the driver. */
export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "memory"; readonly t: number; readonly heapUsed: number; readonly rss: number }
  | { readonly type: "progress"; readonly t: number; readonly count: number }
  | { readonly type: "restart"; readonly t: number; readonly reason: string }
  | { readonly type: "closed"; readonly t: number; readonly resources: Record<string, number>; readonly connections: number; readonly summary: unknown }

const te = new TextEncoder()
const td = new TextDecoder()
const tell = (m: WorkerMessage) => process.send?.(m)

const sampleMemory = (sampleMs: number): NodeJS.Timeout => {
  const sample = () => {
    ;(globalThis as { gc?: () => void }).gc?.()
    const m = process.memoryUsage()
    tell({ type: "memory", t: Date.now(), heapUsed: m.heapUsed, rss: m.rss })
  }
  sample()
  return setInterval(sample, sampleMs)
}

/** What keeps the event loop alive, by kind, without the IPC channel to the driver. */
const openResources = (): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1
  // the IPC channel to the driver is a pipe; stdio may be too
  delete out.PipeWrap
  delete out.TTYWrap
  return out
}

/** The failure's first line and where in kpax it came from (the frames under src/, not the error constructors). */
const describe = (cause: Cause.Cause<unknown>): string => {
  const lines = Cause.pretty(cause).split("\n")
  const frames = lines.filter((l) => l.includes("/src/") && !l.includes("Errors.ts")).slice(0, 3).map((l) => l.trim().replace(/\(file:\/\/.*\/src\//, "(src/"))
  return [lines[0], ...frames].join(" / ")
}

const clusterOptions = (job: Job, clientId: string): Cluster.ClusterOptions => ({
  bootstrap: [...job.bootstrap],
  clientId,
  requestTimeout: `${job.requestTimeoutMs} millis`,
  connectTimeout: "5 seconds"
})

/** What a worker reports at the end; filled while it runs (a member ends by interruption). */
interface State {
  summary: Record<string, number>
  connections: () => number
}

const feeder = (job: FeederJob, stopped: Promise<void>, state: State) =>
  Effect.gen(function*() {
    const cluster = yield* Cluster.make(clusterOptions(job, "soak-feeder"))
    state.connections = () => cluster.connectionCount()
    const producer = yield* Producer.make({
      acks: "all",
      idempotent: true,
      linger: "5 millis",
      requestTimeout: `${job.requestTimeoutMs} millis`
    }).pipe(Effect.provideService(Cluster.Cluster, cluster))
    const seq = new Array<number>(job.keys).fill(0)
    // acknowledged seqs per key as bits (not 180,000 strings: the feeder's heap is measured)
    const ackedBits: Array<Uint8Array> = Array.from({ length: job.keys }, () => new Uint8Array(1024))
    let ackedCount = 0
    const ack = (k: number, seq: number) => {
      let bits = ackedBits[k]!
      if ((seq >> 3) >= bits.length) {
        const grown = new Uint8Array(Math.max(bits.length * 2, (seq >> 3) + 1))
        grown.set(bits)
        ackedBits[k] = bits = grown
      }
      bits[seq >> 3]! |= 1 << (seq & 7)
      ackedCount++
    }
    let failed = 0
    let sent = 0
    let stop = false
    stopped.then(() => (stop = true))
    const tickMs = 50
    const perTick = Math.max(1, Math.round((job.rate * tickMs) / 1000))
    const inFlight: Array<Fiber.Fiber<void>> = []
    const started = Date.now()
    let next = 0
    while (!stop) {
      const batch: Array<{ record: ProducerRecord; k: number; seq: number }> = []
      for (let i = 0; i < perTick; i++) {
        const k = next++ % job.keys
        const key = `k${String(k).padStart(2, "0")}`
        const n = seq[k]!++
        batch.push({ record: { topic: job.topic, key: te.encode(key), value: te.encode(`${key}:${n}`) }, k, seq: n })
      }
      sent += batch.length
      const fiber = yield* Effect.forkChild(Effect.forEach(batch, (r) =>
        Effect.matchEffect(producer.send(r.record), {
          onSuccess: () => Effect.sync(() => ack(r.k, r.seq)),
          onFailure: () => Effect.sync(() => failed++)
        }), { concurrency: "unbounded", discard: true }))
      inFlight.push(fiber)
      while (inFlight.length > 0 && inFlight[0]!.pollUnsafe() !== undefined) inFlight.shift()
      tell({ type: "progress", t: Date.now(), count: ackedCount })
      // a steady rate: the n-th tick is due at started + n * tickMs, however long sends take
      const due = started + (sent / perTick) * tickMs
      yield* Effect.sleep(`${Math.max(0, due - Date.now())} millis`)
    }
    yield* Effect.forEach(inFlight, Fiber.join, { discard: true })
    const acked: Array<string> = []
    ackedBits.forEach((bits, k) => {
      const key = `k${String(k).padStart(2, "0")}`
      for (let n = 0; n < bits.length * 8; n++) if (bits[n >> 3]! & (1 << (n & 7))) acked.push(`${key}:${n}`)
    })
    fs.writeFileSync(job.ackFile, JSON.stringify({ sent, failed, acked }))
    state.summary = { sent, acked: ackedCount, failed }
  })

const member = (job: MemberJob, state: State) =>
  Effect.gen(function*() {
    const stats = { processed: 0, transactions: 0, incarnations: 0, restarts: 0 }
    state.summary = stats
    const once = Effect.scoped(Effect.gen(function*() {
      stats.incarnations++
      const cluster = yield* Cluster.make(clusterOptions(job, `soak-member-${job.slot}`))
      state.connections = () => cluster.connectionCount()
      const withCluster = Effect.provideService(Cluster.Cluster, cluster)
      const producer = yield* Producer.make({
        transactionalId: job.transactionalId,
        transactionTimeout: "30 seconds",
        linger: "1 millis",
        requestTimeout: `${job.requestTimeoutMs} millis`
      }).pipe(withCluster)
      const consumer = yield* Consumer.make({
        groupId: job.groupId,
        topics: [job.input],
        groupProtocol: job.protocol,
        offsetReset: "earliest",
        isolationLevel: "read_committed",
        autoCommit: false,
        maxWait: "200 millis",
        requestTimeout: `${job.requestTimeoutMs} millis`,
        ...(job.protocol === "classic" ? { sessionTimeout: "10 seconds", heartbeatInterval: "1 second", rebalanceTimeout: "30 seconds" } : {})
      }).pipe(withCluster)
      const tag = `m${job.slot}.${stats.incarnations}`
      const timing = { send: 0, offsets: 0, total: 0, records: 0 }
      if (process.env.SOAK_DEBUG) {
        // where each owned partition is: position, lag, buffered (diagnosing stalls)
        yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep("5 seconds"), Effect.sync(() => {
          const parts = consumer.assignment().map((tp) => `p${tp.partition}@${consumer.position(tp)}/lag${consumer.lag(tp)}`)
          console.log(`[${tag} ${new Date().toISOString().slice(11, 19)}] gen ${consumer.membership.generation().generationId} ${parts.join(" ")} processed ${stats.processed} txns ${stats.transactions} ms ${JSON.stringify(timing)} buffered ${consumer.bufferedBytes()}`)
        }))))
      }
      yield* consumer.records.pipe(Stream.runForEachArray((chunk) =>
        Effect.gen(function*() {
          const next = new Map<string, { topic: string; partition: number; offset: bigint }>()
          const out: Array<ProducerRecord> = new Array(chunk.length)
          for (let i = 0; i < chunk.length; i++) {
            const r = chunk[i]!
            next.set(`${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1n })
            out[i] = { topic: job.output, key: r.key, value: te.encode(`${td.decode(r.value!)}|${tag}|${r.timestamp}`) }
          }
          const t0 = Date.now()
          yield* producer.transaction(Effect.gen(function*() {
            yield* producer.sendAll(out)
            timing.send += Date.now() - t0
            const t1 = Date.now()
            const g = consumer.membership.generation()
            yield* producer.sendOffsets([...next.values()], {
              groupId: g.groupId,
              generationId: g.generationId,
              memberId: g.memberId,
              groupInstanceId: g.groupInstanceId
            })
            timing.offsets += Date.now() - t1
          }))
          timing.total += Date.now() - t0
          timing.records += chunk.length
          stats.processed += chunk.length
          stats.transactions++
          tell({ type: "progress", t: Date.now(), count: stats.processed })
        })
      ))
    }))
    // stopped by interruption (the incarnation's scope closes: commit, leave the group, close)
    for (;;) {
      const exit = yield* Effect.exit(once)
      stats.restarts++
      const reason = Exit.isFailure(exit) ? describe(exit.cause) : "the stream ended"
      tell({ type: "restart", t: Date.now(), reason })
      yield* Effect.sleep("1 second")
    }
  })

const main = async () => {
  const job = JSON.parse(process.argv[2]!) as Job
  let signalStop: () => void = () => {}
  const stopped = new Promise<void>((resolve) => (signalStop = resolve))
  const timer = sampleMemory(job.sampleMs)
  const scope = await Effect.runPromise(Scope.make())
  const state: State = { summary: {}, connections: () => 0 }
  const run = job.role === "feeder" ? feeder(job, stopped, state) : member(job, state)
  const fiber = Effect.runFork(Scope.provide(scope)(run))
  process.on("message", (m: { type: string }) => {
    if (m.type === "stop") signalStop()
  })
  tell({ type: "ready" })
  await stopped
  // a member is stopped by interrupting its incarnation (the scope closes: commit, leave, close)
  const exit = job.role === "member" ? await Effect.runPromise(Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))) : await Effect.runPromise(Fiber.await(fiber))
  await Effect.runPromise(Scope.close(scope, Exit.void))
  clearInterval(timer)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const failure = Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause) ? { failure: Cause.pretty(exit.cause).slice(0, 500) } : {}
  tell({ type: "closed", t: Date.now(), resources: openResources(), connections: state.connections(), summary: { ...state.summary, ...failure } })
  process.disconnect()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
