/**
 * The registry client over TLS with a client certificate, configured from `Config` the way a
 * user would (`KAFKA_SCHEMA_REGISTRY_TLS_*`): an https front (certificates from the broker
 * harness's throw-away CA) that requires a client certificate and passes requests to the real
 * registry.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Schedule } from "effect"
import * as SchemaRegistry from "../../src/SchemaRegistry/SchemaRegistry.ts"
import { makeTls } from "../kafka/harness.ts"
import { registryUrl } from "../registry/env.ts"

const tlsFront = Effect.acquireRelease(
  Effect.gen(function*() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kpax-sr-tls-"))
    const files = yield* Effect.promise(() => makeTls(dir))
    const target = new URL(registryUrl())
    const clients: Array<string> = []
    const server = https.createServer({
      cert: fs.readFileSync(path.join(dir, "broker.pem")),
      key: fs.readFileSync(path.join(dir, "broker-key.pem")),
      ca: fs.readFileSync(files.caPem),
      requestCert: true,
      rejectUnauthorized: true
    }, (req, res) => {
      clients.push(String((req.socket as import("node:tls").TLSSocket).getPeerCertificate().subject?.CN))
      const { host: _, ...headers } = req.headers
      const upstream = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      })
      req.pipe(upstream)
    })
    yield* Effect.callback<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void)))
    const port = (server.address() as { port: number }).port
    return { url: `https://127.0.0.1:${port}${target.pathname}`, files, clients, server, dir }
  }),
  (f) => Effect.callback<void>((resume) => void f.server.close(() => resume(Effect.void))).pipe(
    Effect.andThen(Effect.sync(() => fs.rmSync(f.dir, { recursive: true, force: true })))
  )
)

describe("SchemaRegistry client over TLS", () => {
  it.live("mutual TLS from KAFKA_SCHEMA_REGISTRY_TLS_CA_FILE/CERT_FILE/KEY_FILE; an untrusted server is RegistryUnavailable", () =>
    Effect.gen(function*() {
      const front = yield* tlsFront
      if (front.files.clientCertPem === undefined || front.files.clientKeyPem === undefined) return // keytool-made: no PEM client key
      const fromEnv = (env: Record<string, string>) =>
        SchemaRegistry.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ KAFKA: { SCHEMA_REGISTRY: env } }))))
      const subjects = Effect.gen(function*() {
        return yield* (yield* SchemaRegistry.SchemaRegistry).subjects
      })
      const got = yield* subjects.pipe(Effect.provide(fromEnv({
        URL: front.url,
        TLS_CA_FILE: front.files.caPem,
        TLS_CERT_FILE: front.files.clientCertPem,
        TLS_KEY_FILE: front.files.clientKeyPem
      })))
      assert.isTrue(Array.isArray(got))
      assert.deepStrictEqual(front.clients, ["kpax-client"])
      // without the CA the server's certificate is not trusted: no answer, typed
      const untrusted = yield* Effect.flip(Effect.scoped(Effect.flatMap(SchemaRegistry.make({ url: front.url, retry: Schedule.recurs(0) }), (sr) => sr.subjects)))
      assert.strictEqual(untrusted._tag, "RegistryUnavailable")
    }).pipe(Effect.scoped))
})
