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

const valueOf = (argv: ReadonlyArray<string>, flag: string): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === "--") return undefined
    if (a === flag) return argv[i + 1]
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1)
  }
  return undefined
}

/**
 * `--json` added when the selected profile asks for JSON output (`"json": true`) and the command
 * line does not ask for help, the version or completions. A broken config file adds nothing:
 * the command itself reports it.
 *
 * @example
 * ```ts
 * withProfileOutput(["meta"], (name) => name === undefined ? true : false) // ["meta", "--json"]
 * ```
 */
export const withProfileOutput = (argv: ReadonlyArray<string>, wantsJson: (profile: string | undefined) => boolean): ReadonlyArray<string> => {
  const end = argv.indexOf("--")
  const words = end < 0 ? argv : argv.slice(0, end)
  if (words.length === 0 || words.some((a) => ["--json", "--help", "-h", "--version", "--completions"].includes(a) || a.startsWith("--completions="))) return argv
  if (!wantsJson(valueOf(words, "--profile"))) return argv
  return end < 0 ? [...argv, "--json"] : [...argv.slice(0, end), "--json", ...argv.slice(end)]
}
