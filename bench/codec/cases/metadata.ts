/**
 * Metadata: decode a large response (1,000 topics × 10 partitions × 3 replicas, 5 brokers) at
 * v12 (kpax vs @platformatic/kafka, which implements v9–v12) and at v6 (kpax vs kafkajs, which
 * implements v0–v6); the same through kpax's Schema codec (`responseCodec`), to show what the
 * Schema layer costs per request; a small response (5 topics) for the fixed part of that cost.
 * Encode: the peers have no response encoders (they are clients), so the response encode is
 * kpax only; the request side (a Metadata request naming 1,000 topics, whole frame) is compared.
 */
import { Result, Schema } from "effect"
import { validateRequest } from "../../../src/Connection/internal/Validation.ts"
import { Metadata } from "../../../src/Protocol/generated/Metadata.ts"
import type { MetadataResponse } from "../../../src/Protocol/generated/Metadata.ts"
import { decodeResponseBody, encodeRequestFrameResult, responseCodec } from "../../../src/Protocol/Frame.ts"
import { Writer } from "../../../src/Protocol/internal/Writer.ts"
import type { Case, NotApplicable, Subject } from "../harness.ts"
import { LARGE_METADATA, SMALL_METADATA, makeMetadataRequest, makeMetadataResponse } from "../inputs.ts"
import type { MetadataShape } from "../inputs.ts"
import { KRequest, kafkajsMetadataDecode, kafkajsRequest, pFrame, pMetadataV12, pReader } from "../peers.ts"

const fail = (msg: string): never => {
  throw new Error(msg)
}

