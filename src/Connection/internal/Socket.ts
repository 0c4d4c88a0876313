/**
 * Opening a `node:net` / `node:tls` socket: connection timeout, TLS settings, and the
 * classification of connect failures into `ConnectionError` (reason `Refused` / `ConnectTimeout`)
 * or `TlsError` (untrusted CA, hostname mismatch, handshake failure).
 *
 * @internal
 */
import * as net from "node:net"
import * as tls from "node:tls"
import { Effect, Redacted } from "effect"
import { ConnectionError, TlsError } from "../Errors.ts"

/** TLS settings. `true` means TLS with the system CAs. */
export interface TlsOptions {
  /** Trusted CA certificates (PEM). Defaults to Node's bundled CAs. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  /** Client certificate chain (PEM), for mutual TLS. */
  readonly cert?: string | Uint8Array | undefined
  /** Client private key (PEM), for mutual TLS. */
  readonly key?: string | Uint8Array | Redacted.Redacted<string | Uint8Array> | undefined
  /** Passphrase of the private key. */
  readonly passphrase?: Redacted.Redacted<string> | undefined
  /** SNI / hostname to verify; defaults to the host unless it is an IP address. */
  readonly servername?: string | undefined
  /** Verify the broker's certificate (default `true`). */
  readonly rejectUnauthorized?: boolean | undefined
}

export interface SocketOptions {
  readonly host: string
  readonly port: number
  readonly tls?: TlsOptions | boolean | undefined
  /** Time allowed to open TCP (and TLS) before failing with `ConnectTimeout` (default 10 s). */
  readonly connectTimeoutMs?: number | undefined
  /** TCP keep-alive initial delay in ms, `false` to disable (default 60 s). */
  readonly keepAliveMs?: number | false | undefined
  /** Disable Nagle's algorithm (default `true`). */
  readonly noDelay?: boolean | undefined
}

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "HOSTNAME_MISMATCH"
])

const isTlsFailure = (err: NodeJS.ErrnoException): boolean => {
  const code = err.code ?? ""
  return TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") ||
    "library" in err || "reason" in err
}

const ignore = () => {}

const reveal = <A>(value: A | Redacted.Redacted<A> | undefined): A | undefined =>
  value === undefined ? undefined : Redacted.isRedacted(value) ? Redacted.value(value) : value

const tlsConnectOptions = (options: SocketOptions, settings: TlsOptions): tls.ConnectionOptions => {
  const servername = settings.servername ?? (net.isIP(options.host) === 0 ? options.host : undefined)
  const out: tls.ConnectionOptions = {
    host: options.host,
    port: options.port,
    rejectUnauthorized: settings.rejectUnauthorized ?? true
  }
  if (servername !== undefined) out.servername = servername
  if (settings.ca !== undefined) out.ca = settings.ca as tls.ConnectionOptions["ca"]
  if (settings.cert !== undefined) out.cert = settings.cert as tls.ConnectionOptions["cert"]
  const key = reveal(settings.key)
  if (key !== undefined) out.key = key as tls.ConnectionOptions["key"]
  const passphrase = reveal(settings.passphrase)
  if (passphrase !== undefined) out.passphrase = passphrase
  return out
}

/**
 * Opens a socket (TCP, or TLS once the handshake succeeded). Interrupting the effect destroys
 * the half-open socket.
 */
export const openSocket = (options: SocketOptions): Effect.Effect<net.Socket, ConnectionError | TlsError> =>
  Effect.callback<net.Socket, ConnectionError | TlsError>((resume) => {
    const broker = `${options.host}:${options.port}`
    const tlsSettings = options.tls === true ? {} : options.tls === false ? undefined : options.tls
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    const readyEvent = tlsSettings !== undefined ? "secureConnect" : "connect"
    let tcpConnected = false
    let settled = false

    const socket: net.Socket = tlsSettings !== undefined
      ? tls.connect(tlsConnectOptions(options, tlsSettings))
      : net.connect({ host: options.host, port: options.port })

    const abandon = () => {
      settle()
      socket.on("error", ignore) // a destroyed socket may still report; never leave 'error' unhandled
      socket.destroy()
    }
    const timer = setTimeout(() => {
      abandon()
      resume(Effect.fail(
        new ConnectionError({
          broker,
          reason: "ConnectTimeout",
          message: `could not connect to ${broker} within ${connectTimeoutMs} ms` +
            (tcpConnected && tlsSettings !== undefined ? " (TLS handshake incomplete)" : "")
        })
      ))
    }, connectTimeoutMs)

    const onTcp = () => {
      tcpConnected = true
    }
    const onError = (err: NodeJS.ErrnoException) => {
      abandon()
      if (tlsSettings !== undefined && (isTlsFailure(err) || tcpConnected)) {
        resume(Effect.fail(
          new TlsError({ broker, code: err.code, message: `TLS handshake with ${broker} failed: ${err.message}`, cause: err })
        ))
      } else {
        resume(Effect.fail(
          new ConnectionError({ broker, reason: "Refused", message: `could not connect to ${broker}: ${err.message}`, cause: err })
        ))
      }
    }
    const onClose = () => onError(Object.assign(new Error("connection closed during connect"), { code: "ECONNRESET" }))
    const onReady = () => {
      settle()
      socket.setNoDelay(options.noDelay ?? true)
      if (options.keepAliveMs !== false) socket.setKeepAlive(true, options.keepAliveMs ?? 60_000)
      resume(Effect.succeed(socket))
    }
    function settle() {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.off("connect", onTcp)
      socket.off("error", onError)
      socket.off("close", onClose)
      socket.off(readyEvent, onReady)
    }

    socket.on("connect", onTcp)
    socket.once(readyEvent, onReady)
    socket.once("error", onError)
    socket.once("close", onClose)
    return Effect.sync(() => {
      if (!settled) abandon()
    })
  })
