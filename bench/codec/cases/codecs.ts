/**
 * The compression codecs alone, on the records section of the batch cases (1,000 records,
 * ≈ 150 KB uncompressed): kpax's `compressSync`/`decompressSync` against @platformatic/kafka's
 * `compressionsAlgorithms` (wasm lz4, zlib zstd/gzip). Separates the codec's share of the
 * compressed batch cases from the record codec's.
 */
import { compressSync, decompressSync } from "../../../src/Protocol/Compression.ts"
import { encodeSection } from "../../../src/Protocol/internal/RecordBatchCodec.ts"
import type { Case } from "../harness.ts"
import { kpaxRecords, makeRecords } from "../inputs.ts"
import { plat } from "../peers.ts"
import { createRequire } from "node:module"

const kGzip = createRequire(import.meta.url)("kafkajs/src/protocol/message/compression/gzip") as {
  compress(e: { buffer: Buffer }): Promise<Buffer>
  decompress(b: Buffer): Promise<Buffer>
}
import { RECORDS } from "./recordBatch.ts"

interface PCodec {
  compressSync(b: Buffer): Buffer
  decompressSync(b: Buffer): Buffer
}
const pCodecs = plat.compressionsAlgorithms as unknown as Record<string, PCodec>

const CODE = { gzip: 1, lz4: 3, zstd: 4 } as const

export const codecCases = async (): Promise<{ cases: Array<Case>; notes: Array<string> }> => {
  const recs = kpaxRecords(makeRecords(RECORDS))
  const section = Buffer.from(encodeSection(recs, recs[0].timestamp!, true))
  const cases: Array<Case> = []
  const notes: Array<string> = []
  for (const name of ["lz4", "zstd", "gzip"] as const) {
    const code = CODE[name]
    const p = pCodecs[name]
    const ours = Buffer.from(compressSync(code, section))
    const theirs = p.compressSync(section)
    // each decompresses the other's output too: same data either way
    for (const [who, out] of [["kpax", decompressSync(code, theirs)], ["platformatic", p.decompressSync(ours)]] as const) {
      if (Buffer.compare(Buffer.from(out), section) !== 0) throw new Error(`${who} ${name}: round trip differs`)
    }
    notes.push(`${name} of the ${section.length} B records section: kpax ${ours.length} B, @platformatic/kafka ${theirs.length} B`)
    const kImpl = name === "lz4" ? "kpax (lz4-napi)" : `kpax (zlib ${name})`
    const pImpl = name === "lz4" ? "@platformatic/kafka (wasm lz4)" : `@platformatic/kafka (zlib ${name})`
    cases.push({
      id: `codec-${name}-compress`,
      title: `${name} compress alone, the ${RECORDS}-record section`,
      bytes: section.length,
      bytesNote: "uncompressed input",
      subjects: [
        { name: kImpl, run: () => compressSync(code, section).length },
        name === "gzip"
          ? { name: "kafkajs (zlib gzip, async)", async: true, run: async () => (await kGzip.compress({ buffer: section })).length }
          : { name: "kafkajs", na: "no built-in codec" },
        { name: pImpl, run: () => p.compressSync(section).length }
      ],
      kpax: kImpl,
      peers: [pImpl, "kafkajs (zlib gzip, async)"]
    })
    cases.push({
      id: `codec-${name}-decompress`,
      title: `${name} decompress alone, the ${RECORDS}-record section (kpax's compressed bytes)`,
      bytes: section.length,
      bytesNote: "uncompressed output",
      subjects: [
        { name: kImpl, run: () => decompressSync(code, ours).length },
        name === "gzip"
          ? { name: "kafkajs (zlib gzip, async)", async: true, run: async () => (await kGzip.decompress(ours)).length }
          : { name: "kafkajs", na: "no built-in codec" },
        { name: pImpl, run: () => p.decompressSync(ours).length }
      ],
      kpax: kImpl,
      peers: [pImpl, "kafkajs (zlib gzip, async)"]
    })
  }
  return { cases, notes }
}
