/**
 * The CLI against the harness's secured broker (SASL_SSL, an authorizer: `alice` is a super
 * user, `bob` is not; topics are not created on first use; SCRAM-SHA-512 left out of the enabled
 * mechanisms): a profile and a Java client.properties each let `kpax meta` and `kpax consume` run
 * with no flags, `config show` masks the password, ACLs round-trip and a denied command names
 * the ACL that is missing (which, once created, lets it through), and each misconfiguration gets
 * its one-line hint with exit code 1.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startSecured } from "../kafka/harness.ts"
import type { SecuredKafka } from "../kafka/harness.ts"
import { uniqueTopic } from "../util/kafka.ts"
import { jsonLines, kpaxRaw, lines, ok, shBlocks, shell } from "./run.ts"
import type { Run } from "./run.ts"

let kafka: SecuredKafka
let dir: string

beforeAll(async () => {
  kafka = await startSecured({
    config: {
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users": "User:ANONYMOUS;User:alice",
      "auto.create.topics.enable": "false",
      "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256"
    }
  })
  dir = fs.mkdtempSync(path.join(kafka.runDir, "cli-"))
}, 180_000)

afterAll(async () => {
  await kafka?.stop()
}, 60_000)

const PASSWORD = "alice-secret"

/** A config directory (XDG_CONFIG_HOME) with `profiles`; HOME points into it too. */
const configHome = (name: string, doc: unknown): Record<string, string> => {
  const home = path.join(dir, name)
  fs.mkdirSync(path.join(home, "kpax"), { recursive: true })
  fs.writeFileSync(path.join(home, "kpax", "config.json"), JSON.stringify(doc, null, 2))
  return { XDG_CONFIG_HOME: home, HOME: home }
}

const sasl = (user: string, password: string) => ["--sasl-mechanism", "PLAIN", "--sasl-username", user, "--sasl-password", password]
const asUser = (user: string, password: string) => ["--brokers", kafka.listeners.SASL_SSL, "--tls-ca", kafka.tls.caPem, ...sasl(user, password)]
const alice = () => asUser("alice", PASSWORD)
const bob = () => asUser("bob", "bob-secret")
const run = (args: ReadonlyArray<string>, env: Record<string, string> | undefined = undefined, input?: string) =>
  Effect.promise(() => kpaxRaw(args, { env: env ?? { HOME: dir, XDG_CONFIG_HOME: dir }, ...(input === undefined ? {} : { input }) }))

const oneLine = (r: Run, pattern: RegExp) => {
  assert.strictEqual(r.code, 1, `exit code of ${JSON.stringify(r)}`)
  assert.strictEqual(r.stdout, "")
  assert.match(r.stderr, /^kpax: [^\n]+\n$/, "exactly one line on stderr")
  assert.match(r.stderr, pattern)
}

