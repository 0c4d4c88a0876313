/**
 * Smoke suite of the Kafka test harness: Kafka's own tools against the brokers it starts.
 * The 3-node cluster and the secured broker boot in the background while the single-broker
 * checks run; each shape is started once.
 */
import { afterAll, beforeAll, describe, it } from "vitest"
import { bootstrapServers, brokers } from "./kafka/env.ts"
import {
  type KafkaHandle,
  runJavaTool,
  type SecuredKafka,
  startCluster,
  startSecured,
  type ToolName,
  type ToolOptions,
  type ToolResult
} from "./kafka/harness.ts"

/** Runs a tool and fails with its output when it exits non-zero. */
async function tool(name: ToolName, args: ReadonlyArray<string>, options?: ToolOptions): Promise<ToolResult> {
  const r = await runJavaTool(name, args, options)
  if (r.code !== 0) {
    throw new Error(`${name} ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}\n${r.stdout}\n${r.stderr}`)
  }
  return r
}

const createTopic = (bootstrap: string, topic: string, partitions: number, replicationFactor: number) =>
  tool("kafka-topics", [
    "--bootstrap-server", bootstrap, "--create", "--topic", topic,
    "--partitions", String(partitions), "--replication-factor", String(replicationFactor)
  ])

/** Reads exactly `count` records (key:value lines) from the beginning of a topic. */
async function consume(bootstrap: string, topic: string, count: number, extra: ReadonlyArray<string> = []): Promise<Array<string>> {
  const r = await tool("kafka-console-consumer", [
    "--bootstrap-server", bootstrap, "--topic", topic, "--from-beginning",
    "--max-messages", String(count), "--timeout-ms", "30000",
    "--formatter-property", "print.key=true", "--formatter-property", "key.separator=:", ...extra
  ])
  return r.stdout.split("\n").filter((line) => line !== "")
}

/** Partition → leader id, from `kafka-topics --describe`. */
function leaders(describe: string): Map<number, number> {
  const result = new Map<number, number>()
  for (const m of describe.matchAll(/Partition: (\d+)\s+Leader: (-?\d+)/g)) result.set(Number(m[1]), Number(m[2]))
  return result
}

async function eventually<A>(what: string, attempt: () => Promise<A | undefined>, timeoutMs = 60_000): Promise<A> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const a = await attempt()
    if (a !== undefined) return a
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** These tests run Kafka's tools (a JVM each) on a small machine next to five brokers. */
const SLOW = { timeout: 180_000 }

// Started at once (concurrently) and awaited by their own suites, so they boot meanwhile.
let cluster: Promise<KafkaHandle> | undefined
let secured: Promise<SecuredKafka> | undefined
beforeAll(() => {
  cluster = startCluster(3)
  secured = startSecured()
  cluster.catch(() => {})
  secured.catch(() => {})
})
afterAll(async () => {
  await Promise.all([cluster, secured].map((p) => p?.then((k) => k.stop(), () => {})))
})

// The three suites run concurrently: the cluster's failover waits leave room for the others.
describe.concurrent("single broker (the one npm test starts)", () => {
  it("has a bootstrap address", ({ expect }) => {
    expect(brokers().length).toBeGreaterThan(0)
    expect(brokers()[0]).toMatch(/^[^:]+:\d+$/)
  })

  it("creates a topic, produces with the console producer and reads back with the console consumer", SLOW, async ({ expect }) => {
    const topic = `smoke-${Date.now()}`
    await createTopic(bootstrapServers(), topic, 1, 1)
    const list = await tool("kafka-topics", ["--bootstrap-server", bootstrapServers(), "--list"])
    expect(list.stdout.split("\n")).toContain(topic)
    await tool("kafka-console-producer", [
      "--bootstrap-server", bootstrapServers(), "--topic", topic,
      "--reader-property", "parse.key=true", "--reader-property", "key.separator=:"
    ], { input: "k1:one\nk2:two\nk3:three\n" })
    expect(await consume(bootstrapServers(), topic, 3)).toEqual(["k1:one", "k2:two", "k3:three"])
  })
})

