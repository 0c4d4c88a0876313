/**
 * A small MessagePack decoder (the whole format: nil, booleans, integers up to 64 bits, floats,
 * strings, binaries, arrays, maps, extensions with the timestamp extension as `Date`). Maps
 * become plain objects with string keys. Lengths are checked against the bytes left before
 * anything is allocated; nesting is bounded. Plain TypeScript.
 *
 * kpax decodes MessagePack only to read a time field out of a payload (`kpax rollback
 * --payload msgpack`); a small decoder keeps the package free of a dependency for it.
 *
 * @internal
 */

/** Bytes that are not valid MessagePack. */
export class MsgpackError extends Error {}

const MAX_DEPTH = 64

/** An extension value other than a timestamp. */
export interface Extension {
  readonly type: number
  readonly data: Uint8Array
}

export type MsgpackValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | Extension
  | ReadonlyArray<MsgpackValue>
  | { readonly [key: string]: MsgpackValue }

class Decoder {
  pos = 0
  readonly bytes: Uint8Array
  readonly view: DataView
  constructor(bytes: Uint8Array) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new MsgpackError(`truncated MessagePack: ${n} bytes needed at byte ${this.pos}, ${this.bytes.length - this.pos} left`)
    }
  }
  u8(): number {
    this.need(1)
    return this.bytes[this.pos++]!
  }
  u16(): number {
    this.need(2)
    const v = this.view.getUint16(this.pos)
    this.pos += 2
    return v
  }
  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.pos)
    this.pos += 4
    return v
  }
  take(n: number): Uint8Array {
    this.need(n)
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  str(n: number): string {
    const b = this.take(n)
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8")
  }
  int64(signed: boolean): number | bigint {
    this.need(8)
    const v = signed ? this.view.getBigInt64(this.pos) : this.view.getBigUint64(this.pos)
    this.pos += 8
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }

  array(n: number, depth: number): Array<MsgpackValue> {
    // every element takes at least one byte
    this.need(n)
    const out: Array<MsgpackValue> = []
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1))
    return out
  }
  map(n: number, depth: number): { [key: string]: MsgpackValue } {
    this.need(n * 2)
    const out: { [key: string]: MsgpackValue } = {}
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1)
      const key = typeof k === "string" ? k : k instanceof Uint8Array ? Buffer.from(k).toString("utf8") : String(k)
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  ext(n: number): MsgpackValue {
    this.need(1)
    const type = this.view.getInt8(this.pos++)
    const data = this.take(n)
    if (type !== -1) return { type, data }
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength)
    if (n === 4) return new Date(dv.getUint32(0) * 1000)
    if (n === 8) {
      const hi = dv.getUint32(0)
      const nanos = hi >>> 2
      const secs = (hi & 0x3) * 0x1_0000_0000 + dv.getUint32(4)
      return new Date(secs * 1000 + Math.floor(nanos / 1e6))
    }
    if (n === 12) return new Date(Number(dv.getBigInt64(4)) * 1000 + Math.floor(dv.getUint32(0) / 1e6))
    throw new MsgpackError(`timestamp extension of ${n} bytes`)
  }

  value(depth: number): MsgpackValue {
    if (depth > MAX_DEPTH) throw new MsgpackError(`MessagePack nested deeper than ${MAX_DEPTH}`)
    const b = this.u8()
    if (b <= 0x7f) return b
    if (b >= 0xe0) return b - 0x100
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth)
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth)
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f)
    switch (b) {
      case 0xc0: return null
      case 0xc2: return false
      case 0xc3: return true
      case 0xc4: return this.take(this.u8())
      case 0xc5: return this.take(this.u16())
      case 0xc6: return this.take(this.u32())
      case 0xc7: return this.ext(this.u8())
      case 0xc8: return this.ext(this.u16())
      case 0xc9: return this.ext(this.u32())
      case 0xca: {
        this.need(4)
        const v = this.view.getFloat32(this.pos)
        this.pos += 4
        return v
      }
      case 0xcb: {
        this.need(8)
        const v = this.view.getFloat64(this.pos)
        this.pos += 8
        return v
      }
      case 0xcc: return this.u8()
      case 0xcd: return this.u16()
      case 0xce: return this.u32()
      case 0xcf: return this.int64(false)
      case 0xd0: return (this.u8() << 24) >> 24
      case 0xd1: return (this.u16() << 16) >> 16
      case 0xd2: return this.u32() | 0
      case 0xd3: return this.int64(true)
      case 0xd4: return this.ext(1)
      case 0xd5: return this.ext(2)
      case 0xd6: return this.ext(4)
      case 0xd7: return this.ext(8)
      case 0xd8: return this.ext(16)
      case 0xd9: return this.str(this.u8())
      case 0xda: return this.str(this.u16())
      case 0xdb: return this.str(this.u32())
      case 0xdc: return this.array(this.u16(), depth)
      case 0xdd: return this.array(this.u32(), depth)
      case 0xde: return this.map(this.u16(), depth)
      case 0xdf: return this.map(this.u32(), depth)
      default: throw new MsgpackError(`byte 0x${b.toString(16)} at ${this.pos - 1} is not MessagePack`)
    }
  }
}

/**
 * Decodes one MessagePack value (trailing bytes are an error). Throws `MsgpackError`.
 *
 * @example
 * ```ts
 * decodeMsgpack(new Uint8Array([0x81, 0xa2, 0x74, 0x73, 0x05])) // { ts: 5 }
 * ```
 */
export const decodeMsgpack = (bytes: Uint8Array): MsgpackValue => {
  const d = new Decoder(bytes)
  const v = d.value(0)
  if (d.pos !== bytes.length) throw new MsgpackError(`${bytes.length - d.pos} bytes after the MessagePack value`)
  return v
}
