/**
 * Reads as a group member and prints: the engine of `consume --group` (a consumer-group member
 * that commits what it printed) and `consume --share-group` (a share-group member that
 * acknowledges what it printed). Reading stops at `count` records, after `idleMs` without a
 * record (counted from when the member first has partitions, or from the start if it never
 * gets any), when every assigned partition reached its end (`--group` with ends), or on
 * interruption. The member lives in the caller's scope: closing it commits (or acknowledges)
 * what was printed, releases the rest and leaves the group.
 *
 * @internal
 */
import { Effect, Stream } from "effect"
import type { Scope } from "effect"
import type { Cluster } from "../../Cluster/Cluster.ts"
import * as Consumer from "../../Consumer/Consumer.ts"
import type { ConsumerRecord, TopicPartition } from "../../Consumer/Record.ts"
import * as ShareConsumer from "../../Consumer/ShareConsumer.ts"
import type { AcknowledgeType } from "../../Consumer/ShareConsumer.ts"
import { CommandFailed, describeError } from "../Errors.ts"
import { note, write } from "../Output.ts"
import type { Progress } from "../Progress.ts"
import { Ends } from "./ends.ts"
import type { Isolation } from "./offsets.ts"

/** What both kinds of member print and when they stop. */
export interface DrainOptions {
  /** Most records to print in all. */
  readonly count: number | undefined
  /** Stop after this long without a record. */
  readonly idleMs: number | undefined
  readonly print: (r: ConsumerRecord) => string
  /** Runs on each chunk before it is printed (a registry decoder loads new schema ids). */
  readonly prepare?: ((records: ReadonlyArray<ConsumerRecord>) => Effect.Effect<void>) | undefined
  readonly progress: Progress
}

interface Member<A extends ConsumerRecord, E> {
  readonly records: Stream.Stream<A, E>
  /** Takes the records just printed (acknowledges them, marks them for commit). */
  readonly printed: (records: ReadonlyArray<A>) => Effect.Effect<void>
  readonly assigned: () => boolean
  /** Whether a record is to be printed (`false`: past its partition's end). */
  readonly admit?: ((r: A) => boolean) | undefined
  /** After each chunk. */
  readonly handled?: (() => void) | undefined
  /** Every tick of the watch: nothing more to read. */
  readonly done?: (() => boolean) | undefined
}