describe.concurrent("3-node cluster", () => {
  let kafka: KafkaHandle
  beforeAll(async () => {
    kafka = await cluster!
  })

  it("keeps a replicated topic available when its leader's node is killed, and takes the node back", SLOW, async ({ expect }) => {
    expect(kafka.brokers).toHaveLength(3)
    const topic = "replicated"
    await createTopic(kafka.bootstrapServers, topic, 3, 3)
    const describeTopic = () => tool("kafka-topics", ["--bootstrap-server", survivors.join(","), "--describe", "--topic", topic])
    let survivors = [...kafka.brokers]
    const before = await eventually("leaders of every partition", async () => {
      const l = leaders((await describeTopic()).stdout)
      return l.size === 3 && [...l.values()].every((id) => id > 0) ? l : undefined
    })
    expect((await describeTopic()).stdout).toMatch(/ReplicationFactor: 3/)

    const victim = before.get(0)!
    await kafka.kill(victim)
    expect(kafka.node(victim).running).toBe(false)
    survivors = kafka.nodes.filter((n) => n.nodeId !== victim).map((n) => n.bootstrap)
    const after = await eventually(`a new leader for partition 0 (was node ${victim})`, async () => {
      const l = leaders((await describeTopic()).stdout)
      const leader = l.get(0)
      return leader !== undefined && leader > 0 && leader !== victim ? l : undefined
    })
    for (const leader of after.values()) expect(leader).not.toBe(victim)

    // Records still flow with one node down (min.insync.replicas=2 of 3).
    await tool("kafka-console-producer", [
      "--bootstrap-server", survivors.join(","), "--topic", topic,
      "--reader-property", "parse.key=true", "--reader-property", "key.separator=:"
    ], { input: "a:after-failover\n" })
    expect(await consume(survivors.join(","), topic, 1)).toEqual(["a:after-failover"])

    await kafka.restart(victim)
    expect(kafka.node(victim).running).toBe(true)
    survivors = [...kafka.brokers]
    await eventually(`node ${victim} back in every ISR`, async () => {
      const isrs = [...(await describeTopic()).stdout.matchAll(/Isr: ([\d,]+)/g)].map((m) => m[1]!.split(",").map(Number))
      return isrs.length === 3 && isrs.every((isr) => isr.includes(victim)) ? true : undefined
    })
  })
})

describe.concurrent("secured broker", () => {
  let kafka: SecuredKafka
  const topic = "secured"
  beforeAll(async () => {
    kafka = await secured!
    await createTopic(kafka.listeners.PLAINTEXT, topic, 1, 1)
  })

  /** Produces one record as `key:value` through a listener with the given client settings. */
  const produce = async (name: string, security: Parameters<SecuredKafka["clientProperties"]>[0]) => {
    const config = await kafka.clientConfigFile(name, security, { "max.block.ms": 15000, "delivery.timeout.ms": 20000, "request.timeout.ms": 10000 })
    return runJavaTool("kafka-console-producer", [
      "--bootstrap-server", kafka.listeners[security.protocol], "--topic", topic, "--command-config", config,
      "--sync", "--reader-property", "parse.key=true", "--reader-property", "key.separator=:"
    ], { input: `${name}:${security.protocol}/${security.mechanism ?? "-"}\n`, timeoutMs: 60_000 })
  }

  it("accepts the right passwords (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and TLS with the generated CA, rejects a wrong password", SLOW, async ({ expect }) => {
    expect(kafka.users.length).toBeGreaterThan(0)
    const [plain, scram512, scram256Tls, tls, wrongScram, wrongPlain] = await Promise.all([
      produce("plain", { protocol: "SASL_PLAINTEXT", mechanism: "PLAIN" }),
      produce("scram512", { protocol: "SASL_PLAINTEXT", mechanism: "SCRAM-SHA-512", username: "bob" }),
      produce("scram256-tls", { protocol: "SASL_SSL", mechanism: "SCRAM-SHA-256" }),
      produce("tls", { protocol: "SSL", clientCertificate: true }),
      produce("wrong-scram", { protocol: "SASL_PLAINTEXT", mechanism: "SCRAM-SHA-512", password: "not-the-password" }),
      produce("wrong-plain", { protocol: "SASL_SSL", mechanism: "PLAIN", password: "not-the-password" })
    ])
    for (const ok of [plain, scram512, scram256Tls, tls]) expect(ok, ok.stderr).toMatchObject({ code: 0 })
    for (const rejected of [wrongScram, wrongPlain]) {
      expect(rejected.timedOut).toBe(false)
      expect(rejected.code).not.toBe(0)
      expect(rejected.stderr).toMatch(/Authentication failed|SaslAuthenticationException/)
    }
    // Exactly the four accepted records arrived; read back over SASL_SSL with SCRAM-SHA-512.
    const reader = await kafka.clientConfigFile("reader", { protocol: "SASL_SSL", mechanism: "SCRAM-SHA-512" })
    const records = await consume(kafka.listeners.SASL_SSL, topic, 4, ["--command-config", reader])
    expect(records.sort()).toEqual([
      "plain:SASL_PLAINTEXT/PLAIN",
      "scram256-tls:SASL_SSL/SCRAM-SHA-256",
      "scram512:SASL_PLAINTEXT/SCRAM-SHA-512",
      "tls:SSL/-"
    ])
  })
})
