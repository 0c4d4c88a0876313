/**
 * The SASL exchange over SaslHandshake + SaslAuthenticate (KIP-152): PLAIN, SCRAM-SHA-256/512 and
 * OAUTHBEARER; and re-authentication before the session expires (KIP-368).
 *
 * No secret reaches an error message: broker messages are scrubbed of the password/token, and
 * our own messages never include them.
 *
 * @internal
 */
import { Effect, Redacted } from "effect"
import { AuthenticationError, UnsupportedVersionError } from "../Errors.ts"
import type { BrokerError } from "../Errors.ts"
import type { SaslOptions } from "../Sasl.ts"
import { SaslAuthenticate } from "../../Protocol/generated/SaslAuthenticate.ts"
import type { SaslAuthenticateResponse } from "../../Protocol/generated/SaslAuthenticate.ts"
import { SaslHandshake } from "../../Protocol/generated/SaslHandshake.ts"
import * as Scram from "./Scram.ts"
import type { Session } from "./Session.ts"

const UNSUPPORTED_SASL_MECHANISM = 33
const ILLEGAL_SASL_STATE = 34
const SEP = "\x01"

const utf8 = (s: string): Uint8Array => Buffer.from(s, "utf8")
const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8")

/** Replaces every occurrence of the secrets in a broker-provided message. */
const scrub = (message: string, secrets: ReadonlyArray<string>): string => {
  let out = message
  for (const s of secrets) if (s.length > 0) out = out.split(s).join("***")
  return out
}

