// Property tests of the generated codecs: for every API, every version, requests and responses
// drawn from their Effect Schemas round-trip exactly, once normalised to what the version carries.
// The normalisation and the "must this encode fail?" oracle are computed here, independently of
// the generator, from the definitions table (Kafka's JSON without its prose).
import { describe, expect, it } from "@effect/vitest"
import { Exit, Result, Schema } from "effect"
import { isDeepStrictEqual } from "node:util"
import {
  allApis,
  allData,
  ApiVersions,
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
  decodeResponseBody,
  decodeVersioned,
  encodeRequestFrame,
  encodeResponseFrame,
  encodeVersioned,
  Metadata,
  Produce,
  requestCodec,
  responseCodec
} from "../../src/Protocol/index.ts"
import type { FieldDefinition, MessageDefinition } from "../../src/Protocol/generated/definitions.ts"
import { definitions } from "../../src/Protocol/generated/definitions.ts"
import { requestPrechecks } from "../../src/Protocol/generated/prechecks.ts"
import { ReadFailure, Reader } from "../../src/Protocol/internal/Reader.ts"
import { EncodeFailure, Writer } from "../../src/Protocol/internal/Writer.ts"

const RUNS = Number(process.env.KPAX_CODEC_RUNS ?? 50)

const inRange = (r: readonly [number, number] | null | undefined, v: number) => r != null && r[0] <= v && v <= r[1]

const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"

/** Whether field `f` is on the wire in version v of message `md`. */
const present = (f: FieldDefinition, v: number, md: MessageDefinition) =>
  inRange(f.versions, v) && (f.tag === undefined || inRange(md.flexible, v))

/** The default value of a field (independent of version, as the decoders produce it). */
const defaultOf = (f: FieldDefinition): unknown => {
  if (f.default !== undefined) {
    if (f.default === null) return null
    if (f.type === "int64") return BigInt(f.default as string)
    return f.default
  }
  switch (f.type) {
    case "bool":
      return false
    case "int8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32":
    case "float64":
      return 0
    case "int64":
      return 0n
    case "string":
      return ""
    case "bytes":
      return new Uint8Array(0)
    case "uuid":
      return ZERO_UUID
    case "records":
      return null
    case "struct":
      return Object.fromEntries(f.fields!.map((g) => [g.name, defaultOf(g)]))
    default:
      if (f.type.startsWith("[]")) return []
      throw new Error(`no default for ${f.type}`)
  }
}

const isDefault = (value: unknown, f: FieldDefinition): boolean => {
  const d = defaultOf(f)
  if (value === null || d === null) return value === d
  if (f.type === "struct") {
    return f.fields!.every((g) => {
      const x = (value as any)[g.name]
      return x === undefined || isDefault(x, g)
    })
  }
  if (f.type.startsWith("[]") || f.type === "bytes") return (value as ArrayLike<unknown>).length === 0
  return value === d
}

/** The value as version v carries it: absent fields at their defaults, missing optional ones too. */
/** The default of a field in a version that cannot carry null (a null default nullable only in other versions: empty). */
const nonNullDefaultOf = (f: FieldDefinition): unknown => {
  const d = defaultOf(f)
  if (d !== null) return d
  if (f.type === "bytes" || f.type === "records") return new Uint8Array(0)
  if (f.type === "string") return ""
  if (f.type.startsWith("[]")) return []
  return d
}

const normalize = (x: any, fields: ReadonlyArray<FieldDefinition>, v: number, md: MessageDefinition): any => {
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const raw = x[f.name]
    if (!present(f, v, md) || raw === undefined) {
      out[f.name] = defaultOf(f)
    } else if (raw === null) {
      out[f.name] = inRange(f.nullable, v) ? null : nonNullDefaultOf(f)
    } else if (f.type === "struct") {
      out[f.name] = normalize(raw, f.fields!, v, md)
    } else if (f.type === "[]struct") {
      out[f.name] = raw.map((e: any) => normalize(e, f.fields!, v, md))
    } else {
      out[f.name] = raw
    }
  }
  return out
}

