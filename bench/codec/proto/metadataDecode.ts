/**
 * Prototype (not kpax code): what generated Metadata response decoders could look like to beat
 * kafkajs by a wide margin, measured against kpax's current generated decoder.
 *
 *   npx node bench/codec/proto/metadataDecode.ts [--reps 15]
 *
 * Variants, each adding one change to the previous:
 *  - A "no wasted []": kpax's generated code, minus the `let offlineReplicas = []` evaluated
 *    before the version test (one discarded empty array per partition at v ≥ 5).
 *  - B "+ int32Array": arrays of int32 read by one Reader method (one bounds check for the whole
 *    array, already implied by the length check, then unchecked loads) instead of `r.int32()`
 *    per element.
 *  - C "+ fixed runs": the fixed-width fields at the start of a struct (errorCode,
 *    partitionIndex, leaderId, leaderEpoch: 14 bytes) read after one bounds check, with the
 *    position in a local.
 *  - D "+ ascii strings": short strings decoded by hand for ASCII (as RecordBatchCodec's
 *    `readString`), `utf8Slice` otherwise (no `Buffer#toString` argument checks).
 *  - E "+ shared empty arrays": an empty int32 array decodes to one frozen, shared empty array
 *    (the Schema types are `ReadonlyArray`); `offlineReplicas` is empty on a healthy cluster, so
 *    this is one allocation fewer per partition.
 */
import { Result } from "effect"
import { decodeResponseBody } from "../../../src/Protocol/Frame.ts"
import { Metadata } from "../../../src/Protocol/generated/Metadata.ts"
import type { MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic } from "../../../src/Protocol/generated/Metadata.ts"
import { ReadFailure } from "../../../src/Protocol/internal/Reader.ts"
import { Writer } from "../../../src/Protocol/internal/Writer.ts"
import { runCase } from "../harness.ts"
import type { Case } from "../harness.ts"
import { LARGE_METADATA, makeMetadataResponse } from "../inputs.ts"
import { kafkajsMetadataDecode, pMetadataV12, pReader } from "../peers.ts"

// ---- a Reader with the two extra methods (same checks as kpax's) -------------------------------

const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"
const utf8Slice = (b: Buffer, s: number, e: number): string => (b as unknown as { utf8Slice(s: number, e: number): string }).utf8Slice(s, e)

class R {
  readonly buf: Buffer
  pos: number
  readonly end: number
  constructor(b: Buffer) {
    this.buf = b
    this.pos = 0
    this.end = b.length
  }
  fail(reason: string): never {
    throw new ReadFailure(this.pos, reason)
  }
  bool(): boolean {
    if (this.pos >= this.end) this.fail("need 1 byte for bool")
    return this.buf[this.pos++] !== 0
  }
  int16(): number {
    const p = this.pos
    if (p + 2 > this.end) this.fail("need 2 bytes for int16")
    const b = this.buf
    this.pos = p + 2
    return ((b[p] << 24) | (b[p + 1] << 16)) >> 16
  }
  int32(): number {
    const p = this.pos
    if (p + 4 > this.end) this.fail("need 4 bytes for int32")
    const b = this.buf
    this.pos = p + 4
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
  }
  uvarint(): number {
    const b = this.buf
    const end = this.end
    let p = this.pos
    let result = 0
    let shift = 0
    for (;;) {
      if (p >= end) this.fail("truncated varint")
      const byte = b[p++]
      if (shift === 28) {
        if (byte > 0x0f) this.fail("varint too long")
        result += byte * 0x10000000
        break
      }
      result |= (byte & 0x7f) << shift
      if (byte < 0x80) {
        result >>>= 0
        break
      }
      shift += 7
    }
    this.pos = p
    return result
  }
  arrayLength(flex: boolean, minElementSize: number): number {
    let n: number
    if (flex) n = this.uvarint() - 1
    else {
      n = this.int32()
      if (n < -1) this.fail(`invalid array length ${n}`)
    }
    if (n < 0) return -1
    if (n * minElementSize > this.end - this.pos) this.fail(`array of ${n} elements exceeds ${this.end - this.pos} remaining bytes`)
    return n
  }
  /** Non-nullable int32 array: length, one bounds check, then unchecked loads. */
  int32Array(flex: boolean, what: string): Array<number> {
    const n = this.arrayLength(flex, 4)
    if (n < 0) this.fail(`${what} is null but not nullable in this version`)
    const b = this.buf
    let p = this.pos
    const a: Array<number> = new Array(n)
    for (let i = 0; i < n; i++, p += 4) a[i] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
    this.pos = p
    return a
  }
  utf8(n: number, ascii: boolean): string {
    const p = this.pos
    if (n > this.end - p) this.fail(`string length ${n} exceeds ${this.end - p} remaining bytes`)
    this.pos = p + n
    const b = this.buf
    if (ascii && n <= 32) {
      let s = ""
      for (let i = p; i < p + n; i++) {
        const c = b[i]
        if (c >= 0x80) return utf8Slice(b, p, p + n)
        s += String.fromCharCode(c)
      }
      return s
    }
    return ascii ? utf8Slice(b, p, p + n) : b.toString("utf8", p, p + n)
  }
  string(flex: boolean, ascii: boolean): string {
    const n = flex ? this.uvarint() - 1 : this.int16()
    if (n < 0) this.fail("non-nullable string is null")
    return this.utf8(n, ascii)
  }
  nullableString(flex: boolean, ascii: boolean): string | null {
    const n = flex ? this.uvarint() - 1 : this.int16()
    if (n < 0) {
      if (n === -1) return null
      this.fail(`invalid string length ${n}`)
    }
    return this.utf8(n, ascii)
  }
  uuid(): string {
    const p = this.pos
    if (p + 16 > this.end) this.fail("need 16 bytes for uuid")
    this.pos = p + 16
    return this.buf.toString("base64url", p, p + 16)
  }
  skipTaggedFields(): void {
    const n = this.uvarint()
    if (n === 0) return
    if (n > this.end - this.pos) this.fail(`${n} tagged fields exceed remaining bytes`)
    for (let i = 0; i < n; i++) {
      this.uvarint()
      const size = this.uvarint()
      if (size > this.end - this.pos) this.fail("tagged field exceeds remaining bytes")
      this.pos += size
    }
  }
}

