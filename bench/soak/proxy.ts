/**
 * The soak's fault proxy: one TCP listener per broker on 127.0.0.1, forwarding to the broker's
 * CLIENT listener (the brokers advertise these ports, so every client connection goes through
 * here). Faults, each on one broker's connections or all of them:
 * - `drop`: destroys the open connections (both sides), as a NAT or load balancer reset would;
 * - `delay`: holds every chunk of one direction for a while (order kept);
 * - `blackhole`: swallows one direction; connections that saw it stay silent forever (a half-open
 *   connection: only the client's request timeout can notice), new connections are fine after;
 * - `cutResponses`: the next responses (broker to client frames) are cut in the middle: half the
 *   frame is forwarded, then the connection is destroyed.
 */
import * as net from "node:net"

export type Direction = "toBroker" | "toClient"

interface Link {
  readonly client: net.Socket
  readonly broker: net.Socket
  /** Directions swallowed for good on this connection. */
  readonly poisoned: Set<Direction>
  /** Broker-to-client frame parsing: bytes of the 4-byte size header seen, and body bytes left. */
  header: Array<number>
  bodyLeft: number
  /** Chunks held by a delay, per direction (order kept). */
  readonly pending: Record<Direction, Promise<void>>
}

interface Faults {
  delayMs: Record<Direction, number>
  blackhole: Set<Direction>
  cuts: number
}

/** One broker's listener. */
export interface ProxiedBroker {
  readonly port: number
  target: { host: string; port: number } | undefined
  readonly links: Set<Link>
  readonly faults: Faults
  /** Connections accepted so far. */
  accepted: number
}

export interface FaultProxy {
  readonly brokers: ReadonlyArray<ProxiedBroker>
  /** The advertised ports, in node order. */
  readonly ports: ReadonlyArray<number>
  setTargets(ports: ReadonlyArray<number>): void
  drop(index?: number): number
  delay(index: number | undefined, direction: Direction, ms: number): void
  blackhole(index: number | undefined, direction: Direction, on: boolean): void
  cutResponses(index: number | undefined, count: number): void
  /** Open connections (client sides). */
  open(): number
  close(): Promise<void>
}

const MIN_CUT_FRAME = 64

const forward = (link: Link, broker: ProxiedBroker, direction: Direction, chunk: Buffer): void => {
  const faults = broker.faults
  if (faults.blackhole.has(direction)) link.poisoned.add(direction)
  if (link.poisoned.has(direction)) return
  const to = direction === "toBroker" ? link.broker : link.client
  if (direction === "toClient" && faults.cuts > 0) {
    const cut = cutPoint(link, chunk)
    if (cut >= 0) {
      faults.cuts--
      const head = chunk.subarray(0, cut)
      const write = () => {
        to.write(head, () => {
          link.client.destroy()
          link.broker.destroy()
        })
      }
      send(link, faults, direction, write)
      return
    }
  } else if (direction === "toClient") track(link, chunk, 0, chunk.length)
  send(link, faults, direction, () => to.write(chunk))
}

const send = (link: Link, faults: Faults, direction: Direction, write: () => void): void => {
  const ms = faults.delayMs[direction]
  if (ms <= 0) {
    // keep order behind chunks still held by an earlier delay
    link.pending[direction] = link.pending[direction].then(write)
    return
  }
  const due = new Promise<void>((resolve) => setTimeout(resolve, ms))
  link.pending[direction] = Promise.all([link.pending[direction], due]).then(write)
}

/** Advances the frame parser over `chunk[from, to)`; returns whether a frame starts at `to`. */
const track = (link: Link, chunk: Buffer, from: number, to: number): void => {
  let i = from
  while (i < to) {
    if (link.bodyLeft > 0) {
      const n = Math.min(link.bodyLeft, to - i)
      link.bodyLeft -= n
      i += n
      continue
    }
    link.header.push(chunk[i]!)
    i++
    if (link.header.length === 4) {
      link.bodyLeft = Buffer.from(link.header).readInt32BE(0)
      link.header = []
    }
  }
}

