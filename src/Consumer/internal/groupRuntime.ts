/**
 * The contract between `Group.ts` and the two group protocols (classic, KIP-848): resolved
 * settings in, a runtime out.
 *
 * @internal
 */
import type { Effect } from "effect"
import type { Assignor } from "../Assignor.ts"
import type { TopicPartition } from "../Record.ts"
import type { GroupError } from "./groupErrors.ts"
import type { CommittedOffset, OffsetToCommit } from "./groupOffsets.ts"
import type { SubscriptionSpec } from "./groupSubscription.ts"

/** The member's place in the group: what commits and transactional offset commits carry. */
export interface Generation {
  readonly groupId: string
  /** The classic generation, or the KIP-848 member epoch; -1 outside a generation. */
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export interface GroupSettings {
  readonly groupId: string
  readonly groupInstanceId: string | null
  readonly rackId: string | null
  readonly subscription: SubscriptionSpec
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly metadataRecheckMs: number
  readonly retryBackoffMs: number
  readonly leaveTimeoutMs: number
  /** Classic protocol. */
  readonly assignors: ReadonlyArray<Assignor>
  /** KIP-848 protocol. */
  readonly serverAssignor: string | null
}

export interface ProtocolRuntime {
  /** The membership loop; ends only by failing with a fatal error (or by interruption). */
  readonly run: Effect.Effect<never, GroupError>
  readonly generation: () => Generation
  readonly commit: (offsets: ReadonlyArray<OffsetToCommit>) => Effect.Effect<void, GroupError>
  readonly fetch: (partitions: ReadonlyArray<TopicPartition>) => Effect.Effect<ReadonlyMap<string, CommittedOffset | undefined>, GroupError>
  /** After `run` stopped: revoke what is owned (hooks) and tell the coordinator, as the protocol says. */
  readonly leave: Effect.Effect<void>
}
