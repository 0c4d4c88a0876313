/**
 * How the global flags become the cluster settings, in-process: flags over `KAFKA_*` variables,
 * TLS files read, `--tls-insecure`, SASL with a redacted password, the CLI's time limit.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option, Redacted } from "effect"
import * as Global from "../../src/Cli/Global.ts"
import { connection } from "../../src/Cli/Kafka.ts"

interface UserPassword {
  readonly mechanism: string
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

const flags = (given: Partial<{ [K in keyof typeof values]: (typeof values)[K] }>) => {
  const v = { ...values, ...given }
  return <A, E, R>(self: Effect.Effect<A, E, R>) =>
    self.pipe(
      Effect.provideService(Global.Brokers, v.brokers),
      Effect.provideService(Global.ClientId, v.clientId),
      Effect.provideService(Global.Tls, v.tls),
      Effect.provideService(Global.TlsCa, v.tlsCa),
      Effect.provideService(Global.TlsCert, v.tlsCert),
      Effect.provideService(Global.TlsKey, v.tlsKey),
      Effect.provideService(Global.TlsInsecure, v.tlsInsecure),
      Effect.provideService(Global.SaslMechanism, v.saslMechanism),
      Effect.provideService(Global.SaslUsername, v.saslUsername),
      Effect.provideService(Global.SaslPassword, v.saslPassword),
      Effect.provideService(Global.Timeout, v.timeout),
      Effect.provideService(Global.Profile, v.profile),
      Effect.provideService(Global.CommandConfig, v.commandConfig),
      Effect.provideService(Global.Json, false),
      Effect.provideService(Global.Quiet, true)
    )
}
const values = {
  brokers: Option.none<string>(),
  clientId: Option.none<string>(),
  tls: false,
  tlsCa: Option.none<string>(),
  tlsCert: Option.none<string>(),
  tlsKey: Option.none<string>(),
  tlsInsecure: false,
  saslMechanism: Option.none<"PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512">(),
  saslUsername: Option.none<string>(),
  saslPassword: Option.none<Redacted.Redacted<string>>(),
  timeout: Option.none<string>(),
  profile: Option.none<string>(),
  commandConfig: Option.none<string>()
}

describe("kpax connection settings", () => {
  it.effect("defaults, then environment, then flags; TLS and SASL; --timeout bounds connecting", () =>
    Effect.gen(function*() {
      // connection reads the process environment through a provider of its own: set variables for the test
      const saved = { ...process.env }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kpax-cli-"))
      const ca = path.join(dir, "ca.pem")
      fs.writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
      try {
        for (const k of Object.keys(process.env)) if (k.startsWith("KAFKA_")) delete process.env[k]
        const plain = yield* connection.pipe(flags({}))
        assert.deepStrictEqual(plain.options.bootstrap, ["localhost:9092"])
        assert.strictEqual(plain.timeoutMs, 10_000)
        assert.strictEqual(plain.options.connectTimeout, 10_000)
        assert.isUndefined(plain.options.tls)
        assert.isUndefined(plain.options.sasl)

        process.env.KAFKA_BROKERS = "env-1:9092,env-2:9092"
        process.env.KAFKA_CLIENT_ID = "from-env"
        process.env.KAFKA_SASL_PASSWORD = "env-secret"
        assert.deepStrictEqual((yield* connection.pipe(flags({}))).options.bootstrap, ["env-1:9092", "env-2:9092"])

        const c = yield* connection.pipe(flags({
          brokers: Option.some("flag-1:9093"),
          tlsCa: Option.some(ca),
          tlsInsecure: true,
          saslMechanism: Option.some("SCRAM-SHA-512"),
          saslUsername: Option.some("alice"),
          timeout: Option.some("3s")
        }))
        assert.deepStrictEqual(c.options.bootstrap, ["flag-1:9093"])
        assert.strictEqual(c.options.clientId, "from-env")
        assert.deepInclude(c.options.tls as object, { ca: fs.readFileSync(ca, "utf8"), rejectUnauthorized: false })
        const sasl = c.options.sasl as unknown as UserPassword
        assert.strictEqual(sasl.mechanism, "SCRAM-SHA-512")
        assert.strictEqual(sasl.username, "alice")
        assert.strictEqual(Redacted.value(sasl.password), "env-secret")
        assert.notInclude(String(sasl.password), "env-secret")
        assert.deepStrictEqual([c.timeoutMs, c.options.connectTimeout], [3000, 3000])

        const withFlagPassword = yield* connection.pipe(flags({
          saslMechanism: Option.some("PLAIN"),
          saslUsername: Option.some("bob"),
          saslPassword: Option.some(Redacted.make("flag-secret"))
        }))
        assert.strictEqual(Redacted.value((withFlagPassword.options.sasl as unknown as UserPassword).password), "flag-secret")

        const missingCa = yield* Effect.flip(connection.pipe(flags({ tlsCa: Option.some(path.join(dir, "nope.pem")) })))
        assert.strictEqual(missingCa._tag, "UsageError")
        assert.match(missingCa.message, /^--tls-ca: cannot read .*nope\.pem/)
        const badTimeout = yield* Effect.flip(connection.pipe(flags({ timeout: Option.some("10") })))
        assert.match(badTimeout.message, /^--timeout: expected a duration/)
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
        Object.assign(process.env, saved)
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv())))
})
