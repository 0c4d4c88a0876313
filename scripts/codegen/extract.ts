/**
 * Takes the protocol definitions of the Kafka version the project runs out of that version's own
 * `kafka-clients` jar, into `protocol/kafka-<version>/` (committed, so codegen is reproducible
 * without the jar):
 * - `message/*.json`: the jar's `common/message/*.json`, as they are (Apache License 2.0);
 * - `errors.json`: the jar's `Errors` enum (code, name, retriable, invalidMetadata), dumped by
 *   scripts/codegen/DumpErrors.java.
 *
 * Bumping Kafka: change KAFKA_VERSION in test/kafka/harness.ts, then
 *   npm run codegen:extract && npm run codegen && npm run codegen:errors && npm test
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { ensureJars, KAFKA_VERSION } from "../../test/kafka/harness.ts"
import { PROTOCOL_DIR } from "./version.ts"

const jars = await ensureJars()
const jar = path.join(jars, `kafka-clients-${KAFKA_VERSION}.jar`)
if (!fs.existsSync(jar)) throw new Error(`no ${jar}`)

const tmp = fs.mkdtempSync(path.join(jars, "..", "extract-"))
try {
  // `jar` ships with the JDK the harness needs anyway (Java 17+); no zip library for this.
  const java = process.env.JAVA_HOME === undefined ? "java" : path.join(process.env.JAVA_HOME, "bin", "java")
  const jarTool = process.env.JAVA_HOME === undefined ? "jar" : path.join(process.env.JAVA_HOME, "bin", "jar")
  execFileSync(jarTool, ["xf", jar, "common/message"], { cwd: tmp })
  const from = path.join(tmp, "common", "message")
  const files = fs.readdirSync(from).filter((f) => f.endsWith(".json")).sort()
  const out = path.join(PROTOCOL_DIR, "message")
  fs.rmSync(PROTOCOL_DIR, { recursive: true, force: true })
  fs.mkdirSync(out, { recursive: true })
  for (const f of files) fs.copyFileSync(path.join(from, f), path.join(out, f))
  const errors = execFileSync(java, ["-cp", path.join(jars, "*"), path.join(import.meta.dirname, "DumpErrors.java")], { encoding: "utf8" })
  JSON.parse(errors) // fails loudly on anything that is not the table
  fs.writeFileSync(path.join(PROTOCOL_DIR, "errors.json"), errors)
  fs.writeFileSync(
    path.join(PROTOCOL_DIR, "README.md"),
    `# Kafka ${KAFKA_VERSION} protocol definitions\n\n` +
      `Extracted by \`npm run codegen:extract\` from \`kafka-clients-${KAFKA_VERSION}.jar\` (Apache Kafka, Apache License 2.0):\n` +
      `\`message/\` is the jar's \`common/message/*.json\` as shipped; \`errors.json\` is the jar's \`Errors\` enum\n` +
      `(code, name, and whether the Java client's exception for it is retriable / an invalid-metadata error).\n` +
      `Do not edit: extract again for another version.\n`
  )
  console.log(`extract: ${files.length} definitions and ${JSON.parse(errors).length} error codes from ${path.basename(jar)} into ${path.relative(process.cwd(), PROTOCOL_DIR)}/`)
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
