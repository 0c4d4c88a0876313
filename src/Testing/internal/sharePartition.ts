/**
 * One share-partition (KIP-932) at its leader: the share-partition start offset (SPSO), the
 * in-flight records between it and the end offset (SPEO) with their state (available, acquired,
 * acknowledged, archived), delivery count, owning member and acquisition-lock deadline. As the
 * Kafka broker's SharePartition: a fetch acquires available records (whole log batches when new),
 * each acquisition increments the delivery count and starts a lock; release or lock expiry makes a
 * record available again unless it reached the delivery limit (then archived); accept
 * acknowledges, reject and gap archive; renew restarts the lock. Acknowledging a record that is not
 * acquired by the acknowledging member is INVALID_RECORD_STATE (one below the SPSO, done with, is
 * skipped without error, as the 4.4 broker does), and a partition's
 * acknowledgements in one request apply all or nothing. The SPSO moves over acknowledged and
 * archived records.
 *
 * @internal
 */
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { PartitionLog } from "./log.ts"
import type { Scheduler } from "./scheduler.ts"
import { Wakeups } from "./wakeups.ts"

/** Delivery states of an in-flight record, with Kafka's codes. */
export const RecordState = { Available: 0, Acquired: 1, Acknowledged: 2, Archived: 4 } as const
export type RecordState = (typeof RecordState)[keyof typeof RecordState]

/** Acknowledge types of ShareFetch / ShareAcknowledge (0: gap, 1: accept, 2: release, 3: reject, 4: renew). */
export const AckType = { gap: 0, accept: 1, release: 2, reject: 3, renew: 4 } as const

interface InFlight {
  state: RecordState
  deliveryCount: number
  member: string
  /** Lock deadline (clock millis) while acquired. */
  deadline: number
}

/** An in-flight record of a share-partition, for inspection. */
export interface InFlightRecord {
  readonly offset: bigint
  readonly state: "available" | "acquired" | "acknowledged" | "archived"
  readonly deliveryCount: number
  /** The member holding it (acquired), else "". */
  readonly member: string
}

const STATE_NAMES = { 0: "available", 1: "acquired", 2: "acknowledged", 4: "archived" } as const

export interface AcquiredRange {
  readonly firstOffset: bigint
  readonly lastOffset: bigint
  readonly deliveryCount: number
}

export interface Acquisition {
  readonly ranges: ReadonlyArray<AcquiredRange>
  /** The stored batches holding the acquired records, concatenated (null when none). */
  readonly records: Buffer | null
}

export interface AckBatch {
  readonly firstOffset: bigint
  readonly lastOffset: bigint
  readonly acknowledgeTypes: ReadonlyArray<number>
}

/** What acquisition needs from the group's configuration, read at each fetch. */
export interface ShareLimits {
  readonly lockMs: number
  readonly deliveryCountLimit: number
  readonly maxRecordLocks: number
  /** `share.isolation.level=read_committed`: acquire up to the last stable offset, aborted transactions archived. */
  readonly readCommitted: boolean
}

export class SharePartition {
  /** The share-partition start offset; -1 until the first fetch initialises it. */
  startOffset = -1n
  /** The next offset never acquired yet (the share-partition end offset). */
  endOffset = -1n
  private readonly inFlight = new Map<bigint, InFlight>()
  private readonly wakeups = new Wakeups()
  private readonly scheduler: Scheduler
  private readonly limits: () => ShareLimits
  readonly log: () => PartitionLog | undefined

  constructor(scheduler: Scheduler, log: () => PartitionLog | undefined, limits: () => ShareLimits) {
    this.scheduler = scheduler
    this.log = log
    this.limits = limits
  }

  /** Sets the SPSO (initialisation, AlterShareGroupOffsets): forgets every in-flight record. */
  reset(offset: bigint): void {
    this.startOffset = offset
    this.endOffset = offset
    this.inFlight.clear()
    this.changed()
  }

  get initialised(): boolean {
    return this.startOffset >= 0n
  }

  /** Calls `f` once, when records may have become available (new records, releases, expiries). */
  onChange(f: () => void): () => void {
    return this.wakeups.on(f)
  }

  private changed(): void {
    this.wakeups.fire()
  }

  /** How many records are acquired right now. */
  acquiredCount(): number {
    let n = 0
    for (const r of this.inFlight.values()) if (r.state === RecordState.Acquired) n++
    return n
  }

  /** The in-flight records between the start and end offsets, in offset order. */
  inFlightRecords(): Array<InFlightRecord> {
    const out: Array<InFlightRecord> = []
    for (let o = this.startOffset; o < this.endOffset; o++) {
      const r = this.inFlight.get(o)
      if (r !== undefined) out.push({ offset: o, state: STATE_NAMES[r.state], deliveryCount: r.deliveryCount, member: r.member })
    }
    return out
  }

