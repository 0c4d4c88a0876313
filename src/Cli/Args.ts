/**
 * Command-line words before parsing. Values that start with `-` followed by a digit — relative
 * times such as `--start -1h` — would be read as short flags (`-1`, `-h`: help!); they are joined
 * to their flag (`--start=-1h`) so that both spellings work.
 *
 * @since 0.1.0
 */

/** Flags whose value may be a relative time. */
const TIME_FLAGS = new Set(["--start", "--end", "--to", "--timestamp", "--to-datetime"])

/**
 * @example
 * ```ts
 * normalizeArgs(["consume", "t", "--start", "-1h"]) // ["consume", "t", "--start=-1h"]
 * ```
 */
export const normalizeArgs = (argv: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === "--") {
      out.push(...argv.slice(i))
      break
    }
    const next = argv[i + 1]
    if (TIME_FLAGS.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`)
      i++
    } else out.push(a)
  }
  return out
}
