import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Cluster } from "../../src/Cluster/Cluster.ts"
import * as RetryPolicy from "../../src/Cluster/RetryPolicy.ts"
import * as Layers from "../../src/Layers/Layers.ts"
import { brokers } from "../kafka/env.ts"

const withEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnv({ env }))

describe("Layers from Config", () => {
  it.effect("reads brokers, client id, SASL and time-outs from KAFKA_*", () =>
    Effect.gen(function*() {
      const o = yield* Layers.clusterOptions.pipe(Effect.provide(withEnv({
        KAFKA_BROKERS: "k1:9092, k2:9093",
        KAFKA_CLIENT_ID: "billing",
        KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
        KAFKA_SASL_USERNAME: "alice",
        KAFKA_SASL_PASSWORD: "s3cret",
        KAFKA_REQUEST_TIMEOUT: "5 seconds"
      })))
      assert.deepStrictEqual(o.bootstrap, ["k1:9092", "k2:9093"])
      assert.strictEqual(o.clientId, "billing")
      assert.strictEqual(o.sasl?.mechanism, "SCRAM-SHA-512")
      if (o.sasl?.mechanism === "SCRAM-SHA-512") {
        assert.strictEqual(Redacted.value(o.sasl.password), "s3cret")
        assert.notInclude(String(o.sasl.password), "s3cret")
      }
      assert.isUndefined(o.tls)
    }))

  it.effect("defaults to localhost:9092; TLS files turn TLS on", () =>
    Effect.gen(function*() {
      const dflt = yield* Layers.clusterOptions.pipe(Effect.provide(withEnv({})))
      assert.deepStrictEqual(dflt.bootstrap, ["localhost:9092"])
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kpax-cfg-"))
      fs.writeFileSync(path.join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
      const o = yield* Layers.clusterOptions.pipe(Effect.provide(withEnv({ KAFKA_TLS_CA_FILE: path.join(dir, "ca.pem"), KAFKA_TLS_SERVERNAME: "kafka.local" })))
      assert.isObject(o.tls)
      if (typeof o.tls === "object") {
        assert.include(String(o.tls.ca), "BEGIN CERTIFICATE")
        assert.strictEqual(o.tls.servername, "kafka.local")
      }
    }))

  it.effect("bad settings are typed errors naming the variable, without secrets", () =>
    Effect.gen(function*() {
      const noCreds = yield* Effect.flip(Layers.clusterOptions.pipe(Effect.provide(withEnv({ KAFKA_SASL_MECHANISM: "PLAIN", KAFKA_SASL_PASSWORD: "pw-123" }))))
      assert.strictEqual(noCreds._tag, "InvalidKafkaConfig")
      assert.notInclude(noCreds.message, "pw-123")
      const badMech = yield* Effect.flip(Layers.clusterOptions.pipe(Effect.provide(withEnv({ KAFKA_SASL_MECHANISM: "GSSAPI" }))))
      assert.strictEqual(badMech._tag, "ConfigError")
      assert.match(badMech.message, /SASL_MECHANISM/)
      const badTimeout = yield* Effect.flip(Layers.clusterOptions.pipe(Effect.provide(withEnv({ KAFKA_REQUEST_TIMEOUT: "soon" }))))
      assert.match(badTimeout.message, /REQUEST_TIMEOUT/)
      const missingFile = yield* Effect.flip(Layers.clusterOptions.pipe(Effect.provide(withEnv({ KAFKA_TLS_CA_FILE: "/nonexistent/ca.pem" }))))
      assert.strictEqual(missingFile._tag, "InvalidKafkaConfig")
    }))

  it.live("fromConfig builds a working Cluster with the configured retry policy", () =>
    Effect.gen(function*() {
      const env = withEnv({ KAFKA_BROKERS: brokers().join(","), KAFKA_CLIENT_ID: "kpax-config-test", KAFKA_RETRY_LEADER_MAX_ATTEMPTS: "7" })
      const layer = Layers.fromConfig.pipe(Layer.provide(env))
      const [topics, policy] = yield* Effect.gen(function*() {
        const cluster = yield* Cluster
        const policy = yield* RetryPolicy.RetryPolicy
        return [yield* cluster.listTopics, policy] as const
      }).pipe(Effect.provide(layer))
      assert.isArray(topics)
      assert.notStrictEqual(policy, RetryPolicy.defaultPolicy)
    }))
})