  /** Records acquired by `member` (for the describe helpers and tests). */
  acquiredBy(member: string): number {
    let n = 0
    for (const r of this.inFlight.values()) if (r.state === RecordState.Acquired && r.member === member) n++
    return n
  }

  /**
   * Acquires up to `maxRecords` for `member`: a soft limit (new records come as whole log batches,
   * ShareAcquireMode 0) unless `strict` (mode 1, record-limit: exactly at most `maxRecords`).
   */
  acquire(member: string, maxRecords: number, strict = false): Acquisition {
    const log = this.log()
    if (log === undefined || !this.initialised) return { ranges: [], records: null }
    const { lockMs, deliveryCountLimit, maxRecordLocks, readCommitted } = this.limits()
    const upTo = readCommitted ? log.lastStableOffset : log.highWatermark
    const now = this.scheduler.now()
    const taken: Array<bigint> = []
    let budget = Math.min(maxRecords, maxRecordLocks - this.acquiredCount())
    if (budget <= 0) return { ranges: [], records: null }
    if (this.startOffset < log.logStartOffset) this.moveStartTo(log.logStartOffset)
    // first what is available again (released, expired), in offset order
    for (let o = this.startOffset; o < this.endOffset && budget > 0; o++) {
      const r = this.inFlight.get(o)
      if (r === undefined || r.state !== RecordState.Available) continue
      if (r.deliveryCount >= deliveryCountLimit) {
        r.state = RecordState.Archived
        continue
      }
      r.state = RecordState.Acquired
      r.deliveryCount++
      r.member = member
      r.deadline = now + lockMs
      taken.push(o)
      budget--
    }
    // then new records from the log, whole batches
    if (budget > 0 && this.endOffset < upTo) {
      for (const b of log.batchesFrom(this.endOffset)) {
        if (budget <= 0 || b.lastOffset >= upTo) break
        const from = b.baseOffset > this.endOffset ? b.baseOffset : this.endOffset
        for (let o = this.endOffset; o < from; o++) this.inFlight.set(o, { state: RecordState.Archived, deliveryCount: 0, member: "", deadline: 0 })
        const skipped = b.isControl || (readCommitted && b.isTransactional &&
          log.aborted.some((a) => a.producerId === b.producerId && a.firstOffset <= b.baseOffset && a.lastOffset > b.baseOffset))
        let o = from
        for (; o <= b.lastOffset && !(strict && budget <= 0); o++) {
          if (skipped) {
            this.inFlight.set(o, { state: RecordState.Archived, deliveryCount: 0, member: "", deadline: 0 })
            continue
          }
          this.inFlight.set(o, { state: RecordState.Acquired, deliveryCount: 1, member, deadline: now + lockMs })
          taken.push(o)
          budget--
        }
        this.endOffset = o
      }
    }
    this.advance()
    if (taken.length === 0) return { ranges: [], records: null }
    taken.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    this.scheduler.after(lockMs, () => this.expire(taken))
    return { ranges: this.rangesOf(taken), records: this.bytesOf(log, taken) }
  }

  private rangesOf(offsets: ReadonlyArray<bigint>): Array<AcquiredRange> {
    const out: Array<AcquiredRange> = []
    let first = offsets[0]
    let last = first
    let count = this.inFlight.get(first)!.deliveryCount
    for (let i = 1; i < offsets.length; i++) {
      const o = offsets[i]
      const c = this.inFlight.get(o)!.deliveryCount
      if (o === last + 1n && c === count) {
        last = o
        continue
      }
      out.push({ firstOffset: first, lastOffset: last, deliveryCount: count })
      first = last = o
      count = c
    }
    out.push({ firstOffset: first, lastOffset: last, deliveryCount: count })
    return out
  }

  /** The stored batches holding the offsets just acquired (sorted), each once, in offset order. */
  private bytesOf(log: PartitionLog, taken: ReadonlyArray<bigint>): Buffer | null {
    const parts: Array<Buffer> = []
    let size = 0
    let i = 0
    for (const b of log.batchesFrom(taken[0])) {
      while (i < taken.length && taken[i] < b.baseOffset) i++
      if (i >= taken.length) break
      if (b.isControl || taken[i] > b.lastOffset) continue
      parts.push(b.bytes)
      size += b.bytes.length
      while (i < taken.length && taken[i] <= b.lastOffset) i++
    }
    return parts.length === 0 ? null : parts.length === 1 ? parts[0] : Buffer.concat(parts, size)
  }

