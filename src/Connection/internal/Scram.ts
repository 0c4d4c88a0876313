/**
 * SCRAM client messages (RFC 5802, RFC 7677) with `node:crypto`. Pure functions: the exchange
 * itself lives in `SaslAuthenticator.ts`. Kafka does not SASLprep passwords (its Java client
 * sends the UTF-8 bytes as they are), so neither do we.
 *
 * @internal
 */
import * as crypto from "node:crypto"

export interface ScramAlgorithm {
  readonly mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512"
  readonly hash: "sha256" | "sha512"
  readonly keyLength: number
}

export const SCRAM_SHA_256: ScramAlgorithm = { mechanism: "SCRAM-SHA-256", hash: "sha256", keyLength: 32 }
export const SCRAM_SHA_512: ScramAlgorithm = { mechanism: "SCRAM-SHA-512", hash: "sha512", keyLength: 64 }

/** Kafka's bounds (ScramMechanism): fewer is weak, more lets a hostile server burn our CPU. */
export const MIN_ITERATIONS = 4096
export const MAX_ITERATIONS = 16384

/** `saslname` escaping: `=` → `=3D`, `,` → `=2C`. */
export const saslName = (name: string): string => name.replace(/=/g, "=3D").replace(/,/g, "=2C")

export const makeNonce = (): string => crypto.randomBytes(24).toString("base64")

export interface ClientFirst {
  readonly nonce: string
  /** client-first-message-bare: `n=<user>,r=<nonce>` */
  readonly bare: string
  /** GS2 header + bare */
  readonly message: string
}

export const clientFirst = (username: string, nonce: string): ClientFirst => {
  const bare = `n=${saslName(username)},r=${nonce}`
  return { nonce, bare, message: `n,,${bare}` }
}

export interface ServerFirst {
  readonly raw: string
  readonly nonce: string
  readonly salt: Buffer
  readonly iterations: number
}

/** Parses server-first-message; a string result is an error description (no secrets in it). */
export const parseServerFirst = (raw: string, clientNonce: string): ServerFirst | string => {
  const attrs = attributes(raw)
  if (attrs.has("m")) return "server requires an unsupported SCRAM extension"
  const nonce = attrs.get("r")
  const salt = attrs.get("s")
  const iterations = Number(attrs.get("i"))
  if (nonce === undefined || salt === undefined || !attrs.has("i")) return "malformed server-first-message"
  if (!nonce.startsWith(clientNonce) || nonce.length <= clientNonce.length) {
    return "server nonce does not extend the client nonce"
  }
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    return `server asks for ${attrs.get("i")} iterations (accepted: ${MIN_ITERATIONS}..${MAX_ITERATIONS})`
  }
  return { raw, nonce, salt: Buffer.from(salt, "base64"), iterations }
}

/** Hi() of RFC 5802: PBKDF2 with HMAC. Asynchronous so the event loop keeps serving others. */
export const saltedPassword = (
  algorithm: ScramAlgorithm,
  password: string,
  salt: Buffer,
  iterations: number
): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    crypto.pbkdf2(
      Buffer.from(password, "utf8"),
      salt,
      iterations,
      algorithm.keyLength,
      algorithm.hash,
      (err, key) => (err ? reject(err) : resolve(key))
    )
  )

const hmac = (algorithm: ScramAlgorithm, key: Buffer, data: string): Buffer =>
  crypto.createHmac(algorithm.hash, key).update(data, "utf8").digest()

export interface ClientFinal {
  readonly message: string
  /** The ServerSignature the server must send back in `v=`. */
  readonly serverSignature: Buffer
}

export const clientFinal = (
  algorithm: ScramAlgorithm,
  salted: Buffer,
  first: ClientFirst,
  server: ServerFirst
): ClientFinal => {
  const withoutProof = `c=biws,r=${server.nonce}` // biws = base64("n,,")
  const authMessage = `${first.bare},${server.raw},${withoutProof}`
  const clientKey = hmac(algorithm, salted, "Client Key")
  const storedKey = crypto.createHash(algorithm.hash).update(clientKey).digest()
  const clientSignature = hmac(algorithm, storedKey, authMessage)
  const proof = Buffer.allocUnsafe(clientKey.length)
  for (let i = 0; i < clientKey.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!
  const serverKey = hmac(algorithm, salted, "Server Key")
  return {
    message: `${withoutProof},p=${proof.toString("base64")}`,
    serverSignature: hmac(algorithm, serverKey, authMessage)
  }
}

/** Checks server-final-message; returns an error description or `undefined` when valid. */
export const verifyServerFinal = (raw: string, expected: Buffer): string | undefined => {
  const attrs = attributes(raw)
  const error = attrs.get("e")
  if (error !== undefined) return `server rejected the authentication: ${error}`
  const v = attrs.get("v")
  if (v === undefined) return "malformed server-final-message"
  const got = Buffer.from(v, "base64")
  if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) {
    return "server signature mismatch: the broker does not know the password (possible impostor)"
  }
  return undefined
}

const attributes = (raw: string): Map<string, string> => {
  const out = new Map<string, string>()
  for (const part of raw.split(",")) {
    const eq = part.indexOf("=")
    if (eq === 1) out.set(part[0]!, part.slice(2))
  }
  return out
}
