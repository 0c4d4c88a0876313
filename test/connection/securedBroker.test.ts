/**
 * The Broker against the harness's secured Kafka: SASL (PLAIN, SCRAM-SHA-256/512) over
 * SASL_PLAINTEXT and SASL_SSL, TLS failures, and KIP-368 re-authentication (the broker is started
 * with a short `connections.max.reauth.ms`).
 */
import * as fs from "node:fs"
import { afterAll, beforeAll } from "vitest"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { make } from "../../src/Connection/Broker.ts"
import type { BrokerOptions } from "../../src/Connection/Broker.ts"
import { DescribeCluster } from "../../src/Protocol/generated/DescribeCluster.ts"
import { Metadata } from "../../src/Protocol/generated/Metadata.ts"
import { startSecured } from "../kafka/harness.ts"
import type { SecuredKafka, SecurityProtocol } from "../kafka/harness.ts"

const REAUTH_MS = 4_000

let kafka: SecuredKafka
let ca: string

beforeAll(async () => {
  kafka = await startSecured({ config: { "connections.max.reauth.ms": String(REAUTH_MS) } })
  ca = fs.readFileSync(kafka.tls.caPem, "utf8")
}, 180_000)

afterAll(async () => {
  await kafka?.stop()
}, 60_000)

const endpoint = (protocol: SecurityProtocol): Pick<BrokerOptions, "host" | "port" | "tls"> => {
  const [host, port] = kafka.listeners[protocol].split(":")
  const tls = protocol === "SASL_SSL" || protocol === "SSL" ? { ca } : undefined
  return { host: host!, port: Number(port), tls }
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return reason.error
}

const describeCluster = { includeClusterAuthorizedOperations: false }

describe("Broker against a secured Kafka", () => {
  for (const protocol of ["SASL_PLAINTEXT", "SASL_SSL"] as const) {
    for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      it.live(`${mechanism} over ${protocol}`, () =>
        Effect.gen(function*() {
          const user = kafka.users[0]!
          const broker = yield* make({
            ...endpoint(protocol),
            sasl: { mechanism, username: user.username, password: Redacted.make(user.password) }
          })
          const res = yield* broker.request(DescribeCluster, describeCluster)
          assert.strictEqual(res.errorCode, 0)
          assert.strictEqual(res.clusterId, kafka.clusterId)
        }))
    }
  }

  for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
    it.live(`${mechanism}: a wrong password fails fast with AuthenticationError, without the password`, () =>
      Effect.gen(function*() {
        const secret = "definitely-wrong-pa55word"
        const broker = yield* make({
          ...endpoint("SASL_PLAINTEXT"),
          sasl: { mechanism, username: "alice", password: Redacted.make(secret) }
        })
        const start = performance.now()
        const err = failureOf(yield* Effect.exit(broker.request(DescribeCluster, describeCluster)))
        assert.isBelow(performance.now() - start, 5_000)
        assert.strictEqual(err._tag, "AuthenticationError")
        if (err._tag === "AuthenticationError") assert.strictEqual(err.errorCode, 58)
        for (const text of [err.message, String(err), JSON.stringify(err)]) assert.notInclude(text, secret)
      }))
  }

  it.live("a mechanism the broker does not enable is an AuthenticationError listing the enabled ones", () =>
    Effect.gen(function*() {
      const broker = yield* make({
        ...endpoint("SASL_PLAINTEXT"),
        sasl: { mechanism: "OAUTHBEARER", token: Effect.succeed(Redacted.make("t")) }
      })
      const err = failureOf(yield* Effect.exit(broker.request(DescribeCluster, describeCluster)))
      assert.strictEqual(err._tag, "AuthenticationError")
      assert.match(err.message, /OAUTHBEARER is not enabled.*SCRAM-SHA-512/)
    }))

  it.live("SSL with the run's CA succeeds, with and without a client certificate", () =>
    Effect.gen(function*() {
      const plain = yield* make(endpoint("SSL"))
      assert.strictEqual((yield* plain.request(DescribeCluster, describeCluster)).errorCode, 0)
      const { clientCertPem, clientKeyPem } = kafka.tls
      if (clientCertPem !== undefined && clientKeyPem !== undefined) {
        const mutual = yield* make({
          ...endpoint("SSL"),
          tls: {
            ca,
            cert: fs.readFileSync(clientCertPem, "utf8"),
            key: Redacted.make(fs.readFileSync(clientKeyPem, "utf8"))
          }
        })
        assert.strictEqual((yield* mutual.request(DescribeCluster, describeCluster)).errorCode, 0)
      }
    }))

  it.live("TLS with an untrusted CA fails with TlsError", () =>
    Effect.gen(function*() {
      const broker = yield* make({ ...endpoint("SSL"), tls: true })
      const err = failureOf(yield* Effect.exit(broker.request(DescribeCluster, describeCluster)))
      assert.strictEqual(err._tag, "TlsError")
      if (err._tag === "TlsError") assert.isFalse(err.retriable)
    }))

  it.live("TLS with a hostname mismatch fails with TlsError", () =>
    Effect.gen(function*() {
      const broker = yield* make({ ...endpoint("SASL_SSL"), tls: { ca, servername: "kafka.invalid" } })
      const err = failureOf(yield* Effect.exit(broker.request(DescribeCluster, describeCluster)))
      assert.strictEqual(err._tag, "TlsError")
      if (err._tag === "TlsError") assert.strictEqual(err.code, "ERR_TLS_CERT_ALTNAME_INVALID")
    }))

  it.live("TLS to a plaintext listener fails with TlsError, not a hang", () =>
    Effect.gen(function*() {
      const broker = yield* make({ ...endpoint("SASL_PLAINTEXT"), tls: { ca }, connectTimeout: "5 seconds" })
      const err = failureOf(yield* Effect.exit(broker.request(DescribeCluster, describeCluster)))
      assert.oneOf(err._tag, ["TlsError", "ConnectionError"])
    }))

  it.live("re-authenticates before the session expires (KIP-368), on one connection, without failed requests", () =>
    Effect.gen(function*() {
      const user = kafka.users[1]!
      const broker = yield* make({
        ...endpoint("SASL_SSL"),
        sasl: { mechanism: "SCRAM-SHA-512", username: user.username, password: Redacted.make(user.password) }
      })
      const deadline = performance.now() + REAUTH_MS * 2.5
      let n = 0
      const worker = Effect.whileLoop({
        while: () => performance.now() < deadline,
        body: () =>
          broker.request(Metadata, { topics: null }).pipe(
            Effect.andThen(Effect.sleep("20 millis")),
            Effect.map(() => void n++)
          ),
        step: () => {}
      })
      yield* Effect.all([worker, worker, worker], { concurrency: "unbounded" })
      const stats = yield* broker.stats
      assert.strictEqual(stats.connects, 1, "the broker never dropped the connection")
      assert.isAtLeast(stats.reauthentications, 2)
      assert.isAbove(n, 100)
    }), 60_000)
})
