/**
 * Splits a byte stream into Kafka frames (`int32 size` + `size` bytes). Plain TypeScript, no
 * Effect: it runs inside the socket's `'data'` handler.
 *
 * - Chunks are kept as a list; bytes are copied at most once, and only when a frame spans several
 *   chunks (a frame inside one chunk is a zero-copy `subarray`). No quadratic concatenation.
 * - The size prefix is checked against `maxFrameBytes` as soon as its 4 bytes are here, before
 *   the frame body is buffered, so a bogus or hostile size never makes us allocate it.
 *
 * @internal
 */

/** A framing violation: the stream cannot be trusted any more. */
export interface FrameFault {
  readonly kind: "FrameTooLarge" | "TlsRecord" | "Protocol"
  readonly message: string
}

/** A size prefix whose bytes read as a TLS record header (content type 20–23, version 3.x). */
const isTlsRecordHeader = (size: number): boolean => {
  const type = size >>> 24
  return type >= 0x14 && type <= 0x17 && ((size >>> 16) & 0xff) === 0x03 && ((size >>> 8) & 0xff) <= 0x04
}

/** The smallest legal response frame: an int32 correlation id. */
const MIN_FRAME = 4

export class FrameSplitter {
  private chunks: Array<Buffer> = []
  private head = 0 // index of the first live chunk in `chunks`
  private buffered = 0 // bytes held in chunks[head..]
  private frameSize = -1 // size of the frame being read, -1 while reading the size prefix
  private readonly maxFrameBytes: number
  private readonly onFrame: (frame: Buffer) => void

  constructor(maxFrameBytes: number, onFrame: (frame: Buffer) => void) {
    this.maxFrameBytes = maxFrameBytes
    this.onFrame = onFrame
  }

  /** Bytes received but not yet delivered as a frame. */
  get pendingBytes(): number {
    return this.buffered + (this.frameSize >= 0 ? 4 : 0)
  }

  /** Size of the frame being assembled, or -1 when between frames. */
  get expectedFrameBytes(): number {
    return this.frameSize
  }

  /** Drops everything buffered. */
  clear(): void {
    this.chunks = []
    this.head = 0
    this.buffered = 0
    this.frameSize = -1
  }

  /**
   * Adds a chunk and delivers every whole frame (without its size prefix) to `onFrame`,
   * synchronously and in order. Returns a fault when the stream is broken; the splitter is then
   * cleared and must not be used again.
   */
  push(chunk: Buffer): FrameFault | undefined {
    if (chunk.length === 0) return undefined
    this.chunks.push(chunk)
    this.buffered += chunk.length
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) break
        const size = this.readInt32()
        if (size < MIN_FRAME || size > this.maxFrameBytes) {
          this.clear()
          return size > this.maxFrameBytes && isTlsRecordHeader(size)
            ? {
              kind: "TlsRecord",
              message: `the broker answered with TLS (a record header where a frame size belongs): it is a TLS listener, connect with TLS`
            }
            : size > this.maxFrameBytes
            ? {
              kind: "FrameTooLarge",
              message: `frame of ${size} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`
            }
            : { kind: "Protocol", message: `invalid frame size ${size}` }
        }
        this.frameSize = size
      }
      if (this.buffered < this.frameSize) break
      const frame = this.take(this.frameSize)
      this.frameSize = -1
      this.onFrame(frame)
    }
    this.compact()
    return undefined
  }

  /** Reads and consumes a big-endian int32 that may span chunks. */
  private readInt32(): number {
    const first = this.chunks[this.head]!
    if (first.length >= 4) {
      const v = first.readInt32BE(0)
      this.consume(4)
      return v
    }
    let v = 0
    for (let i = 0; i < 4; i++) {
      const c = this.chunks[this.head]!
      v = (v << 8) | c[0]!
      this.consume(1)
    }
    return v | 0
  }

  /** Drops `n` bytes from the front (n ≤ bytes in the first chunk). */
  private consume(n: number): void {
    const first = this.chunks[this.head]!
    this.buffered -= n
    if (n === first.length) {
      this.chunks[this.head] = undefined as unknown as Buffer
      this.head++
    } else {
      this.chunks[this.head] = first.subarray(n)
    }
  }

  /** Removes and returns the next `n` bytes (n ≤ buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[this.head]!
    if (first.length >= n) {
      const out = first.subarray(0, n)
      this.consume(n)
      return out
    }
    const out = Buffer.allocUnsafe(n)
    let off = 0
    while (off < n) {
      const c = this.chunks[this.head]!
      const k = Math.min(c.length, n - off)
      c.copy(out, off, 0, k)
      off += k
      this.consume(k)
    }
    return out
  }

  /** Keeps the chunk list short without shifting on every frame. */
  private compact(): void {
    if (this.head === 0) return
    if (this.head === this.chunks.length) {
      this.chunks = []
      this.head = 0
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }
}
