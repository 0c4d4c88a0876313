/**
 * The library smoke program that `runtimes.smoke.ts` runs on Node, Bun and Deno against the real
 * broker: produce + consume with every codec, a classic and a KIP-848 group, a transaction, and
 * TLS + SCRAM on the secured broker with the connection read from `Config` (`KAFKA_*` variables,
 * CA file). It tests the *packed* package: the kpax entry point is imported from the URL the driver
 * gives (`KPAX_SMOKE_ENTRY`), typed as the sources.
 *
 * Each check prints one JSON line ({@link CheckResult}) on stdout; the driver turns them into one
 * test per runtime and check. Run by hand (a broker at 127.0.0.1:9092, `npm run build` done):
 *
 *   KPAX_SMOKE_BROKERS=127.0.0.1:9092 KPAX_SMOKE_ENTRY=file://$PWD/dist/index.js bun test/runtimes/smoke.ts
 */
import { Cause, Effect, Exit, Layer, Stream } from "effect"
import { CHECKS, ENV } from "./protocol.ts"
import type { CheckName, CheckResult } from "./protocol.ts"

type Kpax = typeof import("../../src/index.ts")

const entry = process.env[ENV.entry]
const bootstrap = (process.env[ENV.brokers] ?? "").split(",").filter((s) => s !== "")
if (entry === undefined || bootstrap.length === 0) {
  process.stderr.write(`smoke: set ${ENV.entry} and ${ENV.brokers}\n`)
  process.exit(2)
}
const only = process.env[ENV.only]?.split(",")
const kpax = (await import(entry)) as Kpax
const { Cluster, Compression, Consumer, Layers, PartitionConsumer, Producer, Testing } = kpax

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array | null): string => (b === null ? "<null>" : new TextDecoder().decode(b))

/** Fails the check with a message (a defect: the driver prints it). */
const expect = (cond: boolean, message: string): Effect.Effect<void> =>
  cond ? Effect.void : Effect.die(new Error(message))

const plainCluster = Cluster.layer({ bootstrap, clientId: "kpax-smoke" })

/**
 * `count` values of `size` bytes: a readable prefix, then bytes that do not compress, so that a
 * batch of them stays above the 256 KiB from which compression runs on the thread pool.
 */
const values = (label: string, count: number, size: number): Array<Uint8Array> =>
  Array.from({ length: count }, (_, i) => {
    const v = new Uint8Array(size)
    crypto.getRandomValues(v)
    v.set(utf8(`${label}-${i}|`))
    return v
  })