/** Why encoding x for version v must fail (a non-ignorable lost value, a null the version cannot carry), or undefined. */
const mustFail = (x: any, fields: ReadonlyArray<FieldDefinition>, v: number, md: MessageDefinition): string | undefined => {
  for (const f of fields) {
    const raw = x[f.name]
    if (raw === undefined) continue
    if (!present(f, v, md)) {
      if (!f.ignorable && !isDefault(raw, f)) return `${f.name} not in v${v}`
      continue
    }
    if (raw === null) {
      if (!inRange(f.nullable, v)) return `${f.name} null in v${v}`
      continue
    }
    if (f.type === "struct") {
      const why = mustFail(raw, f.fields!, v, md)
      if (why) return why
    } else if (f.type === "[]struct") {
      for (const e of raw) {
        const why = mustFail(e, f.fields!, v, md)
        if (why) return why
      }
    }
  }
  return undefined
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const encodeWith = <A>(encode: (w: Writer, v: number, x: A) => void, v: number, x: A): Uint8Array => {
  const w = new Writer(64)
  encode(w, v, x)
  return w.finish()
}

/** Checks one value at one version; throws with a description on any mismatch. */
const checkRoundTrip = <A>(
  md: MessageDefinition,
  encode: (w: Writer, v: number, x: A) => void,
  decode: (r: Reader, v: number) => A,
  schema: Schema.Codec<A>,
  x: A,
  v: number
): void => {
  const label = `${md.name} v${v}`
  const why = mustFail(x, md.fields, v, md)
  let direct: Uint8Array | undefined
  try {
    direct = encodeWith(encode, v, x)
  } catch (e) {
    if (!(e instanceof EncodeFailure)) throw e
    if (why === undefined) throw new Error(`${label}: unexpected encode failure: ${e.reason}`)
  }
  if (why !== undefined && direct !== undefined) throw new Error(`${label}: encoding should have failed (${why})`)
  const n = normalize(x, md.fields, v, md) as A
  const bytes = encodeWith(encode, v, n)
  // ignorable fields the version lacks are dropped silently: same bytes as the normalised value
  if (direct !== undefined && hex(direct) !== hex(bytes)) {
    throw new Error(`${label}: encoding differs from the normalised value's`)
  }
  const r = new Reader(bytes)
  const decoded = decode(r, v)
  if (r.remaining !== 0) throw new Error(`${label}: ${r.remaining} bytes left after decoding`)
  if (!isDeepStrictEqual(decoded, n)) expect(decoded, label).toStrictEqual(n)
  const again = encodeWith(encode, v, decoded)
  if (hex(again) !== hex(bytes)) throw new Error(`${label}: re-encoding the decoded value gives other bytes`)
  if (!Schema.is(schema)(decoded)) throw new Error(`${label}: decoded value does not satisfy the Schema`)
}

const versions = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)

describe("generated codecs round-trip (property)", () => {
  it("covers every API of the brief, every version", () => {
    const names = allApis.map((a) => a.name)
    for (
      const n of [
        "Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch", "FindCoordinator", "JoinGroup",
        "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups", "SaslHandshake", "ApiVersions",
        "CreateTopics", "DeleteTopics", "DeleteRecords", "InitProducerId", "OffsetForLeaderEpoch",
        "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit", "DescribeAcls", "CreateAcls",
        "DeleteAcls", "DescribeConfigs", "AlterConfigs", "IncrementalAlterConfigs", "DescribeLogDirs",
        "SaslAuthenticate", "CreatePartitions", "DeleteGroups", "OffsetDelete", "DescribeCluster",
        "DescribeProducers", "DescribeTransactions", "ListTransactions", "ConsumerGroupHeartbeat",
        "ConsumerGroupDescribe", "DescribeTopicPartitions", "GetTelemetrySubscriptions", "PushTelemetry"
      ]
    ) expect(names).toContain(n)
    for (const api of allApis) {
      const req = definitions[`${api.name}Request`]
      // a definition whose latest version is unstable (latestVersionUnstable) offers one fewer
      expect(api.minVersion).toBe(req.valid[0])
      expect([req.valid[1], req.valid[1] - 1]).toContain(api.maxVersion)
    }
    expect(allData.map((d) => d.name)).toEqual(["ConsumerProtocolSubscription", "ConsumerProtocolAssignment"])
  })

  for (const api of allApis) {
    const reqDef = definitions[`${api.name}Request`]
    const resDef = definitions[`${api.name}Response`]
    const vs = versions(api.minVersion, api.maxVersion)
    it.prop(
      `${api.name} requests, v${api.minVersion}-${api.maxVersion}`,
      { x: api.Request },
      ({ x }) => {
        for (const v of vs) checkRoundTrip(reqDef, api.encodeRequest, api.decodeRequest, api.Request, x, v)
      },
      { arbitrary: { runs: RUNS, size: 4 } }
    )
    it.prop(
      `${api.name} responses, v${api.minVersion}-${api.maxVersion}`,
      { x: api.Response },
      ({ x }) => {
        for (const v of vs) checkRoundTrip(resDef, api.encodeResponse, api.decodeResponse, api.Response, x, v)
      },
      { arbitrary: { runs: RUNS, size: 4 } }
    )
  }

  for (const data of allData) {
    const md = definitions[data.name]
    it.prop(
      `${data.name}, v${data.minVersion}-${data.maxVersion}`,
      { x: data.Schema },
      ({ x }) => {
        for (const v of versions(data.minVersion, data.maxVersion)) {
          checkRoundTrip(md, data.encode, data.decode, data.Schema, x, v)
        }
      },
      { arbitrary: { runs: RUNS * 4, size: 6 } }
    )
  }
})

