import { assert, describe, it } from "@effect/vitest"
import { FrameSplitter } from "../../src/Connection/internal/FrameSplitter.ts"

const frameOf = (payload: Array<number>) => {
  const b = Buffer.alloc(4 + payload.length)
  b.writeInt32BE(payload.length, 0)
  Buffer.from(payload).copy(b, 4)
  return b
}

describe("FrameSplitter", () => {
  it("reassembles frames split at every possible offset", () => {
    const frames = [[0, 0, 0, 1], [0, 0, 0, 2, 9, 9, 9], [0, 0, 0, 3, 1], [0, 0, 0, 4, ...Array(300).fill(5)]]
    const stream = Buffer.concat(frames.map(frameOf))
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += 17) {
        const got: Array<Array<number>> = []
        const s = new FrameSplitter(1024, (f) => got.push([...f]))
        for (const part of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) {
          assert.isUndefined(s.push(part))
        }
        assert.deepStrictEqual(got, frames)
        assert.strictEqual(s.pendingBytes, 0)
      }
    }
  })

  it("byte-by-byte delivery", () => {
    const frames = [[0, 0, 0, 7, 1, 2], [0, 0, 0, 8]]
    const stream = Buffer.concat(frames.map(frameOf))
    const got: Array<Array<number>> = []
    const s = new FrameSplitter(1024, (f) => got.push([...f]))
    for (let i = 0; i < stream.length; i++) s.push(stream.subarray(i, i + 1))
    assert.deepStrictEqual(got, frames)
  })

  it("refuses an oversized frame from its size prefix alone", () => {
    const s = new FrameSplitter(100, () => assert.fail("no frame expected"))
    const head = Buffer.alloc(4)
    head.writeInt32BE(101, 0)
    const fault = s.push(head)
    assert.strictEqual(fault?.kind, "FrameTooLarge")
    assert.strictEqual(s.pendingBytes, 0)
  })

  it("names a TLS record where a size belongs (a plaintext client on a TLS listener)", () => {
    // what a TLS listener answers a plaintext ApiVersions with: an alert record, TLS 1.2
    const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])
    const fault = new FrameSplitter(100 * 1024 * 1024, () => assert.fail("no frame expected")).push(alert)
    assert.strictEqual(fault?.kind, "TlsRecord")
    assert.match(fault?.message ?? "", /TLS listener/)
    // a huge size that is not a TLS header stays FrameTooLarge
    const other = Buffer.alloc(4)
    other.writeInt32BE(0x7fff_fff0, 0)
    assert.strictEqual(new FrameSplitter(100, () => {}).push(other)?.kind, "FrameTooLarge")
  })

  it("refuses negative and too-small sizes", () => {
    for (const size of [-1, 0, 3]) {
      const s = new FrameSplitter(100, () => assert.fail("no frame expected"))
      const head = Buffer.alloc(4)
      head.writeInt32BE(size, 0)
      assert.strictEqual(s.push(head)?.kind, "Protocol")
    }
  })

  it("frames inside one chunk are zero-copy views", () => {
    const chunk = Buffer.concat([frameOf([0, 0, 0, 1, 42]), frameOf([0, 0, 0, 2])])
    const got: Array<Buffer> = []
    new FrameSplitter(100, (f) => got.push(f)).push(chunk)
    assert.strictEqual(got[0]!.buffer, chunk.buffer)
    assert.strictEqual(got[1]!.buffer, chunk.buffer)
  })
})
