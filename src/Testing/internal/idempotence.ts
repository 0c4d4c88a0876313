/**
 * Per-partition producer state, as a broker keeps it for idempotent and transactional producers:
 * the producer's epoch and the last five batches it wrote (sequence range and offsets), so a batch
 * sent again is answered with its original offset and a gap or reordering is refused.
 *
 * @internal
 */
import { ErrorCode } from "../../Protocol/Errors.ts"

const MAX_SEQUENCE = 0x7fffffff
/** Batches remembered per producer (Kafka's `NUM_BATCHES_TO_RETAIN`). */
const RETAINED = 5

export interface BatchMetadata {
  readonly firstSequence: number
  readonly lastSequence: number
  readonly firstOffset: bigint
  readonly lastOffset: bigint
  readonly timestamp: number
}

export interface ProducerEntry {
  epoch: number
  batches: Array<BatchMetadata>
}

/** What to do with an incoming batch of a producer. */
export type SequenceCheck =
  | { readonly _tag: "Append" }
  | { readonly _tag: "Duplicate"; readonly batch: BatchMetadata }
  | { readonly _tag: "Error"; readonly code: number; readonly message: string }

export const lastSequenceOf = (baseSequence: number, count: number): number =>
  count === 0 ? baseSequence : (baseSequence + count - 1) % (MAX_SEQUENCE + 1)

const inSequence = (last: number, next: number): boolean =>
  next === last + 1 || (next === 0 && last === MAX_SEQUENCE)

/**
 * Checks a batch against the producer's state (`entry` undefined: nothing known about the
 * producer on this partition, any sequence is accepted, as Kafka does since KIP-360).
 */
export const checkSequence = (
  entry: ProducerEntry | undefined,
  producerId: bigint,
  epoch: number,
  firstSequence: number,
  lastSequence: number
): SequenceCheck => {
  if (entry === undefined) return { _tag: "Append" }
  if (epoch < entry.epoch) {
    return {
      _tag: "Error",
      code: ErrorCode.INVALID_PRODUCER_EPOCH,
      message: `producer ${producerId} epoch ${epoch} is older than the current epoch ${entry.epoch}`
    }
  }
  if (epoch === entry.epoch) {
    for (const b of entry.batches) {
      if (b.firstSequence === firstSequence && b.lastSequence === lastSequence) return { _tag: "Duplicate", batch: b }
    }
  }
  if (epoch > entry.epoch) {
    if (firstSequence !== 0) {
      return {
        _tag: "Error",
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `invalid sequence number for new epoch ${epoch} of producer ${producerId}: ${firstSequence} (expected 0)`
      }
    }
    return { _tag: "Append" }
  }
  const last = entry.batches.length > 0 ? entry.batches[entry.batches.length - 1].lastSequence : -1
  if (last >= 0 && !inSequence(last, firstSequence)) {
    return {
      _tag: "Error",
      code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `out of order sequence number for producer ${producerId} epoch ${epoch}: ${firstSequence} (expected ${(last + 1) % (MAX_SEQUENCE + 1)})`
    }
  }
  return { _tag: "Append" }
}

/** Records an appended batch in the producer's state. */
export const recordBatch = (
  producers: Map<bigint, ProducerEntry>,
  producerId: bigint,
  epoch: number,
  batch: BatchMetadata
): void => {
  let entry = producers.get(producerId)
  if (entry === undefined) {
    entry = { epoch, batches: [] }
    producers.set(producerId, entry)
  }
  if (epoch > entry.epoch) {
    entry.epoch = epoch
    entry.batches = []
  }
  entry.batches.push(batch)
  if (entry.batches.length > RETAINED) entry.batches.shift()
}

/** A transaction marker: a newer epoch (a fenced producer) replaces the producer's state. */
export const recordMarker = (producers: Map<bigint, ProducerEntry>, producerId: bigint, epoch: number): void => {
  const entry = producers.get(producerId)
  if (entry === undefined) producers.set(producerId, { epoch, batches: [] })
  else if (epoch > entry.epoch) {
    entry.epoch = epoch
    entry.batches = []
  }
}
