/**
 * What scripts rely on: exit codes (0 ok, 1 runtime error, 2 usage error), one line on stderr
 * for every failure (no stack trace), unreachable brokers failing fast, `--help` everywhere,
 * secrets never echoed, and the launcher refusing a too old Node.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { kpax, kpaxRaw } from "./run.ts"
import type { Run } from "./run.ts"

const raw = (args: ReadonlyArray<string>, env?: Record<string, string>) => kpaxRaw(args, env === undefined ? {} : { env })

const oneLine = (r: Run, code: number, pattern: RegExp) => {
  assert.strictEqual(r.code, code, `exit code of ${JSON.stringify(r)}`)
  assert.strictEqual(r.stdout, "")
  assert.match(r.stderr, /^kpax: [^\n]+\n$/, "exactly one line on stderr")
  assert.match(r.stderr, pattern)
}

/** A Node.js older than 22.19 on PATH (plain `node` on this machine), if there is one. */
const oldNode = (): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const bin = path.join(dir, "node")
    if (dir.includes("node_modules") || !fs.existsSync(bin)) continue
    try {
      const [major, minor] = execFileSync(bin, ["-p", "process.versions.node"], { encoding: "utf8" }).trim().split(".").map(Number)
      if (major! < 22 || (major === 22 && minor! < 19)) return bin
    } catch {
      // not runnable
    }
  }
  return undefined
}

