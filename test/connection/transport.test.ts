import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { connect } from "../../src/Connection/internal/Transport.ts"
import type { Transport } from "../../src/Connection/internal/Transport.ts"
import { fakeServer, frame } from "./fakeServer.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()

const requestFrame = (t: Transport, text: string) => {
  const cid = t.nextCorrelationId()
  return { cid, bytes: frame(cid, enc.encode(text)) }
}

const ask = (t: Transport, text: string, timeoutMs = 0) => {
  const { cid, bytes } = requestFrame(t, text)
  return t.request(bytes, cid, { timeoutMs, api: "Echo" }).pipe(
    Effect.map((res) => dec.decode(res.subarray(4)))
  )
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const err = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (err === undefined || err._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return err.error
}

describe("Transport against a misbehaving server", () => {
  it.live("echoes pipelined requests", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) => c.onFrame((f) => c.socket.write(frame(f.readInt32BE(0), f.subarray(4)))))
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      const out = yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        (i) => ask(t, `m${i}`),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(out, Array.from({ length: 500 }, (_, i) => `m${i}`))
      assert.strictEqual(t.inFlight, 0)
      assert.strictEqual(server.connections(), 1)
    }))

  it.live("(a) garbage bytes: typed Protocol error, connection closed", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) => c.onFrame(() => c.socket.write(Buffer.from([0xff, 0xfe, 0x01, 0x02, 0x03]))))
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      const closed = server.waitForClose()
      const err = failureOf(yield* Effect.exit(ask(t, "hello", 5_000)))
      assert.strictEqual(err._tag, "ConnectionError")
      if (err._tag === "ConnectionError") assert.strictEqual(err.reason, "Protocol")
      assert.isFalse(t.isOpen)
      yield* Effect.promise(() => closed)
      // later requests fail fast
      const again = failureOf(yield* Effect.exit(ask(t, "again")))
      assert.strictEqual(again._tag, "ConnectionError")
    }))

  it.live("(a') a plausible frame with a correlation id never issued closes the connection", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) => c.onFrame(() => c.socket.write(frame(999_999, enc.encode("x")))))
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      const err = failureOf(yield* Effect.exit(ask(t, "hello", 5_000)))
      assert.strictEqual(err._tag, "ConnectionError")
      if (err._tag === "ConnectionError") {
        assert.strictEqual(err.reason, "Protocol")
        assert.match(err.message, /unknown correlation id 999999/)
      }
    }))

  it.live("(b) close mid-frame: every in-flight request fails with Closed", () =>
    Effect.gen(function*() {
      let seen = 0
      const server = yield* fakeServer((c) =>
        c.onFrame((f) => {
          if (++seen < 3) return
          const full = frame(f.readInt32BE(0), enc.encode("0123456789abcdef"))
          c.socket.end(full.subarray(0, 12))
        })
      )
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      const exits = yield* Effect.forEach(["a", "b", "c"], (m) => Effect.exit(ask(t, m, 5_000)), {
        concurrency: "unbounded"
      })
      for (const exit of exits) {
        const err = failureOf(exit)
        assert.strictEqual(err._tag, "ConnectionError")
        if (err._tag === "ConnectionError") assert.strictEqual(err.reason, "Closed")
      }
      const last = failureOf(exits[2]!)
      assert.match(last.message, /mid-frame/)
      assert.strictEqual(t.inFlight, 0)
    }))

  it.live("(c) never answers: typed timeout, slot freed, the connection closed (later requests fail fast)", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) =>
        c.onFrame((f) => {
          const text = dec.decode(f.subarray(4))
          if (text !== "silence") c.socket.write(frame(f.readInt32BE(0), f.subarray(4)))
        })
      )
      const t = yield* connect({ host: "127.0.0.1", port: server.port, maxInFlight: 1 })
      const err = failureOf(yield* Effect.exit(ask(t, "silence", 100)))
      assert.strictEqual(err._tag, "RequestTimeoutError")
      assert.strictEqual(t.inFlight, 0)
      // a broker answers in order: nothing more would come on this connection
      assert.isFalse(t.isOpen)
      assert.strictEqual(failureOf(yield* Effect.exit(ask(t, "after", 2_000)))._tag, "ConnectionError")
    }))

  it.live("timeouts of different lengths: each unanswered request fails with its own, answered ones never do", () =>
    Effect.gen(function*() {
      // one slot, held by a slow answer: the queued requests are never written, so their
      // timeouts fail only them (a written request that times out closes the connection)
      const server = yield* fakeServer((c) =>
        c.onFrame((f) => {
          const text = dec.decode(f.subarray(4))
          const answer = () => c.socket.write(frame(f.readInt32BE(0), f.subarray(4)))
          if (text === "slow") setTimeout(answer, 300)
          else answer()
        })
      )
      const t = yield* connect({ host: "127.0.0.1", port: server.port, maxInFlight: 1 })
      // the long one first: the connection's one timer must still fire for the shorter ones behind it
      const slow = yield* Effect.forkChild(ask(t, "slow", 60_000))
      yield* Effect.sleep("20 millis")
      const short = yield* Effect.forkChild(Effect.exit(ask(t, "queued-short", 100)))
      const shorter = yield* Effect.forkChild(Effect.exit(ask(t, "queued-shorter", 50)))
      const errs = [failureOf(yield* Fiber.join(shorter)), failureOf(yield* Fiber.join(short))]
      assert.deepStrictEqual(errs.map((e) => [e._tag, e._tag === "RequestTimeoutError" ? e.timeoutMs : -1]), [
        ["RequestTimeoutError", 50],
        ["RequestTimeoutError", 100]
      ])
      assert.isUndefined(slow.pollUnsafe(), "the 60 s request is still waiting")
      assert.strictEqual(yield* Fiber.join(slow), "slow")
      // answered after the short ones expired
      assert.strictEqual(yield* ask(t, "later", 100), "later")
      assert.strictEqual(t.inFlight, 0)
      assert.isTrue(t.isOpen)
    }))

  it.live("maxInFlight: waiting for a slot counts toward the timeout; interrupted waiters leave no trace", () =>
    Effect.gen(function*() {
      // "slow" is answered after 300 ms (a request that times out once written closes the
      // connection, so the slot is held by a slow answer here, not a missing one)
      const server = yield* fakeServer((c) =>
        c.onFrame((f) => {
          const text = dec.decode(f.subarray(4))
          const answer = () => c.socket.write(frame(f.readInt32BE(0), f.subarray(4)))
          if (text === "slow") setTimeout(answer, 300)
          else answer()
        })
      )
      const t = yield* connect({ host: "127.0.0.1", port: server.port, maxInFlight: 1 })
      const stuck = yield* Effect.forkChild(ask(t, "slow", 5_000))
      yield* Effect.sleep("20 millis")
      assert.strictEqual(t.inFlight, 1)
      // queued behind the stuck one: times out without ever being written
      const framesBefore = t.stats.framesOut
      const queued = failureOf(yield* Effect.exit(ask(t, "queued", 100)))
      assert.strictEqual(queued._tag, "RequestTimeoutError")
      assert.strictEqual(t.stats.framesOut, framesBefore, "never written")
      // an interrupted waiter is skipped when the slot frees up
      const waiter = yield* Effect.forkChild(ask(t, "interrupted"))
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(waiter)
      const next = yield* Effect.forkChild(ask(t, "next", 2_000))
      assert.strictEqual(yield* Fiber.join(stuck), "slow")
      assert.strictEqual(yield* Fiber.join(next), "next")
      assert.strictEqual(t.stats.framesOut, framesBefore + 1, "the interrupted request was never written")
      assert.strictEqual(t.inFlight, 0)
    }))

  it.live("(d) out-of-order answers reach their own callers", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) => {
        let held: Array<Buffer> = []
        c.onFrame((f) => {
          held.push(f)
          if (held.length === 50) {
            const batch = held.reverse()
            held = []
            // shuffle a bit more: odd ones first, then even ones, written in one chunk
            const ordered = [...batch.filter((_, i) => i % 2 === 1), ...batch.filter((_, i) => i % 2 === 0)]
            c.socket.write(Buffer.concat(ordered.map((r) => frame(r.readInt32BE(0), r.subarray(4)))))
          }
        })
      })
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      const out = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => ask(t, `r${i}`, 5_000),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(out, Array.from({ length: 200 }, (_, i) => `r${i}`))
    }))

  it.live("(e) huge size prefix: FrameTooLarge before buffering, connection closed", () =>
    Effect.gen(function*() {
      let sentAfterPrefix = 0
      const server = yield* fakeServer((c) =>
        c.onFrame(() => {
          const head = Buffer.alloc(4)
          head.writeInt32BE(0x7fff_fff0, 0)
          c.socket.write(head)
          // keep streaming: the client must not buffer any of it
          const junk = Buffer.alloc(64 * 1024)
          const pump = () => {
            while (!c.socket.destroyed && sentAfterPrefix < 64 * 1024 * 1024) {
              sentAfterPrefix += junk.length
              if (!c.socket.write(junk)) return void c.socket.once("drain", pump)
            }
          }
          pump()
        })
      )
      const t = yield* connect({ host: "127.0.0.1", port: server.port, maxFrameBytes: 1024 * 1024 })
      const closed = server.waitForClose()
      const err = failureOf(yield* Effect.exit(ask(t, "hello", 5_000)))
      assert.strictEqual(err._tag, "ConnectionError")
      if (err._tag === "ConnectionError") {
        assert.strictEqual(err.reason, "FrameTooLarge")
        assert.isFalse(err.retriable)
      }
      yield* Effect.promise(() => closed)
      assert.isBelow(t.stats.bytesIn, 4 * 1024 * 1024, "the client stopped reading")
    }))

  it.live("a frame just over the limit is refused; one at the limit is accepted", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) =>
        c.onFrame((f) => {
          const n = Number(dec.decode(f.subarray(4)))
          c.socket.write(frame(f.readInt32BE(0), Buffer.alloc(n - 4, 7)))
        })
      )
      const t = yield* connect({ host: "127.0.0.1", port: server.port, maxFrameBytes: 4096 })
      const ok = yield* ask(t, "4096", 2_000)
      assert.strictEqual(ok.length, 4092)
      const err = failureOf(yield* Effect.exit(ask(t, "4097", 2_000)))
      assert.strictEqual(err._tag, "ConnectionError")
    }))

  it.live("interrupting one caller among many leaves the others' responses correct", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) => {
        let held: Array<Buffer> = []
        c.onFrame((f) => {
          held.push(f)
          if (held.length === 100) {
            const batch = held
            held = []
            // answer after the victim was interrupted; answers arrive split at odd offsets
            setTimeout(() => {
              const all = Buffer.concat(batch.reverse().map((r) => frame(r.readInt32BE(0), r.subarray(4))))
              for (let i = 0; i < all.length; i += 7) c.socket.write(all.subarray(i, i + 7))
            }, 100)
          }
        })
      })
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      const fibers = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) => Effect.forkChild(ask(t, `v${i}`, 5_000))
      )
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fibers[42]!)
      const results = yield* Effect.forEach(fibers, (f, i) => i === 42 ? Effect.succeed("-") : Fiber.join(f))
      results.forEach((r, i) => assert.strictEqual(r, i === 42 ? "-" : `v${i}`))
      assert.strictEqual(t.stats.droppedLateResponses, 1)
      assert.isTrue(t.isOpen)
      assert.strictEqual(t.inFlight, 0)
    }))

  it.live("backpressure: writes wait for 'drain' and all complete", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((c) => {
        c.socket.pause()
        setTimeout(() => c.socket.resume(), 200)
        c.onFrame((f) => c.socket.write(frame(f.readInt32BE(0), f.subarray(4, 12))))
      })
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      const big = "x".repeat(1024 * 1024)
      const fiber = yield* Effect.forkChild(Effect.forEach(
        Array.from({ length: 32 }, (_, i) => i),
        (i) => ask(t, `${String(i).padStart(8, "0")}${big}`, 20_000),
        { concurrency: "unbounded" }
      ))
      yield* Effect.sleep("100 millis")
      assert.isBelow(t.stats.framesOut, 32, "frames are held back while the peer does not read")
      const out = yield* Fiber.join(fiber)
      assert.deepStrictEqual(out, Array.from({ length: 32 }, (_, i) => String(i).padStart(8, "0")))
    }))

  it.live("connection refused is a typed ConnectionError", () =>
    Effect.gen(function*() {
      // grab a free port, then close its server so nothing listens there
      const port = yield* Effect.scoped(Effect.map(fakeServer(() => {}), (s) => s.port))
      const exit = yield* Effect.exit(connect({ host: "127.0.0.1", port }))
      const err = failureOf(exit)
      assert.strictEqual(err._tag, "ConnectionError")
      if (err._tag === "ConnectionError") assert.strictEqual(err.reason, "Refused")
    }))

  it.live("closing the scope fails in-flight requests, nothing hangs", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() => {})
      const fiber = yield* Effect.forkChild(
        Effect.scoped(Effect.gen(function*() {
          const t = yield* connect({ host: "127.0.0.1", port: server.port })
          const inner = yield* Effect.forkChild(ask(t, "never"))
          yield* Effect.sleep("20 millis")
          yield* t.close("shutting down")
          return yield* Effect.exit(Fiber.join(inner))
        }))
      )
      const exit = yield* Fiber.join(fiber)
      const err = failureOf(exit)
      assert.strictEqual(err._tag, "ConnectionError")
      assert.match(err.message, /shutting down/)
    }))

  it.live("acks=0 style send completes when written", () =>
    Effect.gen(function*() {
      const got: Array<string> = []
      const server = yield* fakeServer((c) => c.onFrame((f) => got.push(dec.decode(f.subarray(4)))))
      const t = yield* connect({ host: "127.0.0.1", port: server.port })
      for (let i = 0; i < 10; i++) {
        const { bytes } = requestFrame(t, `s${i}`)
        yield* t.send(bytes)
      }
      assert.strictEqual(t.inFlight, 0)
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(got, Array.from({ length: 10 }, (_, i) => `s${i}`))
    }))
})
