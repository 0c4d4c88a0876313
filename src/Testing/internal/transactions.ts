/**
 * The transaction coordinator: transactional id → producer id and epoch, the partitions and
 * groups of the open transaction, transactional offsets held until commit, markers written on
 * EndTxn (COMMIT/ABORT control batches, which move each partition's last stable offset), epoch
 * bumps that fence older producers, and aborts on transaction timeout. As in Kafka, EndTxn may
 * answer before the markers are written (`markerDelayMs`): meanwhile the transaction is
 * PrepareCommit/PrepareAbort, the coordinator answers CONCURRENT_TRANSACTIONS, read_committed
 * readers still stop at it, and its offsets are not yet visible.
 *
 * @internal
 */
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { CommittedOffset, OffsetStore } from "./offsets.ts"
import { tpKey } from "./offsets.ts"
import type { Scheduler, Timer } from "./scheduler.ts"
import type { ClusterState, PartitionState } from "./state.ts"

export type TxnStatus = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort"

export interface Transaction {
  readonly transactionalId: string
  producerId: bigint
  epoch: number
  timeoutMs: number
  status: TxnStatus
  readonly partitions: Set<PartitionState>
  readonly groups: Set<string>
  /** group → topic-partition → offset, applied on commit. */
  readonly pendingOffsets: Map<string, Map<string, { readonly topic: string; readonly partition: number; readonly offset: CommittedOffset }>>
  timer: Timer | undefined
}

const MAX_EPOCH = 32766
/** Kafka's `transaction.max.timeout.ms` default. */
export const MAX_TRANSACTION_TIMEOUT_MS = 900_000

export interface IdAndEpoch {
  readonly code: number
  readonly producerId: bigint
  readonly epoch: number
}

export class TransactionCoordinator {
  readonly txns = new Map<string, Transaction>()
  private readonly byProducer = new Map<bigint, Transaction>()
  private readonly state: ClusterState
  private readonly scheduler: Scheduler
  private readonly offsets: OffsetStore
  private readonly markerDelayMs: number

  constructor(state: ClusterState, scheduler: Scheduler, offsets: OffsetStore, markerDelayMs = 0) {
    this.state = state
    this.scheduler = scheduler
    this.offsets = offsets
    this.markerDelayMs = markerDelayMs
  }

  /** Ends the open transaction: markers now, or after `markerDelayMs` (Prepare* meanwhile). */
  private finish(t: Transaction, commit: boolean, markerEpoch: number): void {
    if (this.markerDelayMs <= 0) return this.complete(t, commit, markerEpoch)
    t.timer?.cancel()
    t.status = commit ? "PrepareCommit" : "PrepareAbort"
    t.timer = this.scheduler.after(this.markerDelayMs, () => {
      t.timer = undefined
      if (t.status === (commit ? "PrepareCommit" : "PrepareAbort")) this.complete(t, commit, markerEpoch)
    })
  }

  private preparing(t: Transaction): boolean {
    return t.status === "PrepareCommit" || t.status === "PrepareAbort"
  }

  private setProducer(t: Transaction, producerId: bigint, epoch: number): void {
    if (this.byProducer.get(t.producerId) === t) this.byProducer.delete(t.producerId)
    t.producerId = producerId
    t.epoch = epoch
    this.byProducer.set(producerId, t)
  }

  private bump(t: Transaction): void {
    if (t.epoch >= MAX_EPOCH) this.setProducer(t, this.state.allocateProducerId(), 0)
    else t.epoch++
  }

  /** Writes the markers and settles the open transaction. */
  private complete(t: Transaction, commit: boolean, markerEpoch: number): void {
    t.timer?.cancel()
    t.timer = undefined
    const now = this.scheduler.now()
    for (const p of t.partitions) p.log.writeMarker(t.producerId, markerEpoch, commit, 0, p.leaderEpoch, now)
    if (commit) {
      for (const [group, offsets] of t.pendingOffsets) {
        for (const o of offsets.values()) this.offsets.commit(group, o.topic, o.partition, o.offset)
      }
    }
    t.partitions.clear()
    t.groups.clear()
    t.pendingOffsets.clear()
    t.status = commit ? "CompleteCommit" : "CompleteAbort"
  }

  /** Aborts an open transaction under a bumped epoch: the producer that had it is fenced. */
  private fenceAndAbort(t: Transaction): void {
    this.complete(t, false, t.epoch + 1)
    this.bump(t)
  }

  initProducerId(transactionalId: string, timeoutMs: number, producerId: bigint, epoch: number): IdAndEpoch {
    if (timeoutMs <= 0 || timeoutMs > MAX_TRANSACTION_TIMEOUT_MS) {
      return { code: ErrorCode.INVALID_TRANSACTION_TIMEOUT, producerId: -1n, epoch: -1 }
    }
    let t = this.txns.get(transactionalId)
    if (t === undefined) {
      t = {
        transactionalId,
        producerId: -1n,
        epoch: 0,
        timeoutMs,
        status: "Empty",
        partitions: new Set(),
        groups: new Set(),
        pendingOffsets: new Map(),
        timer: undefined
      }
      this.txns.set(transactionalId, t)
      this.setProducer(t, this.state.allocateProducerId(), 0)
      return { code: 0, producerId: t.producerId, epoch: t.epoch }
    }
    if (this.preparing(t)) return { code: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: -1n, epoch: -1 }
    if (producerId >= 0n && (producerId !== t.producerId || epoch !== t.epoch)) {
      return { code: ErrorCode.PRODUCER_FENCED, producerId: -1n, epoch: -1 }
    }
    t.timeoutMs = timeoutMs
    if (t.status === "Ongoing") this.complete(t, false, t.epoch + 1)
    this.bump(t)
    t.status = "Empty"
    return { code: 0, producerId: t.producerId, epoch: t.epoch }
  }

