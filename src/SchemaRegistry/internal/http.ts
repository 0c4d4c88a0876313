/**
 * The registry's REST transport: node:http / node:https with a keep-alive agent (TLS options and
 * client certificates go to the agent), JSON in and out, Confluent's error body
 * (`{ "error_code": …, "message": … }`) turned into `RegistryResponseError`, anything without an
 * answer into `RegistryUnavailable`. Requests are interruptible (the socket request is aborted).
 */
import * as http from "node:http"
import * as https from "node:https"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { RegistryResponseError, RegistryUnavailable, type SchemaRegistryError } from "../Errors.ts"

export interface Auth {
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  readonly bearerToken?: Redacted.Redacted<string> | undefined
}

export interface TlsOptions {
  readonly ca?: string | undefined
  readonly cert?: string | undefined
  readonly key?: Redacted.Redacted<string> | undefined
  readonly rejectUnauthorized?: boolean | undefined
}

export interface Transport {
  readonly url: string
  readonly request: <A>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown, subject?: string) => Effect.Effect<A, SchemaRegistryError>
  readonly close: () => void
}

export const make = (options: {
  readonly url: string
  readonly auth?: Auth | undefined
  readonly tls?: TlsOptions | undefined
  readonly requestTimeout?: Duration.Input | undefined
}): Transport => {
  const base = new URL(options.url.endsWith("/") ? options.url.slice(0, -1) : options.url)
  const secure = base.protocol === "https:"
  const agent = secure
    ? new https.Agent({
      keepAlive: true,
      ...(options.tls?.ca !== undefined ? { ca: options.tls.ca } : {}),
      ...(options.tls?.cert !== undefined ? { cert: options.tls.cert } : {}),
      ...(options.tls?.key !== undefined ? { key: Redacted.value(options.tls.key) } : {}),
      ...(options.tls?.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.tls.rejectUnauthorized } : {})
    })
    : new http.Agent({ keepAlive: true })
  const headers: Record<string, string> = {
    "accept": "application/vnd.schemaregistry.v1+json, application/json",
    "content-type": "application/vnd.schemaregistry.v1+json"
  }
  const auth = options.auth
  if (auth?.bearerToken !== undefined) headers.authorization = `Bearer ${Redacted.value(auth.bearerToken)}`
  else if (auth?.username !== undefined) {
    const pw = auth.password === undefined ? "" : Redacted.value(auth.password)
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${pw}`).toString("base64")}`
  }
  const timeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.requestTimeout ?? "30 seconds"))
  const prefix = base.pathname === "/" ? "" : base.pathname
  const url = base.toString().replace(/\/$/, "")

  const request = <A>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown, subject?: string) =>
    Effect.callback<A, SchemaRegistryError>((resume, signal) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const unavailable = (reason: string) => resume(Effect.fail(new RegistryUnavailable({ url, reason: `${method} ${path}: ${reason}` })))
      const req = (secure ? https : http).request({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        method,
        path: prefix + path,
        agent,
        headers: payload === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(payload) },
        signal,
        timeout: timeoutMs
      }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("error", (e) => unavailable(e.message))
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          const status = res.statusCode ?? 0
          let json: any
          try {
            json = text === "" ? undefined : JSON.parse(text)
          } catch {
            if (status >= 200 && status < 300) return unavailable(`the answer is not JSON: ${text.slice(0, 200)}`)
          }
          if (status >= 200 && status < 300) return resume(Effect.succeed(json as A))
          // Apicurio answers an incompatible schema with 409 and error_code 0: the status is the code then.
          const errorCode = typeof json?.error_code === "number" && json.error_code !== 0 ? json.error_code : status
          const registryMessage = typeof json?.message === "string" ? json.message : text.slice(0, 500)
          resume(Effect.fail(new RegistryResponseError({ status, errorCode, registryMessage, method, path, subject })))
        })
      })
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
      req.on("error", (e) => {
        if (!signal.aborted) unavailable(e.message === "" ? (e as NodeJS.ErrnoException).code ?? "connection failed" : e.message)
      })
      req.end(payload)
    })

  return { url, request, close: () => agent.destroy() }
}