const bytesOf = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"))

describe("known-answer vectors", () => {
  it("ApiVersions v3 request frame, byte for byte", () => {
    const frame = encodeRequestFrame(ApiVersions, 3, 0x01020304, "kpax", {
      clientSoftwareName: "apache-kafka-java",
      clientSoftwareVersion: "3.7.0"
    })
    expect(hex(frame)).toBe(
      "00000028" + // size: 40
        "0012" + "0003" + "01020304" + // key 18, version 3, correlation id
        "0004" + "6b706178" + // client id "kpax": int16 length even in header v2
        "00" + // header tagged fields
        "12" + Buffer.from("apache-kafka-java").toString("hex") + // compact string: length + 1 = 18
        "06" + Buffer.from("3.7.0").toString("hex") +
        "00" // body tagged fields
    )
  })

  it("ApiVersions v0 request is an empty body; v1 header without tagged fields", () => {
    expect(hex(encodeRequestFrame(ApiVersions, 0, 7, null, {}))).toBe("0000000a" + "0012" + "0000" + "00000007" + "ffff")
  })

  const metadataV12 = bytesOf(`
    00000000
    02 00000001 0a 6c6f63616c686f7374 00002384 00 00
    04 616263
    00000001
    02 0000 02 74 0102030405060708090a0b0c0d0e0f10 00
       02 0000 00000000 00000001 00000005 02 00000001 02 00000001 01 00
       80000000 00
    00`)
  const metadataV12Value = {
    throttleTimeMs: 0,
    errorCode: 0,
    brokers: [{ nodeId: 1, host: "localhost", port: 9092, rack: null }],
    clusterId: "abc",
    controllerId: 1,
    topics: [{
      errorCode: 0,
      name: "t",
      topicId: "AQIDBAUGBwgJCgsMDQ4PEA",
      isInternal: false,
      partitions: [{
        errorCode: 0,
        partitionIndex: 0,
        leaderId: 1,
        leaderEpoch: 5,
        replicaNodes: [1],
        isrNodes: [1],
        offlineReplicas: []
      }],
      topicAuthorizedOperations: -2147483648
    }],
    clusterAuthorizedOperations: -2147483648
  }

  it("Metadata v12 response decodes from hand-assembled bytes and encodes back to them", () => {
    const decoded = decodeResponseBody(Metadata, 12, metadataV12, 0)
    expect(Result.isSuccess(decoded) && decoded.success).toStrictEqual(metadataV12Value)
    expect(hex(encodeWith(Metadata.encodeResponse, 12, metadataV12Value))).toBe(hex(metadataV12))
  })

  it("truncated Metadata v12 responses fail with a DecodeError at the right offset", () => {
    for (let n = 0; n < metadataV12.length; n++) {
      const r = decodeResponseBody(Metadata, 12, metadataV12.subarray(0, n), 0)
      expect(Result.isFailure(r)).toBe(true)
      if (Result.isFailure(r)) {
        expect(r.failure._tag).toBe("DecodeError")
        expect(r.failure.api).toBe("Metadata")
        expect(r.failure.offset).toBeLessThanOrEqual(n)
      }
    }
  })

  it("tagged fields: written only when not default, unknown tags skipped, wrong sizes rejected", () => {
    const res = {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: 7n,
      finalizedFeatures: [],
      zkMigrationReady: false
    }
    const body = encodeWith(ApiVersions.encodeResponse, 3, res)
    // error 0000, compact array of 1, key/min/max, its tags, throttle, then 1 tag: tag 1, size 8, int64 7
    expect(hex(body)).toBe("0000" + "02" + "0012" + "0000" + "0004" + "00" + "00000000" + "01" + "01" + "08" + "0000000000000007")
    // an unknown tag 9 (3 bytes) before the known one is skipped
    const withUnknown = bytesOf(
      "0000 02 0012 0000 0004 00 00000000 02 09 03 aabbcc 01 08 0000000000000007"
    )
    expect(ApiVersions.decodeResponse(new Reader(withUnknown), 3)).toStrictEqual(res)
    // a known tag whose size disagrees with its content is rejected
    const badSize = bytesOf("0000 02 0012 0000 0004 00 00000000 01 01 09 0000000000000007 00")
    expect(Result.isFailure(decodeResponseBody(ApiVersions, 3, badSize, 0))).toBe(true)
  })

  it("a non-ignorable field the version lacks fails to encode; an ignorable one is dropped", () => {
    // AllowAutoTopicCreation (v4+) is not ignorable: false cannot be sent at v3, true (the default) can
    expect(() => encodeRequestFrame(Metadata, 3, 1, null, { topics: [], allowAutoTopicCreation: false })).toThrow(
      /allowAutoTopicCreation/
    )
    expect(() => encodeRequestFrame(Metadata, 3, 1, null, { topics: [], allowAutoTopicCreation: true })).not.toThrow()
    // MetadataRequestTopic.TopicId (v10+) is ignorable: dropped at v9
    const v9 = encodeRequestFrame(Metadata, 9, 1, null, { topics: [{ topicId: "AQIDBAUGBwgJCgsMDQ4PEA", name: "a" }] })
    const v9plain = encodeRequestFrame(Metadata, 9, 1, null, { topics: [{ name: "a" }] })
    expect(hex(v9)).toBe(hex(v9plain))
    // null topics means "all topics" from v1; v0 cannot carry it
    expect(() => encodeRequestFrame(Metadata, 0, 1, null, { topics: null })).toThrow(/null/)
    // versions outside the API's range
    expect(() => encodeRequestFrame(Metadata, Metadata.maxVersion + 1, 1, null, { topics: null })).toThrow(new RegExp(`version ${Metadata.maxVersion + 1}`))
  })

  it("Schema codecs per (api, version) validate, encode with the generated writer, and are cached", () => {
    const codec = requestCodec(Produce, 9)
    expect(requestCodec(Produce, 9)).toBe(codec)
    const req = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: "t", partitionData: [{ index: 0, records: new Uint8Array([1, 2, 3]) }] }]
    }
    const bytes = Schema.encodeSync(codec)(req)
    expect(hex(bytes)).toBe(hex(encodeWith(Produce.encodeRequest, 9, req)))
    expect(Schema.decodeSync(codec)(bytes)).toStrictEqual({ ...req, topicData: [{ ...req.topicData[0], topicId: "AAAAAAAAAAAAAAAAAAAAAA", partitionData: [{ index: 0, records: new Uint8Array([1, 2, 3]) }] }] })
    // out-of-range values are rejected by the Schema before encoding
    expect(() => Schema.encodeSync(codec)({ ...req, acks: 70000 })).toThrow()
    // undecodable bytes are a Schema failure, not an exception from the reader
    expect(Result.isFailure(Schema.decodeUnknownResult(responseCodec(Metadata, 12))(new Uint8Array([0, 0])))).toBe(true)
  })

  it("consumer protocol structures carry an int16 version; newer versions decode with the newest layout", () => {
    const sub = { topics: ["a", "b"], userData: null, ownedPartitions: [{ topic: "a", partitions: [0, 1] }], generationId: 3, rackId: "r1" }
    const bytes = encodeVersioned(ConsumerProtocolSubscription, 3, sub)
    expect(hex(bytes.subarray(0, 2))).toBe("0003")
    const back = decodeVersioned(ConsumerProtocolSubscription, bytes)
    expect(Result.isSuccess(back) && back.success).toStrictEqual({ version: 3, value: sub })
    // a future v9 with extra trailing fields is read as v3
    const future = new Uint8Array([0, 9, ...bytes.subarray(2), 0xde, 0xad])
    const f = decodeVersioned(ConsumerProtocolSubscription, future)
    expect(Result.isSuccess(f) && f.success).toStrictEqual({ version: 9, value: sub })
    const assignment = { assignedPartitions: [{ topic: "a", partitions: [2] }], userData: new Uint8Array([9]) }
    const a = decodeVersioned(ConsumerProtocolAssignment, encodeVersioned(ConsumerProtocolAssignment, 1, assignment))
    expect(Result.isSuccess(a) && a.success.value).toStrictEqual(assignment)
    expect(Result.isFailure(decodeVersioned(ConsumerProtocolAssignment, new Uint8Array([0, 1, 0, 0])))).toBe(true)
  })
})

