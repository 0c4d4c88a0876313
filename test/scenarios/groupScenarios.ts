/**
 * Consumer-group scenarios (kpax's Consumer: membership + fetching + commits), run unchanged on
 * the in-memory cluster and the real broker. Every member is a client of its own.
 */
import { assert } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Exit, Scope, Stream } from "effect"
import * as Consumer from "../../src/Consumer/Consumer.ts"
import type { ConsumerRecord } from "../../src/Consumer/Consumer.ts"
import * as Producer from "../../src/Producer/Producer.ts"
import { asOtherClient, awaitStable, committedOffsets, createTopic, readAll, scenario, str, uniqueTopic, utf8 } from "./support.ts"
import type { Scenario } from "./support.ts"

const waitFor = (cond: () => boolean, what: string, timeout: Duration.Input = "30 seconds") =>
  Effect.gen(function*() {
    while (!cond()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

/** A member in a scope of its own, collecting what it reads. */
const member = (options: Consumer.ConsumerOptions) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const items: Array<ConsumerRecord> = []
    const consumer = yield* asOtherClient(Consumer.make(options)).pipe(Scope.provide(scope))
    const reader = yield* consumer.records.pipe(Stream.runForEach((r) => Effect.sync(() => items.push(r))), Effect.forkIn(scope))
    return { consumer, items, reader, close: Scope.close(scope, Exit.void) }
  })

const groupScenario = (protocol: "classic" | "consumer") =>
  scenario(`group (${protocol}): two members split the partitions, every record is read once, the leaver's partitions go to the other, offsets are committed`, Effect.gen(function*() {
    const topic = uniqueTopic(`g-${protocol}`)
    const groupId = uniqueTopic(`group-${protocol}`)
    yield* createTopic(topic, { partitions: 4 })
    const producer = yield* Producer.make()
    yield* producer.sendAll(Array.from({ length: 200 }, (_, i) => ({ topic, key: utf8(`k${i}`), value: utf8(`v${i}`) })))
    const options: Consumer.ConsumerOptions = {
      groupId,
      topics: [topic],
      groupProtocol: protocol,
      offsetReset: "earliest",
      maxWait: "100 millis",
      ...(protocol === "classic" ? { heartbeatInterval: "200 millis", sessionTimeout: "10 seconds" } : {}),
      autoCommitInterval: "200 millis"
    }
    const a = yield* member(options)
    yield* waitFor(() => a.consumer.assignment().length === 4, "the first member to own every partition")
    const b = yield* member(options)
    yield* waitFor(() => a.consumer.assignment().length === 2 && b.consumer.assignment().length === 2, "the partitions to be split")
    const owned = new Set([...a.consumer.assignment(), ...b.consumer.assignment()].map((tp) => tp.partition))
    assert.strictEqual(owned.size, 4, "a partition owned twice or by nobody")
    yield* waitFor(() => new Set([...a.items, ...b.items].map((r) => `${r.partition}@${r.offset}`)).size === 200, "every record")
    // b leaves: a takes its partitions over and reads what comes next
    yield* b.close
    yield* waitFor(() => a.consumer.assignment().length === 4, "the leaver's partitions to come back")
    yield* producer.sendAll(Array.from({ length: 40 }, (_, i) => ({ topic, key: utf8(`k${i}`), value: utf8(`late${i}`) })))
    yield* waitFor(() => a.items.filter((r) => str(r.value)?.startsWith("late")).length === 40, "the late records")
    const all = [...a.items, ...b.items]
    const distinct = new Set(all.map((r) => `${r.partition}@${r.offset}`))
    assert.strictEqual(distinct.size, 240)
    yield* a.close
    const ends = yield* Effect.forEach([0, 1, 2, 3], (p) => Effect.map(readAll(topic, [p]), (rs) => BigInt(rs.length)))
    assert.deepStrictEqual(yield* committedOffsets(groupId, topic, [0, 1, 2, 3]), ends)
  }))

export const groupScenarios: ReadonlyArray<Scenario> = [
  groupScenario("classic"),
  groupScenario("consumer"),

  scenario("group: consume-transform-produce in transactions commits the consumed offsets with the output", Effect.gen(function*() {
    const input = uniqueTopic("ctp-in")
    const output = uniqueTopic("ctp-out")
    const groupId = uniqueTopic("ctp-group")
    yield* createTopic(input, { partitions: 1 })
    yield* createTopic(output, { partitions: 1 })
    const producer = yield* Producer.make()
    yield* producer.sendAll(Array.from({ length: 10 }, (_, i) => ({ topic: input, value: utf8(`in${i}`) })))
    const txp = yield* Producer.make({ transactionalId: uniqueTopic("ctp-tx") })
    const m = yield* member({
      groupId, topics: [input], offsetReset: "earliest", autoCommit: false, ackMode: "manual",
      maxWait: "100 millis", heartbeatInterval: "200 millis", sessionTimeout: "10 seconds",
      isolationLevel: "read_committed"
    })
    yield* waitFor(() => m.items.length === 10, "the input")
    const gen = m.consumer.membership.generation()
    yield* txp.transaction(Effect.gen(function*() {
      yield* txp.sendAll(m.items.map((r) => ({ topic: output, value: utf8(`out-${str(r.value)}`) })))
      yield* txp.sendOffsets([{ topic: input, partition: 0, offset: 10n }], {
        groupId, generationId: gen.generationId, memberId: gen.memberId, groupInstanceId: gen.groupInstanceId
      })
    }))
    assert.deepStrictEqual(yield* committedOffsets(groupId, input, [0]), [10n])
    yield* awaitStable(output, [0])
    const out = yield* readAll(output, [0], { isolation: "read_committed" })
    assert.deepStrictEqual(out.map((r) => str(r.value)), Array.from({ length: 10 }, (_, i) => `out-in${i}`))
    yield* m.close
  }))
]
