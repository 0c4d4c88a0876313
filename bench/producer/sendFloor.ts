/**
 * Effect's bound for the per-record pattern `Effect.forEach(records, f, { concurrency:
 * "unbounded" })` (issue 14): `f` is a bare `Effect.callback` that hands its record to a `sendAll`
 * of 1,000 records and is resumed with that `sendAll`'s result. kpax's cost is `sendAll`'s; what
 * is added is Effect's fiber, callback and resume per element, so no per-record `send` can be
 * faster (up to noise). Used by send-vs-sendAll.ts (`FLOOR=1`) and the bench's per-record
 * scenario (`KPAX_BENCH_RECORD=floor`).
 */
import { Effect } from "effect"
import type * as Producer from "../../src/Producer/Producer.ts"

type Resume = (effect: Effect.Effect<Producer.RecordMetadata, Producer.ProducerError>) => void

/** Effect's bound: a bare callback per record, resumed from a `sendAll` per 1,000 records. */
export const floor = (producer: Producer.ProducerService, records: ReadonlyArray<Producer.ProducerRecord>) => {
  const CHUNK = 1000
  let chunk: Array<Producer.ProducerRecord> = []
  let resumes: Array<Resume> = []
  const flush = () => {
    const rs = resumes
    Effect.runCallback(producer.sendAll(chunk), {
      onExit: (exit) => {
        for (let i = 0; i < rs.length; i++) rs[i](exit._tag === "Success" ? Effect.succeed(exit.value[i]) : Effect.failCause(exit.cause))
      }
    })
    chunk = []
    resumes = []
  }
  return Effect.forEach(records, (r, i) =>
    Effect.callback<Producer.RecordMetadata, Producer.ProducerError>((resume) => {
      chunk.push(r)
      resumes.push(resume)
      if (chunk.length === CHUNK || i === records.length - 1) flush()
    }), { concurrency: "unbounded" })
}