describe("kpax exit codes and errors", () => {
  it.live("usage errors: one line, exit 2, before connecting to anything", () =>
    Effect.promise(async () => {
      const unreachable = ["--brokers", "127.0.0.1:1"]
      const [bogus, missing, unknown, badTime, badTimeout, badHeader, sasl, bare] = await Promise.all([
        raw(["consume", "orders", "--bogus", ...unreachable]),
        raw(["consume", ...unreachable]),
        raw(["nosuch", ...unreachable]),
        raw(["consume", "orders", "--start", "yesterday", ...unreachable]),
        raw(["meta", "--timeout", "soon", ...unreachable]),
        raw(["produce", "orders", "--value", "x", "--header", "nokey", ...unreachable]),
        raw(["meta", "--sasl-mechanism", "PLAIN", "--sasl-password", "s3cr3t-pw", ...unreachable]),
        raw([])
      ])
      oneLine(bogus!, 2, /--bogus.*\(see 'kpax consume --help'\)/)
      oneLine(missing!, 2, /topic/)
      oneLine(unknown!, 2, /nosuch/)
      oneLine(badTime!, 2, /^kpax: --start: .*"yesterday"/)
      oneLine(badTimeout!, 2, /^kpax: --timeout: .*"soon"/)
      oneLine(badHeader!, 2, /^kpax: --header: expected key=value/)
      oneLine(sasl!, 2, /--sasl-mechanism=PLAIN needs --sasl-username/)
      assert.notInclude(sasl!.stderr, "s3cr3t-pw")
      // a command group without its subcommand: help on stderr, exit 2
      assert.strictEqual(bare!.code, 2)
      assert.strictEqual(bare!.stdout, "")
      assert.include(bare!.stderr, "SUBCOMMANDS")
    }), 180_000)

  it.live("consume: group flags that do not fit are usage errors, before connecting", () =>
    Effect.promise(async () => {
      const unreachable = ["--brokers", "127.0.0.1:1"]
      const cases: Array<[ReadonlyArray<string>, RegExp]> = [
        [["consume", "a", "b"], /several topics need --group or --share-group/],
        [["consume", "a", "--idle", "1s"], /--idle goes with --group or --share-group/],
        [["consume", "a", "--group", "g", "--share-group", "s"], /exclude each other/],
        [["consume", "a", "--share-group", "s", "--end", "latest"], /--end does not go with --share-group/],
        [["consume", "a", "--share-group", "s", "--partitions", "0"], /--partitions does not go with a group/],
        [["consume", "a", "--group", "g", "--start", "-1h"], /with --group, --start is .*: earliest or latest/],
        [["consume", "a", "--ack", "release"], /--ack goes with --share-group/],
        [["consume", "a", "--share-group", "s", "--no-commit"], /--no-commit goes with --group/],
        [["consume", "a", "--group", "g", "--idle", "soon"], /^kpax: --idle: .*"soon"/]
      ]
      const runs = await Promise.all(cases.map(([args]) => raw([...args, ...unreachable])))
      runs.forEach((r, i) => oneLine(r, 2, cases[i]![1]))
    }), 180_000)

  it.live("unreachable brokers: one line, exit 1, quickly; the password never shows", () =>
    Effect.promise(async () => {
      const [refused, withPassword] = await Promise.all([
        raw(["meta", "--brokers", "127.0.0.1:1"]),
        raw(["topics", "list", "--brokers", "127.0.0.1:1", "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-username", "alice"], { KAFKA_SASL_PASSWORD: "s3cr3t-env" })
      ])
      oneLine(refused!, 1, /^kpax: cannot reach Kafka at 127\.0\.0\.1:1: .*ECONNREFUSED/)
      assert.isBelow(refused!.ms, 10_000)
      oneLine(withPassword!, 1, /cannot reach Kafka/)
      assert.notInclude(withPassword!.stderr, "s3cr3t-env")
    }), 180_000)

  it.live("a broker that accepts connections but never answers: one line, exit 1, within --timeout", () =>
    Effect.promise(async () => {
      const sockets: Array<net.Socket> = []
      const silent = net.createServer((s) => void sockets.push(s))
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
      const port = (silent.address() as net.AddressInfo).port
      try {
        const r = await raw(["meta", "--brokers", `127.0.0.1:${port}`, "--timeout", "2s"])
        oneLine(r, 1, new RegExp(`^kpax: no answer from Kafka at 127\\.0\\.0\\.1:${port} within 2000 ms$`, "m"))
        assert.isBelow(r.ms, 8_000)
      } finally {
        for (const s of sockets) s.destroy()
        silent.close()
      }
    }), 180_000)

  it.live("runtime errors from Kafka: one line, exit 1", () =>
    Effect.promise(async () => {
      const [noTopic, noPartition] = await Promise.all([
        kpax(["consume", "no-such-topic-kpax-cli"]),
        kpax(["topics", "describe", "no-such-topic-kpax-cli"])
      ])
      oneLine(noTopic, 1, /^kpax: topic no-such-topic-kpax-cli does not exist: create it with kpax topics create no-such-topic-kpax-cli$/m)
      oneLine(noPartition, 1, /UNKNOWN_TOPIC_OR_PARTITION/)
    }), 180_000)

  it.live("--help everywhere documents the commands and the exit codes; --version", () =>
    Effect.promise(async () => {
      const [root, consume, rollback, topicsCreate, version] = await Promise.all([
        raw(["--help"]),
        raw(["consume", "--help"]),
        raw(["rollback", "-h"]),
        raw(["topics", "create", "--help"]),
        raw(["--version"])
      ])
      for (const r of [root, consume, rollback, topicsCreate, version]) {
        assert.strictEqual(r!.code, 0, r!.stderr)
        assert.strictEqual(r!.stderr, "")
      }
      for (const r of [root, consume, rollback, topicsCreate]) {
        assert.match(r!.stdout, /\nEXIT CODES\n  0 +success\n  1 +runtime error[^\n]*\n  2 +usage error[^\n]*\n  130 +interrupted/)
      }
      for (const c of ["consume", "tail", "produce", "offset", "rollback", "meta", "coord", "topics", "groups", "configs", "acls", "config"]) {
        assert.match(root!.stdout, new RegExp(`^  ${c} `, "m"))
      }
      for (const f of ["--start", "--end", "--count", "--follow", "--format", "--template", "--partitions", "--brokers", "--json"]) assert.include(consume!.stdout, f)
      for (const f of ["--to", "--time-field", "--payload", "--dry-run"]) assert.include(rollback!.stdout, f)
      assert.include(topicsCreate!.stdout, "--replication-factor")
      assert.match(version!.stdout, /^kpax \d+\.\d+\.\d+\n$/)
    }), 180_000)

  it.live("shell completions know the acls and config commands and their flags", () =>
    Effect.promise(async () => {
      const scripts = await Promise.all(["bash", "zsh", "fish"].map((shell) => raw(["--completions", shell])))
      for (const r of scripts) {
        assert.strictEqual(r!.code, 0, r!.stderr)
        // fish names flags without their dashes
        for (const word of ["acls", "config", "show", "allow-principal", "deny-principal", "resource-pattern-type", "transactional-id", "operation"]) {
          assert.include(r!.stdout, word)
        }
      }
    }), 180_000)

  it.live("the launcher refuses a Node.js older than 22.19 with one line and exit 1", () =>
    Effect.promise(async () => {
      const node = oldNode()
      if (node === undefined) return // no old Node on this machine
      const launcher = path.resolve(import.meta.dirname, "../../bin/kpax.js")
      let code = 0
      let stderr = ""
      try {
        execFileSync(node, [launcher, "--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      } catch (e) {
        code = (e as { status: number }).status
        stderr = (e as { stderr: string }).stderr
      }
      assert.strictEqual(code, 1)
      assert.match(stderr, /^kpax: Node\.js >= 22\.19 is required \(this is v\d+\.\d+\.\d+\)\n$/)
    }), 180_000)
})
