/**
 * Progress of long operations on stderr: on a terminal a live line (count, rate), redrawn a few
 * times a second and cleared at the end; when stderr is not a terminal a plain line every 10
 * seconds, and only for operations that last that long. `--quiet` turns it off. Never on stdout.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { Quiet } from "./Global.ts"

/** Counts what an operation did so far. */
export interface Progress {
  /** Adds `n` items (records). */
  readonly add: (n: number) => void
  /** Replaces the detail shown after the count. */
  readonly detail: (text: string) => void
  readonly count: () => number
}

const fmt = new Intl.NumberFormat("en-US")

/**
 * A progress reporter living in the current scope: `label` is the verb ("consumed", "produced").
 *
 * @example
 * ```ts
 * const p = yield* progress("produced", "records")
 * p.add(batch.length)
 * ```
 */
export const progress = (label: string, unit = "records"): Effect.Effect<Progress, never, Scope.Scope | typeof Quiet.Identifier> =>
  Effect.gen(function*() {
    const quiet = yield* Quiet
    let count = 0
    let detail = ""
    const p: Progress = {
      add: (n) => {
        count += n
      },
      detail: (t) => {
        detail = t
      },
      count: () => count
    }
    if (quiet) return p
    const tty = process.stderr.isTTY === true
    const started = Date.now()
    let drawn = false
    const text = () => {
      const secs = (Date.now() - started) / 1000
      const rate = secs > 0 ? Math.round(count / secs) : 0
      return `${label} ${fmt.format(count)} ${unit} (${fmt.format(rate)}/s)${detail === "" ? "" : ", " + detail}`
    }
    const timer = setInterval(() => {
      if (tty) {
        process.stderr.write(`\r\x1b[K${text()}`)
        drawn = true
      } else process.stderr.write(`kpax: ${text()}\n`)
    }, tty ? 250 : 10_000)
    timer.unref()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        clearInterval(timer)
        if (drawn) process.stderr.write("\r\x1b[K")
      })
    )
    return p
  })