  /** The transaction of a request, or the error code the coordinator answers. */
  private check(transactionalId: string, producerId: bigint, epoch: number): Transaction | number {
    const t = this.txns.get(transactionalId)
    if (t === undefined || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (t.epoch !== epoch) return ErrorCode.PRODUCER_FENCED
    if (this.preparing(t)) return ErrorCode.CONCURRENT_TRANSACTIONS
    return t
  }

  private begin(t: Transaction): void {
    if (t.status === "Ongoing") return
    t.status = "Ongoing"
    const pid = t.producerId
    const epoch = t.epoch
    t.timer = this.scheduler.after(t.timeoutMs, () => {
      t.timer = undefined
      if (t.status === "Ongoing" && t.producerId === pid && t.epoch === epoch) this.fenceAndAbort(t)
    })
  }

  /** Error code per partition (all the same on a request-level failure). */
  addPartitions(
    transactionalId: string,
    producerId: bigint,
    epoch: number,
    partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>,
    verifyOnly: boolean
  ): Array<number> {
    const t = this.check(transactionalId, producerId, epoch)
    if (typeof t === "number") return partitions.map(() => t)
    const resolved = partitions.map((tp) => this.state.partition(tp.topic, tp.partition))
    if (resolved.some((p) => p === undefined)) {
      return resolved.map((p) => (p === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED))
    }
    if (verifyOnly) return resolved.map((p) => (t.status === "Ongoing" && t.partitions.has(p!) ? 0 : ErrorCode.INVALID_TXN_STATE))
    this.begin(t)
    for (const p of resolved) t.partitions.add(p!)
    return resolved.map(() => 0)
  }

  addOffsets(transactionalId: string, producerId: bigint, epoch: number, groupId: string): number {
    const t = this.check(transactionalId, producerId, epoch)
    if (typeof t === "number") return t
    this.begin(t)
    t.groups.add(groupId)
    return 0
  }

  /** Transactional offsets (the group coordinator's side of TxnOffsetCommit). */
  txnOffsetCommit(
    transactionalId: string,
    producerId: bigint,
    epoch: number,
    groupId: string,
    offsets: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly offset: CommittedOffset }>
  ): number {
    const t = this.txns.get(transactionalId)
    if (t === undefined || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (epoch < t.epoch) return ErrorCode.PRODUCER_FENCED
    if (t.status !== "Ongoing" || !t.groups.has(groupId)) return ErrorCode.INVALID_TXN_STATE
    let m = t.pendingOffsets.get(groupId)
    if (m === undefined) {
      m = new Map()
      t.pendingOffsets.set(groupId, m)
    }
    for (const o of offsets) m.set(tpKey(o.topic, o.partition), o)
    return 0
  }

  /** EndTxn; `bumpEpoch` for v5+ (KIP-890: a new epoch after every transaction). */
  endTxn(transactionalId: string, producerId: bigint, epoch: number, commit: boolean, bumpEpoch: boolean): IdAndEpoch {
    const t = this.txns.get(transactionalId)
    const failed = (code: number): IdAndEpoch => ({ code, producerId: -1n, epoch: -1 })
    if (t === undefined) return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    // a retried EndTxn of a v5 client arrives with the epoch before the bump
    const retriedBump = bumpEpoch && producerId === t.producerId && epoch === t.epoch - 1 &&
      (t.status === (commit ? "CompleteCommit" : "CompleteAbort"))
    if (retriedBump) return { code: 0, producerId: t.producerId, epoch: t.epoch }
    if (t.producerId !== producerId) return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    if (t.epoch !== epoch) return failed(ErrorCode.PRODUCER_FENCED)
    switch (t.status) {
      case "Ongoing":
        this.finish(t, commit, t.epoch)
        if (bumpEpoch) this.bump(t)
        return { code: 0, producerId: t.producerId, epoch: t.epoch }
      case "PrepareCommit":
      case "PrepareAbort":
        return failed((t.status === "PrepareCommit") === commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE)
      case "CompleteCommit":
      case "CompleteAbort":
        if ((t.status === "CompleteCommit") === commit) return { code: 0, producerId: t.producerId, epoch: t.epoch }
        return failed(ErrorCode.INVALID_TXN_STATE)
      case "Empty":
        return failed(ErrorCode.INVALID_TXN_STATE)
    }
  }

  /** May `producerId`/`epoch` write a transactional batch to `p`? 0 or an error code. */
  checkProduce(p: PartitionState, producerId: bigint, epoch: number): number {
    const t = this.byProducer.get(producerId)
    if (t === undefined) return ErrorCode.INVALID_TXN_STATE
    if (epoch < t.epoch) return ErrorCode.INVALID_PRODUCER_EPOCH
    if (t.status !== "Ongoing" || !t.partitions.has(p)) return ErrorCode.INVALID_TXN_STATE
    return 0
  }

  /** Is a transactional offset of `group` for this partition waiting for its transaction? */
  hasPendingOffset(group: string, topic: string, partition: number): boolean {
    for (const t of this.txns.values()) {
      if (t.pendingOffsets.get(group)?.has(tpKey(topic, partition)) === true) return true
    }
    return false
  }
}
