/**
 * Decoded records build their key, value and header views on first access (`Record`'s getters).
 * These tests pin down what that must not change: every length is still checked while decoding
 * (a bad header fails the decode, not a later read), the views are right and the same object
 * on every read, and records stay readable after other batches have been decoded.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { inspect } from "node:util"
import { crc32c } from "../../src/Protocol/internal/Crc32c.ts"
import { decodeRecordBatchesSync, encodeRecordBatchSync, KafkaRecord } from "../../src/Protocol/RecordBatch.ts"
import type { RecordBatch, RecordInput } from "../../src/Protocol/RecordBatch.ts"

const enc = (s: string) => Buffer.from(s)
const str = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString())

const decodeOk = (bytes: Uint8Array): ReadonlyArray<RecordBatch> => {
  const r = decodeRecordBatchesSync(bytes)
  if (Result.isFailure(r)) return assert.fail(r.failure.message)
  return r.success
}

/** Re-computes the v2 CRC after a deliberate edit, so the record parser sees the edit. */
const fixCrc = (b: Buffer): Buffer => {
  b.writeUInt32BE(crc32c(b, 21, b.length), 17)
  return b
}

const failureOf = (bytes: Uint8Array) => {
  const r = decodeRecordBatchesSync(bytes)
  if (Result.isSuccess(r)) return assert.fail("expected the decode to fail")
  return r.failure
}

/** One record, key "k", value "v", one header "hk" = "hv"; returns the batch and where the header key starts. */
const oneHeader = () => {
  const bytes = Buffer.from(encodeRecordBatchSync([{ key: enc("k"), value: enc("v"), headers: [{ key: "hk", value: enc("hv") }], timestamp: 1 }]))
  const keyAt = bytes.indexOf("hk", 61)
  const valueAt = bytes.indexOf("hv", keyAt + 2)
  assert.isAbove(keyAt, 61)
  return { bytes, keyAt, valueAt }
}

const sample = (n: number, tag: string): Array<RecordInput> =>
  Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 0 ? null : enc(`${tag}-key-${i}`),
    value: i % 7 === 0 ? null : enc(`${tag}-value-${i}-${"x".repeat(i % 50)}`),
    headers: i % 3 === 0 ? [] : [{ key: "trace-id", value: enc(`${tag}-t${i}`) }, { key: `h${i % 4}`, value: i % 2 === 0 ? null : enc("") }],
    timestamp: 1_700_000_000_000 + i
  }))

const expectRecords = (got: ReadonlyArray<KafkaRecord>, want: ReadonlyArray<RecordInput>) => {
  assert.strictEqual(got.length, want.length)
  for (let i = 0; i < want.length; i++) {
    const g = got[i]
    const w = want[i]
    assert.strictEqual(str(g.key), str(w.key ?? null), `key ${i}`)
    assert.strictEqual(str(g.value), str(w.value), `value ${i}`)
    assert.deepStrictEqual(g.headers.map((h) => [h.key, str(h.value)]), (w.headers ?? []).map((h) => [h.key, str(h.value)]), `headers ${i}`)
    assert.strictEqual(g.timestamp, w.timestamp)
  }
}

