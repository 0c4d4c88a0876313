import { assert, describe, it } from "@effect/vitest"
import * as Scram from "../../src/Connection/internal/Scram.ts"

// RFC 7677 §3: SCRAM-SHA-256 example exchange (user "user", password "pencil").
const clientNonce = "rOprNGfwEbeRWgbNEkqO"
const serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
const expectedFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
const serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

describe("SCRAM (RFC 5802 / 7677)", () => {
  it("reproduces the RFC 7677 SCRAM-SHA-256 exchange", async () => {
    const first = Scram.clientFirst("user", clientNonce)
    assert.strictEqual(first.message, `n,,n=user,r=${clientNonce}`)
    const server = Scram.parseServerFirst(serverFirst, clientNonce)
    if (typeof server === "string") return assert.fail(server)
    const salted = await Scram.saltedPassword(Scram.SCRAM_SHA_256, "pencil", server.salt, server.iterations)
    const final = Scram.clientFinal(Scram.SCRAM_SHA_256, salted, first, server)
    assert.strictEqual(final.message, expectedFinal)
    assert.isUndefined(Scram.verifyServerFinal(serverFinal, final.serverSignature))
  })

  it("rejects a wrong server signature, a server error, and a malformed final message", async () => {
    const first = Scram.clientFirst("user", clientNonce)
    const server = Scram.parseServerFirst(serverFirst, clientNonce)
    if (typeof server === "string") return assert.fail(server)
    const salted = await Scram.saltedPassword(Scram.SCRAM_SHA_256, "pencil", server.salt, server.iterations)
    const final = Scram.clientFinal(Scram.SCRAM_SHA_256, salted, first, server)
    assert.match(Scram.verifyServerFinal("v=AAAA", final.serverSignature)!, /mismatch/)
    assert.match(Scram.verifyServerFinal("e=invalid-proof", final.serverSignature)!, /invalid-proof/)
    assert.match(Scram.verifyServerFinal("x=1", final.serverSignature)!, /malformed/)
  })

  it("rejects a server nonce that does not extend ours and out-of-range iterations", () => {
    assert.match(Scram.parseServerFirst("r=other,s=AAAA,i=4096", clientNonce) as string, /nonce/)
    assert.match(Scram.parseServerFirst(`r=${clientNonce},s=AAAA,i=4096`, clientNonce) as string, /nonce/)
    assert.match(Scram.parseServerFirst(`r=${clientNonce}x,s=AAAA,i=100`, clientNonce) as string, /iterations/)
    assert.match(Scram.parseServerFirst(`r=${clientNonce}x,s=AAAA,i=100000000`, clientNonce) as string, /iterations/)
    assert.match(Scram.parseServerFirst(`m=ext,r=${clientNonce}x,s=AAAA,i=4096`, clientNonce) as string, /extension/)
    assert.match(Scram.parseServerFirst(`r=${clientNonce}x,i=4096`, clientNonce) as string, /malformed/)
  })

  it("escapes = and , in user names", () => {
    assert.strictEqual(Scram.saslName("a=b,c"), "a=3Db=2Cc")
  })
})