const encodeBody = (v: number, res: MetadataResponse): Buffer => {
  const w = new Writer(1024)
  Metadata.encodeResponse(w, v, res)
  const b = w.finish()
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

const kpaxDecode = (v: number, body: Uint8Array): MetadataResponse => {
  const r = decodeResponseBody(Metadata, v, body, 0)
  return Result.isSuccess(r) ? r.success : fail(`kpax decode: ${r.failure.message}`)
}

const sameReplicas = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.length === b.length && a.every((x, i) => x === b[i])

const shapeName = (s: MetadataShape) => `${s.topics} topics × ${s.partitions} partitions × ${s.replicas} replicas`

export const metadataCases = async (): Promise<{ cases: Array<Case>; notes: Array<string> }> => {
  const cases: Array<Case> = []
  const notes: Array<string> = []

  for (const [shape, tag] of [[LARGE_METADATA, ""], [SMALL_METADATA, "-small"]] as const) {
    // ---- v12: kpax vs @platformatic/kafka ----
    const res12 = makeMetadataResponse(shape, 12)
    const body12 = encodeBody(12, res12)
    const schema12 = Schema.decodeSync(responseCodec(Metadata, 12))
    {
      const k = kpaxDecode(12, body12)
      const p = pMetadataV12.parseResponse(1, 3, 12, pReader(body12))
      const s = schema12(body12)
      for (const [who, got] of [["kpax", k], ["kpax Schema", s]] as const) {
        if (JSON.stringify(got) !== JSON.stringify(res12)) fail(`${who}: v12 decode differs from the input`)
      }
      if (p.topics.length !== shape.topics || p.brokers.length !== shape.brokers) fail("platformatic: wrong counts")
      p.topics.forEach((t, i) => {
        const want = res12.topics[i]
        if (t.name !== want.name || Buffer.from(t.topicId.replaceAll("-", ""), "hex").toString("base64url") !== want.topicId) fail(`platformatic: topic ${i}`)
        t.partitions.forEach((q, j) => {
          const wp = want.partitions[j]
          if (q.leaderId !== wp.leaderId || q.leaderEpoch !== wp.leaderEpoch || !sameReplicas(q.replicaNodes, wp.replicaNodes) || !sameReplicas(q.isrNodes, wp.isrNodes)) {
            fail(`platformatic: topic ${i} partition ${j}`)
          }
        })
      })
    }
    const subjects12: Array<Subject | NotApplicable> = [
      { name: "kpax decodeResponseBody", run: () => kpaxDecode(12, body12).topics.length === shape.topics || fail("count") },
      { name: "kafkajs", na: "implements Metadata v0–v6 only (see the v6 case)" },
      { name: "@platformatic/kafka", run: () => pMetadataV12.parseResponse(1, 3, 12, pReader(body12)).topics.length === shape.topics || fail("count") },
      { name: "kpax through Schema (responseCodec)", run: () => schema12(body12).topics.length === shape.topics || fail("count") }
    ]
    cases.push({
      id: `metadata${tag}-decode-v12`,
      title: `Metadata v12 response decode, ${shapeName(shape)}`,
      bytes: body12.length,
      bytesNote: "the response body",
      subjects: subjects12,
      kpax: subjects12[0].name,
      peers: ["kafkajs", "@platformatic/kafka"]
    })
    notes.push(`Metadata v12 response (${shapeName(shape)}): ${body12.length} bytes`)

    if (tag !== "") continue

    // ---- v6: kpax vs kafkajs ----
    const res6 = makeMetadataResponse(shape, 6)
    const body6 = encodeBody(6, res6)
    const kjs6 = kafkajsMetadataDecode(6)
    {
      if (JSON.stringify(kpaxDecode(6, body6)) !== JSON.stringify(res6)) fail("kpax: v6 decode differs")
      const j = await kjs6(body6)
      if (j.topicMetadata.length !== shape.topics || j.brokers.length !== shape.brokers) fail("kafkajs: wrong counts")
      j.topicMetadata.forEach((t, i) => {
        const want = res6.topics[i]
        if (t.topic !== want.name) fail(`kafkajs: topic ${i}`)
        t.partitionMetadata.forEach((q, k) => {
          const wp = want.partitions[k]
          if (q.partitionId !== wp.partitionIndex || q.leader !== wp.leaderId || !sameReplicas(q.replicas, wp.replicaNodes) || !sameReplicas(q.isr, wp.isrNodes)) fail(`kafkajs: ${i}/${k}`)
        })
      })
    }
    const schema6 = Schema.decodeSync(responseCodec(Metadata, 6))
    const subjects6: Array<Subject | NotApplicable> = [
      { name: "kpax decodeResponseBody", run: () => kpaxDecode(6, body6).topics.length === shape.topics || fail("count") },
      { name: "kafkajs", async: true, run: async () => (await kjs6(body6)).topicMetadata.length === shape.topics || fail("count") },
      { name: "@platformatic/kafka", na: "implements Metadata v9–v12 only (see the v12 case)" },
      { name: "kpax through Schema (responseCodec)", run: () => schema6(body6).topics.length === shape.topics || fail("count") }
    ]
    cases.push({
      id: "metadata-decode-v6",
      title: `Metadata v6 response decode, ${shapeName(shape)}`,
      bytes: body6.length,
      bytesNote: "the response body",
      subjects: subjects6,
      kpax: subjects6[0].name,
      peers: ["kafkajs", "@platformatic/kafka"]
    })

    // ---- response encode: kpax only ----
    const schemaEncode12 = Schema.encodeSync(responseCodec(Metadata, 12))
    if (Buffer.compare(Buffer.from(schemaEncode12(res12)), body12) !== 0) fail("Schema encode differs")
    const encSubjects: Array<Subject | NotApplicable> = [
      { name: "kpax encodeResponse", run: () => encodeBody(12, res12).length },
      { name: "kafkajs", na: "no response encoders (client only)" },
      { name: "@platformatic/kafka", na: "no response encoders (client only)" },
      { name: "kpax through Schema (responseCodec)", run: () => schemaEncode12(res12).length }
    ]
    cases.push({
      id: "metadata-encode-v12",
      title: `Metadata v12 response encode, ${shapeName(shape)} (kpax only: test brokers)`,
      bytes: body12.length,
      bytesNote: "the response body",
      subjects: encSubjects
    })

    // ---- request frame encode, 1,000 topic names ----
    const req = makeMetadataRequest(shape.topics)
    const names = req.topics!.map((t) => t.name!)
    const kpaxFrame = (v: number) => () => {
      const r = encodeRequestFrameResult(Metadata, v, 7, "bench-client", req)
      return Result.isSuccess(r) ? r.success : fail("encode")
    }
    const platFrame = () => pFrame(3, 12, 7, "bench-client", true, pMetadataV12.createRequest(names, false, false))
    const kjsFrame = async () => (await KRequest({ correlationId: 7, clientId: "bench-client", request: kafkajsRequest("metadata/v6")({ topics: names, allowAutoTopicCreation: false }) })).buffer
    const same12 = Buffer.compare(Buffer.from(kpaxFrame(12)()), platFrame()) === 0
    const same6 = Buffer.compare(Buffer.from(kpaxFrame(6)()), await kjsFrame()) === 0
    if (!same12 || !same6) fail(`Metadata request frames differ: v12 ${same12}, v6 ${same6}`)
    notes.push(`Metadata request frames (${shape.topics} topics): v12 identical to @platformatic/kafka's, v6 identical to kafkajs's`)
    const validate = () => validateRequest(Metadata, 12, req) === undefined || fail("invalid")
    const reqV12: Array<Subject | NotApplicable> = [
      { name: "kpax encodeRequestFrame", run: kpaxFrame(12) },
      { name: "kafkajs", na: "implements Metadata v0–v6 only (see the v6 case)" },
      { name: "@platformatic/kafka", run: platFrame },
      { name: "kpax, Broker's Schema validation of the request", run: validate },
      { name: "kpax, validation + encode (Broker default path)", run: () => validate() && kpaxFrame(12)() }
    ]
    const frame12 = kpaxFrame(12)()
    cases.push({
      id: "metadata-request-v12",
      title: `Metadata v12 request frame encode, ${shape.topics} topics`,
      bytes: frame12.length,
      bytesNote: "the frame",
      subjects: reqV12,
      kpax: reqV12[0].name,
      peers: ["kafkajs", "@platformatic/kafka"]
    })
    const reqV6: Array<Subject | NotApplicable> = [
      { name: "kpax encodeRequestFrame", run: kpaxFrame(6) },
      { name: "kafkajs", async: true, run: kjsFrame },
      { name: "@platformatic/kafka", na: "implements Metadata v9–v12 only (see the v12 case)" }
    ]
    cases.push({
      id: "metadata-request-v6",
      title: `Metadata v6 request frame encode, ${shape.topics} topics`,
      bytes: kpaxFrame(6)().length,
      bytesNote: "the frame",
      subjects: reqV6,
      kpax: reqV6[0].name,
      peers: ["kafkajs", "@platformatic/kafka"]
    })
  }
  return { cases, notes }
}