// ---- Writer fast paths and the frame functions' scratch Writer ---------------------------------

/** xorshift32, seeded: reproducible inputs for the loops below. */
const xorshift = (seed: number) => () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>>= 0)
}

const UUID_TEXT = /^[A-Za-z0-9_-]{21}[AQgw]$/
const written = (f: (w: Writer) => void, capacity = 64): Uint8Array => {
  const w = new Writer(capacity)
  f(w)
  return w.finish()
}
const rejects = (f: (w: Writer) => void): boolean => {
  try {
    f(new Writer(16))
    return false
  } catch (e) {
    if (e instanceof EncodeFailure) return true
    throw e
  }
}
/** Whether two byte arrays share any memory. */
const overlap = (a: Uint8Array, b: Uint8Array): boolean =>
  a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength

describe("Writer", () => {
  it("uuid: 16 bytes from the base64url text, the zero uuid without decoding, anything else than the Schema's form rejected", () => {
    const next = xorshift(11)
    for (let k = 0; k < 2000; k++) {
      const bytes = Buffer.alloc(16)
      for (let i = 0; i < 16; i++) bytes[i] = next() & 0xff
      const text = bytes.toString("base64url")
      expect(hex(written((w) => w.uuid(text)))).toBe(bytes.toString("hex"))
      expect(new Reader(written((w) => w.uuid(text))).uuid()).toBe(text)
    }
    expect(hex(written((w) => w.uuid(ZERO_UUID)))).toBe("00".repeat(16))
    // the same text built at run time (not the interned literal) takes the general path
    expect(hex(written((w) => w.uuid("A".repeat(11) + "A".repeat(11))))).toBe("00".repeat(16))
    expect(hex(written((w) => w.uuid("_".repeat(21) + "w")))).toBe("ff".repeat(16))
    // random 22-character strings over the alphabet and its neighbours: accepted exactly when the Schema accepts them
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= .é\u0100\u{1F600}"
    const units = [...chars]
    let accepted = 0
    for (let k = 0; k < 20000; k++) {
      let s = ""
      // mostly valid characters, so that both outcomes are common
      for (let i = 0; i < 21; i++) s += next() % 40 === 0 ? units[64 + (next() % (units.length - 64))] : units[next() % 64]
      // the last character carries 2 bits: one of A, Q, g, w half of the time
      s += next() % 2 === 0 ? "AQgw"[next() % 4] : units[next() % units.length]
      const ok = UUID_TEXT.test(s)
      expect(rejects((w) => w.uuid(s)), s).toBe(!ok)
      if (ok) {
        accepted++
        expect(hex(written((w) => w.uuid(s)))).toBe(Buffer.from(s, "base64url").toString("hex"))
      }
    }
    expect(accepted).toBeGreaterThan(1000)
    expect(accepted).toBeLessThan(19000)
    for (const bad of ["", "A".repeat(21), "A".repeat(23), "A".repeat(21) + "B", "A".repeat(21) + "=", "+".repeat(21) + "A", "A".repeat(20) + "\u0141A"]) {
      expect(rejects((w) => w.uuid(bad)), bad).toBe(true)
    }
  })

  it("strings: the ASCII fast path and the UTF-8 path write the same bytes as Buffer does, at every length and prefix form", () => {
    const next = xorshift(5)
    const samples: Array<string> = ["", "a", "\u007f", "\u0080", "é", "\u{1F600}", "x".repeat(63), "x".repeat(64), "x".repeat(65), "y".repeat(200)]
    for (let k = 0; k < 500; k++) {
      const len = next() % 80
      let s = ""
      for (let i = 0; i < len; i++) s += String.fromCharCode(32 + (next() % 95))
      // one non-ASCII character at a random place in a third of them
      if (k % 3 === 0 && len > 0) {
        const at = next() % len
        s = s.slice(0, at) + ["é", "\u0100", "\u20ac", "\u{1F600}"][k % 4] + s.slice(at + 1)
      }
      samples.push(s)
    }
    for (const s of samples) {
      const utf8 = Buffer.from(s, "utf8")
      const n = utf8.length
      const int16 = Buffer.from([(n >> 8) & 0xff, n & 0xff]).toString("hex")
      const uvarint = hex(written((w) => w.uvarint(n + 1)))
      // a small starting capacity makes the fast path's ensure grow the buffer, and the fallback rewrite after it
      for (const capacity of [16, 4096]) {
        expect(hex(written((w) => w.string(s), capacity)), s).toBe(int16 + utf8.toString("hex"))
        expect(hex(written((w) => w.nullableString(s), capacity)), s).toBe(int16 + utf8.toString("hex"))
        expect(hex(written((w) => w.compactString(s), capacity)), s).toBe(uvarint + utf8.toString("hex"))
        expect(hex(written((w) => w.compactNullableString(s), capacity)), s).toBe(uvarint + utf8.toString("hex"))
        // after other bytes, so offsets are not 0
        expect(hex(written((w) => w.int8(7).compactString(s).int8(9), capacity)), s).toBe("07" + uvarint + utf8.toString("hex") + "09")
      }
      const r = new Reader(written((w) => w.string(s).compactString(s)))
      expect([r.string(), r.compactString()]).toEqual([s, s])
    }
  })

  it("takeCopy returns the written bytes at their exact size, owned, and rewinds the Writer for reuse", () => {
    const w = new Writer(16)
    const a = w.int32(1).int32(2).takeCopy()
    expect(w.offset).toBe(0)
    const b = w.int32(3).takeCopy()
    const c = w.takeCopy()
    expect([hex(a), hex(b), c.length]).toEqual(["0000000100000002", "00000003", 0])
    expect(overlap(a, b)).toBe(false)
    // growing past the first capacity keeps everything written
    const big = Buffer.alloc(5000, 0xab)
    expect(hex(w.raw(big).int8(1).takeCopy())).toBe(big.toString("hex") + "01")
    expect(w.capacity).toBeGreaterThanOrEqual(5001)
  })
})

