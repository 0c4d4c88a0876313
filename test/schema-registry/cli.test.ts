/**
 * `kpax produce` / `kpax consume` with `--schema-registry` and `--value-format` as a user runs
 * them (child processes against the real broker and the real registry), read back by
 * @kafkajs/confluent-schema-registry to be sure the records are registry-framed.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { jsonLines, kpax, lines, ok } from "../cli/run.ts"
import { registryUrl } from "../registry/env.ts"
import { uniqueTopic } from "../util/kafka.ts"
import { peer, userAvro } from "./fixtures.ts"

const run = (args: ReadonlyArray<string>, input?: string) => Effect.promise(() => kpax(args, input === undefined ? {} : { input }))

describe("kpax produce / consume with a Schema Registry", () => {
  it.live("--value-format avro: JSON lines in, registry-framed Avro on the topic, decoded JSON out", () =>
    Effect.gen(function*() {
      const t = uniqueTopic("cli-avro")
      ok(yield* run(["topics", "create", t, "--partitions", "1"]))
      const schemaFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kpax-sr-")), "user.avsc")
      fs.writeFileSync(schemaFile, JSON.stringify(userAvro(t)))
      const sr = registryUrl()
      ok(yield* run(["produce", t, "--schema-registry", sr, "--value-format", "avro", "--value-schema", schemaFile, "--key-separator", "|"],
        `a|{"name":"Ada","age":36}\nb|{"name":"Bob","age":40}\n`))
      // the subject's latest schema when none is given
      ok(yield* run(["produce", t, "--schema-registry", sr, "--value-format", "avro", "--value", `{"name":"Cy","age":1}`]))
      const bad = yield* run(["produce", t, "--schema-registry", sr, "--value-format", "avro", "--value", `{"name":"Dee"}`])
      assert.strictEqual(bad.code, 1)
      assert.include(bad.stderr, "age")

      const out = ok(yield* run(["consume", t, "--schema-registry", sr, "--value-format", "avro", "--key"]))
      assert.deepStrictEqual(lines(out).map((l) => l.split("\t")), [
        ["a", `{"name":"Ada","age":36}`],
        ["b", `{"name":"Bob","age":40}`],
        ["", `{"name":"Cy","age":1}`]
      ])
      const asJson = ok(yield* run(["consume", t, "--schema-registry", sr, "--value-format", "avro", "--json"]))
      assert.deepStrictEqual(jsonLines(asJson).map((r) => JSON.parse(r.value)), [{ name: "Ada", age: 36 }, { name: "Bob", age: 40 }, { name: "Cy", age: 1 }])

      // the bytes on the topic are what the peer reads
      const raw = ok(yield* run(["consume", t, "--encoding", "base64", "--count", "1"]))
      const decoded = yield* Effect.promise(() => peer().decode(Buffer.from(lines(raw)[0]!, "base64")))
      assert.deepStrictEqual({ ...decoded }, { name: "Ada", age: 36 })
      const missing = yield* Effect.promise(() => kpax(["consume", t, "--value-format", "avro"]))
      assert.strictEqual(missing.code, 2)
      // a registry nobody answers: produce fails naming it; consume prints each record's error in its place
      const down = yield* run(["produce", t, "--schema-registry", "http://127.0.0.1:1", "--value-format", "avro", "--value", "{}"])
      assert.strictEqual(down.code, 1)
      assert.include(down.stderr, "unavailable")
      const blind = ok(yield* run(["consume", t, "--schema-registry", "http://127.0.0.1:1", "--value-format", "avro"]))
      assert.strictEqual(lines(blind).length, 3)
      for (const l of lines(blind)) assert.match(l, /^!! cannot decode the value: .*unavailable/)
    }))
})