const EMPTY_NUMBERS: Array<number> = Object.freeze([]) as unknown as Array<number>

interface Opts {
  readonly sharedEmpty?: boolean
  readonly int32Array: boolean
  readonly fixedRuns: boolean
  readonly ascii: boolean
}

const make = (o: Opts) => {
  const int32s = (r: R, flex: boolean, what: string): Array<number> => {
    if (o.sharedEmpty === true) {
      const at = r.pos
      const n = r.arrayLength(flex, 4)
      if (n === 0) return EMPTY_NUMBERS
      r.pos = at
    }
    if (o.int32Array) return r.int32Array(flex, what)
    const n = r.arrayLength(flex, 4)
    if (n < 0) r.fail(`${what} is null but not nullable in this version`)
    const a: Array<number> = new Array(n)
    for (let i = 0; i < n; i++) a[i] = r.int32()
    return a
  }

  const readBroker = (r: R, v: number): MetadataResponseBroker => {
    const nodeId = r.int32()
    const host = r.string(v >= 9, o.ascii)
    const port = r.int32()
    const rack = v >= 1 ? r.nullableString(v >= 9, o.ascii) : null
    if (v >= 9) r.skipTaggedFields()
    return { nodeId, host, port, rack }
  }

  const readPartition = (r: R, v: number): MetadataResponsePartition => {
    let errorCode: number, partitionIndex: number, leaderId: number, leaderEpoch: number
    if (o.fixedRuns) {
      const size = v >= 7 ? 14 : 10
      let p = r.pos
      if (p + size > r.end) r.fail(`need ${size} bytes for MetadataResponsePartition`)
      const b = r.buf
      errorCode = ((b[p] << 24) | (b[p + 1] << 16)) >> 16
      partitionIndex = (b[p + 2] << 24) | (b[p + 3] << 16) | (b[p + 4] << 8) | b[p + 5]
      leaderId = (b[p + 6] << 24) | (b[p + 7] << 16) | (b[p + 8] << 8) | b[p + 9]
      p += 10
      if (v >= 7) {
        leaderEpoch = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
        p += 4
      } else leaderEpoch = -1
      r.pos = p
    } else {
      errorCode = r.int16()
      partitionIndex = r.int32()
      leaderId = r.int32()
      leaderEpoch = v >= 7 ? r.int32() : -1
    }
    const flex = v >= 9
    const replicaNodes = int32s(r, flex, "MetadataResponsePartition.replicaNodes")
    const isrNodes = int32s(r, flex, "MetadataResponsePartition.isrNodes")
    const offlineReplicas = v >= 5 ? int32s(r, flex, "MetadataResponsePartition.offlineReplicas") : []
    if (flex) r.skipTaggedFields()
    return { errorCode, partitionIndex, leaderId, leaderEpoch, replicaNodes, isrNodes, offlineReplicas }
  }

  const readTopic = (r: R, v: number): MetadataResponseTopic => {
    const flex = v >= 9
    const errorCode = r.int16()
    const name = v >= 12 ? r.nullableString(flex, o.ascii) : r.string(flex, o.ascii)
    const topicId = v >= 10 ? r.uuid() : ZERO_UUID
    const isInternal = v >= 1 ? r.bool() : false
    const n = r.arrayLength(flex, 18)
    if (n < 0) r.fail("MetadataResponseTopic.partitions is null but not nullable in this version")
    const partitions: Array<MetadataResponsePartition> = new Array(n)
    for (let i = 0; i < n; i++) partitions[i] = readPartition(r, v)
    const topicAuthorizedOperations = v >= 8 ? r.int32() : -2147483648
    if (flex) r.skipTaggedFields()
    return { errorCode, name, topicId, isInternal, partitions, topicAuthorizedOperations }
  }

  return (bytes: Buffer, v: number): MetadataResponse => {
    const r = new R(bytes)
    const flex = v >= 9
    const throttleTimeMs = v >= 3 ? r.int32() : 0
    const nb = r.arrayLength(flex, 10)
    if (nb < 0) r.fail("MetadataResponse.brokers is null")
    const brokers: Array<MetadataResponseBroker> = new Array(nb)
    for (let i = 0; i < nb; i++) brokers[i] = readBroker(r, v)
    const clusterId = v >= 2 ? r.nullableString(flex, o.ascii) : null
    const controllerId = v >= 1 ? r.int32() : -1
    const nt = r.arrayLength(flex, 8)
    if (nt < 0) r.fail("MetadataResponse.topics is null")
    const topics: Array<MetadataResponseTopic> = new Array(nt)
    for (let i = 0; i < nt; i++) topics[i] = readTopic(r, v)
    const clusterAuthorizedOperations = v >= 8 && v <= 10 ? r.int32() : -2147483648
    if (flex) r.skipTaggedFields()
    return { throttleTimeMs, brokers, clusterId, controllerId, topics, clusterAuthorizedOperations }
  }
}

