/**
 * A scriptable fake Kafka broker on 127.0.0.1:0 for Broker tests: ApiVersions (with the
 * UNSUPPORTED_VERSION fallback), SaslHandshake/SaslAuthenticate (PLAIN and SCRAM, server side
 * written independently of the client's), and a test-only "Echo" API. Test code: written for
 * clarity, not speed.
 */
import * as crypto from "node:crypto"
import { Effect, Schema } from "effect"
import type { Scope } from "effect"
import type { Api } from "../../src/Protocol/Api.ts"
import { Reader } from "../../src/Protocol/internal/Reader.ts"
import { Writer } from "../../src/Protocol/internal/Writer.ts"
import { fakeServer } from "./fakeServer.ts"
import type { FakeServer } from "./fakeServer.ts"

export const ECHO_KEY = 10_000

export interface EchoRequest {
  readonly payload: string
}
export interface EchoResponse {
  readonly throttleTimeMs: number
  readonly payload: string
}

const EchoRequestSchema = Schema.Struct({ payload: Schema.String.check(Schema.isMaxLength(1000)) })
const EchoResponseSchema = Schema.Struct({ throttleTimeMs: Schema.Number, payload: Schema.String })

/** Test API: flexible from v3 (request header v2, response header v1). */
export const Echo: Api<EchoRequest, EchoResponse> = {
  key: ECHO_KEY,
  name: "Echo",
  minVersion: 0,
  maxVersion: 5,
  flexibleVersion: 3,
  Request: EchoRequestSchema,
  Response: EchoResponseSchema,
  encodeRequest: (w, v, req) => {
    if (v >= 3) w.compactString(req.payload).emptyTaggedFields()
    else w.string(req.payload)
  },
  decodeResponse: (r, v) => {
    const throttleTimeMs = r.int32()
    const payload = v >= 3 ? r.compactString() : r.string()
    if (v >= 3) r.skipTaggedFields()
    return { throttleTimeMs, payload }
  },
  decodeRequest: (r, v) => {
    const payload = v >= 3 ? r.compactString() : r.string()
    if (v >= 3) r.skipTaggedFields()
    return { payload }
  },
  encodeResponse: (w, v, res) => {
    w.int32(res.throttleTimeMs)
    if (v >= 3) w.compactString(res.payload).emptyTaggedFields()
    else w.string(res.payload)
  }
}

export interface EchoReply {
  readonly payload?: string
  readonly throttleTimeMs?: number
  readonly delayMs?: number
  /** Do not answer at all. */
  readonly drop?: boolean
  /** Answer with bytes that do not decode. */
  readonly garbage?: boolean
}

export interface FakeKafkaOptions {
  /** Highest ApiVersions version accepted (higher → UNSUPPORTED_VERSION with a v0 body). Default 4. */
  readonly apiVersionsMax?: number
  /** Advertised [key, min, max] ranges, replacing the defaults for those keys. */
  readonly ranges?: ReadonlyArray<readonly [number, number, number]>
  /** Keys not to advertise at all. */
  readonly hide?: ReadonlyArray<number>
  readonly sasl?: {
    readonly mechanisms: ReadonlyArray<string>
    readonly users: Readonly<Record<string, string>>
    readonly sessionLifetimeMs?: number
    /** Delay of every SASL response (widens the window in which a client could interleave). */
    readonly delayMs?: number
  }
  readonly echo?: (payload: string, version: number, connection: number) => EchoReply
}

export interface RequestLog {
  readonly apiKey: number
  readonly version: number
  readonly correlationId: number
  readonly clientId: string | null
  readonly at: number
  readonly connection: number
}

export interface FakeKafka extends FakeServer {
  readonly requests: Array<RequestLog>
  readonly authentications: () => number
  /** Messages of rejected authentications (what the broker sent back). */
  readonly rejections: Array<string>
  /** Destroys every open server-side socket. */
  readonly killConnections: () => void
}

const defaultRanges: ReadonlyArray<readonly [number, number, number]> = [
  [18, 0, 4],
  [17, 0, 1],
  [36, 0, 2],
  [ECHO_KEY, 0, 5]
]

