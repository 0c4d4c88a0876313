/**
 * What commands print on stdout: aligned tables for people, one JSON value per line for programs
 * (`--json`). Offsets and other int64 values are JSON numbers when they fit in a double exactly,
 * strings otherwise.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Json } from "./Global.ts"

/** Writes text to stdout as it is. */
export const write = (text: string): void => {
  process.stdout.write(text)
}

/**
 * Writes a note for the operator on stderr (`kpax: …`): what a command did or chose besides its
 * output, such as a group offset it set.
 */
export const note = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(`kpax: ${text}\n`))

/** Writes one line to stdout. */
export const line = (text: string): Effect.Effect<void> => Effect.sync(() => write(text + "\n"))

const replacer = (_key: string, value: unknown): unknown => {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString()
  }
  return value
}

/**
 * One JSON value on one line (bigints as numbers when exact).
 *
 * @example
 * ```ts
 * toJsonLine({ offset: 42n }) // '{"offset":42}'
 * ```
 */
export const toJsonLine = (value: unknown): string => JSON.stringify(value, replacer)

/** Prints one JSON value on one line. */
export const json = (value: unknown): Effect.Effect<void> => line(toJsonLine(value))

/** A column of a table. */
export interface Column<R> {
  readonly header: string
  readonly get: (row: R) => string | number | bigint | boolean | null | undefined
  /** Right-aligned (numbers). */
  readonly right?: boolean
}

const cell = (v: string | number | bigint | boolean | null | undefined): string => (v === null || v === undefined ? "-" : String(v))

/**
 * Lines of an aligned table with a header row (no trailing spaces).
 *
 * @example
 * ```ts
 * table([{ p: 0, o: 12n }], [{ header: "PARTITION", get: (r) => r.p, right: true }, { header: "OFFSET", get: (r) => r.o, right: true }])
 * ```
 */
export const table = <R>(rows: ReadonlyArray<R>, columns: ReadonlyArray<Column<R>>): Array<string> => {
  const cells = rows.map((r) => columns.map((c) => cell(c.get(r))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)))
  const render = (values: ReadonlyArray<string>) =>
    values.map((v, i) => (columns[i]!.right === true ? v.padStart(widths[i]!) : i === values.length - 1 ? v : v.padEnd(widths[i]!))).join("  ").trimEnd()
  return [render(columns.map((c) => c.header)), ...cells.map(render)]
}

/**
 * Prints rows: a table, or with `--json` one JSON object per row (`toJson`, default the row).
 *
 * @example
 * ```ts
 * yield* rows(partitions, columns, (p) => ({ topic: p.topic, partition: p.partition }))
 * ```
 */
export const rows = <R>(
  data: ReadonlyArray<R>,
  columns: ReadonlyArray<Column<R>>,
  toJson: (row: R) => unknown = (r) => r
) =>
  Effect.gen(function*() {
    if (yield* Json) {
      let out = ""
      for (const r of data) out += toJsonLine(toJson(r)) + "\n"
      write(out)
    } else if (data.length > 0) {
      write(table(data, columns).join("\n") + "\n")
    }
  })

/** Prints a value: with `--json` as one JSON line, else as the given text lines. */
export const value = (jsonValue: unknown, text: () => ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (yield* Json) write(toJsonLine(jsonValue) + "\n")
    else {
      const lines = text()
      if (lines.length > 0) write(lines.join("\n") + "\n")
    }
  })