describe("frame encoders (scratch Writer)", () => {
  const metadataRequest = (names: ReadonlyArray<string>) => ({ topics: names.map((name) => ({ name })), allowAutoTopicCreation: false })
  /** The frame assembled independently: a fresh Writer for the body, the header by hand. */
  const expectedFrame = (v: number, correlationId: number, clientId: string, req: Parameters<typeof Metadata.encodeRequest>[2]): string => {
    const body = encodeWith(Metadata.encodeRequest, v, req)
    const header = written((w) => w.int16(3).int16(v).int32(correlationId).nullableString(clientId))
    const tagged = v >= 9 ? "00" : ""
    const size = header.length + tagged.length / 2 + body.length
    return hex(written((w) => w.int32(size))) + hex(header) + tagged + hex(body)
  }

  it("two frames encoded back to back own their bytes: exact size, no shared memory, never overwritten", () => {
    const reqA = metadataRequest(Array.from({ length: 300 }, (_, i) => `topic-a-${i}`))
    const reqB = metadataRequest(["b"])
    for (const v of [6, 12]) {
      const a = encodeRequestFrame(Metadata, v, 1, "client", reqA)
      const aHex = hex(a)
      const b = encodeRequestFrame(Metadata, v, 2, "client", reqB)
      const c = encodeRequestFrame(Metadata, v, 3, "client", reqA)
      expect(aHex).toBe(expectedFrame(v, 1, "client", reqA))
      expect(hex(b)).toBe(expectedFrame(v, 2, "client", reqB))
      expect(hex(c)).toBe(expectedFrame(v, 3, "client", reqA))
      expect(hex(a)).toBe(aHex)
      expect([overlap(a, b), overlap(a, c), overlap(b, c)]).toEqual([false, false, false])
      expect(a.length).toBe(new DataView(a.buffer, a.byteOffset).getInt32(0) + 4)
    }
  })

  it("a frame larger than the scratch Writer keeps is returned without sharing memory with the next frames", () => {
    const records = new Uint8Array(1_500_000).fill(7)
    const req = { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "t", partitionData: [{ index: 0, records }] }] }
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
    const big = encodeRequestFrame(Produce, 9, 1, "c", req)
    const bigCopy = new Uint8Array(big)
    const small = encodeRequestFrame(Metadata, 12, 2, "c", metadataRequest(["x"]))
    const again = encodeRequestFrame(Produce, 9, 3, "c", req)
    expect(big.length).toBe(new DataView(big.buffer, big.byteOffset).getInt32(0) + 4)
    expect(big.length).toBeGreaterThan(records.length)
    expect(same(big, bigCopy)).toBe(true)
    expect(hex(small)).toBe(expectedFrame(12, 2, "c", metadataRequest(["x"])))
    // the same frame but for the correlation id (bytes 8-11)
    expect([same(again.subarray(0, 8), big.subarray(0, 8)), same(again.subarray(12), big.subarray(12)), hex(again.subarray(8, 12))]).toEqual([true, true, "00000003"])
    expect([overlap(big, small), overlap(big, again), overlap(small, again)]).toEqual([false, false, false])
  })

  it("is re-entrant: an encode started while another one is writing (a getter on the request) gets its own Writer", () => {
    const inner: Array<Uint8Array> = []
    const innerReq = metadataRequest(["inner-1", "inner-2"])
    const outerNames = Array.from({ length: 50 }, (_, i) => `outer-${i}`)
    const outerReq = {
      get topics() {
        inner.push(encodeRequestFrame(Metadata, 12, 9, "c", innerReq))
        return outerNames.map((name) => ({ name }))
      },
      allowAutoTopicCreation: false
    }
    const outer = encodeRequestFrame(Metadata, 12, 8, "c", outerReq)
    expect(inner.length).toBe(1)
    const after = encodeRequestFrame(Metadata, 12, 10, "c", innerReq)
    expect(hex(outer)).toBe(expectedFrame(12, 8, "c", metadataRequest(outerNames)))
    expect(hex(inner[0])).toBe(expectedFrame(12, 9, "c", innerReq))
    expect(hex(after)).toBe(expectedFrame(12, 10, "c", innerReq))
    expect([overlap(outer, inner[0]), overlap(outer, after), overlap(inner[0], after)]).toEqual([false, false, false])
  })

  it("a failed encode leaves nothing behind for the next frame", () => {
    expect(() => encodeRequestFrame(Metadata, 12, 1, "c", { topics: [{ name: "x".repeat(40000) }] })).toThrow(/exceeds/)
    expect(() => encodeRequestFrame(Metadata, 12, 1, "c", { topics: [{ name: "a", topicId: "not a uuid" }] })).toThrow(/uuid/)
    const req = metadataRequest(["a", "b"])
    expect(hex(encodeRequestFrame(Metadata, 12, 2, "c", req))).toBe(expectedFrame(12, 2, "c", req))
    const res = encodeResponseFrame(Metadata, 12, 5, metadataV12ValueForFrames)
    const body = hex(encodeWith(Metadata.encodeResponse, 12, metadataV12ValueForFrames))
    expect(hex(res)).toBe(hex(written((w) => w.int32(4 + 1 + body.length / 2))) + "00000005" + "00" + body)
  })
})

