/**
 * `kpax produce <topic>`: one record from `--value`, or one record per line of stdin or
 * `--file` (empty lines skipped; `--key-separator` splits each line into key and value).
 * Reports where the record went, or for lines a summary per partition (`--each`: one line per
 * record).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Producer from "../../Producer/Producer.ts"
import type { Header, ProducerRecord, RecordMetadata } from "../../Producer/Producer.ts"
import { CommandFailed, UsageError } from "../Errors.ts"
import { Json } from "../Global.ts"
import { withCluster } from "../Kafka.ts"
import { table, toJsonLine, write } from "../Output.ts"
import { progress } from "../Progress.ts"
import { parseTime } from "../Time.ts"
import { LineSplitter, splitKey } from "../internal/lines.ts"
import { selectPartitions, topicOrFail } from "../internal/topics.ts"
import * as SchemaRegistryFlags from "../SchemaRegistryFlags.ts"

/** Bytes of lines sent as one `sendAll`. */
const CHUNK_BYTES = 1 << 20

const flags = {
  topic: Argument.String("topic").pipe(Argument.withDescription("topic to write to")),
  value: Flag.String("value").pipe(Flag.withDescription("the value of a single record (else: one record per line of stdin or --file)"), Flag.optional),
  file: Flag.String("file").pipe(Flag.withAlias("f"), Flag.withDescription("read records from this file, one per line ('-': stdin)"), Flag.optional),
  key: Flag.String("key").pipe(Flag.withAlias("k"), Flag.withDescription("key of every record"), Flag.optional),
  keySeparator: Flag.String("key-separator").pipe(
    Flag.withDescription("split each line at the first occurrence: key before, value after (lines without it have no key)"),
    Flag.optional
  ),
  header: Flag.String("header").pipe(Flag.withAlias("H"), Flag.withDescription("header key=value of every record (repeatable)"), Flag.atLeast(0)),
  partition: Flag.Int("partition").pipe(Flag.withAlias("p"), Flag.withDescription("write to this partition (default: by key, as the Java client)"), Flag.optional),
  timestamp: Flag.String("timestamp").pipe(Flag.withDescription("timestamp of every record (a time: RFC 3339, -1h, @epoch-ms; default: now)"), Flag.optional),
  acks: Flag.Literals("acks", ["all", "1", "0"]).pipe(Flag.withDescription("acknowledgements to wait for"), Flag.withDefault("all" as const)),
  compression: Flag.Literals("compression", ["none", "gzip", "snappy", "lz4", "zstd"]).pipe(
    Flag.withDescription("compression codec"),
    Flag.withDefault("none" as const)
  ),
  each: Flag.Boolean("each").pipe(Flag.withDescription("report partition and offset of every record, not a summary"), Flag.withDefault(false), Flag.withoutNegation),
  ...SchemaRegistryFlags.produceFlags
}

interface Input {
  readonly topic: string
  readonly value: Option.Option<string>
  readonly file: Option.Option<string>
  readonly key: Option.Option<string>
  readonly keySeparator: Option.Option<string>
  readonly header: ReadonlyArray<string>
  readonly partition: Option.Option<number>
  readonly timestamp: Option.Option<string>
  readonly acks: "all" | "1" | "0"
  readonly compression: "none" | "gzip" | "snappy" | "lz4" | "zstd"
  readonly each: boolean
  readonly schemaRegistry: Option.Option<string>
  readonly keyFormat: Option.Option<"avro" | "protobuf" | "json-schema">
  readonly valueFormat: Option.Option<"avro" | "protobuf" | "json-schema">
  readonly keySchema: Option.Option<string>
  readonly valueSchema: Option.Option<string>
}

const parseHeaders = (specs: ReadonlyArray<string>) =>
  Effect.forEach(specs, (h) => {
    const i = h.indexOf("=")
    if (i <= 0) return Effect.fail(new UsageError({ message: `--header: expected key=value, got ${JSON.stringify(h)}` }))
    return Effect.succeed<Header>({ key: h.slice(0, i), value: Buffer.from(h.slice(i + 1), "utf8") })
  })

const recordLine = (m: RecordMetadata) => `${m.topic} partition ${m.partition} offset ${m.offset}`
const recordJson = (m: RecordMetadata) => ({ topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp })

/** Offsets written per partition. */
class Summary {
  readonly partitions = new Map<number, { count: number; first: bigint; last: bigint }>()
  records = 0
  add(m: RecordMetadata): void {
    this.records++
    const p = this.partitions.get(m.partition)
    if (p === undefined) this.partitions.set(m.partition, { count: 1, first: m.offset, last: m.offset })
    else {
      p.count++
      if (m.offset < p.first) p.first = m.offset
      if (m.offset > p.last) p.last = m.offset
    }
  }
  rows() {
    return [...this.partitions].sort((a, b) => a[0] - b[0]).map(([partition, p]) => ({ partition, count: p.count, firstOffset: p.first, lastOffset: p.last }))
  }
}

