/**
 * The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then —
 * for Protobuf only — the message-index path (a zigzag-varint count, then zigzag-varint indexes;
 * the path `[0]`, the first message of the file, is the single byte 0), then the payload.
 * Plain code over bytes: this runs per record.
 */

export const MAGIC = 0

/** The encoded message-index path (`[0]` → one byte 0). */
export const encodeIndexes = (indexes: ReadonlyArray<number>): Uint8Array => {
  if (indexes.length === 1 && indexes[0] === 0) return new Uint8Array([0])
  const out: Array<number> = []
  const put = (n: number) => {
    let z = n >= 0 ? n * 2 : -n * 2 - 1
    while (z >= 0x80) {
      out.push((z & 0x7f) | 0x80)
      z = Math.floor(z / 128)
    }
    out.push(z)
  }
  put(indexes.length)
  for (const i of indexes) put(i)
  return new Uint8Array(out)
}

/** Frames a payload: header (+ index bytes) and payload in one buffer. */
export const frame = (id: number, payload: Uint8Array, indexBytes?: Uint8Array): Buffer => {
  const extra = indexBytes === undefined ? 0 : indexBytes.length
  const out = Buffer.allocUnsafe(5 + extra + payload.length)
  out[0] = MAGIC
  out.writeUInt32BE(id, 1)
  if (indexBytes !== undefined) out.set(indexBytes, 5)
  out.set(payload, 5 + extra)
  return out
}

/** The schema id of a framed record, or -1 when it is too short or its magic byte is not 0. */
export const schemaId = (bytes: Uint8Array): number =>
  bytes.length < 5 || bytes[0] !== MAGIC ? -1 : ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0

/** Reads a message-index path at `offset`; returns the path and the offset after it, or undefined when truncated. */
export const readIndexes = (bytes: Uint8Array, offset: number): { readonly indexes: Array<number>; readonly end: number } | undefined => {
  let pos = offset
  const get = (): number | undefined => {
    let result = 0
    let mul = 1
    for (;;) {
      if (pos >= bytes.length) return undefined
      const b = bytes[pos++]!
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) break
      mul *= 128
      if (mul > 2 ** 35) return undefined
    }
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2
  }
  const count = get()
  if (count === undefined || count < 0) return undefined
  if (count === 0) return { indexes: [0], end: pos }
  const indexes: Array<number> = []
  for (let i = 0; i < count; i++) {
    const n = get()
    if (n === undefined) return undefined
    indexes.push(n)
  }
  return { indexes, end: pos }
}

/** A view of `bytes` from `offset` as a Buffer (no copy). */
export const view = (bytes: Uint8Array, offset: number): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset + offset, bytes.byteLength - offset)
