/**
 * Kafka's murmur2 hash, bit for bit as the Java client's `Utils.murmur2`, on 32-bit integers
 * (`Math.imul` keeps the multiplications in int32 like Java's overflowing `int`).
 *
 * @internal
 */
export const murmur2 = (data: Uint8Array): number => {
  const length = data.length
  const m = 0x5bd1e995
  let h = (0x9747b28c ^ length) | 0
  const length4 = length & ~3
  for (let i = 0; i < length4; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const tail = length & 3
  if (tail === 3) h ^= data[length4 + 2] << 16
  if (tail >= 2) h ^= data[length4 + 1] << 8
  if (tail >= 1) {
    h ^= data[length4]
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** Java's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for MIN_VALUE). */
export const toPositive = (n: number): number => n & 0x7fffffff
