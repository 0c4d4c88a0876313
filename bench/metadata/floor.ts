/**
 * The bound on Metadata round trips from JavaScript on this machine, against kpax and
 * @platformatic/kafka in the same process: a raw `node:net` socket writing one pre-encoded
 * Metadata v13 request and waiting for its response (no decoding: the least any client can do),
 * `Broker.request(Metadata)` (tracing/validation off, as in `npm run bench`) and platformatic's
 * `admin.metadata({ forceUpdate: true })`, in alternating 250 ms slices (the order rotated each round) so all see the same load.
 *
 * `KAFKA_BROKERS=127.0.0.1:9092 npx node bench/metadata/floor.ts [seconds=12] [topic]` (the topic,
 * by default `bench-metadata-floor`, is created with 6 partitions as in `npm run bench` if missing).
 * With `KPAX_BASE=<another checkout>` its `Broker` runs too, as "kpax (base)": a before/after
 * comparison in one process under the same load (both must resolve the same `effect`).
 */
import { Admin } from "@platformatic/kafka"
import { Effect, Exit, Scope } from "effect"
import * as net from "node:net"
import * as Broker from "../../src/Connection/Broker.ts"
import { encodeRequestFrameResult } from "../../src/Protocol/Frame.ts"
import { Metadata } from "../../src/Protocol/generated/Metadata.ts"

const [host, portText] = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",")[0].split(":")
const port = Number(portText)
const seconds = Number(process.argv[2] ?? "12")
const topic = process.argv[3] ?? "bench-metadata-floor"

{
  const setup = new Admin({ clientId: "floor-setup", bootstrapBrokers: [`${host}:${port}`] })
  await setup.createTopics({ topics: [topic], partitions: 6, replicas: 1 }).catch(() => undefined)
  await setup.close()
}

// -- raw: one pre-encoded frame, responses counted by their size prefix
const socket = net.connect({ host, port, noDelay: true })
await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject))
const encoded = encodeRequestFrameResult(Metadata, 13, 1, "floor", { topics: [{ name: topic }], allowAutoTopicCreation: false })
if (encoded._tag !== "Success") throw new Error("encode failed")
const frame = Buffer.from(encoded.success)
let waiting: (() => void) | undefined
let need = -1
let have = 0
socket.on("data", (chunk: Buffer) => {
  have += chunk.length
  if (need < 0 && have >= 4) need = chunk.readInt32BE(0) + 4
  if (need >= 0 && have >= need) {
    have -= need
    need = -1
    const w = waiting
    waiting = undefined
    w?.()
  }
})
const raw = () => new Promise<void>((resolve) => {
  waiting = resolve
  socket.write(frame)
})

// -- kpax
const scope = Effect.runSync(Scope.make())
const broker = await Effect.runPromise(Scope.provide(scope)(Broker.make({ host, port, clientId: "kpax-bench", tracing: false, validateRequests: false })))
const req = { topics: [{ name: topic }], allowAutoTopicCreation: false }
const once = broker.request(Metadata, req)
const kpax = () => Effect.runPromise(once).then(() => undefined)

// -- platformatic
const admin = new Admin({ clientId: "platformatic-bench", bootstrapBrokers: [`${host}:${port}`] })
const platformatic = async () => {
  await admin.metadata({ topics: [topic], forceUpdate: true })
}

const clients: Array<[string, () => Promise<void>]> = [["raw socket (floor)", raw], ["kpax", kpax], ["@platformatic/kafka", platformatic]]
if (process.env.KPAX_BASE !== undefined && process.env.KPAX_BASE !== "") {
  const base = (await import(`${process.env.KPAX_BASE}/src/Connection/Broker.ts`)) as typeof Broker
  const baseMetadata = ((await import(`${process.env.KPAX_BASE}/src/Protocol/generated/Metadata.ts`)) as { Metadata: typeof Metadata }).Metadata
  const b = await Effect.runPromise(Scope.provide(scope)(base.make({ host, port, clientId: "kpax-bench", tracing: false, validateRequests: false })))
  const onceBase = b.request(baseMetadata, req)
  clients.splice(2, 0, ["kpax (base)", () => Effect.runPromise(onceBase).then(() => undefined)])
}
const slices = new Map<string, Array<number>>(clients.map(([name]) => [name, []]))
const cpu = new Map<string, Array<number>>(clients.map(([name]) => [name, []]))
for (const [, f] of clients) for (let i = 0; i < 2000; i++) await f() // warm-up
const end = performance.now() + seconds * 1000
for (let round = 0; performance.now() < end; round++) {
  // rotated each round: no client always runs right after another
  for (let k = 0; k < clients.length; k++) {
    const [name, f] = clients[(k + round) % clients.length]
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    let n = 0
    while (performance.now() - t0 < 250) {
      await f()
      n++
    }
    const c = process.cpuUsage(c0)
    slices.get(name)!.push((n * 1000) / (performance.now() - t0))
    cpu.get(name)!.push((c.user + c.system) / n)
  }
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const floor = median(slices.get(clients[0][0])!)
console.log(`${seconds} s in 250 ms slices, ${host}:${port}, topic ${topic}`)
console.log("| client | round trips/s (median of slices) | µs per round trip | µs CPU per round trip | ÷ floor |")
console.log("| --- | ---: | ---: | ---: | ---: |")
for (const [name] of clients) {
  const r = median(slices.get(name)!)
  console.log(`| ${name} | ${Math.round(r).toLocaleString("en-US")} | ${(1e6 / r).toFixed(1)} | ${median(cpu.get(name)!).toFixed(1)} | ${(r / floor).toFixed(2)} |`)
}
socket.destroy()
await admin.close()
await Effect.runPromise(Scope.close(scope, Exit.void))
