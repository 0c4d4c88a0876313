/**
 * The kpax config file in-process (no broker): where it is looked up, the profile chosen,
 * password files, relative paths, `tls-insecure`, the settings' precedence and `"json": true`.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { withProfileOutput } from "../../src/Cli/Args.ts"
import * as Profile from "../../src/Cli/Profile.ts"
import * as Settings from "../../src/Cli/Settings.ts"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "kpax-profile-"))
const write = (file: string, doc: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, typeof doc === "string" ? doc : JSON.stringify(doc))
  return file
}

describe("kpax config file", () => {
  it("looks at KPAX_CONFIG, ./kpax.json, XDG, ~/.kpax in that order; the first one wins", () => {
    const home = tmp()
    const cwd = tmp()
    const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, "xdg") }
    assert.isUndefined(Profile.findFile(env, cwd))
    const dot = write(path.join(home, ".kpax", "config.json"), { profiles: {} })
    assert.strictEqual(Profile.findFile(env, cwd), dot)
    const xdg = write(path.join(home, "xdg", "kpax", "config.json"), { profiles: {} })
    assert.strictEqual(Profile.findFile(env, cwd), xdg)
    const local = write(path.join(cwd, "kpax.json"), { profiles: {} })
    assert.strictEqual(Profile.findFile(env, cwd), local)
    assert.strictEqual(Profile.findFile({ ...env, KPAX_CONFIG: "other.json" }, cwd), path.join(cwd, "other.json"))
    assert.strictEqual(Profile.findFile({ HOME: home }, tmp()), dot, "XDG_CONFIG_HOME unset: ~/.config, then ~/.kpax")
  })

  it("selects --profile, else KPAX_PROFILE, else the default; reads the password file; resolves paths against the file", () => {
    const dir = tmp()
    write(path.join(dir, "pw"), "file-secret\n")
    const file = write(path.join(dir, "kpax.json"), {
      default: "a",
      profiles: {
        a: { "brokers": ["a1:9092", "a2:9092"], "tls-ca": "ca.pem", "tls-insecure": true, "json": true },
        b: { "brokers": "b:9092", "sasl-mechanism": "PLAIN", "sasl-username": "u", "sasl-password-file": "pw" }
      }
    })
    const env = { HOME: dir, KPAX_CONFIG: file }
    const values = (name: string | undefined, extra: Record<string, string> = {}) =>
      Object.fromEntries(Profile.load({ name, env: { ...env, ...extra }, cwd: "/" })!.entries.map((e) => [e.variable, e.value]))
    assert.deepStrictEqual(values(undefined), {
      KAFKA_BROKERS: "a1:9092,a2:9092",
      KAFKA_TLS_CA_FILE: path.join(dir, "ca.pem"),
      KAFKA_TLS: "true",
      KAFKA_TLS_REJECT_UNAUTHORIZED: "false",
      KPAX_JSON: "true"
    })
    assert.strictEqual(values(undefined, { KPAX_PROFILE: "b" }).KAFKA_SASL_PASSWORD, "file-secret")
    assert.strictEqual(values("a", { KPAX_PROFILE: "b" }).KAFKA_BROKERS, "a1:9092,a2:9092")

    // flags over env over profile; the password masked
    const s = Settings.resolve({ flags: Settings.flag("KAFKA_CLIENT_ID", "--client-id", "f"), profile: "b", commandConfig: undefined, env: { ...env, KAFKA_BROKERS: "e:9092" }, cwd: "/" })
    const rows = Object.fromEntries(s.rows.map((r) => [r.setting, [r.value, r.source]]))
    assert.deepStrictEqual(rows["client-id"], ["f", "flag --client-id"])
    assert.deepStrictEqual(rows["brokers"], ["e:9092", "env KAFKA_BROKERS"])
    assert.deepStrictEqual(rows["sasl-password"], ["********", `profile b (${file}): file ${path.join(dir, "pw")}`])
    assert.deepStrictEqual(rows["timeout"], ["10s", "default"])

    // "json": true adds --json unless help, version or completions are asked for
    const wants = (name: string | undefined) => Profile.load({ name, env, cwd: "/" })?.entries.some((e) => e.variable === "KPAX_JSON") ?? false
    assert.deepStrictEqual(withProfileOutput(["meta"], wants), ["meta", "--json"])
    assert.deepStrictEqual(withProfileOutput(["meta", "--profile", "b"], wants), ["meta", "--profile", "b"])
    assert.deepStrictEqual(withProfileOutput(["meta", "--help"], wants), ["meta", "--help"])
    assert.deepStrictEqual(withProfileOutput(["produce", "t", "--", "-x"], wants), ["produce", "t", "--json", "--", "-x"])
  })

  it("refuses bad files and values with a ProfileError naming the key", () => {
    const dir = tmp()
    const load = (doc: unknown, name?: string) => {
      const file = write(path.join(dir, `${Math.random()}.json`), doc)
      try {
        Profile.load({ name, env: { HOME: dir, KPAX_CONFIG: file }, cwd: dir })
      } catch (e) {
        assert.instanceOf(e, Profile.ProfileError)
        return (e as Profile.ProfileError).message
      }
      return assert.fail("expected a ProfileError")
    }
    assert.match(load("{"), /^config file .*: /)
    assert.match(load({ profile: {} }), /expected \{"profiles"/)
    assert.match(load({ profiles: { p: { brokerz: "x" } } }, "p"), /^brokerz of profile p in .*: unknown key \(known: brokers, /)
    assert.match(load({ profiles: { p: { tls: "yes" } } }, "p"), /tls of profile p .*: expected true or false/)
    assert.match(load({ profiles: { p: { "sasl-password-file": "nope" } } }, "p"), /sasl-password-file of profile p .*: cannot read .*nope: ENOENT/)
    assert.match(load({ profiles: { p: { "sasl-password-env": "A", "sasl-password-file": "B" } } }, "p"), /not both/)
    assert.match(load({ profiles: {} }, "x"), /^profile x is not in .* \(profiles: none\)$/)
    assert.throws(() => Profile.load({ name: "p", env: { HOME: dir, XDG_CONFIG_HOME: dir }, cwd: dir }), /profile p: no kpax config file \(looked at /)
  })
})