// each variant is its own closure set, so the JIT sees each one monomorphically
const variants = {
  "proto A: no wasted []": make({ int32Array: false, fixedRuns: false, ascii: false }),
  "proto B: + int32Array": make({ int32Array: true, fixedRuns: false, ascii: false }),
  "proto C: + fixed runs": make({ int32Array: true, fixedRuns: true, ascii: false }),
  "proto D: + ascii strings": make({ int32Array: true, fixedRuns: true, ascii: true }),
  "proto E: + shared empty arrays": make({ int32Array: true, fixedRuns: true, ascii: true, sharedEmpty: true })
}

const args = process.argv.slice(2)
const reps = args.includes("--reps") ? Number(args[args.indexOf("--reps") + 1]) : 15

const kpax = (v: number, body: Buffer): MetadataResponse => {
  const r = decodeResponseBody(Metadata, v, body, 0)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

for (const v of [6, 12]) {
  const res = makeMetadataResponse(LARGE_METADATA, v)
  const w = new Writer(1024)
  Metadata.encodeResponse(w, v, res)
  const f = w.finish()
  const body = Buffer.from(f.buffer, f.byteOffset, f.byteLength)
  const want = JSON.stringify(res)
  for (const [name, dec] of Object.entries(variants)) {
    if (JSON.stringify(dec(body, v)) !== want) throw new Error(`${name} v${v}: differs`)
  }
  const n = LARGE_METADATA.topics
  const kjs = kafkajsMetadataDecode(6)
  const c: Case = {
    id: `proto-metadata-decode-v${v}`,
    title: `Metadata v${v} response decode, prototypes`,
    bytes: body.length,
    bytesNote: "the response body",
    subjects: [
      { name: "kpax (current)", run: () => kpax(v, body).topics.length === n },
      v === 6
        ? { name: "kafkajs", async: true, run: async () => (await kjs(body)).topicMetadata.length === n }
        : { name: "@platformatic/kafka", run: () => pMetadataV12.parseResponse(1, 3, 12, pReader(body)).topics.length === n },
      ...Object.entries(variants).map(([name, dec]) => ({ name, run: () => dec(body, v).topics.length === n }))
    ],
    kpax: "kpax (current)",
    peers: [v === 6 ? "kafkajs" : "@platformatic/kafka"]
  }
  const result = await runCase(c, { reps, sampleMs: 150, warmupMs: 800 }, (l) => console.log(l))
  const peer = result.stats[1]
  if ("median" in peer) {
    for (const s of result.stats.slice(2)) if ("median" in s) console.log(`  ${s.name} / ${peer.name}: ${(s.median / peer.median).toFixed(2)}×`)
  }
}