/** Authenticates the session; succeeds with the session lifetime in ms (0 = no expiry). */
export const authenticate = (
  session: Session,
  sasl: SaslOptions,
  timeoutMs: number,
  priority: boolean
): Effect.Effect<number, BrokerError> =>
  Effect.gen(function*() {
    const mechanism = sasl.mechanism
    const fail = (message: string, errorCode?: number) =>
      new AuthenticationError({ broker: session.broker, mechanism, errorCode, message })

    const handshakeVersion = session.versions.pick(SaslHandshake)
    const authVersion = session.versions.pick(SaslAuthenticate)
    if (handshakeVersion < 1 || authVersion < 0) {
      const range = session.versions.ranges.get(SaslAuthenticate.key)
      return yield* new UnsupportedVersionError({
        broker: session.broker,
        api: "SaslAuthenticate",
        apiKey: SaslAuthenticate.key,
        clientMin: SaslAuthenticate.minVersion,
        clientMax: SaslAuthenticate.maxVersion,
        brokerMin: range?.min,
        brokerMax: range?.max,
        message: `${session.broker} does not support SaslHandshake v1 + SaslAuthenticate (KIP-152)`
      })
    }

    const handshake = yield* session.exchange(SaslHandshake, handshakeVersion, { mechanism }, timeoutMs, priority)
    if (handshake.errorCode === UNSUPPORTED_SASL_MECHANISM) {
      return yield* fail(
        `SASL mechanism ${mechanism} is not enabled on ${session.broker} (enabled: ${
          handshake.mechanisms.join(", ") || "none"
        })`,
        handshake.errorCode
      )
    }
    if (handshake.errorCode !== 0) {
      const hint = handshake.errorCode === ILLEGAL_SASL_STATE ? " (illegal SASL state)" : ""
      return yield* fail(`SaslHandshake failed on ${session.broker} with error code ${handshake.errorCode}${hint}`, handshake.errorCode)
    }

    let secrets: ReadonlyArray<string> = []
    const step = (bytes: Uint8Array) =>
      Effect.flatMap(
        session.exchange(SaslAuthenticate, authVersion, { authBytes: bytes }, timeoutMs, priority),
        (res): Effect.Effect<SaslAuthenticateResponse, AuthenticationError> =>
          res.errorCode === 0 ? Effect.succeed(res) : Effect.fail(fail(
            `authentication with ${mechanism} failed on ${session.broker}: ${
              scrub(res.errorMessage ?? `error code ${res.errorCode}`, secrets)
            }`,
            res.errorCode
          ))
      )
    const lifetime = (res: SaslAuthenticateResponse) => Number(res.sessionLifetimeMs)

    switch (sasl.mechanism) {
      case "PLAIN": {
        const password = Redacted.value(sasl.password)
        secrets = [password]
        const res = yield* step(utf8(`${sasl.authorizationId ?? ""}\0${sasl.username}\0${password}`))
        return lifetime(res)
      }
      case "SCRAM-SHA-256":
      case "SCRAM-SHA-512": {
        const algorithm = sasl.mechanism === "SCRAM-SHA-256" ? Scram.SCRAM_SHA_256 : Scram.SCRAM_SHA_512
        const password = Redacted.value(sasl.password)
        secrets = [password]
        const first = Scram.clientFirst(sasl.username, Scram.makeNonce())
        const serverFirstRes = yield* step(utf8(first.message))
        const serverFirst = Scram.parseServerFirst(text(serverFirstRes.authBytes), first.nonce)
        if (typeof serverFirst === "string") return yield* fail(`${mechanism} with ${session.broker}: ${serverFirst}`)
        const salted = yield* Effect.promise(() =>
          Scram.saltedPassword(algorithm, password, serverFirst.salt, serverFirst.iterations)
        )
        const final = Scram.clientFinal(algorithm, salted, first, serverFirst)
        const serverFinalRes = yield* step(utf8(final.message))
        const problem = Scram.verifyServerFinal(text(serverFinalRes.authBytes), final.serverSignature)
        if (problem !== undefined) return yield* fail(`${mechanism} with ${session.broker}: ${problem}`)
        return lifetime(serverFinalRes)
      }
      case "OAUTHBEARER": {
        const token = yield* sasl.token.pipe(
          Effect.mapError(() => fail(`the OAUTHBEARER token provider failed`))
        )
        const tokenValue = Redacted.value(token)
        secrets = [tokenValue]
        const extensions = Object.entries(sasl.extensions ?? {}).map(([k, v]) => `${SEP}${k}=${v}`).join("")
        const res = yield* step(utf8(`n,,${SEP}auth=Bearer ${tokenValue}${extensions}${SEP}${SEP}`))
        if (res.authBytes.length > 0) {
          // RFC 7628 §3.2.2: an error challenge; acknowledge it, the broker then fails the exchange.
          const challenge = scrub(text(res.authBytes), secrets)
          yield* Effect.ignore(step(utf8(SEP)))
          return yield* fail(`OAUTHBEARER token rejected by ${session.broker}: ${challenge}`)
        }
        return lifetime(res)
      }
    }
  })

/**
 * KIP-368: re-authenticates at 85–95 % of the session lifetime, holding back new requests while
 * the exchange runs (in-flight requests are answered normally). A failure closes the connection
 * (the next request reconnects and reports the error).
 */
export const reauthenticateLoop = (
  session: Session,
  sasl: SaslOptions,
  timeoutMs: number,
  firstLifetimeMs: number
): Effect.Effect<void> =>
  Effect.gen(function*() {
    let lifetimeMs = firstLifetimeMs
    while (lifetimeMs > 0 && session.transport.isOpen) {
      yield* Effect.sleep(Math.max(1, Math.floor(lifetimeMs * (0.85 + Math.random() * 0.1))))
      if (!session.transport.isOpen) return
      lifetimeMs = yield* session.transport.exclusive(authenticate(session, sasl, timeoutMs, true))
      session.reauthentications++
      yield* Effect.logDebug(`re-authenticated to ${session.broker}`)
    }
  }).pipe(
    Effect.catch((error) =>
      Effect.andThen(
        Effect.logWarning(`re-authentication to ${session.broker} failed: ${error.message}`),
        session.transport.close(`re-authentication failed (${error._tag})`)
      )
    )
  )