describe("kpax against a secured broker", () => {
  it.live("a profile with SASL_SSL settings: meta and consume with no flags; config show masks the password; bad profiles fail in one line", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-profile")
      ok(yield* run(["topics", "create", t, ...alice()]))
      ok(yield* run(["produce", t, ...alice()], undefined, "one\ntwo\n"))
      const profile = {
        "brokers": [kafka.listeners.SASL_SSL],
        "tls-ca": kafka.tls.caPem,
        "sasl-mechanism": "SCRAM-SHA-256",
        "sasl-username": "alice",
        "sasl-password-env": "SECURED_PASSWORD",
        "client-id": "cli-profile"
      }
      const env = { ...configHome("profile", { default: "secured", profiles: { secured: profile, other: { brokers: "127.0.0.1:1" } } }), SECURED_PASSWORD: PASSWORD }
      const [meta, consumed, shown, other, unset, unknown] = yield* Effect.all([
        run(["meta", "--json"], env),
        run(["consume", t], env),
        run(["config", "show"], env),
        run(["meta", "--timeout", "2s"], { ...env, KPAX_PROFILE: "other" }),
        run(["meta"], { ...env, SECURED_PASSWORD: "" }),
        run(["meta", "--profile", "nope"], env)
      ], { concurrency: "unbounded" })
      assert.strictEqual(jsonLines(ok(meta))[0].clusterId, kafka.clusterId)
      assert.deepStrictEqual(lines(ok(consumed)), ["one", "two"])
      ok(shown)
      assert.notInclude(shown.stdout, PASSWORD)
      assert.match(shown.stdout, /^sasl-password +\*{8} +profile secured \(.*config\.json\): env SECURED_PASSWORD$/m)
      assert.match(shown.stdout, /^brokers +127\.0\.0\.1:\d+ +profile secured/m)
      assert.match(shown.stdout, /^client-id +cli-profile +profile secured/m)
      oneLine(other, /cannot reach Kafka at 127\.0\.0\.1:1/)
      oneLine(unset, /^kpax: sasl-password-env of profile secured in .*: the environment variable SECURED_PASSWORD is not set$/m)
      oneLine(unknown, /^kpax: profile nope is not in .*config\.json \(profiles: secured, other\)$/m)

      // flags > environment > profile
      const precedence = yield* run(["config", "show", "--json", "--client-id", "from-flag"], { ...env, KAFKA_BROKERS: "env:9092" })
      const rows = new Map(jsonLines(ok(precedence))[0].settings.map((r: { setting: string }) => [r.setting, r]))
      assert.deepInclude(rows.get("client-id"), { value: "from-flag", source: "flag --client-id" })
      assert.deepInclude(rows.get("brokers"), { value: "env:9092", source: "env KAFKA_BROKERS" })
      assert.deepInclude(rows.get("sasl-username"), { value: "alice" })

      const broken = configHome("broken", { profiles: { p: { "sasl-password": "in-clear" } } })
      oneLine(yield* run(["meta", "--profile", "p"], broken), /sasl-password of profile p .*: kpax does not read passwords from the config file/)
      fs.writeFileSync(path.join(broken.XDG_CONFIG_HOME, "kpax", "config.json"), "{ not json")
      oneLine(yield* run(["meta"], broken), /^kpax: config file .*config\.json: /)
    }), 240_000)

  it.live("a Java client.properties through --command-config: meta and consume; config show masks the password; JKS is refused", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-properties")
      ok(yield* run(["topics", "create", t, ...alice()]))
      ok(yield* run(["produce", t, ...alice()], undefined, "a\nb\n"))
      const file = path.join(dir, "client.properties")
      fs.writeFileSync(file, [
        "# as kafka-console-consumer --consumer.config takes it",
        `bootstrap.servers=${kafka.listeners.SASL_SSL}`,
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-256",
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\",
        `    username="alice" password="${PASSWORD}";`,
        "ssl.truststore.type=PEM",
        `ssl.truststore.location=${kafka.tls.caPem}`,
        "group.id=ignored-by-kpax",
        ""
      ].join("\n"))
      const jks = path.join(dir, "jks.properties")
      fs.writeFileSync(jks, `security.protocol=SSL\nssl.truststore.location=${kafka.tls.caPem}.jks\nssl.truststore.type=JKS\n`)
      const [meta, consumed, shown, refused] = yield* Effect.all([
        run(["meta", "--json", "--command-config", file]),
        run(["consume", t, "--command-config", file]),
        run(["config", "show", "--command-config", file]),
        run(["meta", "--command-config", jks])
      ], { concurrency: "unbounded" })
      assert.strictEqual(jsonLines(ok(meta))[0].clusterId, kafka.clusterId)
      assert.deepStrictEqual(lines(ok(consumed)), ["a", "b"])
      assert.notInclude(ok(shown).stdout, PASSWORD)
      assert.match(shown.stdout, /^sasl-password +\*{8} +--command-config .*client\.properties \(sasl\.jaas\.config\)$/m)
      assert.match(shown.stdout, /ignored: group\.id/)
      oneLine(refused, /ssl\.truststore\.type: JKS stores are not supported by kpax: convert to PEM/)
    }), 240_000)

  it.live("ACLs: create, list, delete round trip; a denied command names the missing ACL, which then lets it through", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-acl")
      ok(yield* run(["topics", "create", t, ...alice()]))
      ok(yield* run(["produce", t, ...alice()], undefined, "secret\n"))
      const denied = yield* run(["consume", t, ...bob()])
      const fix = `kpax acls create --allow-principal User:bob --operation Read --topic ${t}`
      oneLine(denied, new RegExp(`^kpax: topic ${t}: TOPIC_AUTHORIZATION_FAILED: User:bob may not Read topic ${t} \\(missing ACL\\): an admin can allow it with ${fix}$`, "m"))
      // bob may not manage ACLs either: the cluster ACL is named
      oneLine(yield* run(["acls", "list", ...bob()]), /User:bob may not Describe the cluster \(missing ACL\): .*--operation Describe --cluster$/m)

      const created = ok(yield* run([...fix.split(" ").slice(1), "--json", ...alice()]))
      assert.deepStrictEqual(jsonLines(created), [{ resourceType: "topic", resourceName: t, patternType: "literal", principal: "User:bob", host: "*", operation: "read", permission: "allow" }])
      // the broker's metadata follows the controller shortly after
      let listed: Run
      do listed = ok(yield* Effect.andThen(Effect.sleep("200 millis"), run(["acls", "list", "--topic", t, ...alice()])))
      while (!listed.stdout.includes("User:bob"))
      assert.deepStrictEqual(lines(listed).map((l) => l.split(/\s+/)), [
        ["PRINCIPAL", "HOST", "PERMISSION", "OPERATION", "RESOURCE", "NAME", "PATTERN"],
        ["User:bob", "*", "Allow", "Read", "Topic", t, "literal"]
      ])
      let read: Run
      do read = yield* Effect.andThen(Effect.sleep("200 millis"), run(["consume", t, ...bob()]))
      while (read.code !== 0 && read.stderr.includes("AUTHORIZATION_FAILED"))
      assert.deepStrictEqual(lines(ok(read)), ["secret"])

      const deleted = ok(yield* run(["acls", "delete", "--topic", t, "--allow-principal", "User:bob", "--json", ...alice()]))
      assert.deepStrictEqual(jsonLines(deleted).map((b) => [b.principal, b.operation, b.resourceName]), [["User:bob", "read", t]])
      let after: Run
      do after = ok(yield* Effect.andThen(Effect.sleep("200 millis"), run(["acls", "list", "--topic", t, "--json", ...alice()])))
      while (after.stdout !== "")

      // docs/cli.md's ACL block, as a super user whose settings come from a profile
      const [block] = shBlocks("docs/cli.md", "test/cli/secured.test.ts")
      const env = { ...configHome("docs-acls", { profiles: { default: { "brokers": kafka.listeners.SASL_SSL, "tls-ca": kafka.tls.caPem, "sasl-mechanism": "PLAIN", "sasl-username": "alice", "sasl-password-env": "PW" } } }), PW: PASSWORD }
      const doc = shell(`set -e\n${block}`, env)
      assert.strictEqual(doc.code, 0, doc.stderr)
      const docCreated = lines(doc).slice(0, 5).map((l) => l.split(/\s+/).slice(2, 6).join(" "))
      assert.deepStrictEqual(docCreated, ["PERMISSION OPERATION RESOURCE NAME", "Allow Describe Group billing", "Allow Read Group billing", "Allow Describe Topic orders", "Allow Read Topic orders"])
      // the last command deleted bob's two ACLs on orders
      assert.deepStrictEqual(lines(doc).slice(-2).map((l) => l.split(/\s+/).slice(3, 6).join(" ")), ["Describe Topic orders", "Read Topic orders"])
    }), 240_000)

  it.live("misconfigurations get one line with the fix, exit 1", () =>
    Effect.gen(function*() {
      const [plainOnTls, noSasl, mechanism, missing] = yield* Effect.all([
        run(["meta", "--brokers", kafka.listeners.SSL]),
        run(["meta", "--brokers", kafka.listeners.SASL_PLAINTEXT]),
        run(["meta", "--brokers", kafka.listeners.SASL_PLAINTEXT, "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "alice", "--sasl-password", PASSWORD]),
        run(["produce", "no-such-topic-cli", "--value", "x", ...alice()])
      ], { concurrency: "unbounded" })
      oneLine(plainOnTls, /the broker answered with TLS .*: add --tls and --tls-ca CA\.pem/)
      assert.notInclude(plainOnTls.stderr, "exceeds the maximum")
      oneLine(noSasl, /connection closed by the broker.*: if this is a SASL listener, give --sasl-mechanism, --sasl-username and the password/)
      oneLine(mechanism, /SASL mechanism SCRAM-SHA-512 is not enabled .*\(enabled: PLAIN, SCRAM-SHA-256\): use --sasl-mechanism PLAIN or SCRAM-SHA-256$/m)
      assert.notInclude(mechanism.stderr, PASSWORD)
      oneLine(missing, /^kpax: topic no-such-topic-cli does not exist: create it with kpax topics create no-such-topic-cli$/m)
    }), 240_000)
})