const metadataV12ValueForFrames = {
  throttleTimeMs: 0,
  errorCode: 0,
  brokers: [{ nodeId: 1, host: "localhost", port: 9092, rack: null }],
  clusterId: "abc",
  controllerId: 1,
  topics: [],
  clusterAuthorizedOperations: -2147483648
}

describe("Reader", () => {
  const failure = (f: () => unknown): string => {
    try {
      f()
    } catch (e) {
      if (e instanceof ReadFailure) return `${e.reason} (at ${e.offset})`
      throw e
    }
    return "no failure"
  }

  it("int32Array: classic and compact lengths, null, signed values, one check against the bytes remaining", () => {
    const values = [0, 1, -1, 2147483647, -2147483648, 123456789, -98765]
    for (const flex of [false, true]) {
      const len = (n: number) => (flex ? written((w) => w.uvarint(n + 1)) : written((w) => w.int32(n)))
      const body = written((w) => values.forEach((x) => w.int32(x)))
      const bytes = new Uint8Array([...len(values.length), ...body, 0xee])
      const r = new Reader(bytes)
      expect(r.int32Array(flex)).toEqual(values)
      expect(r.remaining).toBe(1)
      // the null array, an empty one
      expect(new Reader(len(-1)).int32Array(flex)).toBe(null)
      expect(new Reader(len(0)).int32Array(flex)).toEqual([])
      // one element short: fails before allocating, at the first element's offset
      const short = new Uint8Array([...len(values.length), ...body.subarray(0, body.length - 1)])
      expect(failure(() => new Reader(short).int32Array(flex))).toBe(`array of 7 elements exceeds 27 remaining bytes (at ${len(7).length})`)
      // a huge bogus length fails without allocating
      expect(failure(() => new Reader(len(0x7ffffff0)).int32Array(flex))).toMatch(/^array of 2147483632 elements exceeds 0 remaining bytes/)
    }
    expect(failure(() => new Reader(written((w) => w.int32(-2))).int32Array(false))).toBe("invalid array length -2 (at 4)")
    expect(failure(() => new Reader(new Uint8Array([0, 0, 1])).int32Array(false))).toBe("need 4 bytes for int32 (at 0)")
  })

  it("int16/uint16/int32 read big-endian two's complement, within the reader's window", () => {
    const bytes = new Uint8Array([0x99, 0x80, 0x00, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x42])
    const r = new Reader(bytes, 1, 13)
    expect([r.int16(), r.uint16(), r.int32(), r.int32()]).toEqual([-32768, 0xfffe, -2147483648, 2147483647])
    expect(failure(() => r.int16())).toBe("need 2 bytes for int16 (at 13)")
  })
})

