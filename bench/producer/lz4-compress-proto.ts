/**
 * Prototype, not kpax code (measured 2026-12-02, see bench/RESULTS.md "lz4 compression: lz4-napi
 * stays"): LZ4 compression in plain TypeScript — the block compressor of liblz4's "fast" mode
 * (acceleration 1) and the LZ4 frame Kafka clients write around it.
 *
 * It writes the very bytes liblz4 writes (`lz4 -1 -B4 --no-frame-crc`; checked on the branch it
 * came from, with property tests against lz4-napi, kpax's decoder, `lz4 -d` and the broker). It
 * costs less CPU than lz4-napi's sync call on incompressible input, where lz4-napi's time is
 * mostly kernel time around its output allocation, but more on compressible input and end to end
 * in the producer, whose large sections go to the thread pool — so kpax keeps lz4-napi.
 * `npx node bench/producer/lz4-frame-proto.ts` times it.
 *
 * Block format (lz4_Block_format.md): sequences of a token (4 bits literal length, 4 bits match
 * length − 4, 15 meaning "more bytes follow, 255 each"), the literals, a 2-byte little-endian
 * offset and the match length extension. End-of-block rules kept here: the last 5 bytes are
 * literals (LASTLITERALS), the last match starts at least 12 bytes before the end (MFLIMIT), and
 * blocks shorter than 13 bytes are one literal run.
 *
 * Frame (lz4_Frame_format.md, as Java's `KafkaLZ4BlockOutputStream` writes it, KIP-57 header
 * checksum): magic `0x184D2204`, FLG `0x60` (version 01, independent blocks, no block or content
 * checksum, no content size), BD `0x40` (64 KiB blocks), HC = second byte of xxh32(FLG BD); then
 * per 64 KiB of input a little-endian block size (high bit set: the block is stored uncompressed,
 * because compressing did not shrink it) and the block; a zero end mark.
 *
 * @example
 * ```ts
 * const frame = lz4CompressFrame(new TextEncoder().encode("hello hello hello hello"))
 * ```
 *
 * @module
 */

/** Uncompressed bytes per frame block (BD 0x40). */
export const LZ4_BLOCK_SIZE = 64 * 1024

const MINMATCH = 4
const LASTLITERALS = 5
const MFLIMIT = 12
/** Blocks shorter than this are one literal run (liblz4's LZ4_minLength). */
const MIN_LENGTH = MFLIMIT + 1
const SKIP_TRIGGER = 6
/** As liblz4 for inputs under 64 KiB (its 16-bit table): 2^13 entries, hashed from 4 bytes. */
const HASH_LOG = 13
const HASH_SHIFT = 32 - HASH_LOG
const HASH_PRIME = -1640531535 // 2654435761 as int32

/**
 * Hash table of positions, shared by every block: an entry is `gen + position in the block`, so
 * entries below `gen` are from earlier blocks and mean "no candidate"; each block moves `gen`
 * past everything stored before instead of clearing the table.
 */
const table = new Int32Array(1 << HASH_LOG)
let gen = 1
const GEN_LIMIT = 1 << 30

/** The largest compressed size of an `n`-byte block (liblz4's LZ4_COMPRESSBOUND). */
export const lz4BlockBound = (n: number): number => n + ((n / 255) | 0) + 16

const read32 = (view: DataView, i: number): number => view.getInt32(i, true)

const hash = (seq: number): number => Math.imul(seq, HASH_PRIME) >>> HASH_SHIFT

const copyBytes = (src: Uint8Array, from: number, to: number, out: Uint8Array, op: number): void => {
  if (to - from < 32) {
    for (let i = from; i < to; i++) out[op++] = src[i]
  } else out.set(src.subarray(from, to), op)
}

/**
 * Compresses `input[start, end)` (at most 64 KiB) as one LZ4 block into `out` from `op`, which
 * must have room for {@link lz4BlockBound} bytes. Returns the position after the block.
 */
export const lz4CompressBlock = (input: Uint8Array, start: number, end: number, out: Uint8Array, op: number): number =>
  compressBlock(input, new DataView(input.buffer, input.byteOffset, input.byteLength), start, end, out, op)

/**
 * The 4-byte reads go through a DataView over `src`: TurboFan turns `getInt32(i, true)` into one
 * unaligned load, where four byte loads and shifts measured 1.5–2× slower in the probe loop.
 */
