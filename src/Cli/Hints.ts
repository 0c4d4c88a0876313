/**
 * What to do about the misconfigurations people hit first, appended to the error's one line:
 * a plaintext client on a TLS listener, no SASL on a SASL listener, a SASL mechanism the broker
 * does not enable, and authorization failures (the ACL that is missing, as the `kpax acls create`
 * that adds it).
 *
 * @example
 * ```ts
 * hint("topic t: TOPIC_AUTHORIZATION_FAILED: topic t", { principal: "User:bob", sasl: true, operation: "Read" })
 * // "User:bob may not Read topic t (missing ACL): an admin can allow it with kpax acls create --allow-principal User:bob --operation Read --topic t"
 * ```
 *
 * @since 0.1.0
 */
import { CommandFailed, describeError } from "./Errors.ts"

/** What the command was doing, for authorization hints. */
export interface Context {
  /** `User:alice`; `User:ANONYMOUS` without SASL. */
  readonly principal: string | undefined
  readonly sasl: boolean
  /** The ACL operation the command needs on its topics or groups (default: Describe). */
  readonly operation?: string | undefined
}

const SUPPORTED = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

const RESOURCE = {
  TOPIC: { word: "topic", flag: "--topic" },
  GROUP: { word: "group", flag: "--group" },
  TRANSACTIONAL_ID: { word: "transactional id", flag: "--transactional-id" }
} as const

/** The hint for an error line, if one applies. */
export const hint = (line: string, ctx: Context): string | undefined => {
  if (/answered with TLS/.test(line)) {
    return "add --tls and --tls-ca CA.pem (profile: tls-ca; client.properties: security.protocol=SSL or SASL_SSL)"
  }
  if (!ctx.sasl && /connection closed by the broker/.test(line)) {
    return "if this is a SASL listener, give --sasl-mechanism, --sasl-username and the password (KAFKA_SASL_PASSWORD), or security.protocol=SASL_PLAINTEXT/SASL_SSL with sasl.* in --command-config"
  }
  const mechanism = /SASL mechanism \S+ is not enabled on \S+ \(enabled: ([^)]*)\)/.exec(line)
  if (mechanism !== null) {
    const usable = mechanism[1]!.split(/,\s*/).filter((m) => SUPPORTED.includes(m))
    return usable.length === 0
      ? "the broker enables no mechanism kpax speaks (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"
      : `use --sasl-mechanism ${usable.join(" or ")}`
  }
  const denied = /\b(TOPIC|GROUP|CLUSTER|TRANSACTIONAL_ID)_AUTHORIZATION_FAILED\b/.exec(line)
  if (denied !== null) {
    const principal = ctx.principal ?? "User:ANONYMOUS"
    const kind = denied[1] as "TOPIC" | "GROUP" | "CLUSTER" | "TRANSACTIONAL_ID"
    const operation = /^createTopics\b/.test(line) ? "Create" : /^deleteTopics\b/.test(line) ? "Delete" : ctx.operation ?? "Describe"
    if (kind === "CLUSTER") {
      return `${principal} may not ${operation} the cluster (missing ACL): an admin can allow it with kpax acls create --allow-principal ${principal} --operation ${operation} --cluster`
    }
    const r = RESOURCE[kind]
    const name = new RegExp(`\\b${r.word} (\\S+?):`).exec(line)?.[1]
    const groupOperation = kind === "GROUP" && operation === "Write" ? "Read" : operation
    return name === undefined
      ? `${principal} may not ${groupOperation} a ${r.word} (missing ACL): see kpax acls list --principal ${principal}`
      : `${principal} may not ${groupOperation} ${r.word} ${name} (missing ACL): an admin can allow it with kpax acls create --allow-principal ${principal} --operation ${groupOperation} ${r.flag} ${name}`
  }
  return undefined
}

/**
 * An error with its hint appended (a `CommandFailed`), or unchanged when no hint applies. Usage
 * errors stay as they are.
 */
export const withHint = (ctx: Context) => <E>(e: E): E | CommandFailed => {
  if (typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "UsageError") return e
  // the broker's own text after an authorization code describes its request object, not the fix
  const line = describeError(e).replace(/(_AUTHORIZATION_FAILED)\b.*$/, "$1")
  const h = hint(line, ctx)
  return h === undefined ? e : new CommandFailed({ message: `${line}: ${h}` })
}