/** Prints a member's records until a stop condition; succeeds with how many were printed. */
const drain = <A extends ConsumerRecord, E>(o: DrainOptions, m: Member<A, E>): Effect.Effect<number, E> =>
  Effect.gen(function*() {
    const limit = o.count ?? Number.POSITIVE_INFINITY
    if (limit === 0) return 0
    let printed = 0
    let lastActive = Date.now()
    let wasAssigned = false
    const finished = () => printed >= limit || (m.done?.() ?? false)
    // uninterruptible: what is printed is also acknowledged (or marked for commit)
    const print = (chunk: ReadonlyArray<A>) =>
      Effect.uninterruptible(Effect.suspend(() => {
        lastActive = Date.now()
        let out = ""
        const taken: Array<A> = []
        for (const r of chunk) {
          if (printed + taken.length >= limit) break
          if (m.admit !== undefined && !m.admit(r)) continue
          out += o.print(r) + "\n"
          taken.push(r)
        }
        if (out !== "") write(out)
        printed += taken.length
        o.progress.add(taken.length)
        m.handled?.()
        return Effect.as(taken.length > 0 ? m.printed(taken) : Effect.void, finished())
      }))
    // the registry lookup may wait: interruptible, before the chunk is printed and acknowledged
    const handle = (chunk: ReadonlyArray<A>) => (o.prepare === undefined ? print(chunk) : Effect.andThen(o.prepare(chunk), print(chunk)))
    const tickMs = Math.min(200, o.idleMs ?? 200)
    const watch = Effect.gen(function*() {
      for (;;) {
        yield* Effect.sleep(tickMs)
        const now = Date.now()
        if (!wasAssigned && m.assigned()) {
          wasAssigned = true
          lastActive = now
        }
        if (finished()) return
        if (o.idleMs !== undefined && now - lastActive >= o.idleMs) return
      }
    })
    yield* Effect.raceFirst(
      m.records.pipe(Stream.chunks, Stream.mapEffect(handle), Stream.takeUntil((done) => done), Stream.runDrain),
      watch
    )
    return printed
  })

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`

export interface GroupReadOptions extends DrainOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  readonly protocol: "classic" | "consumer"
  /** Where partitions without a committed offset start. */
  readonly offsetReset: "earliest" | "latest"
  /** `false`: commit nothing (`--no-commit`). */
  readonly commit: boolean
  readonly isolation: Isolation
  /** Exclusive end per partition (`--end`, default the ends at start); `undefined`: follow. */
  readonly ends: ReadonlyArray<TopicPartition & { readonly end: bigint }> | undefined
}

/** Reads as a consumer-group member; succeeds with how many records were printed. */
export const readGroup = (o: GroupReadOptions): Effect.Effect<number, CommandFailed, Scope.Scope | Cluster> =>
  Effect.gen(function*() {
    const fail = (e: unknown) => new CommandFailed({ message: `group ${o.groupId}: ${describeError(e)}` })
    const consumer = yield* Consumer.make({
      groupId: o.groupId,
      topics: o.topics,
      groupProtocol: o.protocol,
      offsetReset: o.offsetReset,
      isolationLevel: o.isolation,
      ackMode: "manual",
      commitOffsets: o.commit,
      // a revocation waits (this less 5 s) for handed-out records to be acked; past --end some
      // are never printed, so never acked: keep such a stall short
      rebalanceTimeout: "30 seconds"
    }).pipe(Effect.mapError(fail))
    const ends = o.ends === undefined ? undefined : new Ends(new Map(o.ends.map((e) => [key(e), e.end])))
    const byKey = new Map((o.ends ?? []).map((e) => [key(e), { topic: e.topic, partition: e.partition }]))
    const assignedKeys = () => consumer.assignment().map(key)
    return yield* drain(o, {
      records: consumer.records,
      // a partition revoked meanwhile: its new owner reads these again (at-least-once)
      printed: (rs) => Effect.ignore(consumer.ack(rs)),
      assigned: () => consumer.assignment().length > 0,
      ...(ends === undefined ? {} : {
        admit: (r: ConsumerRecord) => ends.admit(key(r), r.offset),
        handled: () => ends.handled(),
        done: () => {
          const keys = assignedKeys()
          ends.checkPositions((k) => consumer.position(byKey.get(k)!), keys.filter((k) => byKey.has(k)))
          return keys.length > 0 && keys.every((k) => !ends.bounded(k) || ends.finished.has(k))
        }
      })
    }).pipe(Effect.mapError(fail))
  })

export interface ShareReadOptions extends DrainOptions {
  readonly groupId: string
  readonly topics: ReadonlyArray<string>
  /** How printed records are acknowledged. */
  readonly ack: Exclude<AcknowledgeType, "renew">
}

/**
 * Reads as a share-group member; succeeds with how many records were printed. Before the scope
 * closes (which releases what was fetched and not printed, and leaves), the acknowledgements are
 * sent and those the brokers refused are reported on stderr.
 */
export const readShareGroup = (o: ShareReadOptions): Effect.Effect<number, CommandFailed, Scope.Scope | Cluster> =>
  Effect.gen(function*() {
    const fail = (e: unknown) => new CommandFailed({ message: `share group ${o.groupId}: ${describeError(e)}` })
    // with --count, acquire no more than that (the brokers may still hand out whole batches):
    // what is acquired and not printed is released on close, with its delivery count spent
    const consumer = yield* ShareConsumer.make({
      groupId: o.groupId,
      topics: o.topics,
      ackMode: "explicit",
      ...(o.count === undefined ? {} : { maxRecords: Math.max(1, Math.min(o.count, 500)) })
    }).pipe(Effect.mapError(fail))
    // runs on interruption too, before the consumer closes
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(consumer.commit, (results) => {
        const refused = results.filter((r) => r.error !== undefined)
        return refused.length === 0 ? Effect.void : note(
          `the brokers refused acknowledgements of ${refused.map((r) => `${r.topic}-${r.partition} (${describeError(r.error)})`).join(", ")}: ` +
            "those records go to the group again"
        )
      })
    )
    return yield* drain(o, {
      records: consumer.records,
      printed: (rs) => consumer.acknowledge(rs, o.ack),
      assigned: () => consumer.assignment().length > 0
    }).pipe(Effect.mapError(fail))
  })
