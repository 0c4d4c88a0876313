import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { readFileSync } from "node:fs"
import { execFileSync } from "node:child_process"
import { ErrorCode, Errors, KafkaError, errorForCode, errorInfo, kafkaError } from "../../src/Protocol/Errors.ts"
import type { ErrorName } from "../../src/Protocol/Errors.ts"

import { join } from "node:path"
import { PROTOCOL_DIR } from "../../scripts/codegen/version.ts"

// The table taken from the kafka-clients jar of the version the project runs (committed).
const table: Array<{ code: number; name: string; retriable: boolean; invalidMetadata: boolean }> = JSON.parse(
  readFileSync(join(PROTOCOL_DIR, "errors.json"), "utf8")
)

describe("Errors", () => {
  it("has every code of errors.json with its name and flags", () => {
    for (const e of table) {
      assert.strictEqual((ErrorCode as Record<string, number>)[e.name], e.code, e.name)
      if (e.code === 0) {
        assert.isUndefined(errorForCode(0))
        assert.isUndefined(errorInfo(0))
        continue
      }
      const info = errorInfo(e.code)!
      assert.strictEqual(info._tag, e.name)
      assert.strictEqual(info.code, e.code)
      assert.strictEqual(info.retriable, e.retriable, `${e.name}.retriable`)
      assert.strictEqual(info.invalidMetadata, e.invalidMetadata, `${e.name}.invalidMetadata`)
      // our own words, never Kafka's message string
      assert.isAbove(info.description.length, 8)
      const err = errorForCode(e.code)!
      assert.instanceOf(err, KafkaError)
      assert.strictEqual(err._tag, "KafkaError")
      assert.strictEqual(err.name, e.name)
      assert.strictEqual(err.code, e.code)
      assert.strictEqual(err.retriable, e.retriable)
      assert.strictEqual(err.invalidMetadata, e.invalidMetadata)
    }
    assert.strictEqual(Object.keys(Errors).length, table.length - 1)
  })

  it("the generated file is up to date", () => {
    execFileSync(process.execPath, ["scripts/codegen/errors.ts", "--check"], { cwd: new URL("../..", import.meta.url) })
  })

  it("known constants and flags", () => {
    assert.strictEqual(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6)
    assert.strictEqual(ErrorCode.UNKNOWN_SERVER_ERROR, -1)
    assert.isTrue(Errors.NOT_LEADER_OR_FOLLOWER.retriable && Errors.NOT_LEADER_OR_FOLLOWER.invalidMetadata)
    assert.isTrue(Errors.NOT_COORDINATOR.retriable && !Errors.NOT_COORDINATOR.invalidMetadata)
    assert.isFalse(Errors.TOPIC_AUTHORIZATION_FAILED.retriable)
  })

  it("unknown codes map to UNKNOWN_SERVER_ERROR but keep their code", () => {
    const e = errorForCode(9999)!
    assert.strictEqual(e.name, "UNKNOWN_SERVER_ERROR")
    assert.strictEqual(e.code, 9999)
    assert.isFalse(e.retriable)
    assert.isUndefined(errorInfo(9999))
  })

  it("the broker's message wins over the description", () => {
    assert.strictEqual(errorForCode(3, "no such topic: foo")!.message, "no such topic: foo")
    assert.strictEqual(errorForCode(3, null)!.message, Errors.UNKNOWN_TOPIC_OR_PARTITION.description)
  })

  it.effect("catchTag and catchReason match by family and by name", () =>
    Effect.gen(function*() {
      const fail = (name: ErrorName): Effect.Effect<string, KafkaError> => Effect.fail(kafkaError(name))
      const byReason = yield* fail("NOT_LEADER_OR_FOLLOWER").pipe(
        Effect.catchReason("KafkaError", "NOT_LEADER_OR_FOLLOWER", (info) => Effect.succeed(`moved:${info.code}`))
      )
      assert.strictEqual(byReason, "moved:6")
      const other = yield* Effect.exit(fail("REBALANCE_IN_PROGRESS").pipe(
        Effect.catchReason("KafkaError", "NOT_LEADER_OR_FOLLOWER", () => Effect.succeed("nope"))
      ))
      assert.isTrue(Exit.isFailure(other))
      const byTag = yield* fail("REBALANCE_IN_PROGRESS").pipe(
        Effect.catchTag("KafkaError", (e) => Effect.succeed(e.name === "REBALANCE_IN_PROGRESS" ? "rejoin" : "other"))
      )
      assert.strictEqual(byTag, "rejoin")
    }))
})
