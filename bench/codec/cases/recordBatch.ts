/**
 * Record batch encode and decode: 1,000 records × (16-byte key, 100-byte value, one header),
 * compression none / gzip / lz4 / zstd.
 *
 * Encode: each client turns the same records (in its own input shape) into one contiguous
 * batch. Decode: every client decodes kpax's bytes (byte-identical to kafkajs's and
 * @platformatic/kafka's for `none`, checked below), and every decoder's output is checked
 * record by record once before timing; each timed call also checks the record count.
 */
import { Result } from "effect"
import { decodeRecordBatchesSync, encodeRecordBatchSync } from "../../../src/Protocol/RecordBatch.ts"
import type { BatchOptions, RecordBatch } from "../../../src/Protocol/RecordBatch.ts"
import type { Case, NotApplicable, Subject } from "../harness.ts"
import { HEADER_KEY, kafkajsMessages, kpaxRecords, makeRecords, platMessages } from "../inputs.ts"
import type { Rec } from "../inputs.ts"
import { KCompressionTypes, KDecoder, KRecord, KRecordBatch, KRecordBatchDecoder, pCreateRecordsBatch, pReadRecordsBatches, pReader } from "../peers.ts"

export const RECORDS = 1000

type Codec = "none" | "gzip" | "lz4" | "zstd"
export const CODECS: ReadonlyArray<Codec> = ["none", "gzip", "lz4", "zstd"]

const KAFKAJS_CODE: Record<Codec, number | undefined> = { none: KCompressionTypes.None, gzip: KCompressionTypes.GZIP, lz4: undefined, zstd: undefined }
const PLAT_IMPL: Record<Codec, string> = { none: "", gzip: " (zlib)", lz4: " (wasm lz4)", zstd: " (zlib zstd)" }
const KPAX_IMPL: Record<Codec, string> = { none: "", gzip: " (zlib)", lz4: " (lz4-napi)", zstd: " (zlib zstd)" }
const KAFKAJS_NA = "kafkajs has no built-in codec; it needs a third-party codec plugged into CompressionCodecs"

/** The batch fields all three clients write by default for a non-idempotent producer (kafkajs and @platformatic/kafka use 0, not -1, for epoch/sequence/leader epoch). */
const SAME_HEADER: BatchOptions = { partitionLeaderEpoch: 0, producerEpoch: 0, baseSequence: 0 }

const fail = (msg: string): never => {
  throw new Error(msg)
}

const kpaxDecode = (bytes: Uint8Array, verifyCrc: boolean): ReadonlyArray<RecordBatch> => {
  const r = decodeRecordBatchesSync(bytes, { verifyCrc })
  if (Result.isFailure(r)) return fail(`kpax decode failed: ${r.failure.message}`)
  return r.success
}

const eq = (a: Uint8Array | null, b: Uint8Array): boolean => a !== null && Buffer.compare(a, b) === 0

/** Full check of one decoder's output against the inputs. */
const check = (who: string, recs: ReadonlyArray<Rec>, got: ReadonlyArray<{ key: Uint8Array | null; value: Uint8Array | null; header: Uint8Array | null; ts: number; offset: number }>) => {
  if (got.length !== recs.length) fail(`${who}: ${got.length} records, want ${recs.length}`)
  for (let i = 0; i < recs.length; i++) {
    const g = got[i]
    const w = recs[i]
    if (!eq(g.key, w.key) || !eq(g.value, w.value) || !eq(g.header, w.headerValue) || g.ts !== w.timestamp || g.offset !== i) {
      fail(`${who}: record ${i} differs`)
    }
  }
}

