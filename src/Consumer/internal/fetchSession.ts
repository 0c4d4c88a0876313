/**
 * Incremental fetch sessions (KIP-227), one per broker, as the Java client's `FetchSessionHandler`:
 * the first Fetch lists every partition and opens a session; later ones list only the partitions
 * that were added or changed (fetch offset, size, leader epoch) and forget the ones that left;
 * unchanged partitions stay in the session without being sent. Any session error, a failed
 * request or a change between topic names and topic ids falls back to a full fetch.
 *
 * Plain TypeScript: built per request, no Effect.
 *
 * @internal
 */
import { ErrorCode } from "../../Protocol/Errors.ts"
import type { FetchRequestForgottenTopic, FetchRequestTopic } from "../../Protocol/generated/Fetch.ts"

/** What the fetcher wants for a partition in the next request. */
export interface SessionPartition {
  readonly topic: string
  readonly topicId: string
  readonly partition: number
  readonly fetchOffset: bigint
  readonly partitionMaxBytes: number
  readonly currentLeaderEpoch: number
}

export interface SessionRequest {
  readonly sessionId: number
  readonly sessionEpoch: number
  readonly topics: Array<FetchRequestTopic>
  readonly forgottenTopicsData: Array<FetchRequestForgottenTopic>
  /** A full request (every partition listed). */
  readonly full: boolean
}

