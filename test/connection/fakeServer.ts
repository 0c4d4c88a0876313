/**
 * A local `node:net` server on 127.0.0.1:0 for misbehaving-broker tests. Test code only: frames
 * are parsed with `Buffer.concat`, which is fine for small test traffic.
 */
import * as net from "node:net"
import { Effect } from "effect"
import type { Scope } from "effect"

export interface ServerConnection {
  readonly socket: net.Socket
  /** Called with every whole request frame (without size prefix). */
  onFrame(f: (frame: Buffer) => void): void
}

export interface FakeServer {
  readonly port: number
  readonly connections: () => number
  readonly open: () => number
  readonly sockets: Set<net.Socket>
  /** Resolves when some server-side socket is closed. */
  readonly waitForClose: () => Promise<void>
}

export const frame = (correlationId: number, payload: Uint8Array = new Uint8Array()): Buffer => {
  const out = Buffer.allocUnsafe(8 + payload.length)
  out.writeInt32BE(4 + payload.length, 0)
  out.writeInt32BE(correlationId, 4)
  out.set(payload, 8)
  return out
}

export const fakeServer = (
  onConnection: (conn: ServerConnection) => void
): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ server: net.Server; api: FakeServer }>((resolve) => {
        const sockets = new Set<net.Socket>()
        let connections = 0
        let closeWaiters: Array<() => void> = []
        const server = net.createServer((socket) => {
          connections++
          sockets.add(socket)
          socket.on("error", () => {})
          socket.on("close", () => {
            sockets.delete(socket)
            const ws = closeWaiters
            closeWaiters = []
            for (const w of ws) w()
          })
          let buf = Buffer.alloc(0)
          let handler: (frame: Buffer) => void = () => {}
          socket.on("data", (chunk: Buffer) => {
            buf = Buffer.concat([buf, chunk])
            while (buf.length >= 4) {
              const size = buf.readInt32BE(0)
              if (buf.length < 4 + size) break
              const f = buf.subarray(4, 4 + size)
              buf = buf.subarray(4 + size)
              handler(f)
            }
          })
          onConnection({ socket, onFrame: (f) => void (handler = f) })
        })
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as net.AddressInfo).port
          resolve({
            server,
            api: {
              port,
              sockets,
              connections: () => connections,
              open: () => sockets.size,
              waitForClose: () => new Promise<void>((r) => closeWaiters.push(r))
            }
          })
        })
      })
    ),
    ({ server, api }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          for (const s of api.sockets) s.destroy()
          server.close(() => resolve())
        })
      ).pipe(Effect.timeout("2 seconds"), Effect.ignore)
  ).pipe(Effect.map(({ api }) => api))
