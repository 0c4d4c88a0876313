/**
 * Lines of a byte stream as byte views (no text decoding): split on `\n`, a trailing `\r`
 * dropped, empty lines skipped. Plain TypeScript: runs per byte chunk.
 *
 * @internal
 */

/** Splits chunks into lines, carrying a partial last line over to the next chunk. */
export class LineSplitter {
  private rest: Buffer | undefined = undefined

  /** The complete lines in `chunk` (after what was carried over). */
  push(chunk: Buffer): Array<Buffer> {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk])
    const out: Array<Buffer> = []
    let start = 0
    for (;;) {
      const nl = buf.indexOf(0x0a, start)
      if (nl < 0) break
      this.take(buf, start, nl, out)
      start = nl + 1
    }
    this.rest = start < buf.length ? buf.subarray(start) : undefined
    return out
  }

  /** The last line when the input did not end with a newline. */
  end(): Array<Buffer> {
    const out: Array<Buffer> = []
    if (this.rest !== undefined) this.take(this.rest, 0, this.rest.length, out)
    this.rest = undefined
    return out
  }

  private take(buf: Buffer, start: number, end: number, out: Array<Buffer>): void {
    if (end > start && buf[end - 1] === 0x0d) end--
    if (end > start) out.push(buf.subarray(start, end))
  }
}

/**
 * Splits a line at the first `separator`: the key before, the value after; a line without the
 * separator has no key.
 */
export const splitKey = (line: Buffer, separator: Buffer): { readonly key: Uint8Array | null; readonly value: Uint8Array } => {
  const i = line.indexOf(separator)
  if (i < 0) return { key: null, value: line }
  return { key: line.subarray(0, i), value: line.subarray(i + separator.length) }
}