/**
 * Where to cut `chunk` (the offset to stop at) if a frame of at least MIN_CUT_FRAME bytes has its
 * middle in it; else -1 (and the parser has consumed the chunk).
 */
const cutPoint = (link: Link, chunk: Buffer): number => {
  let i = 0
  while (i < chunk.length) {
    if (link.bodyLeft === 0 && link.header.length === 0 && chunk.length - i >= 4) {
      const size = chunk.readInt32BE(i)
      if (size >= MIN_CUT_FRAME) {
        const mid = i + 4 + Math.floor(size / 2)
        if (mid < chunk.length) return mid
      }
    }
    // consume one frame (or what is left of it) and look again
    const before = link.bodyLeft
    if (before > 0) {
      const n = Math.min(before, chunk.length - i)
      link.bodyLeft -= n
      i += n
    } else {
      const need = 4 - link.header.length
      const n = Math.min(need, chunk.length - i)
      track(link, chunk, i, i + n)
      i += n
    }
  }
  return -1
}

/** Starts one listener per broker (ports chosen by the OS); targets are set once brokers run. */
export const startProxy = async (count: number): Promise<FaultProxy & { servers: Array<net.Server> }> => {
  const brokers: Array<ProxiedBroker> = []
  const servers: Array<net.Server> = []
  for (let i = 0; i < count; i++) {
    const entry: ProxiedBroker = {
      port: 0,
      target: undefined,
      links: new Set(),
      faults: { delayMs: { toBroker: 0, toClient: 0 }, blackhole: new Set(), cuts: 0 },
      accepted: 0
    }
    const server = net.createServer({ noDelay: true }, (client) => {
      entry.accepted++
      const target = entry.target
      if (target === undefined) {
        client.destroy()
        return
      }
      const broker = net.connect({ host: target.host, port: target.port, noDelay: true })
      const link: Link = {
        client,
        broker,
        poisoned: new Set(),
        header: [],
        bodyLeft: 0,
        pending: { toBroker: Promise.resolve(), toClient: Promise.resolve() }
      }
      // a connection opened during a black-hole is swallowed from the start
      for (const d of entry.faults.blackhole) link.poisoned.add(d)
      entry.links.add(link)
      const end = () => {
        entry.links.delete(link)
        client.destroy()
        broker.destroy()
      }
      client.on("data", (chunk: Buffer) => forward(link, entry, "toBroker", chunk))
      broker.on("data", (chunk: Buffer) => forward(link, entry, "toClient", chunk))
      client.on("close", end)
      broker.on("close", end)
      client.on("error", end)
      broker.on("error", end)
    })
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => resolve())
    })
    ;(entry as { port: number }).port = (server.address() as net.AddressInfo).port
    brokers.push(entry)
    servers.push(server)
  }
  const pick = (index: number | undefined) => (index === undefined ? brokers : [brokers[index]!])
  return {
    brokers,
    servers,
    ports: brokers.map((b) => b.port),
    setTargets: (ports) => ports.forEach((port, i) => (brokers[i]!.target = { host: "127.0.0.1", port })),
    drop: (index) => {
      let n = 0
      for (const b of pick(index)) {
        for (const link of [...b.links]) {
          link.client.destroy()
          link.broker.destroy()
          b.links.delete(link)
          n++
        }
      }
      return n
    },
    delay: (index, direction, ms) => {
      for (const b of pick(index)) b.faults.delayMs[direction] = ms
    },
    blackhole: (index, direction, on) => {
      for (const b of pick(index)) {
        if (on) {
          b.faults.blackhole.add(direction)
          for (const link of b.links) link.poisoned.add(direction)
        } else b.faults.blackhole.delete(direction)
      }
    },
    cutResponses: (index, count) => {
      for (const b of pick(index)) b.faults.cuts = count
    },
    open: () => brokers.reduce((n, b) => n + b.links.size, 0),
    close: async () => {
      for (const b of brokers) {
        for (const link of b.links) {
          link.client.destroy()
          link.broker.destroy()
        }
        b.links.clear()
      }
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    }
  }
}
