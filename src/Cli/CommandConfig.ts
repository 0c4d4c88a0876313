/**
 * `--command-config client.properties`: the Java client's properties file (the one
 * `kafka-console-consumer --consumer.config` / `kafka-topics --command-config` take), read as kpax
 * connection settings.
 *
 * | key | kpax setting |
 * | --- | --- |
 * | `bootstrap.servers`, `client.id`, `request.timeout.ms` | brokers, client id, request timeout |
 * | `security.protocol` | `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL` |
 * | `sasl.mechanism` | `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` |
 * | `sasl.jaas.config` | `PlainLoginModule` / `ScramLoginModule` `username="…" password="…"` |
 * | `ssl.truststore.type=PEM` + `ssl.truststore.location` or `ssl.truststore.certificates` | the CA |
 * | `ssl.keystore.type=PEM` + `ssl.keystore.location` or `ssl.keystore.certificate.chain` + `ssl.keystore.key` | mutual TLS |
 *
 * Refused with a typed error, as kpax cannot honour them: JKS and PKCS12 stores (convert them to
 * PEM), `ssl.key.password` (encrypted keys), GSSAPI and OAUTHBEARER, an empty
 * `ssl.endpoint.identification.algorithm`, and any other `sasl.*` / `ssl.*` key. Keys that are not
 * about the connection (`group.id`, `auto.offset.reset`, …) are ignored and listed by
 * `kpax config show`.
 *
 * @example
 * ```ts
 * const { entries, ignored } = CommandConfig.load("/etc/kafka/client.properties")
 * ```
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { ProfileError } from "./Profile.ts"
import type { Entry } from "./Profile.ts"

/**
 * Parses Java `.properties` text: `key=value`, `key: value` or `key value` lines, `#` and `!`
 * comments, `\` line continuations and escapes (`\t`, `\n`, `\uXXXX`, `\=`).
 */
export const parse = (text: string): Map<string, string> => {
  const out = new Map<string, string>()
  const physical = text.split(/\r?\n|\r/)
  for (let i = 0; i < physical.length; i++) {
    let line = physical[i]!.replace(/^[ \t\f]+/, "")
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < physical.length) {
      line = line.slice(0, -1) + physical[++i]!.replace(/^[ \t\f]+/, "")
    }
    let k = 0
    while (k < line.length && !"=: \t\f".includes(line[k]!)) k += line[k] === "\\" ? 2 : 1
    const key = line.slice(0, k)
    let v = k
    while (v < line.length && " \t\f".includes(line[v]!)) v++
    if (v < line.length && "=:".includes(line[v]!)) v++
    while (v < line.length && " \t\f".includes(line[v]!)) v++
    out.set(unescape(key), unescape(line.slice(v)))
  }
  return out
}

const unescape = (s: string): string =>
  s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, c: string) =>
    c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c === "f" ? "\f" : c)

/** `Module required key="value" …;` → the module and its options. */
const parseJaas = (text: string): { module: string; options: Map<string, string> } | undefined => {
  const m = /^\s*([\w.$]+)\s+(required|requisite|sufficient|optional)\b([\s\S]*?);?\s*$/.exec(text)
  if (m === null) return undefined
  const options = new Map<string, string>()
  const re = /([\w.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))/g
  for (const o of m[3]!.matchAll(re)) options.set(o[1]!, o[2] !== undefined ? o[2].replace(/\\(.)/g, "$1") : o[3]!)
  return { module: m[1]!, options }
}

/** `sasl.*` / `ssl.*` keys that change nothing for kpax (Node negotiates TLS 1.2/1.3 itself). */
const HARMLESS = new Set(["ssl.protocol", "ssl.enabled.protocols", "ssl.truststore.password", "ssl.keystore.password"])
const HANDLED = new Set([
  "bootstrap.servers", "client.id", "request.timeout.ms", "security.protocol", "sasl.mechanism", "sasl.jaas.config",
  "ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.certificates", "ssl.keystore.type", "ssl.keystore.location",
  "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.endpoint.identification.algorithm", "ssl.key.password"
])

/** What a properties file sets: connection entries, and the keys kpax ignores. */
export interface Loaded {
  readonly file: string
  readonly entries: ReadonlyArray<Entry>
  readonly ignored: ReadonlyArray<string>
}

/** Reads a properties file as kpax settings. Throws {@link ProfileError}. */
export const load = (file: string): Loaded => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (e) {
    throw new ProfileError({ message: `--command-config ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}` })
  }
  return fromProperties(file, parse(text))
}