  /** The lock timer of an acquisition: what is still acquired and past its deadline goes back. */
  private expire(offsets: ReadonlyArray<bigint>): void {
    const now = this.scheduler.now()
    const limit = this.limits().deliveryCountLimit
    let released = false
    for (const o of offsets) {
      const r = this.inFlight.get(o)
      if (r === undefined || r.state !== RecordState.Acquired || r.deadline > now) continue
      this.giveBack(r, limit)
      released = true
    }
    if (released) {
      this.advance()
      this.changed()
    }
  }

  private giveBack(r: InFlight, limit: number): void {
    r.state = r.deliveryCount >= limit ? RecordState.Archived : RecordState.Available
    r.member = ""
  }

  /**
   * Applies one partition's acknowledgements of `member`, all or nothing: 0, INVALID_REQUEST for a
   * malformed batch, or INVALID_RECORD_STATE for a record this member does not hold.
   */
  acknowledge(member: string, batches: ReadonlyArray<AckBatch>, renewAllowed = true): { readonly code: number; readonly message: string | null } {
    const updates: Array<{ r: InFlight; type: number }> = []
    for (const b of batches) {
      const n = b.lastOffset - b.firstOffset + 1n
      if (n <= 0n || (b.acknowledgeTypes.length !== 1 && BigInt(b.acknowledgeTypes.length) !== n)) {
        return { code: ErrorCode.INVALID_REQUEST, message: `acknowledgement batch ${b.firstOffset}-${b.lastOffset} has ${b.acknowledgeTypes.length} types` }
      }
      for (let o = b.firstOffset; o <= b.lastOffset; o++) {
        const type = b.acknowledgeTypes.length === 1 ? b.acknowledgeTypes[0] : b.acknowledgeTypes[Number(o - b.firstOffset)]
        if (type < AckType.gap || type > AckType.renew) return { code: ErrorCode.INVALID_REQUEST, message: `unknown acknowledge type ${type}` }
        if (type === AckType.renew && !renewAllowed) return { code: ErrorCode.INVALID_REQUEST, message: "a renew acknowledgement needs IsRenewAck" }
        // below the start offset everything is done with: skipped, no error (as the 4.4 broker
        // answers a late acceptance of a record another member already accepted)
        if (o < this.startOffset) continue
        const r = this.inFlight.get(o)
        if (r === undefined || r.state !== RecordState.Acquired) {
          return { code: ErrorCode.INVALID_RECORD_STATE, message: `the record at offset ${o} is not acquired` }
        }
        if (r.member !== member) return { code: ErrorCode.INVALID_RECORD_STATE, message: `the record at offset ${o} is acquired by another member` }
        updates.push({ r, type })
      }
    }
    const { lockMs, deliveryCountLimit } = this.limits()
    const now = this.scheduler.now()
    let released = false
    const renewed: Array<bigint> = []
    for (const b of batches) {
      for (let o = b.firstOffset < this.startOffset ? this.startOffset : b.firstOffset; o <= b.lastOffset; o++) {
        const r = this.inFlight.get(o)!
        const type = b.acknowledgeTypes.length === 1 ? b.acknowledgeTypes[0] : b.acknowledgeTypes[Number(o - b.firstOffset)]
        switch (type) {
          case AckType.accept:
            r.state = RecordState.Acknowledged
            break
          case AckType.release:
            this.giveBack(r, deliveryCountLimit)
            released = true
            break
          case AckType.renew:
            r.deadline = now + lockMs
            renewed.push(o)
            break
          default: // gap, reject
            r.state = RecordState.Archived
        }
        if (r.state !== RecordState.Acquired) r.member = ""
      }
    }
    if (renewed.length > 0) this.scheduler.after(lockMs, () => this.expire(renewed))
    this.advance()
    if (released) this.changed()
    return { code: 0, message: null }
  }

  /** Releases every record `member` holds (its share session closed or was replaced). */
  releaseAll(member: string): void {
    const limit = this.limits().deliveryCountLimit
    let released = false
    for (const r of this.inFlight.values()) {
      if (r.state === RecordState.Acquired && r.member === member) {
        this.giveBack(r, limit)
        released = true
      }
    }
    if (released) {
      this.advance()
      this.changed()
    }
  }

  /** Wakes waiting fetches (the log grew). */
  notify(): void {
    this.changed()
  }

  private moveStartTo(offset: bigint): void {
    for (let o = this.startOffset; o < offset; o++) this.inFlight.delete(o)
    this.startOffset = offset
    if (this.endOffset < offset) this.endOffset = offset
  }

  /** Moves the SPSO over acknowledged and archived records. */
  private advance(): void {
    let o = this.startOffset
    while (o < this.endOffset) {
      const r = this.inFlight.get(o)
      if (r !== undefined && r.state !== RecordState.Acknowledged && r.state !== RecordState.Archived) break
      this.inFlight.delete(o)
      o++
    }
    this.startOffset = o
  }
}
