/**
 * Produce request frames as scatter-gather parts: the request header and the small fields go in
 * one buffer, each record batch of at least `INLINE_MAX` bytes is referenced as it is (no copy).
 * The transport writes the parts back to back (corked: one `writev`), so the bytes on the wire
 * are exactly those of `encodeRequestFrame(Produce, …)` without copying every batch into a
 * growing frame buffer.
 *
 * @internal
 */
import { Result } from "effect"
import type { EncodeError } from "../DecodeError.ts"
import { encodeRequestFrameResult } from "../Frame.ts"
import { Produce } from "../generated/Produce.ts"
import type { ProduceRequest } from "../generated/Produce.ts"
import { ZERO_UUID } from "./Primitives.ts"
import { Writer } from "./Writer.ts"

/**
 * A whole request frame (size prefix included) as parts to write in order; `length` is the total
 * number of bytes, as for a `Uint8Array` frame.
 *
 * @example
 * ```ts
 * const frame = new FrameParts([head, batch, tail], head.length + batch.length + tail.length)
 * for (const p of frame.parts) socket.write(p)
 * ```
 */
export class FrameParts {
  readonly parts: ReadonlyArray<Uint8Array>
  readonly length: number
  constructor(parts: ReadonlyArray<Uint8Array>, length: number) {
    this.parts = parts
    this.length = length
  }
}

/** A frame as the transport writes it: one buffer, or parts. */
export type FrameBytes = Uint8Array | FrameParts

/** Record batches shorter than this are copied into the frame (a separate write costs more). */
export const INLINE_MAX = 1024

/** The parts of a frame in one buffer (tests, the in-memory paths). */
export const concatFrame = (frame: FrameBytes): Uint8Array => {
  if (!(frame instanceof FrameParts)) return frame
  const out = Buffer.allocUnsafe(frame.length)
  let p = 0
  for (const part of frame.parts) {
    out.set(part, p)
    p += part.length
  }
  return out
}

/**
 * Encodes a Produce request frame (versions 3–13; v13 addresses topics by id) as parts; any other version, or a request the
 * fast path does not handle, goes through `encodeRequestFrameResult` (one buffer, its typed errors).
 */
export const encodeProduceFrame = (
  version: number,
  correlationId: number,
  clientId: string | null,
  req: ProduceRequest
): Result.Result<FrameBytes, EncodeError> => {
  if (!(version >= 3 && version <= Produce.maxVersion)) return encodeRequestFrameResult(Produce, version, correlationId, clientId, req)
  const flex = version >= Produce.flexibleVersion
  const w = new Writer(256)
  /** Writer offsets after which a referenced batch goes, and the batches. */
  const cuts: Array<number> = []
  const batches: Array<Uint8Array> = []
  let external = 0
  try {
    const size = w.reserve(4)
    w.int16(Produce.key).int16(version).int32(correlationId)
    w.nullableString(clientId)
    if (flex) w.emptyTaggedFields()
    w.flexNullableString(flex, req.transactionalId === undefined ? null : req.transactionalId)
    w.int16(req.acks)
    w.int32(req.timeoutMs)
    const topics = req.topicData
    w.flexArrayLength(flex, topics.length)
    for (let t = 0; t < topics.length; t++) {
      const topic = topics[t]
      if (version >= 13) w.uuid(topic.topicId === undefined ? ZERO_UUID : topic.topicId)
      else w.flexString(flex, topic.name === undefined ? "" : topic.name)
      const parts = topic.partitionData
      w.flexArrayLength(flex, parts.length)
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]
        w.int32(p.index)
        const records = p.records
        if (records === null || records.length < INLINE_MAX) w.flexNullableBytes(flex, records)
        else {
          if (flex) w.uvarint(records.length + 1)
          else w.int32(records.length)
          cuts.push(w.offset)
          batches.push(records)
          external += records.length
        }
        if (flex) w.emptyTaggedFields()
      }
      if (flex) w.emptyTaggedFields()
    }
    if (flex) w.emptyTaggedFields()
    w.setInt32At(size, w.offset + external - size - 4)
  } catch {
    return encodeRequestFrameResult(Produce, version, correlationId, clientId, req)
  }
  const total = w.offset + external
  const own = w.finish()
  if (batches.length === 0) return Result.succeed(own)
  const out: Array<Uint8Array> = []
  let from = 0
  for (let i = 0; i < batches.length; i++) {
    out.push(own.subarray(from, cuts[i]))
    out.push(batches[i])
    from = cuts[i]
  }
  if (from < own.length) out.push(own.subarray(from))
  return Result.succeed(new FrameParts(out, total))
}
