/**
 * Java properties files as `--command-config` reads them (in-process, no broker): the
 * properties syntax, the keys kpax maps, and the typed errors for what it cannot honour.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CommandConfig from "../../src/Cli/CommandConfig.ts"
import { ProfileError } from "../../src/Cli/Profile.ts"

const settings = (text: string) => {
  const loaded = CommandConfig.fromProperties("c.properties", CommandConfig.parse(text))
  return { values: Object.fromEntries(loaded.entries.map((e) => [e.variable, e.value])), ignored: loaded.ignored }
}
const refused = (text: string): string => {
  try {
    settings(text)
  } catch (e) {
    assert.instanceOf(e, ProfileError)
    return (e as ProfileError).message
  }
  return assert.fail("expected a ProfileError")
}

describe("--command-config", () => {
  it("parses the properties syntax: separators, comments, continuations, escapes", () => {
    const p = CommandConfig.parse("# c\n! c\n  a=1\nb : 2\nc 3\nd=x\\\n   y\ne=\\u0041\\tz\nf\\=g=h\nempty=\n")
    assert.deepStrictEqual(Object.fromEntries(p), { a: "1", b: "2", c: "3", d: "xy", e: "A\tz", "f=g": "h", empty: "" })
  })

  it("maps SASL_SSL with SCRAM and a PEM truststore; keeps other keys as ignored", () => {
    const { values, ignored } = settings([
      "bootstrap.servers=k1:9093,k2:9093",
      "security.protocol=SASL_SSL",
      "sasl.mechanism=SCRAM-SHA-512",
      "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"ops\" password=\"p\\\\\\\"w\";",
      "ssl.truststore.type=PEM",
      "ssl.truststore.certificates=-----BEGIN CERTIFICATE-----",
      "request.timeout.ms=5000",
      "group.id=g",
      "ssl.enabled.protocols=TLSv1.3"
    ].join("\n"))
    assert.deepStrictEqual(values, {
      KAFKA_BROKERS: "k1:9093,k2:9093",
      KAFKA_REQUEST_TIMEOUT: "5000 millis",
      KAFKA_TLS: "true",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "ops",
      KAFKA_SASL_PASSWORD: "p\"w",
      KPAX_TLS_CA_PEM: "-----BEGIN CERTIFICATE-----"
    })
    assert.deepStrictEqual(ignored, ["group.id", "ssl.enabled.protocols"])
  })

  it("refuses what kpax cannot honour, naming the key", () => {
    assert.match(refused("security.protocol=SASL_SSL\nsasl.jaas.config=x required;"), /sasl\.mechanism: GSSAPI \(Java's default\) is not supported/)
    assert.match(refused("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER"), /OAUTHBEARER is not supported/)
    assert.match(refused("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\";"), /PLAIN needs PlainLoginModule/)
    assert.match(refused("security.protocol=SSL\nssl.keystore.type=PKCS12\nssl.keystore.location=/x.p12"), /ssl\.keystore\.type: PKCS12 stores are not supported by kpax: convert to PEM/)
    assert.match(refused("security.protocol=SSL\nssl.truststore.location=/no/such.jks"), /JKS \(Java's default\) stores are not supported/)
    assert.match(refused("security.protocol=SSL\nssl.endpoint.identification.algorithm="), /always checks the broker's host name/)
    assert.match(refused("security.protocol=SSL\nssl.keystore.type=PEM\nssl.keystore.location=/k.pem\nssl.key.password=x"), /encrypted private keys are not supported/)
    assert.match(refused("sasl.login.callback.handler.class=x"), /sasl\.login\.callback\.handler\.class: not supported by kpax/)
    assert.match(refused("security.protocol=TLS"), /expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL/)
  })
})