describe("request prechecks (the Broker's validation fast path)", () => {
  /** One random corruption somewhere in `x`: a value the Schema may or may not accept. */
  const corrupt = (x: unknown, next: () => number): unknown => {
    const bad = [-1, 2 ** 31, -(2 ** 31) - 1, 70000, 1.5, NaN, Infinity, -0, 2n ** 63n, "x", "\ud800", "a\udc00b", "\ud83d\ude00", "A".repeat(22), "A".repeat(21) + "B", "x".repeat(10923), null, undefined, true, [], {}, new Uint8Array(1), [1, "2"]]
    const pick = () => bad[next() % bad.length]
    if (x === null || typeof x !== "object" || x instanceof Uint8Array) return pick()
    if (Array.isArray(x)) {
      if (x.length === 0 || next() % 4 === 0) return next() % 2 === 0 ? pick() : [...x, pick()]
      const i = next() % x.length
      return x.map((e, j) => (j === i ? corrupt(e, next) : e))
    }
    const keys = Object.keys(x)
    if (keys.length === 0 || next() % 5 === 0) return next() % 2 === 0 ? pick() : { ...x, [keys[0] ?? "extra"]: pick() }
    const k = keys[next() % keys.length]
    const out: Record<string, unknown> = { ...x }
    if (next() % 6 === 0) delete out[k]
    else out[k] = corrupt(out[k], next)
    return out
  }

  for (const api of allApis) {
    it.prop(
      `${api.name}: true only for requests the Schema accepts, and for most valid ones`,
      { x: api.Request, seed: Schema.Int },
      ({ x, seed }) => {
        const precheck = requestPrechecks[api.key]
        const accepts = (y: unknown) => Exit.isSuccess(Schema.encodeExit(api.Request as Schema.Codec<unknown>)(y))
        // every drawn request is valid; the precheck vouches for it unless a string has a (valid) surrogate pair or is long
        const strings = JSON.stringify(x, (_, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? null : v))
        if (!/[\ud800-\udfff]/.test(strings) && !/\\u[dD][89a-fA-F]/.test(strings)) expect(precheck(x), "valid request refused").toBe(true)
        const next = xorshift((seed | 0) || 1)
        for (let k = 0; k < 20; k++) {
          const y = corrupt(x, next)
          if (precheck(y) && !accepts(y)) throw new Error(`${api.name}: precheck accepts what the Schema rejects: ${String(JSON.stringify(y, (_, v) => (typeof v === "bigint" ? `${v}n` : v)))?.slice(0, 300)}`)
        }
      },
      { arbitrary: { runs: Math.max(10, RUNS / 2), size: 3 } }
    )
  }

  it("covers every API; other values than requests are left to the Schema", () => {
    for (const api of allApis) expect(typeof requestPrechecks[api.key]).toBe("function")
    const metadata = requestPrechecks[Metadata.key]
    expect(metadata({ topics: null })).toBe(true)
    expect(metadata({ topics: [{ name: "t", topicId: ZERO_UUID }], allowAutoTopicCreation: false })).toBe(true)
    for (const bad of [null, undefined, 7, "x", [], { topics: undefined }, { topics: [{ name: 7 }] }, { topics: [{ name: "t", topicId: "A".repeat(21) + "B" }] }, { topics: null, allowAutoTopicCreation: undefined }, { topics: [{ name: "\ud800" }] }]) {
      expect(metadata(bad), JSON.stringify(bad)).toBe(false)
    }
  })
})