const handler = (input: Input) =>
  Effect.gen(function*() {
    const json = yield* Json
    if (Option.isSome(input.value) && Option.isSome(input.file)) {
      return yield* new UsageError({ message: "--value and --file exclude each other" })
    }
    if (Option.isSome(input.key) && Option.isSome(input.keySeparator)) {
      return yield* new UsageError({ message: "--key and --key-separator exclude each other" })
    }
    const headers = yield* parseHeaders(input.header)
    let timestamp: number | undefined
    if (Option.isSome(input.timestamp)) {
      timestamp = parseTime(input.timestamp.value, Date.now())
      if (timestamp === undefined) return yield* new UsageError({ message: `--timestamp: cannot read ${JSON.stringify(input.timestamp.value)} as a time` })
    }
    const fixedKey = Option.isSome(input.key) ? Buffer.from(input.key.value, "utf8") : null
    const separator = Option.isSome(input.keySeparator) ? Buffer.from(input.keySeparator.value, "utf8") : undefined
    if (separator !== undefined && separator.length === 0) return yield* new UsageError({ message: "--key-separator must not be empty" })
    if (Option.isSome(input.file) && input.file.value !== "-") {
      const file = input.file.value
      yield* Effect.try({
        try: () => fs.accessSync(file, fs.constants.R_OK),
        catch: (e) => new CommandFailed({ message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` })
      })
    }
    const partition = Option.getOrUndefined(input.partition)
    const acks = input.acks === "all" ? "all" as const : input.acks === "1" ? 1 as const : 0 as const
    yield* withCluster(Effect.scoped(Effect.gen(function*() {
      const topic = yield* topicOrFail(input.topic)
      if (partition !== undefined) yield* selectPartitions(topic, [partition])
      const producer = yield* Producer.make({ acks, idempotent: acks === "all", compression: input.compression })
      const framed = yield* SchemaRegistryFlags.writer(input, input.topic)
      const plain = (line: Uint8Array): ProducerRecord => {
        const kv = separator === undefined ? { key: fixedKey, value: line } : splitKey(line as Buffer, separator)
        return { topic: input.topic, partition, key: kv.key, value: kv.value, headers, timestamp }
      }
      const record = framed === undefined ? plain : (line: Uint8Array) => framed(plain(line))
      const fail = (e: { readonly message: string }) => new CommandFailed({ message: `producing to ${input.topic}: ${e.message}` })

      if (Option.isSome(input.value)) {
        const text = input.value.value
        const one = yield* Effect.try({ try: () => record(Buffer.from(text, "utf8")), catch: (e) => e as CommandFailed })
        const m = yield* producer.send(one).pipe(Effect.mapError(fail))
        write((json ? toJsonLine(recordJson(m)) : recordLine(m)) + "\n")
        return
      }

      const source = Option.isSome(input.file) && input.file.value !== "-"
        ? fs.createReadStream(input.file.value, { highWaterMark: CHUNK_BYTES })
        : process.stdin
      const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>
      const splitter = new LineSplitter()
      const summary = new Summary()
      const p = yield* progress("produced")
      const sendLines = (lines: ReadonlyArray<Buffer>) =>
        Effect.gen(function*() {
          if (lines.length === 0) return
          const records = yield* Effect.try({ try: () => lines.map(record), catch: (e) => e as CommandFailed })
          const metas = yield* producer.sendAll(records).pipe(Effect.mapError(fail))
          p.add(metas.length)
          if (input.each) {
            let out = ""
            for (const m of metas) out += (json ? toJsonLine(recordJson(m)) : recordLine(m)) + "\n"
            write(out)
          }
          for (const m of metas) summary.add(m)
        })
      for (;;) {
        const next = yield* Effect.tryPromise({
          try: () => chunks.next(),
          catch: (e) => new CommandFailed({ message: `reading ${Option.isSome(input.file) ? input.file.value : "stdin"}: ${(e as Error).message}` })
        })
        if (next.done === true) break
        yield* sendLines(splitter.push(next.value))
      }
      yield* sendLines(splitter.end())
      if (input.each) return
      const rows = summary.rows()
      if (json) write(toJsonLine({ topic: input.topic, records: summary.records, partitions: rows }) + "\n")
      else {
        const out = [`produced ${summary.records} records to ${input.topic}`]
        if (rows.length > 0) {
          out.push(...table(rows, [
            { header: "PARTITION", get: (r) => r.partition, right: true },
            { header: "RECORDS", get: (r) => r.count, right: true },
            { header: "FIRST OFFSET", get: (r) => r.firstOffset, right: true },
            { header: "LAST OFFSET", get: (r) => r.lastOffset, right: true }
          ]))
        }
        write(out.join("\n") + "\n")
      }
    })), { operation: "Write" })
  })

export const produce = Command.make("produce", flags, handler).pipe(
  Command.withDescription(
    "Write records: one from --value, or one per line of stdin or --file (empty lines are skipped). " +
      "Prints the partition and offset of a single record, a per-partition summary for lines (--each: every record)."
  )
)