const sameBytes = (a: Uint8Array | null, b: Uint8Array): boolean => {
  if (a === null || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const readPartition0 = (topic: string, n: number, options: Parameters<typeof PartitionConsumer.stream>[1] = {}) =>
  PartitionConsumer.stream([{ topic, partition: 0, from: "earliest" }], { maxWait: "100 millis", ...options }).pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map((chunk) => Array.from(chunk))
  )

/** Every codec: 100 B records one by one, then 400 records of 1 KiB in one batch (thread pool path). */
const codecRoundTrip = (codec: "none" | "gzip" | "snappy" | "lz4" | "zstd") =>
  Effect.gen(function*() {
    const topic = yield* Testing.RealCluster.randomTopic({ prefix: `smoke-${codec}` })
    const producer = yield* Producer.make({ compression: codec, linger: "5 millis", batchSize: 1024 * 1024 })
    const small = values(`${codec}-small`, 50, 100)
    for (const value of small) yield* producer.send({ topic, partition: 0, value })
    const large = values(`${codec}-large`, 400, 1024)
    yield* producer.sendAll(large.map((value) => ({ topic, partition: 0, value })))
    const sent = [...small, ...large]
    const got = yield* readPartition0(topic, sent.length)
    for (let i = 0; i < sent.length; i++) {
      yield* expect(sameBytes(got[i].value, sent[i]), `${codec}: record ${i} differs from what was sent`)
    }
  }).pipe(Effect.scoped, Effect.provide(plainCluster))

/** A group member reads everything and commits; a second member of the group then reads only what came after. */
const group = (groupProtocol: "classic" | "consumer") =>
  Effect.gen(function*() {
    const topic = yield* Testing.RealCluster.randomTopic({ prefix: `smoke-${groupProtocol}`, partitions: 2 })
    const groupId = Testing.RealCluster.uniqueName(`smoke-${groupProtocol}`)
    const producer = yield* Producer.make()
    yield* producer.sendAll(Array.from({ length: 100 }, (_, i) => ({ topic, key: utf8(`k${i}`), value: utf8(`early-${i}`) })))
    const options: import("../../src/Consumer/Consumer.ts").ConsumerOptions = {
      groupId,
      topics: [topic],
      groupProtocol,
      offsetReset: "earliest",
      maxWait: "100 millis",
      ...(groupProtocol === "classic" ? { heartbeatInterval: "300 millis" } : {})
    }
    // the first member acks what it read and commits before it leaves
    const first = yield* Effect.scoped(Effect.gen(function*() {
      const consumer = yield* Consumer.make({ ...options, ackMode: "manual" })
      const records = Array.from(yield* consumer.records.pipe(Stream.take(100), Stream.runCollect))
      yield* consumer.ack(records)
      yield* consumer.commit
      return records
    }))
    const distinct = new Set(first.map((r) => `${r.partition}@${r.offset}`))
    yield* expect(distinct.size === 100, `the first member read ${distinct.size} distinct records of 100`)
    yield* expect(first.every((r) => str(r.value).startsWith("early-")), "the first member read a record it should not have")
    yield* producer.sendAll(Array.from({ length: 10 }, (_, i) => ({ topic, key: utf8(`k${i}`), value: utf8(`late-${i}`) })))
    const second = yield* Consumer.subscribe(options).pipe(Stream.take(10), Stream.runCollect, Effect.map((c) => Array.from(c)))
    const early = second.filter((r) => !str(r.value).startsWith("late-"))
    yield* expect(early.length === 0, `the second member re-read ${early.length} committed records: the commit was lost`)
  }).pipe(Effect.scoped, Effect.provide(plainCluster))

/** An aborted then a committed transaction: read_committed sees only the committed records. */
const transaction = Effect.gen(function*() {
  const topic = yield* Testing.RealCluster.randomTopic({ prefix: "smoke-tx" })
  const producer = yield* Producer.make({ transactionalId: Testing.RealCluster.uniqueName("smoke-tx") })
  const aborted = yield* Effect.exit(producer.transaction(
    Effect.andThen(producer.sendAll(Array.from({ length: 5 }, (_, i) => ({ topic, partition: 0, value: utf8(`aborted-${i}`) }))), Effect.fail("abort" as const))
  ))
  yield* expect(Exit.isFailure(aborted), "the aborted transaction succeeded")
  yield* producer.transaction(producer.sendAll(Array.from({ length: 5 }, (_, i) => ({ topic, partition: 0, value: utf8(`committed-${i}`) }))))
  const got = yield* readPartition0(topic, 5, { isolationLevel: "read_committed" })
  const seen = got.map((r) => str(r.value))
  yield* expect(seen.join() === "committed-0,committed-1,committed-2,committed-3,committed-4", `read_committed read ${seen.join()}`)
}).pipe(Effect.scoped, Effect.provide(plainCluster))

/** The driver points the `KAFKA_*` variables at the secured broker's SASL_SSL listener. */
const securedFromConfig = Effect.gen(function*() {
  const topic = yield* Testing.RealCluster.randomTopic({ prefix: "smoke-secured" })
  const producer = yield* Producer.make({ compression: "zstd" })
  yield* producer.sendAll(Array.from({ length: 20 }, (_, i) => ({ topic, partition: 0, value: utf8(`secured-${i}`) })))
  const got = yield* readPartition0(topic, 20)
  yield* expect(got.map((r) => str(r.value)).join() === Array.from({ length: 20 }, (_, i) => `secured-${i}`).join(), "the secured topic read back differently")
}).pipe(Effect.scoped, Effect.provide(Layers.fromConfig))

/**
 * What a runtime cannot do fails typed and says so. The one such feature is loading the napi
 * codecs (snappy, lz4) where the runtime forbids native modules (Deno without `--allow-ffi`, as
 * the driver runs it a second time): a `CompressionError` "Unsupported" naming the fix, while the
 * codecs built into `node:zlib` still work. Where native modules load, snappy and lz4 must work.
 */
const unsupported = Effect.gen(function*() {
  const data = utf8("kpax ".repeat(100))
  const gz = Compression.compressSync(Compression.Compression.gzip, data)
  yield* expect(Compression.decompressSync(Compression.Compression.gzip, gz).length === data.length, "gzip round trip")
  const nativeAllowed = process.env.KPAX_SMOKE_NATIVE !== "denied"
  for (const codec of [Compression.Compression.snappy, Compression.Compression.lz4]) {
    const exit = yield* Effect.exit(Compression.compress(codec, data))
    if (nativeAllowed) {
      yield* expect(Exit.isSuccess(exit), `codec ${codec} failed: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
    } else {
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      const e = error !== undefined && error._tag === "Some" ? error.value : undefined
      yield* expect(
        e !== undefined && e._tag === "CompressionError" && e.reason === "Unsupported" && /--allow-ffi/.test(e.message),
        `codec ${codec} without native modules: expected CompressionError Unsupported naming --allow-ffi, got ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "a success"}`
      )
    }
  }
})

const programs: Record<CheckName, Effect.Effect<void, unknown>> = {
  "produce + consume none": codecRoundTrip("none"),
  "produce + consume gzip": codecRoundTrip("gzip"),
  "produce + consume snappy": codecRoundTrip("snappy"),
  "produce + consume lz4": codecRoundTrip("lz4"),
  "produce + consume zstd": codecRoundTrip("zstd"),
  "classic group": group("classic"),
  "KIP-848 group": group("consumer"),
  "transaction": transaction,
  "TLS + SCRAM-SHA-512 from Config": securedFromConfig,
  "unsupported feature is a typed error": unsupported
}

const describe = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause) as { _tag?: string; message?: string } | undefined
  return e !== undefined && typeof e === "object" && typeof e.message === "string"
    ? `${e._tag ?? "Error"}: ${e.message}`
    : Cause.pretty(cause)
}

for (const check of CHECKS) {
  if (only !== undefined && !only.includes(check)) continue
  const started = performance.now()
  const exit = await Effect.runPromiseExit(programs[check].pipe(Effect.timeout("60 seconds")))
  const result: CheckResult = {
    check,
    ok: Exit.isSuccess(exit),
    error: Exit.isFailure(exit) ? describe(exit.cause) : undefined,
    ms: Math.round(performance.now() - started)
  }
  process.stdout.write(JSON.stringify(result) + "\n")
}