describe("Record: lazy views", () => {
  it("key, value and headers are correct, and the same object on every read", () => {
    const bytes = Buffer.from(encodeRecordBatchSync(sample(40, "a")))
    const [batch] = decodeOk(bytes)
    expectRecords(batch.records, sample(40, "a"))
    for (const r of batch.records) {
      assert.strictEqual(r.key, r.key)
      assert.strictEqual(r.value, r.value)
      assert.strictEqual(r.headers, r.headers)
      for (const h of r.headers) if (h.value !== null) assert.strictEqual(h.value.buffer, bytes.buffer) // views, not copies
      if (r.value !== null) assert.strictEqual(r.value.buffer, bytes.buffer)
    }
  })

  it("a record built from values returns those values", () => {
    const key = enc("k")
    const headers = [{ key: "h", value: null }]
    const r = new KafkaRecord(5n, 2, 1234, key, null, headers, 0)
    assert.strictEqual(r.key, key)
    assert.isNull(r.value)
    assert.strictEqual(r.headers, headers)
    assert.strictEqual(r.offset, 7n)
    assert.strictEqual(r.timestamp, 1234)
  })

  it("a header key length beyond the record fails the decode", () => {
    const { bytes, keyAt } = oneHeader()
    assert.strictEqual(bytes[keyAt - 1], 4) // zigzag(2)
    bytes[keyAt - 1] = 100 // zigzag(50)
    const f = failureOf(fixCrc(bytes))
    assert.strictEqual(f.reason, "Corrupt")
    assert.match(f.message, /header key length/)
  })

  it("a negative header key length fails the decode", () => {
    const { bytes, keyAt } = oneHeader()
    bytes[keyAt - 1] = 1 // zigzag(-1): a null key, which headers do not allow
    const f = failureOf(fixCrc(bytes))
    assert.strictEqual(f.reason, "Corrupt")
    assert.match(f.message, /header key length/)
  })

  it("a header value length beyond the record, or below -1, fails the decode", () => {
    for (const [byte, pattern] of [[100, /header value length/], [5, /header value length/]] as const) {
      const { bytes, valueAt } = oneHeader()
      assert.strictEqual(bytes[valueAt - 1], 4)
      bytes[valueAt - 1] = byte // zigzag(50), zigzag(-3)
      const f = failureOf(fixCrc(bytes))
      assert.strictEqual(f.reason, "Corrupt")
      assert.match(f.message, pattern)
    }
  })

  it("a header count the record cannot hold fails the decode", () => {
    const { bytes, keyAt } = oneHeader()
    assert.strictEqual(bytes[keyAt - 2], 2) // zigzag(1)
    bytes[keyAt - 2] = 40 // zigzag(20)
    const f = failureOf(fixCrc(bytes))
    assert.strictEqual(f.reason, "Corrupt")
    assert.match(f.message, /header count/)
  })

  it("a header that ends short of the record's declared length fails the decode", () => {
    const { bytes, valueAt } = oneHeader()
    bytes[valueAt - 1] = 2 // zigzag(1): the value "h", leaving "v" unread
    const f = failureOf(fixCrc(bytes))
    assert.strictEqual(f.reason, "Corrupt")
    assert.match(f.message, /record declares/)
  })

  it("records stay readable, first read included, after other batches are decoded (every codec)", () => {
    for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
      const first = decodeOk(encodeRecordBatchSync(sample(60, `first-${compression}`), { compression }))[0].records
      // decode (and read) other batches in between: other sections, other header keys
      for (let k = 0; k < 5; k++) {
        const other = decodeOk(encodeRecordBatchSync(sample(80, `other${k}`).map((r) => ({ ...r, headers: [{ key: `other-${k}`, value: enc("o") }] })), { compression }))
        for (const r of other[0].records) assert.strictEqual(r.headers[0].key, `other-${k}`)
      }
      expectRecords(first, sample(60, `first-${compression}`))
    }
  })

  it("header keys: many distinct keys (ASCII, UTF-8, empty, long) come back exactly", () => {
    const keys = [
      ...Array.from({ length: 600 }, (_, i) => `key-${i}`),
      ...Array.from({ length: 40 }, (_, i) => "k".repeat(i)),
      "ключ",
      "🔑",
      "é".repeat(20),
      "x".repeat(33),
      "y".repeat(200)
    ]
    const records: Array<RecordInput> = keys.map((key, i) => ({ value: null, headers: [{ key, value: null }, { key: keys[(i * 7) % keys.length], value: null }], timestamp: 1 }))
    // twice: the second pass reads keys the intern table has already seen
    for (let pass = 0; pass < 2; pass++) {
      const [batch] = decodeOk(encodeRecordBatchSync(records))
      batch.records.forEach((r, i) => assert.deepStrictEqual(r.headers.map((h) => h.key), [keys[i], keys[(i * 7) % keys.length]]))
    }
  })

  it("lengths, timestamp and offset deltas at the 1-, 2- and 3-byte varint boundaries", () => {
    const sizes = [0, 1, 63, 64, 65, 8191, 8192, 8193, 20_000]
    const deltas = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, -8193, 1_000_000, -1_000_000, 2 ** 40]
    const records: Array<RecordInput> = []
    let offsetDelta = 0
    for (const [i, size] of sizes.entries()) {
      for (const [j, d] of deltas.entries()) {
        offsetDelta += [1, 63, 64, 8191, 8192][(i + j) % 5]
        records.push({
          key: Buffer.alloc(sizes[(i + j) % sizes.length], 1),
          value: Buffer.alloc(size, 2),
          headers: [{ key: "k".repeat(j), value: Buffer.alloc(sizes[(i + 2 * j) % sizes.length], 3) }],
          timestamp: 1_700_000_000_000 + d,
          offsetDelta
        })
      }
    }
    const [batch] = decodeOk(encodeRecordBatchSync(records, { baseTimestamp: 1_700_000_000_000 }))
    assert.strictEqual(batch.records.length, records.length)
    batch.records.forEach((r, i) => {
      const w = records[i]
      assert.strictEqual(r.timestamp, w.timestamp)
      assert.strictEqual(r.offsetDelta, w.offsetDelta)
      assert.strictEqual(r.key!.length, w.key!.length)
      assert.strictEqual(r.value!.length, w.value!.length)
      assert.strictEqual(r.headers[0].key, w.headers![0].key)
      assert.strictEqual(r.headers[0].value!.length, w.headers![0].value!.length)
    })
  })

  it("reading headers after the bytes were overwritten does not throw", () => {
    const bytes = Buffer.from(encodeRecordBatchSync(sample(10, "m")))
    const [batch] = decodeOk(bytes)
    bytes.fill(0xff, 61)
    for (const r of batch.records) assert.isArray(r.headers)
  })

  it("inspect shows the fields; a spread shows only the plain ones", () => {
    const [batch] = decodeOk(encodeRecordBatchSync([{ key: enc("k"), value: enc("v"), headers: [{ key: "h", value: null }], timestamp: 9 }], { baseOffset: 3n }))
    const r = batch.records[0]
    const shown = inspect(r)
    assert.match(shown, /key:/)
    assert.match(shown, /value:/)
    assert.match(shown, /headers: \[ \{ key: 'h', value: null \} \]/)
    assert.deepStrictEqual({ ...r }, { baseOffset: 3n, offsetDelta: 0, timestamp: 9, attributes: 0 })
  })
})