const INVALID_SESSION_ID = 0
const INITIAL_EPOCH = 0
const FINAL_EPOCH = -1

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`

const same = (a: SessionPartition, b: SessionPartition) =>
  a.fetchOffset === b.fetchOffset && a.partitionMaxBytes === b.partitionMaxBytes && a.currentLeaderEpoch === b.currentLeaderEpoch

export class FetchSession {
  /** Sessions requested at all (`false`: every request is a sessionless full fetch). */
  readonly enabled: boolean
  sessionId = INVALID_SESSION_ID
  epoch = INITIAL_EPOCH
  /** The partitions the broker holds in the session, in the order they were added. */
  private partitions = new Map<string, SessionPartition>()
  /** Topic names by id, for the session's partitions and the last request's. */
  private readonly names = new Map<string, string>()
  /** Whether the session was built with topic ids (Fetch v13+). */
  private usesIds = false
  /** The request being answered: full or incremental. */
  private pendingFull = true

  constructor(enabled: boolean) {
    this.enabled = enabled
  }

  /** The topic a response's topic id names (Fetch v13+). */
  topicName(topicId: string): string | undefined {
    return this.names.get(topicId)
  }

  /** The session's partitions (for tests and stats). */
  size(): number {
    return this.partitions.size
  }

  /**
   * The next request for the partitions `next` (the fetchable partitions of this broker, in
   * order), at Fetch `version`.
   */
  build(next: ReadonlyArray<SessionPartition>, version: number): SessionRequest {
    const useIds = version >= 13
    for (const p of next) if (p.topicId !== "") this.names.set(p.topicId, p.topic)
    if (!this.enabled || version < 7) {
      this.partitions = new Map()
      this.pendingFull = true
      return { sessionId: INVALID_SESSION_ID, sessionEpoch: FINAL_EPOCH, topics: group(next, useIds), forgottenTopicsData: [], full: true }
    }
    if (useIds !== this.usesIds) {
      // a session holds either names or ids: start over
      this.usesIds = useIds
      this.epoch = INITIAL_EPOCH
    }
    if (this.sessionId === INVALID_SESSION_ID || this.epoch === INITIAL_EPOCH) {
      this.partitions = new Map(next.map((p) => [keyOf(p.topic, p.partition), p]))
      this.pendingFull = true
      return { sessionId: this.sessionId, sessionEpoch: INITIAL_EPOCH, topics: group(next, useIds), forgottenTopicsData: [], full: true }
    }
    const send: Array<SessionPartition> = []
    const forget: Array<SessionPartition> = []
    const wanted = new Map<string, SessionPartition>()
    for (const p of next) wanted.set(keyOf(p.topic, p.partition), p)
    const updated = new Map<string, SessionPartition>()
    for (const [k, old] of this.partitions) {
      const p = wanted.get(k)
      if (p === undefined) {
        forget.push(old)
      } else if (useIds && p.topicId !== old.topicId) {
        // the topic was recreated: the old id leaves the session, the new one joins
        forget.push(old)
        send.push(p)
        updated.set(k, p)
      } else {
        if (!same(p, old)) send.push(p)
        updated.set(k, p)
      }
    }
    for (const [k, p] of wanted) {
      if (!updated.has(k)) {
        send.push(p)
        updated.set(k, p)
      }
    }
    this.partitions = updated
    this.pendingFull = false
    return { sessionId: this.sessionId, sessionEpoch: this.epoch, topics: group(send, useIds), forgottenTopicsData: groupForgotten(forget, useIds), full: false }
  }

  /**
   * Takes in a response's top-level error and session id. Returns `true` when the error was a
   * session error (the caller retries at once with a full fetch).
   */
  handleResponse(errorCode: number, sessionId: number): boolean {
    if (!this.enabled) return false
    if (errorCode !== 0) {
      if (errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND) {
        this.sessionId = INVALID_SESSION_ID
        this.epoch = INITIAL_EPOCH
        return true
      }
      // close the session we think we have and start a new one with the next request
      this.epoch = INITIAL_EPOCH
      return errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH || errorCode === ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR ||
        errorCode === ErrorCode.UNKNOWN_TOPIC_ID || errorCode === ErrorCode.INCONSISTENT_TOPIC_ID
    }
    if (this.pendingFull) {
      if (sessionId === INVALID_SESSION_ID) {
        // the broker did not create a session (cache full): keep sending full requests
        this.sessionId = INVALID_SESSION_ID
        this.epoch = INITIAL_EPOCH
      } else {
        this.sessionId = sessionId
        this.epoch = 1
      }
    } else {
      this.epoch = this.epoch === 0x7fffffff ? 1 : this.epoch + 1
    }
    return false
  }

  /** The request failed (connection, time-out): the next one is full and replaces the session. */
  handleError(): void {
    this.epoch = INITIAL_EPOCH
  }

  /** The request that closes the session on the broker (`undefined` when there is none). */
  closeRequest(): SessionRequest | undefined {
    if (!this.enabled || this.sessionId === INVALID_SESSION_ID) return undefined
    const id = this.sessionId
    this.sessionId = INVALID_SESSION_ID
    this.epoch = INITIAL_EPOCH
    this.partitions = new Map()
    return { sessionId: id, sessionEpoch: FINAL_EPOCH, topics: [], forgottenTopicsData: [], full: true }
  }
}

const group = (parts: ReadonlyArray<SessionPartition>, useIds: boolean): Array<FetchRequestTopic> => {
  const out: Array<FetchRequestTopic> = []
  const byTopic = new Map<string, FetchRequestTopic>()
  for (const p of parts) {
    let t = byTopic.get(p.topic)
    if (t === undefined) {
      t = useIds ? { topicId: p.topicId, partitions: [] } : { topic: p.topic, partitions: [] }
      byTopic.set(p.topic, t)
      out.push(t)
    }
    ;(t.partitions as Array<FetchRequestTopic["partitions"][number]>).push({
      partition: p.partition,
      currentLeaderEpoch: p.currentLeaderEpoch,
      fetchOffset: p.fetchOffset,
      logStartOffset: -1n,
      partitionMaxBytes: p.partitionMaxBytes
    })
  }
  return out
}

const groupForgotten = (parts: ReadonlyArray<SessionPartition>, useIds: boolean): Array<FetchRequestForgottenTopic> => {
  const out: Array<FetchRequestForgottenTopic> = []
  const byTopic = new Map<string, { readonly entry: FetchRequestForgottenTopic; readonly list: Array<number> }>()
  for (const p of parts) {
    const k = useIds ? p.topicId : p.topic
    let t = byTopic.get(k)
    if (t === undefined) {
      const list: Array<number> = []
      const entry = useIds ? { topicId: p.topicId, partitions: list } : { topic: p.topic, partitions: list }
      t = { entry, list }
      byTopic.set(k, t)
      out.push(entry)
    }
    t.list.push(p.partition)
  }
  return out
}
