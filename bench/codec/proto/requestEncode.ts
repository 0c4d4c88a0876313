/**
 * Prototype (not kpax code): a Metadata v12 request frame naming 1,000 topics, encoded by kpax
 * today (`encodeRequestFrameResult`) and by a copy of the generated writer over a Writer with
 * three changes, added one at a time:
 *  - A "zero uuid": `uuid(ZERO_UUID)` writes 16 zero bytes instead of base64url-decoding the
 *    22-character text through `Buffer#write` (Metadata requests carry the zero uuid per topic
 *    when they name topics; so do other requests that carry topic ids only from some version).
 *  - B "+ ascii strings": strings of up to 64 UTF-16 units that are all ASCII are written by a
 *    `charCodeAt` loop, their UTF-8 length being their length (no `Buffer.byteLength` and
 *    `Buffer#write` native calls per string); others as today.
 *  - C "+ reused scratch": the frame is written into a module-level scratch buffer that is kept
 *    between calls (grown by doubling when needed) and copied out once at its exact size,
 *    instead of a fresh 512-byte Writer doubling (and copying) up to the frame size per request.
 *
 *   npx node bench/codec/proto/requestEncode.ts [--reps 15]
 */
import { Result } from "effect"
import { encodeRequestFrameResult } from "../../../src/Protocol/Frame.ts"
import { Metadata } from "../../../src/Protocol/generated/Metadata.ts"
import type { MetadataRequest } from "../../../src/Protocol/generated/Metadata.ts"
import { runCase } from "../harness.ts"
import type { Case } from "../harness.ts"
import { makeMetadataRequest } from "../inputs.ts"
import { pFrame, pMetadataV12 } from "../peers.ts"

const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"

interface Opts {
  readonly zeroUuid: boolean
  readonly ascii: boolean
  readonly scratch: boolean
}

class W {
  buf: Buffer
  pos = 0
  readonly o: Opts
  constructor(o: Opts, buf: Buffer) {
    this.o = o
    this.buf = buf
  }
  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let cap = this.buf.length * 2
    while (cap < need) cap *= 2
    const next = Buffer.allocUnsafe(cap)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  int16(v: number): void {
    this.ensure(2)
    this.buf[this.pos] = (v >> 8) & 0xff
    this.buf[this.pos + 1] = v & 0xff
    this.pos += 2
  }
  int32(v: number): void {
    this.ensure(4)
    const b = this.buf
    const p = this.pos
    b[p] = (v >>> 24) & 0xff
    b[p + 1] = (v >>> 16) & 0xff
    b[p + 2] = (v >>> 8) & 0xff
    b[p + 3] = v & 0xff
    this.pos = p + 4
  }
  setInt32At(at: number, v: number): void {
    this.buf.writeInt32BE(v, at)
  }
  bool(v: boolean): void {
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
  }
  uvarint(v: number): void {
    this.ensure(5)
    const b = this.buf
    let p = this.pos
    v = v >>> 0
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    b[p++] = v
    this.pos = p
  }
  /** Writes `s` (its UTF-8 length `n` already known) at the current position. */
  private text(s: string, n: number): void {
    if (n === s.length && n <= 64) {
      const b = this.buf
      const p = this.pos
      for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i)
      this.pos = p + n
    } else this.pos += this.buf.write(s, this.pos, n, "utf8")
  }
  private utf8Length(s: string): number {
    if (this.o.ascii && s.length <= 64) {
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8")
      return s.length
    }
    return Buffer.byteLength(s, "utf8")
  }
  nullableString(s: string | null): void {
    if (s === null) return this.int16(-1)
    const n = this.utf8Length(s)
    this.ensure(2 + n)
    this.int16(n)
    if (this.o.ascii) this.text(s, n)
    else this.pos += this.buf.write(s, this.pos, n, "utf8")
  }
  compactNullableString(s: string | null): void {
    if (s === null) return this.uvarint(0)
    const n = this.utf8Length(s)
    if (n > 0x7fff) throw new Error("too long")
    this.ensure(3 + n)
    this.uvarint(n + 1)
    if (this.o.ascii) this.text(s, n)
    else this.pos += this.buf.write(s, this.pos, n, "utf8")
  }
  uuid(s: string): void {
    this.ensure(16)
    if (this.o.zeroUuid && s === ZERO_UUID) {
      this.buf.fill(0, this.pos, this.pos + 16)
      this.pos += 16
      return
    }
    if (s.length !== 22) throw new Error("uuid")
    if (this.buf.write(s, this.pos, 16, "base64url") !== 16) throw new Error("uuid")
    this.pos += 16
  }
}

