/**
 * Flags several commands share: partition selection and record output.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { UsageError } from "./Errors.ts"
import type { Encoding, FormatOptions } from "./RecordFormat.ts"
import { formatter } from "./RecordFormat.ts"
import { parsePosition } from "./Time.ts"
import type { Position } from "./Time.ts"

const toggle = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false), Flag.withoutNegation)

/** `--partitions 0,2,5-7`. */
export const partitions = Flag.String("partitions").pipe(
  Flag.withAlias("p"),
  Flag.withDescription("partitions to read: 0,2,5-7 (default: every partition)"),
  Flag.optional
)

/** Partition numbers of a `--partitions` value. */
export const parsePartitions = (spec: Option.Option<string>): Effect.Effect<ReadonlyArray<number>, UsageError> =>
  Effect.suspend(() => {
    if (Option.isNone(spec)) return Effect.succeed([])
    const out: Array<number> = []
    for (const part of spec.value.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part)
      if (m === null || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
        return Effect.fail(new UsageError({ message: `--partitions: expected numbers and ranges such as 0,2,5-7, got ${JSON.stringify(spec.value)}` }))
      }
      for (let p = Number(m[1]); p <= Number(m[2] ?? m[1]); p++) out.push(p)
    }
    return Effect.succeed(out)
  })

/** A `--start`/`--end`/`--to` value as a position. */
export const position = (flag: string, text: string, now: number): Effect.Effect<Position, UsageError> => {
  const p = parsePosition(text, now)
  return p === undefined
    ? Effect.fail(new UsageError({ message: `--${flag}: expected earliest, latest, a time (RFC 3339, -1h, @epoch-ms) or an offset, got ${JSON.stringify(text)}` }))
    : Effect.succeed(p)
}

/** Record output flags of `consume` and `tail`. */
export const format = {
  format: Flag.Literals("format", ["raw", "json"]).pipe(Flag.withDescription("raw: the value (and toggled fields) per line; json: an object per line"), Flag.withDefault("raw" as const)),
  template: Flag.String("template").pipe(
    Flag.withDescription("print each record by a template: {{topic}} {{partition}} {{offset}} {{timestamp}} {{time}} {{key}} {{value}} {{headers}} {{header.NAME}} {{deliveryCount}}, \\t \\n"),
    Flag.optional
  ),
  encoding: Flag.Literals("encoding", ["utf8", "base64", "hex"]).pipe(Flag.withDescription("how keys, values and header values are written"), Flag.withDefault("utf8" as const)),
  key: toggle("key", "print the key"),
  headers: toggle("headers", "print the headers"),
  timestamp: toggle("timestamp", "print the timestamp"),
  partition: toggle("partition", "print the partition"),
  offset: toggle("offset", "print the offset")
}

export interface FormatInput {
  readonly format: "raw" | "json"
  readonly template: Option.Option<string>
  readonly encoding: Encoding
  readonly key: boolean
  readonly headers: boolean
  readonly timestamp: boolean
  readonly partition: boolean
  readonly offset: boolean
}

/** The record printer of the format flags (`--json` selects the json format). */
export const recordPrinter = (input: FormatInput, json: boolean) => {
  const options: FormatOptions = { ...input, format: json ? "json" : input.format, template: Option.getOrUndefined(input.template) }
  const f = formatter(options)
  return typeof f === "string" ? Effect.fail(new UsageError({ message: `--template: ${f}` })) : Effect.succeed(f)
}