const flexible = (key: number, v: number): boolean =>
  key === 18 ? v >= 3 : key === 36 ? v >= 2 : key === ECHO_KEY ? v >= 3 : false

export const fakeKafka = (options: FakeKafkaOptions = {}): Effect.Effect<FakeKafka, never, Scope.Scope> => {
  const requests: Array<RequestLog> = []
  const rejections: Array<string> = []
  let authentications = 0
  let connectionId = 0
  const ranges = new Map<number, readonly [number, number, number]>()
  for (const r of defaultRanges) ranges.set(r[0], r)
  for (const r of options.ranges ?? []) ranges.set(r[0], r)
  for (const k of options.hide ?? []) ranges.delete(k)

  return Effect.map(
    fakeServer((conn) => {
      const connection = ++connectionId
      let authenticated = options.sasl === undefined
      /** Between SaslHandshake and the end of the exchange: any other request is a protocol violation. */
      let exchanging = false
      let mechanism = ""
      let scram: { nonce: string; bare: string; serverFirst: string; salted: Buffer; hash: string } | undefined

      const respond = (cid: number, headerFlexible: boolean, body: (w: Writer) => void, delayMs = 0) => {
        const w = new Writer()
        const size = w.reserve(4)
        w.int32(cid)
        if (headerFlexible) w.emptyTaggedFields()
        body(w)
        w.setInt32At(size, w.offset - 4)
        const bytes = w.finish()
        if (delayMs > 0) setTimeout(() => conn.socket.write(bytes), delayMs)
        else conn.socket.write(bytes)
      }

      const saslResponse = (cid: number, v: number, errorCode: number, message: string | null, bytes: Uint8Array) =>
        respond(cid, v >= 2, (w) => {
          w.int16(errorCode)
          if (v >= 2) w.compactNullableString(message)
          else w.nullableString(message)
          if (v >= 2) w.compactBytes(bytes)
          else w.bytes(bytes)
          if (v >= 1) w.int64(BigInt(options.sasl?.sessionLifetimeMs ?? 0))
          if (v >= 2) w.emptyTaggedFields()
        }, options.sasl?.delayMs ?? 0)

      conn.onFrame((frame) => {
        const r = new Reader(frame)
        const apiKey = r.int16()
        const version = r.int16()
        const cid = r.int32()
        const clientId = r.nullableString()
        if (flexible(apiKey, version)) r.skipTaggedFields()
        requests.push({ apiKey, version, correlationId: cid, clientId, at: performance.now(), connection })

        if (apiKey === 18) {
          const max = options.apiVersionsMax ?? 4
          const entries = [...ranges.values()]
          if (version > max) {
            respond(cid, false, (w) => {
              w.int16(35)
              w.arrayLength(entries.length)
              for (const [k, lo, hi] of entries) w.int16(k).int16(lo).int16(k === 18 ? Math.min(hi, max) : hi)
            })
            return
          }
          respond(cid, false, (w) => {
            const flex = version >= 3
            w.int16(0)
            if (flex) w.compactArrayLength(entries.length)
            else w.arrayLength(entries.length)
            for (const [k, lo, hi] of entries) {
              w.int16(k).int16(lo).int16(hi)
              if (flex) w.emptyTaggedFields()
            }
            if (version >= 1) w.int32(0)
            if (flex) w.emptyTaggedFields()
          })
          return
        }

        if (apiKey === 17) {
          const requested = r.string()
          const sasl = options.sasl
          const ok = sasl !== undefined && sasl.mechanisms.includes(requested)
          if (ok) {
            mechanism = requested
            scram = undefined
            exchanging = true
          }
          respond(cid, false, (w) => {
            w.int16(ok ? 0 : 33)
            const ms = sasl?.mechanisms ?? []
            w.arrayLength(ms.length)
            for (const m of ms) w.string(m)
          }, sasl?.delayMs ?? 0)
          return
        }

        if (apiKey === 36) {
          const bytes = Buffer.from(version >= 2 ? r.compactBytes() : r.bytes())
          const users = options.sasl?.users ?? {}
          const reject = (msg: string) => {
            exchanging = false
            rejections.push(msg)
            saslResponse(cid, version, 58, msg, new Uint8Array())
          }
          if (mechanism === "PLAIN") {
            const [, user, pass] = bytes.toString("utf8").split("\0")
            if (user !== undefined && users[user] === pass) {
              authenticated = true
              exchanging = false
              authentications++
              saslResponse(cid, version, 0, null, new Uint8Array())
            } else {
              reject(`Authentication failed: Invalid username or password`)
            }
            return
          }
          if (mechanism.startsWith("SCRAM-")) {
            const hash = mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512"
            const keyLen = hash === "sha256" ? 32 : 64
            const msg = bytes.toString("utf8")
            if (scram === undefined) {
              const bare = msg.slice(3) // after "n,,"
              const user = /n=([^,]*)/.exec(bare)?.[1] ?? ""
              const cnonce = /r=([^,]*)/.exec(bare)?.[1] ?? ""
              const password = users[user] ?? crypto.randomBytes(16).toString("hex")
              const salt = crypto.randomBytes(16)
              const nonce = cnonce + crypto.randomBytes(12).toString("base64")
              const serverFirst = `r=${nonce},s=${salt.toString("base64")},i=4096`
              scram = { nonce, bare, serverFirst, salted: crypto.pbkdf2Sync(password, salt, 4096, keyLen, hash), hash }
              saslResponse(cid, version, 0, null, Buffer.from(serverFirst))
              return
            }
            const s = scram
            scram = undefined
            const withoutProof = msg.slice(0, msg.lastIndexOf(",p="))
            const proof = Buffer.from(msg.slice(msg.lastIndexOf(",p=") + 3), "base64")
            const authMessage = `${s.bare},${s.serverFirst},${withoutProof}`
            const hmac = (k: Buffer, d: string) => crypto.createHmac(s.hash, k).update(d).digest()
            const storedKey = crypto.createHash(s.hash).update(hmac(s.salted, "Client Key")).digest()
            const clientSig = hmac(storedKey, authMessage)
            const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSig[i]!))
            const valid = !withoutProof.includes(`r=${s.nonce}`) ? false :
              crypto.createHash(s.hash).update(clientKey).digest().equals(storedKey)
            if (!valid) return reject(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`)
            authenticated = true
            exchanging = false
            authentications++
            saslResponse(cid, version, 0, null, Buffer.from(`v=${hmac(hmac(s.salted, "Server Key"), authMessage).toString("base64")}`))
            return
          }
          if (mechanism === "OAUTHBEARER") {
            const msg = bytes.toString("utf8")
            if (msg === "\x01") return reject("Authentication failed: invalid token")
            const token = /auth=Bearer ([^\x01]*)/.exec(msg)?.[1]
            if (token !== undefined && users["token"] === token) {
              authenticated = true
              exchanging = false
              authentications++
              saslResponse(cid, version, 0, null, new Uint8Array())
            } else {
              // RFC 7628 error challenge: the client must answer with a single 0x01
              saslResponse(cid, version, 0, null, Buffer.from(`{"status":"invalid_token"}`))
            }
            return
          }
          reject("unexpected SaslAuthenticate")
          return
        }

        if (!authenticated || exchanging) {
          rejections.push(`request ${apiKey} during SASL exchange`)
          conn.socket.destroy()
          return
        }

        if (apiKey === ECHO_KEY) {
          const payload = version >= 3 ? r.compactString() : r.string()
          const reply = options.echo?.(payload, version, connection) ?? {}
          if (reply.drop === true) return
          if (reply.garbage === true) {
            respond(cid, version >= 3, (w) => w.int16(7))
            return
          }
          respond(cid, version >= 3, (w) => {
            w.int32(reply.throttleTimeMs ?? 0)
            if (version >= 3) w.compactString(reply.payload ?? payload).emptyTaggedFields()
            else w.string(reply.payload ?? payload)
          }, reply.delayMs ?? 0)
        }
      })
    }),
    (server) => ({
      ...server,
      requests,
      rejections,
      authentications: () => authentications,
      killConnections: () => {
        for (const s of server.sockets) s.destroy()
      }
    })
  )
}