/** A copy of the generated `writeMetadataRequest` at v12 (flexible), over the prototype Writer. */
const writeRequestV12 = (w: W, x: MetadataRequest): void => {
  const a = x.topics
  if (a === null) w.uvarint(0)
  else {
    w.uvarint(a.length + 1)
    for (let i = 0; i < a.length; i++) {
      const t = a[i]
      w.uuid(t.topicId === undefined ? ZERO_UUID : t.topicId)
      w.compactNullableString(t.name)
      w.uvarint(0)
    }
  }
  w.bool(x.allowAutoTopicCreation === undefined ? true : x.allowAutoTopicCreation)
  w.bool(x.includeTopicAuthorizedOperations === undefined ? false : x.includeTopicAuthorizedOperations)
  w.uvarint(0)
}

const makeFrame = (o: Opts) => {
  let scratch: Buffer = Buffer.allocUnsafe(64 * 1024)
  return (req: MetadataRequest): Uint8Array => {
    const w = new W(o, o.scratch ? scratch : Buffer.allocUnsafe(512))
    w.ensure(4)
    const size = w.pos
    w.pos += 4
    w.int16(3)
    w.int16(12)
    w.int32(7)
    w.nullableString("bench-client")
    w.uvarint(0)
    writeRequestV12(w, req)
    w.setInt32At(size, w.pos - size - 4)
    if (!o.scratch) return new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.pos)
    if (w.buf !== scratch) scratch = w.buf // keep the grown buffer for the next call
    return Buffer.from(w.buf.subarray(0, w.pos)) // one exact-size copy
  }
}

const variants = {
  "proto A: zero uuid": makeFrame({ zeroUuid: true, ascii: false, scratch: false }),
  "proto B: + ascii strings": makeFrame({ zeroUuid: true, ascii: true, scratch: false }),
  "proto C: + reused scratch": makeFrame({ zeroUuid: true, ascii: true, scratch: true })
}

const args = process.argv.slice(2)
const reps = args.includes("--reps") ? Number(args[args.indexOf("--reps") + 1]) : 15

const req = makeMetadataRequest(1000)
const names = req.topics!.map((t) => t.name!)
const kpax = () => {
  const r = encodeRequestFrameResult(Metadata, 12, 7, "bench-client", req)
  if (Result.isFailure(r)) throw new Error("encode")
  return r.success
}
const want = Buffer.from(kpax())
for (const [name, f] of Object.entries(variants)) if (Buffer.compare(Buffer.from(f(req)), want) !== 0) throw new Error(`${name}: bytes differ`)

const c: Case = {
  id: "proto-metadata-request-v12",
  title: "Metadata v12 request frame, 1000 topics, prototypes",
  bytes: want.length,
  bytesNote: "the frame",
  subjects: [
    { name: "kpax (current)", run: kpax },
    { name: "@platformatic/kafka", run: () => pFrame(3, 12, 7, "bench-client", true, pMetadataV12.createRequest(names, false, false)) },
    ...Object.entries(variants).map(([name, f]) => ({ name, run: () => f(req) }))
  ],
  kpax: "kpax (current)",
  peers: ["@platformatic/kafka"]
}
const result = await runCase(c, { reps, sampleMs: 150, warmupMs: 800 }, (l) => console.log(l))
const peer = result.stats[1]
if ("median" in peer) for (const s of result.stats.slice(2)) if ("median" in s) console.log(`  ${s.name} / ${peer.name}: ${(s.median / peer.median).toFixed(2)}×`)
