import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { AclBinding } from "../../src/Admin/Admin.ts"
import type { KafkaHandle } from "../kafka/harness.ts"
import { startSingle } from "../kafka/harness.ts"
import { eventually, failure, uniqueTopic, withAdmin } from "./helpers.ts"

describe("Admin ACLs, broker without an authorizer (the default test broker)", () => {
  it.live("every ACL request comes back as the typed SECURITY_DISABLED error", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const described = yield* failure(admin.describeAcls({ resourceType: "topic" }))
        assert.strictEqual(described._tag, "AdminItemError")
        if (described._tag === "AdminItemError") {
          assert.strictEqual(described.name, "SECURITY_DISABLED")
          assert.strictEqual(described.operation, "describeAcls")
          assert.include(described.item, "ACL filter")
        }
        const caught = yield* admin.describeAcls().pipe(
          Effect.as("described"),
          Effect.catchReason("AdminItemError", "SECURITY_DISABLED", () => Effect.succeed("disabled"))
        )
        assert.strictEqual(caught, "disabled")

        const binding: AclBinding = {
          resourceType: "topic", resourceName: "orders", patternType: "literal",
          principal: "User:alice", host: "*", operation: "read", permission: "allow"
        }
        const created = yield* failure(admin.createAcls([binding]))
        assert.strictEqual(created._tag, "AdminPartialFailure")
        if (created._tag === "AdminPartialFailure") {
          assert.deepStrictEqual(created.failures.map((f) => [f.item, f.name]), [["ACL allow User:alice read topic orders (literal) from *", "SECURITY_DISABLED"]])
        }
        const deleted = yield* failure(admin.deleteAcls([{ principal: "User:alice" }]))
        assert.strictEqual(deleted._tag === "AdminPartialFailure" && deleted.failures[0].name, "SECURITY_DISABLED")
      })))
})

describe("Admin ACLs, broker with StandardAuthorizer", () => {
  // A broker of its own: the harness's single broker with an authorizer (the client, anonymous on
  // PLAINTEXT, is a super user).
  let kafka: KafkaHandle | undefined
  beforeAll(async () => {
    kafka = await startSingle({
      config: {
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS"
      }
    })
  }, 180_000)
  afterAll(async () => {
    await kafka?.stop()
  }, 60_000)

  it.live("create, describe by filters, delete ACLs", () =>
    withAdmin((admin) =>
      Effect.gen(function*() {
        const topic = uniqueTopic("admin-acl")
        const bindings: ReadonlyArray<AclBinding> = [
          { resourceType: "topic", resourceName: topic, patternType: "literal", principal: "User:alice", host: "*", operation: "read", permission: "allow" },
          { resourceType: "topic", resourceName: topic, patternType: "literal", principal: "User:alice", host: "10.0.0.1", operation: "write", permission: "deny" },
          { resourceType: "group", resourceName: "billing-", patternType: "prefixed", principal: "User:bob", host: "*", operation: "read", permission: "allow" },
          { resourceType: "cluster", resourceName: "kafka-cluster", patternType: "literal", principal: "User:bob", host: "*", operation: "describeConfigs", permission: "allow" }
        ]
        yield* admin.createAcls(bindings)
        const sort = (bs: ReadonlyArray<AclBinding>) => [...bs].map((b) => JSON.stringify(b)).sort()
        const all = yield* eventually(Effect.flatMap(admin.describeAcls(), (bs) =>
          bs.length >= 4 ? Effect.succeed(bs) : Effect.fail(`${bs.length} ACLs`)))
        assert.deepStrictEqual(sort(all), sort(bindings))

        const alices = yield* admin.describeAcls({ principal: "User:alice" })
        assert.deepStrictEqual(sort(alices), sort(bindings.slice(0, 2)))
        const denies = yield* admin.describeAcls({ resourceType: "topic", resourceName: topic, permission: "deny" })
        assert.deepStrictEqual(denies.map((b) => [b.operation, b.host]), [["write", "10.0.0.1"]])
        // "match": every ACL that applies to a name, prefixes included
        const forGroup = yield* admin.describeAcls({ resourceType: "group", resourceName: "billing-eu", patternType: "match" })
        assert.deepStrictEqual(sort(forGroup), sort([bindings[2]]))
        assert.deepStrictEqual(yield* admin.describeAcls({ resourceType: "group", resourceName: "billing-eu", patternType: "literal" }), [])

        const deleted = yield* admin.deleteAcls([{ principal: "User:alice", permission: "deny" }, { resourceType: "group" }])
        assert.deepStrictEqual(sort(deleted), sort([bindings[1], bindings[2]]))
        const left = yield* eventually(Effect.flatMap(admin.describeAcls(), (bs) =>
          bs.length === 2 ? Effect.succeed(bs) : Effect.fail(`${bs.length} ACLs`)))
        assert.deepStrictEqual(sort(left), sort([bindings[0], bindings[3]]))

        // a principal without a type is the creation's typed error; the valid one beside it is created
        const bad: AclBinding = { ...bindings[0], principal: "carol" }
        const good: AclBinding = { ...bindings[0], principal: "User:dave" }
        const e = yield* failure(admin.createAcls([bad, good]))
        assert.strictEqual(e._tag, "AdminPartialFailure")
        if (e._tag === "AdminPartialFailure") {
          assert.strictEqual(e.failures.length, 1)
          assert.include(e.failures[0].item, "carol")
          assert.deepStrictEqual(e.succeeded.length, 1)
        }
        yield* admin.deleteAcls([{}])
        yield* eventually(Effect.flatMap(admin.describeAcls(), (bs) => bs.length === 0 ? Effect.void : Effect.fail(`${bs.length} ACLs`)))
      }), kafka!.brokers))
})