/** The kpax settings of parsed properties. Throws {@link ProfileError}. */
export const fromProperties = (file: string, props: ReadonlyMap<string, string>): Loaded => {
  const fail = (key: string, what: string) => new ProfileError({ message: `--command-config ${file}: ${key}: ${what}` })
  const entries: Array<Entry> = []
  const set = (variable: string, key: string, value: string, secret = false) =>
    entries.push({ variable, value, source: `--command-config ${file} (${key})`, origin: `${key} in ${file}`, ...(secret ? { secret } : {}) })
  const get = (key: string) => {
    const v = props.get(key)?.trim()
    return v === undefined || v === "" ? undefined : v
  }
  const ignored: Array<string> = []
  for (const key of props.keys()) {
    if (HANDLED.has(key)) continue
    if (HARMLESS.has(key)) ignored.push(key)
    else if (/^(sasl|ssl|security)\./.test(key)) throw fail(key, "not supported by kpax (supported: " + [...HANDLED].filter((k) => /^(sasl|ssl|security)\./.test(k)).join(", ") + ")")
    else ignored.push(key)
  }

  const brokers = get("bootstrap.servers")
  if (brokers !== undefined) set("KAFKA_BROKERS", "bootstrap.servers", brokers)
  const clientId = get("client.id")
  if (clientId !== undefined) set("KAFKA_CLIENT_ID", "client.id", clientId)
  const requestTimeout = get("request.timeout.ms")
  if (requestTimeout !== undefined) {
    if (!/^\d+$/.test(requestTimeout)) throw fail("request.timeout.ms", `expected milliseconds, got ${JSON.stringify(requestTimeout)}`)
    set("KAFKA_REQUEST_TIMEOUT", "request.timeout.ms", `${requestTimeout} millis`)
  }

  const protocol = (get("security.protocol") ?? "PLAINTEXT").toUpperCase()
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) {
    throw fail("security.protocol", `expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got ${JSON.stringify(get("security.protocol"))}`)
  }
  const tls = protocol === "SSL" || protocol === "SASL_SSL"
  if (get("security.protocol") !== undefined) set("KAFKA_TLS", "security.protocol", String(tls))

  if (protocol.startsWith("SASL_")) {
    const mechanism = (get("sasl.mechanism") ?? "GSSAPI").toUpperCase()
    if (!["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].includes(mechanism)) {
      throw fail("sasl.mechanism", `${mechanism}${get("sasl.mechanism") === undefined ? " (Java's default)" : ""} is not supported by kpax: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`)
    }
    set("KAFKA_SASL_MECHANISM", "sasl.mechanism", mechanism)
    const jaasText = get("sasl.jaas.config")
    if (jaasText === undefined) throw fail("sasl.jaas.config", `missing: ${mechanism} needs username="…" password="…"`)
    const jaas = parseJaas(jaasText)
    const expected = mechanism === "PLAIN" ? "PlainLoginModule" : "ScramLoginModule"
    if (jaas === undefined) throw fail("sasl.jaas.config", "expected `<LoginModule> required username=\"…\" password=\"…\";`")
    if (!jaas.module.endsWith(`.${expected}`) && jaas.module !== expected) throw fail("sasl.jaas.config", `${mechanism} needs ${expected}, not ${jaas.module}`)
    const username = jaas.options.get("username")
    const password = jaas.options.get("password")
    if (username === undefined || password === undefined) throw fail("sasl.jaas.config", "needs username=\"…\" and password=\"…\"")
    set("KAFKA_SASL_USERNAME", "sasl.jaas.config", username)
    set("KAFKA_SASL_PASSWORD", "sasl.jaas.config", password, true)
  }

  if (tls) {
    const pemOnly = (typeKey: string, locationKey: string) => {
      const type = get(typeKey)?.toUpperCase()
      const location = get(locationKey)
      if (type === "PEM") return
      if (type === undefined && location !== undefined && isPemFile(location)) return
      if (type !== undefined || location !== undefined) {
        throw fail(typeKey, `${type ?? "JKS (Java's default)"} stores are not supported by kpax: convert to PEM (openssl pkcs12 -in store.p12 -out store.pem, or keytool -exportcert -rfc) and set ${typeKey}=PEM`)
      }
    }
    pemOnly("ssl.truststore.type", "ssl.truststore.location")
    const trustLocation = get("ssl.truststore.location")
    if (trustLocation !== undefined) set("KAFKA_TLS_CA_FILE", "ssl.truststore.location", trustLocation)
    const trustInline = get("ssl.truststore.certificates")
    if (trustInline !== undefined) set("KPAX_TLS_CA_PEM", "ssl.truststore.certificates", trustInline)

    pemOnly("ssl.keystore.type", "ssl.keystore.location")
    if (get("ssl.key.password") !== undefined) throw fail("ssl.key.password", "encrypted private keys are not supported by kpax: decrypt it (openssl pkey -in key.pem -out plain.pem)")
    const keyLocation = get("ssl.keystore.location")
    if (keyLocation !== undefined) {
      set("KAFKA_TLS_CERT_FILE", "ssl.keystore.location", keyLocation)
      set("KAFKA_TLS_KEY_FILE", "ssl.keystore.location", keyLocation)
    }
    const chain = get("ssl.keystore.certificate.chain")
    const key = get("ssl.keystore.key")
    if ((chain === undefined) !== (key === undefined)) throw fail(chain === undefined ? "ssl.keystore.certificate.chain" : "ssl.keystore.key", "ssl.keystore.certificate.chain and ssl.keystore.key go together")
    if (chain !== undefined && key !== undefined) {
      set("KPAX_TLS_CERT_PEM", "ssl.keystore.certificate.chain", chain)
      set("KPAX_TLS_KEY_PEM", "ssl.keystore.key", key, true)
    }
    const identification = props.get("ssl.endpoint.identification.algorithm")
    if (identification !== undefined && identification.trim().toLowerCase() !== "https") {
      throw fail("ssl.endpoint.identification.algorithm", "kpax always checks the broker's host name (https); to skip certificate checks altogether use --tls-insecure")
    }
  }
  return { file, entries, ignored }
}

const isPemFile = (file: string): boolean => {
  try {
    return fs.readFileSync(file, "utf8").includes("-----BEGIN ")
  } catch {
    return false
  }
}
