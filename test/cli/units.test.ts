/**
 * The command line's pure parts, in-process: times and durations, argument words, line
 * splitting, record formats and templates, tables, payload times (JSON, URL-encoded,
 * MessagePack) and the binary search over offsets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { normalizeArgs } from "../../src/Cli/Args.ts"
import { LineSplitter, splitKey } from "../../src/Cli/internal/lines.ts"
import { decodeMsgpack, MsgpackError } from "../../src/Cli/internal/msgpack.ts"
import { searchOffset } from "../../src/Cli/internal/search.ts"
import { table, toJsonLine } from "../../src/Cli/Output.ts"
import { extractor, timeOf } from "../../src/Cli/PayloadTime.ts"
import { formatter } from "../../src/Cli/RecordFormat.ts"
import type { FormatOptions } from "../../src/Cli/RecordFormat.ts"
import { parseDuration, parsePosition, parseTime } from "../../src/Cli/Time.ts"
import type { ConsumerRecord } from "../../src/Consumer/Record.ts"

const NOW = Date.parse("2024-05-01T12:00:00Z")
const b = (s: string) => Buffer.from(s)

describe("kpax CLI units", () => {
  it("times, durations and positions", () => {
    assert.strictEqual(parseDuration("1h30m"), 5_400_000)
    assert.strictEqual(parseDuration("500ms"), 500)
    assert.strictEqual(parseDuration("1.5s"), 1500)
    assert.isUndefined(parseDuration("10"))
    assert.isUndefined(parseDuration("soon"))
    assert.strictEqual(parseTime("-1h", NOW), NOW - 3_600_000)
    assert.strictEqual(parseTime("+10s", NOW), NOW + 10_000)
    assert.strictEqual(parseTime("now-1d", NOW), NOW - 86_400_000)
    assert.strictEqual(parseTime("now", NOW), NOW)
    assert.strictEqual(parseTime("2024-05-01T10:00:00Z", NOW), Date.parse("2024-05-01T10:00:00Z"))
    assert.strictEqual(parseTime("2024-05-01T12:00:00.250+02:00", NOW), Date.parse("2024-05-01T10:00:00.250Z"))
    assert.strictEqual(parseTime("2024-05-01", NOW), Date.parse("2024-05-01T00:00:00Z"))
    assert.strictEqual(parseTime("2024-05-01 10:00:00", NOW), Date.parse("2024-05-01T10:00:00Z"))
    assert.strictEqual(parseTime("@1714557600000", NOW), 1714557600000)
    assert.isUndefined(parseTime("yesterday", NOW))
    assert.isUndefined(parseTime("2024-13-45T99:00:00Z", NOW))
    assert.deepStrictEqual(parsePosition("earliest", NOW), { _tag: "earliest" })
    assert.deepStrictEqual(parsePosition("LATEST", NOW), { _tag: "latest" })
    assert.deepStrictEqual(parsePosition("42", NOW), { _tag: "offset", offset: 42n })
    assert.deepStrictEqual(parsePosition("-30m", NOW), { _tag: "time", ms: NOW - 1_800_000 })
  })

  it("negative values are joined to their time flag (else -1h would be read as -1 -h)", () => {
    assert.deepStrictEqual(normalizeArgs(["consume", "t", "--start", "-1h", "--end", "-5m"]), ["consume", "t", "--start=-1h", "--end=-5m"])
    assert.deepStrictEqual(normalizeArgs(["consume", "t", "--start", "earliest", "-n", "5"]), ["consume", "t", "--start", "earliest", "-n", "5"])
    assert.deepStrictEqual(normalizeArgs(["produce", "t", "--", "--start", "-1h"]), ["produce", "t", "--", "--start", "-1h"])
    assert.deepStrictEqual(normalizeArgs(["groups", "share-offsets", "reset", "g", "--to-datetime", "-1h"]), ["groups", "share-offsets", "reset", "g", "--to-datetime=-1h"])
  })

  it("lines: split across chunks, CRLF, empty lines skipped, last line without newline; keys by separator", () => {
    const s = new LineSplitter()
    const got = [...s.push(b("a\r\nb")), ...s.push(b("c\n\n\nd")), ...s.end()].map(String)
    assert.deepStrictEqual(got, ["a", "bc", "d"])
    assert.deepStrictEqual(s.end(), [])
    const kv = splitKey(b("k::v::w"), b("::"))
    assert.deepStrictEqual([String(kv.key), String(kv.value)], ["k", "v::w"])
    assert.isNull(splitKey(b("plain"), b(":")).key)
  })

  const record: ConsumerRecord = {
    topic: "t",
    partition: 2,
    offset: 7n,
    timestamp: NOW,
    timestampType: "CreateTime",
    key: b("k"),
    value: b("héllo"),
    headers: [{ key: "a", value: b("1") }, { key: "b", value: null }],
    leaderEpoch: 0
  }
  const opts: FormatOptions = { format: "raw", template: undefined, encoding: "utf8", key: false, headers: false, timestamp: false, partition: false, offset: false }
  const fmt = (o: Partial<FormatOptions>, r: ConsumerRecord = record) => {
    const f = formatter({ ...opts, ...o })
    return typeof f === "string" ? f : f(r)
  }

  it("record formats: raw with toggles, json (all fields or toggled), templates, encodings, tombstones", () => {
    assert.strictEqual(fmt({}), "héllo")
    assert.strictEqual(fmt({ partition: true, offset: true, timestamp: true, key: true, headers: true }), "2\t7\t2024-05-01T12:00:00.000Z\tk\ta=1,b=\théllo")
    assert.deepStrictEqual(JSON.parse(fmt({ format: "json" })), {
      topic: "t", partition: 2, offset: 7, timestamp: NOW, key: "k", headers: [{ key: "a", value: "1" }, { key: "b", value: null }], value: "héllo"
    })
    assert.deepStrictEqual(JSON.parse(fmt({ format: "json", offset: true })), { offset: 7, value: "héllo" })
    assert.strictEqual(fmt({ template: "{{topic}}-{{partition}}@{{offset}}\\t{{time}} {{key}}={{value}} [{{header.a}}{{header.zz}}] {{ timestamp }}" }), `t-2@7\t2024-05-01T12:00:00.000Z k=héllo [1] ${NOW}`)
    assert.match(fmt({ template: "{{nope}}" }), /unknown template field \{\{nope\}\}/)
    assert.strictEqual(fmt({ encoding: "hex", key: true }), "6b\t68c3a96c6c6f")
    assert.strictEqual(fmt({ encoding: "base64" }), "aMOpbGxv")
    const tombstone = { ...record, key: null, value: null }
    assert.strictEqual(fmt({ key: true }, tombstone), "\t")
    assert.deepInclude(JSON.parse(fmt({ format: "json" }, tombstone)), { key: null, value: null })
  })

  it("tables align (numbers right) and JSON lines keep int64s exact", () => {
    assert.deepStrictEqual(table([{ n: "a", v: 1 }, { n: "long", v: 1000 }], [{ header: "NAME", get: (r) => r.n }, { header: "V", get: (r) => r.v, right: true }]), [
      "NAME     V",
      "a        1",
      "long  1000"
    ])
    assert.strictEqual(toJsonLine({ a: 42n, b: 2n ** 63n - 1n }), '{"a":42,"b":"9223372036854775807"}')
  })

  it("msgpack: every type, timestamps, bounds checked", () => {
    // {"a": [1, -1, 300, -200, 1.5, null, true, "x"], "b": bin(2), "t": timestamp32}
    const bytes = Buffer.from([
      0x83,
      0xa1, 0x61, 0x98, 0x01, 0xff, 0xcd, 0x01, 0x2c, 0xd1, 0xff, 0x38, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0xc3, 0xa1, 0x78,
      0xa1, 0x62, 0xc4, 0x02, 0x01, 0x02,
      0xa1, 0x74, 0xd6, 0xff, 0x66, 0x32, 0x1a, 0x20
    ])
    const v = decodeMsgpack(bytes) as any
    assert.deepStrictEqual(v.a, [1, -1, 300, -200, 1.5, null, true, "x"])
    assert.deepStrictEqual([...v.b], [1, 2])
    assert.strictEqual(v.t.getTime(), 0x66321a20 * 1000)
    // timestamp 64: 500 ms of nanoseconds, seconds 0x66321a20
    const ts64 = Buffer.from([0xd7, 0xff, 0, 0, 0, 0, 0x66, 0x32, 0x1a, 0x20])
    ts64.writeUInt32BE(((500_000_000 << 2) >>> 0), 2)
    assert.strictEqual((decodeMsgpack(ts64) as Date).getTime(), 0x66321a20 * 1000 + 500)
    assert.strictEqual(decodeMsgpack(Buffer.from([0xcf, 0, 0, 0, 1, 0, 0, 0, 0])), 2 ** 32)
    assert.strictEqual(decodeMsgpack(Buffer.from([0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0])), -(2n ** 63n))
    assert.throws(() => decodeMsgpack(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])), MsgpackError) // 4G elements, 0 bytes
    assert.throws(() => decodeMsgpack(Buffer.from([0xc1])), MsgpackError)
    assert.throws(() => decodeMsgpack(Buffer.from([0x01, 0x02])), MsgpackError)
    assert.throws(() => decodeMsgpack(Buffer.alloc(100, 0x91)), MsgpackError) // nested too deep
  })

  it("payload times: units by magnitude or flag, RFC 3339, paths, url-encoded; why a record has none", () => {
    const s = Date.parse("2024-05-01T10:00:00Z") / 1000
    assert.strictEqual(timeOf(s, "auto"), s * 1000)
    assert.strictEqual(timeOf(s * 1000, "auto"), s * 1000)
    assert.strictEqual(timeOf(s * 1_000_000, "auto"), s * 1000)
    assert.strictEqual(timeOf(String(s * 1e9), "auto"), s * 1000)
    assert.strictEqual(timeOf(1000, "ms"), 1000)
    assert.strictEqual(timeOf("2024-05-01T10:00:00Z", "auto"), s * 1000)
    assert.isUndefined(timeOf("soon", "auto"))
    assert.isUndefined(timeOf({}, "auto"))
    const json = extractor("json", "meta.items.1.at", "auto")
    assert.strictEqual(json.extract(b(JSON.stringify({ meta: { items: [{}, { at: "2024-05-01T10:00:00Z" }] } }))), s * 1000)
    assert.strictEqual(json.extract(b("{}")), "the value has no field meta.items.1.at")
    assert.match(String(json.extract(b("nope"))), /^the value is not JSON/)
    assert.strictEqual(json.extract(null), "the record has no value")
    assert.match(String(extractor("json", "at", "auto").extract(b('{"at":true}'))), /^field at \(true\) is not a time$/)
    assert.strictEqual(extractor("url", "ts", "auto").extract(b(`a=1&ts=${s}`)), s * 1000)
    assert.strictEqual(extractor("msgpack", "ts", "auto").extract(Buffer.from([0x81, 0xa2, 0x74, 0x73, 0xce, 0x66, 0x32, 0x1a, 0x20])), 0x66321a20 * 1000)
  })

  it.effect("binary search finds the first record at or after a time, across gaps, in about log2(n) probes", () =>
    Effect.gen(function*() {
      // offsets 0..999, offsets 300-349 missing (compacted); time = offset * 10, offsets 600-699 all at time 6000
      const timeAt = (o: number) => (o >= 600 && o < 700 ? 6000 : o * 10)
      const exists = (o: number) => !(o >= 300 && o < 350)
      let probes = 0
      const probe = (o: bigint, hi: bigint) =>
        Effect.sync(() => {
          probes++
          for (let x = Number(o); x < Number(hi); x++) if (exists(x)) return { offset: BigInt(x), time: timeAt(x) }
          return undefined
        })
      const find = (target: number) => searchOffset(0n, 1000n, target, probe)
      assert.strictEqual(yield* find(0), 0n)
      assert.strictEqual(yield* find(1234), 124n)
      assert.strictEqual(yield* find(3010), 300n) // lands in the gap: the next record read is 350
      assert.strictEqual(yield* find(3600), 360n)
      assert.strictEqual(yield* find(6000), 600n) // the first of equal times
      assert.strictEqual(yield* find(99_999), 1000n) // after everything: the end
      probes = 0
      yield* find(5555)
      assert.isAtMost(probes, 11)
      assert.strictEqual(yield* searchOffset(5n, 5n, 0, probe), 5n)
    }))
})