const compressBlock = (src: Uint8Array, view: DataView, start: number, end: number, out: Uint8Array, op: number): number => {
  const n = end - start
  if (n > LZ4_BLOCK_SIZE) throw new RangeError(`an lz4 block holds at most ${LZ4_BLOCK_SIZE} bytes, not ${n}`)
  let anchor = start
  if (n >= MIN_LENGTH) {
    if (gen > GEN_LIMIT) {
      table.fill(0)
      gen = 1
    }
    const base = gen - start // table value of position p: p + base
    gen += n + 1
    const mflimitPlusOne = end - MFLIMIT + 1
    const matchLimit = end - LASTLITERALS
    let ip = start
    table[hash(read32(view, ip))] = ip + base
    ip++
    let forwardSeq = read32(view, ip)
    search: for (;;) {
      // find a match: probe forward, the step growing by one every 64 misses
      let forwardIp = ip
      let step = 1
      let searchMatchNb = 1 << SKIP_TRIGGER
      let ref = 0
      for (;;) {
        const seq = forwardSeq
        const h = hash(seq)
        ip = forwardIp
        forwardIp += step
        step = searchMatchNb++ >> SKIP_TRIGGER
        if (forwardIp > mflimitPlusOne) break search
        ref = table[h] - base
        forwardSeq = read32(view, forwardIp)
        table[h] = ip + base
        if (ref >= start && read32(view, ref) === seq) break
      }
      // extend backwards over equal bytes still in the literal run
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--
        ref--
      }
      // literal run
      let token = op++
      const litLength = ip - anchor
      if (litLength >= 15) {
        out[token] = 0xf0
        let len = litLength - 15
        for (; len >= 255; len -= 255) out[op++] = 255
        out[op++] = len
      } else out[token] = litLength << 4
      copyBytes(src, anchor, ip, out, op)
      op += litLength
      for (;;) {
        // offset
        const offset = ip - ref
        out[op++] = offset & 0xff
        out[op++] = offset >>> 8
        // match length: 4 bytes at a time, then the equal low bytes of the first difference
        ip += MINMATCH
        ref += MINMATCH
        const matchStart = ip
        for (;;) {
          if (ip > matchLimit - 4) {
            while (ip < matchLimit && src[ip] === src[ref]) {
              ip++
              ref++
            }
            break
          }
          const diff = read32(view, ip) ^ read32(view, ref)
          if (diff !== 0) {
            ip += (31 - Math.clz32(diff & -diff)) >>> 3 // little-endian reads: the low bytes come first
            break
          }
          ip += 4
          ref += 4
        }
        let matchCode = ip - matchStart
        if (matchCode >= 15) {
          out[token] += 15
          matchCode -= 15
          for (; matchCode >= 255; matchCode -= 255) out[op++] = 255
          out[op++] = matchCode
        } else out[token] += matchCode
        anchor = ip
        if (ip >= mflimitPlusOne) break search
        // index a position inside the match, then try the next one at once
        table[hash(read32(view, ip - 2))] = ip - 2 + base
        const h = hash(read32(view, ip))
        ref = table[h] - base
        table[h] = ip + base
        if (ref >= start && read32(view, ref) === read32(view, ip)) {
          token = op++
          out[token] = 0
          continue
        }
        break
      }
      forwardSeq = read32(view, ++ip)
    }
  }
  // last literals
  const lastRun = end - anchor
  if (lastRun >= 15) {
    out[op++] = 0xf0
    let len = lastRun - 15
    for (; len >= 255; len -= 255) out[op++] = 255
    out[op++] = len
  } else out[op++] = lastRun << 4
  copyBytes(src, anchor, end, out, op)
  return op + lastRun
}

/** Magic, FLG 0x60, BD 0x40, HC 0x82 (= (xxh32([0x60, 0x40]) >> 8) & 0xff). */
const FRAME_HEADER = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82] as const

/** The largest frame {@link lz4CompressFrame} writes for `n` input bytes. */
export const lz4FrameBound = (n: number): number => {
  const blocks = Math.ceil(n / LZ4_BLOCK_SIZE)
  return FRAME_HEADER.length + blocks * 4 + (n + blocks * (((LZ4_BLOCK_SIZE / 255) | 0) + 16)) + 4
}

/** Scratch output, kept between calls up to this size; larger frames get a buffer of their own. */
const SCRATCH_MAX = 1024 * 1024 + 64 * 1024
let scratch = new Uint8Array(lz4FrameBound(256 * 1024))

/**
 * Compresses `data` into one LZ4 frame as Kafka clients write it: independent 64 KiB blocks, no
 * checksums but the header's, a block stored as is when compressing does not shrink it.
 *
 * @example
 * ```ts
 * const frame = lz4CompressFrame(Buffer.from(JSON.stringify({ hello: "world" }).repeat(100)))
 * ```
 */
export const lz4CompressFrame = (input: Uint8Array): Buffer => {
  // a plain Uint8Array view: the block compressor's loads then see one array shape, not Buffer's too
  const data = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const bound = lz4FrameBound(data.length)
  let out = scratch
  if (bound > out.length) {
    out = new Uint8Array(bound)
    if (bound <= SCRATCH_MAX) scratch = out
  }
  for (let i = 0; i < FRAME_HEADER.length; i++) out[i] = FRAME_HEADER[i]
  let op = FRAME_HEADER.length
  for (let start = 0; start < data.length; start += LZ4_BLOCK_SIZE) {
    const end = Math.min(data.length, start + LZ4_BLOCK_SIZE)
    const n = end - start
    const blockEnd = compressBlock(data, view, start, end, out, op + 4)
    let size = blockEnd - op - 4
    if (size >= n) {
      // stored uncompressed: the high bit of the size says so
      out.set(data.subarray(start, end), op + 4)
      size = n
      writeU32(out, op, (n | 0x80000000) >>> 0)
    } else writeU32(out, op, size)
    op += 4 + size
  }
  writeU32(out, op, 0) // end mark
  op += 4
  const result = Buffer.allocUnsafe(op)
  result.set(out.subarray(0, op), 0)
  return result
}

const writeU32 = (b: Uint8Array, p: number, v: number): void => {
  b[p] = v & 0xff
  b[p + 1] = (v >>> 8) & 0xff
  b[p + 2] = (v >>> 16) & 0xff
  b[p + 3] = v >>> 24
}
