/**
 * `kpax produce` / `consume` / `tail` as a user runs them (child processes against the real
 * broker): a produce → consume round trip in raw, json and template formats with keys and
 * headers, offset ranges, counts, encodings, the last records per partition, and --follow
 * (to a count, and interrupted with Ctrl-C).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { uniqueTopic } from "../util/kafka.ts"
import { jsonLines, kpax, lines, ok, start } from "./run.ts"
import { brokers } from "../kafka/env.ts"

const run = (args: ReadonlyArray<string>, input?: string) => Effect.promise(() => kpax(args, input === undefined ? {} : { input }))

describe("kpax produce / consume / tail", () => {
  it.live("round trip: produce a value, lines with keys and headers; consume raw, json, template, ranges, counts; tail", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-records")
      const created = ok(yield* run(["topics", "create", t, "--partitions", "3", "--json"]))
      assert.deepInclude(jsonLines(created)[0], { name: t, partitions: 3, replicationFactor: 1, existed: false })

      const one = ok(yield* run(["produce", t, "--value", "hello", "--key", "k1", "--header", "a=1", "-H", "b=2", "-p", "1"]))
      assert.strictEqual(one.stdout, `${t} partition 1 offset 0\n`)

      const many = ok(yield* run(["produce", t, "--key-separator", ":", "--header", "src=stdin", "-p", "0", "--json"], "k-a:alpha\nk-b:beta\n\nnokey\n"))
      assert.deepStrictEqual(jsonLines(many), [{ topic: t, records: 3, partitions: [{ partition: 0, count: 3, firstOffset: 0, lastOffset: 2 }] }])

      const each = ok(yield* run(["produce", t, "-p", "2", "--each", "--acks", "1", "--compression", "gzip"], "x\r\ny"))
      assert.deepStrictEqual(lines(each), [`${t} partition 2 offset 0`, `${t} partition 2 offset 1`])

      // the readers are independent: run them side by side
      const [raw, jsonRun, keyOnly, template, counted, hex, latest, tail] = yield* Effect.promise(() =>
        Promise.all([
          ["consume", t, "--partition", "--offset", "--key", "--headers"],
          ["consume", t, "--format", "json"],
          ["consume", t, "-p", "1", "--json", "--key"],
          ["consume", t, "-p", "0", "--start", "1", "--end", "2", "--template", "{{partition}}/{{offset}} {{key}}={{value}} h={{header.src}}"],
          ["consume", t, "-p", "0", "--count", "2"],
          ["consume", t, "-p", "1", "--encoding", "hex"],
          ["consume", t, "-p", "0,2", "--start", "latest"],
          ["tail", t, "-n", "1", "--partition", "--offset"]
        ].map((args) => kpax(args).then(ok)))
      )
      assert.deepStrictEqual(lines(raw!).sort(), [
        "0\t0\tk-a\tsrc=stdin\talpha",
        "0\t1\tk-b\tsrc=stdin\tbeta",
        "0\t2\t\tsrc=stdin\tnokey",
        "1\t0\tk1\ta=1,b=2\thello",
        "2\t0\t\t\tx",
        "2\t1\t\t\ty"
      ])
      assert.strictEqual(raw!.stderr, "")

      const json = jsonLines(jsonRun!)
      assert.strictEqual(json.length, 6)
      const hello = json.find((r) => r.value === "hello")
      assert.deepInclude(hello, { topic: t, partition: 1, offset: 0, key: "k1", headers: [{ key: "a", value: "1" }, { key: "b", value: "2" }] })
      assert.isTrue(Math.abs(hello.timestamp - Date.now()) < 120_000)
      assert.deepInclude(json.find((r) => r.value === "nokey"), { key: null, partition: 0, offset: 2 })
      // --json is the json format; toggles pick fields
      assert.deepStrictEqual(jsonLines(keyOnly!), [{ key: "k1", value: "hello" }])
      assert.deepStrictEqual(lines(template!), ["0/1 k-b=beta h=stdin"])
      assert.deepStrictEqual(lines(counted!), ["alpha", "beta"])
      assert.deepStrictEqual(lines(hex!), ["68656c6c6f"])
      assert.deepStrictEqual(lines(latest!), [])
      assert.deepStrictEqual(lines(tail!).sort(), ["0\t2\tnokey", "1\t0\thello", "2\t1\ty"])
    }), 180_000)

  it.live("--follow prints records produced while it runs, until --count or Ctrl-C (exit 130)", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-follow")
      ok(yield* run(["topics", "create", t, "--partitions", "1"]))
      const bootstrap = ["--brokers", brokers().join(",")]
      // --count: ends by itself once the records arrive
      const counted = start(["consume", t, "--start", "0", "--follow", "--count", "2", "--offset", ...bootstrap])
      // Ctrl-C: interrupted after the first record
      let interrupted = false
      const following = start(["consume", t, "--follow", "--start", "earliest", ...bootstrap], {
        onStdout: (_c, all) => {
          if (!interrupted && all.includes("f1\n")) {
            interrupted = true
            following.interrupt()
          }
        }
      })
      // both read from the start: the records may arrive before or after they are up
      ok(yield* run(["produce", t], "f1\nf2\n"))
      const c = yield* Effect.promise(() => counted.done)
      assert.strictEqual(c.code, 0, c.stderr)
      assert.deepStrictEqual(lines(c), ["0\tf1", "1\tf2"])
      const f = yield* Effect.promise(() => following.done)
      assert.strictEqual(f.code, 130, f.stderr)
      assert.isTrue(f.stdout.startsWith("f1\n"))
      assert.strictEqual(f.stderr, "")
    }), 180_000)
})
