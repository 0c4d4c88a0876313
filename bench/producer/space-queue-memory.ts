/**
 * Heap per waiter of the producer's buffer-space queue (`SpaceQueue`, issue 14): 1M waiters
 * pushed with one shared value object (the queue's own cost: two array slots each), then 1M with
 * a distinct `{ record, resume }` object and closure each (what the producer adds per waiting
 * send; the waiting fiber itself is not counted).
 *
 *   npx node --expose-gc bench/producer/space-queue-memory.ts
 */
import { SpaceQueue } from "../../src/Producer/internal/spaceQueue.ts"

const N = 1_000_000
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with --expose-gc")
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const shared = { record: null, resume: () => {} }
let before = heap()
const q1 = new SpaceQueue<object>()
for (let i = 0; i < N; i++) q1.push(1041, shared)
const queueOnly = (heap() - before) / N
console.log(`SpaceQueue alone: ${queueOnly.toFixed(1)} bytes per waiter at ${N} waiters (${q1.length})`)

const record = { topic: "t", value: new Uint8Array(1) }
before = heap()
const q2 = new SpaceQueue<object>()
for (let i = 0; i < N; i++) {
  const resume = (_: unknown) => {
    void i
  }
  q2.push(1041, { record, resume })
}
const withEntry = (heap() - before) / N
console.log(`with a { record, resume } entry and a closure each: ${withEntry.toFixed(1)} bytes per waiter (${q2.length})`)