export const recordBatchCases = async (): Promise<{ cases: Array<Case>; notes: Array<string> }> => {
  const recs = makeRecords(RECORDS)
  const kin = kpaxRecords(recs)
  const pin = platMessages(recs)
  const kjs = kafkajsMessages(recs)
  const first = recs[0].timestamp
  const max = recs[recs.length - 1].timestamp

  const kpaxEncode = (codec: Codec) => () => encodeRecordBatchSync(kin, { ...SAME_HEADER, compression: codec })
  const platEncode = (codec: Codec) => () => pCreateRecordsBatch(pin, codec === "none" ? {} : { compression: codec }).buffer
  const kafkajsEncode = (code: number) => async () =>
    (await KRecordBatch({
      compression: code,
      firstTimestamp: first,
      maxTimestamp: max,
      lastOffsetDelta: kjs.length - 1,
      records: kjs.map((m, i) => KRecord({ offsetDelta: i, timestampDelta: m.timestamp - first, key: m.key, value: m.value, headers: m.headers }))
    })).buffer

  const uncompressed = kpaxEncode("none")()
  const batchBytes = uncompressed.length
  const cases: Array<Case> = []
  const notes: Array<string> = []

  // byte-identity between encoders (informative; only `none` must match, codecs may differ in framing)
  const identical = async (codec: Codec): Promise<string> => {
    const ours = Buffer.from(kpaxEncode(codec)())
    const p = platEncode(codec)()
    const parts = [`@platformatic/kafka ${Buffer.compare(ours, p) === 0 ? "identical" : "differs"}`]
    const code = KAFKAJS_CODE[codec]
    if (code !== undefined) parts.push(`kafkajs ${Buffer.compare(ours, await kafkajsEncode(code)()) === 0 ? "identical" : "differs"}`)
    return `${codec}: ${ours.length} B, ${parts.join(", ")}`
  }

  for (const codec of CODECS) {
    const code = KAFKAJS_CODE[codec]
    const subjects: Array<Subject | NotApplicable> = [
      { name: `kpax${KPAX_IMPL[codec]}`, run: kpaxEncode(codec) },
      code === undefined ? { name: "kafkajs", na: KAFKAJS_NA } : { name: "kafkajs", run: kafkajsEncode(code), async: true },
      { name: `@platformatic/kafka${PLAT_IMPL[codec]}`, run: platEncode(codec) }
    ]
    cases.push({
      id: `encode-${codec}`,
      title: `record batch encode, ${RECORDS} records, ${codec}`,
      bytes: batchBytes,
      bytesNote: "the uncompressed batch",
      subjects,
      kpax: subjects[0].name,
      peers: [subjects[1].name, subjects[2].name]
    })
  }

  for (const codec of CODECS) {
    const bytes = Buffer.from(kpaxEncode(codec)())
    const code = KAFKAJS_CODE[codec]

    // verify every decoder once, fully
    const kb = kpaxDecode(bytes, true)
    if (kb.length !== 1) fail("kpax: want one batch")
    check(`kpax ${codec}`, recs, kb[0].records.map((r) => ({ key: r.key, value: r.value, header: r.headers.length === 1 && r.headers[0].key === HEADER_KEY ? r.headers[0].value : null, ts: r.timestamp, offset: Number(r.offset) })))
    const pb = pReadRecordsBatches(pReader(bytes))
    if (pb.length !== 1) fail("platformatic: want one batch")
    check(`platformatic ${codec}`, recs, pb[0].records.map((r) => ({
      key: r.key,
      value: r.value,
      header: r.headers.length === 1 && r.headers[0][0].toString() === HEADER_KEY ? r.headers[0][1] : null,
      ts: Number(pb[0].firstTimestamp + r.timestampDelta),
      offset: Number(pb[0].firstOffset) + r.offsetDelta
    })))

    const subjects: Array<Subject | NotApplicable> = [
      {
        name: `kpax${KPAX_IMPL[codec]}`,
        run: () => {
          const b = kpaxDecode(bytes, true)
          return b[0].records.length === RECORDS ? b : fail("count")
        }
      }
    ]
    if (code === undefined) subjects.push({ name: "kafkajs", na: KAFKAJS_NA })
    else {
      subjects.push({
        name: "kafkajs",
        async: true,
        run: async () => {
          const b = await KRecordBatchDecoder(new KDecoder(bytes))
          return b.records.length === RECORDS ? b : fail("count")
        }
      })
    }
    subjects.push({
      name: `@platformatic/kafka${PLAT_IMPL[codec]}`,
      run: () => {
        const b = pReadRecordsBatches(pReader(bytes))
        return b[0].records.length === RECORDS ? b : fail("count")
      }
    })
    // kpax variants: what skipping the CRC (the peers never check it) and reading lazy fields cost
    subjects.push({
      name: "kpax, verifyCrc: false",
      run: () => {
        const b = kpaxDecode(bytes, false)
        return b[0].records.length === RECORDS ? b : fail("count")
      }
    })
    subjects.push({
      name: "kpax + read each record's .offset",
      run: () => {
        const b = kpaxDecode(bytes, true)
        let s = 0n
        for (const r of b[0].records) s += r.offset
        return s
      }
    })
    // the peers build every key, value and header while decoding; kpax builds them on first access, so this row is the like-for-like one
    subjects.push({
      name: "kpax + read every key, value and header",
      run: () => {
        const b = kpaxDecode(bytes, true)
        let n = 0
        for (const r of b[0].records) {
          n += (r.key?.length ?? 0) + (r.value?.length ?? 0)
          for (const h of r.headers) n += h.key.length + (h.value?.length ?? 0)
        }
        return n
      }
    })
    if (code !== undefined) {
      const kd = await KRecordBatchDecoder(new KDecoder(bytes))
      check(`kafkajs ${codec}`, recs, kd.records.map((r) => {
        const h = r.headers[HEADER_KEY]
        return { key: r.key, value: r.value, header: Buffer.isBuffer(h) ? h : null, ts: Number(r.timestamp), offset: Number(r.offset) }
      }))
    }
    cases.push({
      id: `decode-${codec}`,
      title: `record batch decode, ${RECORDS} records, ${codec} (kpax's bytes)`,
      bytes: batchBytes,
      bytesNote: "the uncompressed batch",
      subjects,
      kpax: subjects[0].name,
      peers: [subjects[1].name, subjects[2].name]
    })
  }
  for (const codec of CODECS) notes.push(await identical(codec))
  return { cases, notes }
}
