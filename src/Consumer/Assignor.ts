/**
 * Partition assignors of classic consumer groups: the group's leader runs one over every member's
 * subscription and hands each member its partitions. `range`, `roundRobin` and `cooperativeSticky`
 * are built in (the same results as Java's `RangeAssignor`, `RoundRobinAssignor` and a
 * simplified `CooperativeStickyAssignor`); any object with a `name` and an `assign` function is
 * an assignor too.
 *
 * **Eager or cooperative.** An assignor's `protocol` says how members give partitions up. With
 * `"eager"` every member revokes everything before each rebalance. With `"cooperative"`
 * (KIP-429) members keep their partitions while rejoining and revoke only those that move; the
 * leader never hands a partition to a new owner while another member still owns it (kpax applies
 * this rule to the result of any assignor), so a moving partition changes hands in a second,
 * follow-up rebalance, and members keep consuming everything else meanwhile.
 *
 * Assignment math is plain TypeScript: pure functions over plain data, easy to test.
 *
 * @example
 * ```ts
 * import * as Assignor from "kpax/Assignor"
 *
 * // everything to the member with the smallest id (a user assignor)
 * const allToOne: Assignor.Assignor = {
 *   name: "all-to-one",
 *   protocol: "eager",
 *   assign: (members, cluster) => {
 *     const [first] = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
 *     const out = new Map(members.map((m) => [m.memberId, { partitions: [] as Array<Assignor.TopicPartition> }]))
 *     for (const [topic, n] of cluster.partitionsPerTopic) {
 *       for (let partition = 0; partition < n; partition++) out.get(first.memberId)!.partitions.push({ topic, partition })
 *     }
 *     return out
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 */
import type { TopicPartition } from "./Record.ts"
import { rangeAssign } from "./internal/assignorRange.ts"
import { roundRobinAssign } from "./internal/assignorRoundRobin.ts"
import { stickyAssign } from "./internal/assignorSticky.ts"

export type { TopicPartition }

/**
 * How members give partitions up in a rebalance.
 *
 * @since 0.1.0
 */
export type RebalanceProtocol = "eager" | "cooperative"

/**
 * One member's subscription, as the leader sees it.
 *
 * @since 0.1.0
 */
export interface Subscription {
  readonly memberId: string
  readonly groupInstanceId: string | null
  /** The topics the member subscribes to. */
  readonly topics: ReadonlyArray<string>
  /** What the member's assignor put in `subscriptionUserData`. */
  readonly userData: Uint8Array | null
  /** Partitions the member owns (cooperative members; empty for eager ones, which revoked them). */
  readonly ownedPartitions: ReadonlyArray<TopicPartition>
  /** The generation the member owned them in (-1 when unknown). */
  readonly generationId: number
  readonly rackId: string | null
}

/**
 * What the leader knows of the cluster: the partition count of every subscribed topic that exists.
 *
 * @since 0.1.0
 */
export interface ClusterView {
  readonly partitionsPerTopic: ReadonlyMap<string, number>
}

/**
 * One member's share.
 *
 * @since 0.1.0
 */
export interface MemberAssignment {
  readonly partitions: ReadonlyArray<TopicPartition>
  /** Sent to the member with its partitions (handed to the member's `onAssignment`). */
  readonly userData?: Uint8Array | null | undefined
}

/**
 * A partition assignor. `assign` returns a share for members by member id (members left out get
 * nothing). Members advertise assignors by `name`; the group uses one every member supports.
 *
 * @since 0.1.0
 */
export interface Assignor {
  /** The protocol name members advertise (`"range"`, `"roundrobin"`, `"cooperative-sticky"`, …). */
  readonly name: string
  /** `"cooperative"` if the assignor works incrementally (it then also works eagerly). */
  readonly protocol: RebalanceProtocol
  readonly assign: (members: ReadonlyArray<Subscription>, cluster: ClusterView) => ReadonlyMap<string, MemberAssignment>
  /** User data this member sends in its subscription. */
  readonly subscriptionUserData?: ((state: { readonly owned: ReadonlyArray<TopicPartition>; readonly generationId: number }) => Uint8Array | null) | undefined
  /** Called on every member with its share after each rebalance. */
  readonly onAssignment?: ((assignment: MemberAssignment, generationId: number) => void) | undefined
}

const shares = (m: ReadonlyMap<string, ReadonlyArray<TopicPartition>>): Map<string, MemberAssignment> =>
  new Map([...m].map(([id, partitions]) => [id, { partitions }]))

/**
 * Java's `RangeAssignor`: per topic, consecutive ranges of partitions to the subscribed members in
 * order (static members by instance id first, then member ids). Eager.
 *
 * @example
 * ```ts
 * // 2 members, topic "t" with 5 partitions: the first gets t-0..2, the second t-3..4
 * Group.join({ groupId: "g", topics: ["t"], assignors: [Assignor.range] })
 * ```
 *
 * @since 0.1.0
 */
export const range: Assignor = {
  name: "range",
  protocol: "eager",
  assign: (members, cluster) => shares(rangeAssign(members, cluster.partitionsPerTopic))
}

/**
 * Java's `RoundRobinAssignor`: all partitions (topics by name) dealt in turn to the members in
 * order, skipping members not subscribed to the partition's topic. Eager.
 *
 * @since 0.1.0
 */
export const roundRobin: Assignor = {
  name: "roundrobin",
  protocol: "eager",
  assign: (members, cluster) => shares(roundRobinAssign(members, cluster.partitionsPerTopic))
}

const generationBytes = (generationId: number): Uint8Array => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setInt32(0, generationId)
  return b
}

/** The generation a Java cooperative-sticky member puts in its user data (subscriptions before v2). */
const generationOf = (s: Subscription): number => {
  if (s.generationId >= 0 || s.userData === null || s.userData.length < 4) return s.generationId
  return new DataView(s.userData.buffer, s.userData.byteOffset, s.userData.byteLength).getInt32(0)
}

/**
 * Cooperative sticky (KIP-429, Java's `CooperativeStickyAssignor`): balanced (loads differ by at
 * most one where subscriptions allow), and sticky: members keep what they own unless balance
 * needs it to move; only moving partitions are revoked, in a follow-up rebalance. Its user data
 * is the member's generation, as Java's, so Java members can share the group.
 *
 * @example
 * ```ts
 * Group.join({ groupId: "g", topics: ["orders"], assignors: [Assignor.cooperativeSticky] })
 * ```
 *
 * @since 0.1.0
 */
export const cooperativeSticky: Assignor = {
  name: "cooperative-sticky",
  protocol: "cooperative",
  subscriptionUserData: (state) => generationBytes(state.generationId),
  assign: (members, cluster) =>
    shares(stickyAssign(members.map((m) => ({ ...m, generationId: generationOf(m) })), cluster.partitionsPerTopic))
}
