/**
 * How the command line shows help and usage errors: `--help` on stdout; a usage error as one
 * line on stderr (`kpax: <what is wrong> (see 'kpax consume --help')`), exit code 2; a command
 * group run without a subcommand shows its help on stderr, exit code 2. Every help text ends with
 * the exit codes.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { CliOutput } from "effect/cli"

const colors = process.stdout.isTTY === true && process.env.NO_COLOR === undefined

const formatter = CliOutput.defaultFormatter({ colors, globalFlags: "full", inheritedFlags: "full" })

/** Appended to every help text. */
const EXIT_CODES = "\nEXIT CODES\n  0    success\n  1    runtime error: Kafka error, unreachable brokers, time-out, I/O\n  2    usage error: unknown command or flag, bad or missing value\n  130  interrupted (Ctrl-C)\n"

const firstLine = (s: string): string => s.split("\n").map((l) => l.trim()).filter((l) => l.length > 0).join(" ")

/** The presenter of the `kpax` command line. */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.sync(() => {
      switch (event._tag) {
        case "Help":
          if (event.reason === "Requested") process.stdout.write(formatter.formatHelpDoc(event.helpDoc) + "\n" + EXIT_CODES)
          else process.stderr.write(formatter.formatHelpDoc(event.helpDoc) + "\n" + EXIT_CODES)
          return
        case "InvalidInvocation": {
          const messages = event.errors.map((e) => firstLine(e.message))
          process.stderr.write(`kpax: ${messages.join("; ")} (see '${event.commandPath.join(" ")} --help')\n`)
          return
        }
        case "Version":
          process.stdout.write(`${event.name} ${event.version}\n`)
          return
      }
    })
}

/** The layer installing {@link presenter}. */
export const layer = CliOutput.layerPresenter(presenter)
