import { assert, describe, it } from "@effect/vitest"
import { crc32c, crc32cTs, NATIVE_MIN } from "../../src/Protocol/internal/Crc32c.ts"

const ascii = (s: string) => new TextEncoder().encode(s)

/** Bit-at-a-time reference (the definition), to check the table-driven code. */
const reference = (b: Uint8Array): number => {
  let c = 0xffffffff
  for (let i = 0; i < b.length; i++) {
    c ^= b[i]
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}

describe("CRC-32C", () => {
  it("known vectors (RFC 3720 B.4, and the standard check value)", () => {
    assert.strictEqual(crc32c(ascii("123456789")), 0xe3069283)
    assert.strictEqual(crc32c(new Uint8Array(0)), 0)
    assert.strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa)
    assert.strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
    assert.strictEqual(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e)
    assert.strictEqual(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c)
    assert.strictEqual(crc32cTs(ascii("123456789")), 0xe3069283)
  })

  it("matches the bit-wise definition for every length, offset and alignment", () => {
    const buf = new Uint8Array(3000)
    let x = 12345
    for (let i = 0; i < buf.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      buf[i] = x >>> 24
    }
    for (const len of [0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 100, 511, 512, 513, 1024, 2047, 2999]) {
      for (const start of [0, 1, 2, 3, 5]) {
        if (start + len > buf.length) continue
        const want = reference(buf.subarray(start, start + len))
        assert.strictEqual(crc32cTs(buf, start, start + len), want, `ts len=${len} start=${start}`)
        assert.strictEqual(crc32c(buf, start, start + len), want, `crc32c len=${len} start=${start}`)
        assert.strictEqual(crc32cTs(buf.subarray(start, start + len)), want)
      }
    }
  })

  it("continues a running CRC across chunks (both paths)", () => {
    const buf = Uint8Array.from({ length: NATIVE_MIN * 4 }, (_, i) => (i * 7) & 0xff)
    const whole = crc32c(buf)
    for (const cut of [1, 100, NATIVE_MIN, NATIVE_MIN * 2 + 3]) {
      assert.strictEqual(crc32c(buf, cut, buf.length, crc32c(buf, 0, cut)), whole)
      assert.strictEqual(crc32cTs(buf, cut, buf.length, crc32cTs(buf, 0, cut)), whole)
    }
  })
})
