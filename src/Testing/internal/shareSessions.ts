/**
 * Share sessions (KIP-932), one per (broker, group, member): the partitions a member fetches from
 * that broker and the epoch its next request must carry. Epoch 0 opens a session (replacing, and
 * releasing the records of, one the member had); 1.. are incremental requests that must carry the
 * session's next epoch (else INVALID_SHARE_SESSION_EPOCH; no session: SHARE_SESSION_NOT_FOUND);
 * -1 closes the session. A session lives on the connection that opened it: when that connection
 * closes, the session goes (and, as Kafka 4.4 does, its member's acquired records are released).
 *
 * @internal
 */
import { ErrorCode } from "../../Protocol/Errors.ts"

export interface ShareSession {
  readonly nodeId: number
  readonly groupId: string
  readonly memberId: string
  /** The client connection the session was opened on. */
  readonly connection: number
  /** The epoch the next request must carry. */
  epoch: number
  /** `${topicId}:${partition}` → the partition */
  readonly partitions: Map<string, { readonly topicId: string; readonly partition: number }>
}

export const INITIAL_EPOCH = 0
export const FINAL_EPOCH = -1

export class ShareSessionCache {
  private readonly sessions = new Map<string, ShareSession>()

  private key(nodeId: number, groupId: string, memberId: string): string {
    return `${nodeId}\u0000${groupId}\u0000${memberId}`
  }

  get(nodeId: number, groupId: string, memberId: string): ShareSession | undefined {
    return this.sessions.get(this.key(nodeId, groupId, memberId))
  }

  /** A new session at epoch 1 (the one it replaces, if any, is returned for its records to be released). */
  open(nodeId: number, groupId: string, memberId: string, connection: number): { readonly session: ShareSession; readonly replaced: ShareSession | undefined } {
    const k = this.key(nodeId, groupId, memberId)
    const replaced = this.sessions.get(k)
    const session: ShareSession = { nodeId, groupId, memberId, connection, epoch: 1, partitions: new Map() }
    this.sessions.set(k, session)
    return { session, replaced }
  }

  /** The session of an incremental or final request, or the error its epoch gets. */
  check(nodeId: number, groupId: string, memberId: string, epoch: number): ShareSession | number {
    const s = this.get(nodeId, groupId, memberId)
    if (s === undefined) return ErrorCode.SHARE_SESSION_NOT_FOUND
    if (epoch !== FINAL_EPOCH && epoch !== s.epoch) return ErrorCode.INVALID_SHARE_SESSION_EPOCH
    return s
  }

  advance(s: ShareSession): void {
    s.epoch = s.epoch >= 0x7fffffff ? 1 : s.epoch + 1
  }

  close(s: ShareSession): void {
    const k = this.key(s.nodeId, s.groupId, s.memberId)
    if (this.sessions.get(k) === s) this.sessions.delete(k)
  }

  /** Removes and returns the sessions opened on a connection (it closed). */
  onConnection(connection: number): Array<ShareSession> {
    const out = [...this.sessions.values()].filter((s) => s.connection === connection)
    for (const s of out) this.close(s)
    return out
  }

  /** Every session of a group (DeleteGroups, describe). */
  ofGroup(groupId: string): Array<ShareSession> {
    return [...this.sessions.values()].filter((s) => s.groupId === groupId)
  }
}
