/**
 * Reused memory for encoded record batches. A batch's bytes live off the JavaScript heap; a fresh
 * buffer per batch (up to `maxBatchSize`, 1 MB by default) grows the process's external memory
 * at the produce rate, and V8 answers external memory growth with full (mark-compact) collections
 * of the whole heap — cheap for a small heap, but with a million sends waiting (a fiber each,
 * issue 14) every one of them marks a gigabyte: at 1M concurrent sends 13 of 16 full collections
 * were started by "external memory pressure". Buffers whose request was answered come back here
 * and the next batches are written into them, so steady sending allocates no new external memory.
 *
 * Only buffers of at least `MIN_POOLED` bytes are pooled (smaller ones come from Node's own pool),
 * at most `MAX_POOLED` of them are kept, and a buffer is given back only once the broker answered
 * its request (so no socket write still reads it).
 *
 * @internal
 */
export const MIN_POOLED = 32 * 1024
const MAX_POOLED = 32
/** Capacities are rounded up to this, so batches of similar size share buffers. */
const STEP = 64 * 1024

export class BufferPool {
  private readonly free: Array<ArrayBuffer> = []

  /** A buffer of exactly `size` bytes, backed by a pooled (or new, poolable) `ArrayBuffer`. */
  take(size: number): Buffer {
    const free = this.free
    for (let i = free.length - 1; i >= 0; i--) {
      const ab = free[i]
      if (ab.byteLength >= size) {
        free[i] = free[free.length - 1]
        free.pop()
        return Buffer.from(ab, 0, size)
      }
    }
    return Buffer.from(new ArrayBuffer(Math.ceil(size / STEP) * STEP), 0, size)
  }

  /** Gives back the memory of a buffer from `take` that nothing reads any more. */
  give(ab: ArrayBuffer): void {
    if (this.free.length < MAX_POOLED) this.free.push(ab)
  }
}
