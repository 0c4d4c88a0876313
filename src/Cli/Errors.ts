/**
 * How the `kpax` command line fails, and the exit code each failure gets.
 *
 * | exit code | meaning |
 * | --- | --- |
 * | 0 | success |
 * | 1 | runtime error: Kafka refused, brokers unreachable, time-out, I/O |
 * | 2 | usage error: unknown flag or command, bad or missing value |
 * | 130 | interrupted (Ctrl-C / SIGINT, SIGTERM) |
 *
 * Every failure prints one line on stderr (`kpax: …`), never a stack trace (set `KPAX_DEBUG=1`
 * for the full cause of an internal error).
 *
 * @since 0.1.0
 */
import { Cause, Data } from "effect"
import { CliError } from "effect/cli"

/** Exit codes scripts can rely on. */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  interrupted: 130
} as const

/**
 * A bad value found after parsing (an unparsable time, a partition that does not exist in the
 * flag's own terms, contradicting flags). Exit code 2.
 *
 * @example
 * ```ts
 * Effect.fail(new UsageError({ message: "--start: cannot parse \"yesterday\"" }))
 * ```
 *
 * @since 0.1.0
 */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
}> {}

/**
 * A failure of the operation itself that is not a Kafka error (nothing to read, a payload
 * without the time field, …). Exit code 1.
 *
 * @since 0.1.0
 */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly message: string
}> {}

/** One line, never a secret: the error's own `message` with its tag for unknown shapes. */
export const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const e = error as { readonly _tag?: unknown; readonly message?: unknown; readonly name?: unknown; readonly item?: unknown }
    if (e._tag === "KafkaError" && typeof e.name === "string" && typeof e.message === "string") {
      const text = e.message.trim() === "" ? String((e as { description?: unknown }).description ?? "") : oneLine(e.message)
      return text.includes(e.name) || text === "" ? (text === "" ? e.name : text) : `${e.name}: ${text}`
    }
    if (typeof e.message === "string" && e.message.length > 0) return oneLine(e.message)
    if (typeof e._tag === "string") return e._tag
  }
  return oneLine(String(error))
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").trim()

/** The exit code for a failure (`CliError` and `UsageError` are usage errors). */
export const exitCodeOf = (error: unknown): number => {
  if (CliError.isCliError(error)) return ExitCode.usage
  if (typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "UsageError") return ExitCode.usage
  return ExitCode.runtime
}

/** The exit code and the line to print for a failed run. `undefined` line: already reported. */
export const outcomeOf = (cause: Cause.Cause<unknown>): { readonly code: number; readonly line: string | undefined } => {
  if (Cause.hasInterruptsOnly(cause)) return { code: ExitCode.interrupted, line: undefined }
  const failure = cause.reasons.find(Cause.isFailReason)
  if (failure !== undefined) {
    const error = failure.error
    if (CliError.isCliError(error)) {
      // The presenter printed parse errors and help already.
      return { code: ExitCode.usage, line: undefined }
    }
    return { code: exitCodeOf(error), line: describeError(error) }
  }
  const defect = cause.reasons.find(Cause.isDieReason)
  return { code: ExitCode.runtime, line: `internal error: ${describeError(defect?.defect)}` }
}

const USAGE_TAGS = new Set(["InvalidTopicName", "InvalidAdminRequest"])
const SELF_DESCRIBING_TAGS = new Set(["AdminItemError", "AdminPartialFailure", "GroupHasActiveMembers", "NotShareGroup"])

/**
 * Maps an error of an operation to the command line's: bad names and arguments are usage errors;
 * errors that name their operation and item keep their message; others get `what` as context.
 *
 * @example
 * ```ts
 * admin.deleteTopic(name).pipe(Effect.mapError(failure(`deleting topic ${name}`)))
 * ```
 */
export const failure = (what: string) => (e: unknown): UsageError | CommandFailed => {
  const tag = typeof e === "object" && e !== null ? String((e as { _tag?: unknown })._tag) : ""
  if (USAGE_TAGS.has(tag)) return new UsageError({ message: describeError(e) })
  if (SELF_DESCRIBING_TAGS.has(tag)) return new CommandFailed({ message: describeError(e) })
  return new CommandFailed({ message: `${what}: ${describeError(e)}` })
}
