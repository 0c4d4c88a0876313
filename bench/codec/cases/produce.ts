/**
 * A whole Produce v7 request frame from records: 10 partitions × 1 batch of 100 records (the
 * same record shape as the batch cases), compression none. Each client goes from its producer's
 * record shape to the bytes it writes to the socket, as its producer does: kpax encodes one batch
 * per partition (`encodeRecordBatchSync`) and the frame (`encodeRequestFrameResult`); kafkajs
 * `request.js` over `produce/v7/request`; @platformatic/kafka `produceV7.createRequest` plus the
 * header its `Connection#send` adds. The three frames are checked to be byte-identical.
 */
import { Result } from "effect"
import { validateRequest } from "../../../src/Connection/internal/Validation.ts"
import { encodeRequestFrameResult } from "../../../src/Protocol/Frame.ts"
import { Produce } from "../../../src/Protocol/generated/Produce.ts"
import type { ProduceRequest } from "../../../src/Protocol/generated/Produce.ts"
import { encodeRecordBatchSync } from "../../../src/Protocol/RecordBatch.ts"
import type { Case, NotApplicable, Subject } from "../harness.ts"
import { kafkajsMessages, kpaxRecords, makeRecords, platMessages } from "../inputs.ts"
import { KRequest, kafkajsRequest, pFrame, pProduceV7 } from "../peers.ts"

const PARTITIONS = 10
const PER_PARTITION = 100
const TOPIC = "bench-topic"

const fail = (msg: string): never => {
  throw new Error(msg)
}

export const produceCases = async (): Promise<{ cases: Array<Case>; notes: Array<string> }> => {
  const parts = Array.from({ length: PARTITIONS }, (_, p) => makeRecords(PER_PARTITION, 1000 + p))
  const kin = parts.map(kpaxRecords)
  const pin = parts.flatMap((recs, p) => platMessages(recs, TOPIC, p))
  const kjs = parts.map(kafkajsMessages)

  const kpaxRequest = (): ProduceRequest => ({
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{
      name: TOPIC,
      partitionData: kin.map((records, index) => ({
        index,
        records: encodeRecordBatchSync(records, { partitionLeaderEpoch: 0, producerEpoch: 0, baseSequence: 0 })
      }))
    }]
  })
  const kpaxFrame = () => {
    const r = encodeRequestFrameResult(Produce, 7, 7, "bench-client", kpaxRequest())
    return Result.isSuccess(r) ? r.success : fail("encode")
  }
  const kpaxValidated = () => {
    const req = kpaxRequest()
    if (validateRequest(Produce, 7, req) !== undefined) fail("invalid")
    const r = encodeRequestFrameResult(Produce, 7, 7, "bench-client", req)
    return Result.isSuccess(r) ? r.success : fail("encode")
  }
  const platFrame = () => pFrame(0, 7, 7, "bench-client", false, pProduceV7.createRequest(-1, 30000, pin, {}))
  const kjsFrame = async () =>
    (await KRequest({
      correlationId: 7,
      clientId: "bench-client",
      request: kafkajsRequest("produce/v7")({
        acks: -1,
        timeout: 30000,
        topicData: [{ topic: TOPIC, partitions: kjs.map((messages, partition) => ({ partition, messages })) }]
      })
    })).buffer

  const ours = Buffer.from(kpaxFrame())
  const samePlat = Buffer.compare(ours, platFrame()) === 0
  const sameKjs = Buffer.compare(ours, await kjsFrame()) === 0
  if (!samePlat || !sameKjs) fail(`Produce frames differ: platformatic ${samePlat}, kafkajs ${sameKjs}`)

  const subjects: Array<Subject | NotApplicable> = [
    { name: "kpax (batches + frame)", run: kpaxFrame },
    { name: "kafkajs", async: true, run: kjsFrame },
    { name: "@platformatic/kafka", run: platFrame },
    { name: "kpax + Broker's Schema validation", run: kpaxValidated }
  ]
  return {
    cases: [{
      id: "produce-v7",
      title: `Produce v7 request frame, ${PARTITIONS} partitions × 1 batch × ${PER_PARTITION} records, none`,
      bytes: ours.length,
      bytesNote: "the frame",
      subjects,
      kpax: subjects[0].name,
      peers: ["kafkajs", "@platformatic/kafka"]
    }],
    notes: [`Produce v7 frame: ${ours.length} bytes, identical across the three clients`]
  }
}
