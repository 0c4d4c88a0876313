// Decoder fuzzing: over a million random and mutated (truncated, bit-flipped, length-inflated,
// spliced, random) response bodies per run, across every API and version. The public decode
// boundary must answer each with a value or a DecodeError: no other exception, no hang, no
// allocation out of proportion to the input.
//
// The fuzzing runs in worker threads (this same file, loaded by Node with `workerData.kpaxFuzz`):
// a watchdog terminates a worker that stops reporting progress (a hang in synchronous decoding
// cannot be interrupted otherwise), each worker has a capped heap, and both cores are used.
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Result } from "effect"
import { Worker, workerData, parentPort } from "node:worker_threads"
import {
  allApis,
  allData,
  type AnyApi,
  decodeRequestFrame,
  decodeResponseBody,
  decodeVersioned,
  type DecodeError
} from "../../src/Protocol/index.ts"
import type { FieldDefinition, MessageDefinition } from "../../src/Protocol/generated/definitions.ts"
import { definitions } from "../../src/Protocol/generated/definitions.ts"
import { Writer } from "../../src/Protocol/internal/Writer.ts"

const TOTAL = Number(process.env.KPAX_FUZZ_TOTAL ?? 1_000_000)
const SEED = Number(process.env.KPAX_FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff) + 1)

/** xorshift32: fast, seeded, reproducible. */
const rng = (seed: number) => {
  let s = seed | 0 || 1
  const next = () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return s >>> 0
  }
  return { next, int: (n: number) => next() % n }
}

// ---- seeds: valid bodies for every (api, version), from Schema-drawn values ---------------------

const inRange = (r: readonly [number, number] | null | undefined, v: number) => r != null && r[0] <= v && v <= r[1]

const zero = (f: FieldDefinition): unknown => {
  if (f.default !== undefined) return f.type === "int64" && f.default !== null ? BigInt(f.default as string) : f.default
  if (f.type.startsWith("[]")) return []
  switch (f.type) {
    case "bool":
      return false
    case "int64":
      return 0n
    case "string":
      return ""
    case "bytes":
      return new Uint8Array(0)
    case "uuid":
      return "AAAAAAAAAAAAAAAAAAAAAA"
    case "records":
      return null
    case "struct":
      return Object.fromEntries(f.fields!.map((g) => [g.name, zero(g)]))
    default:
      return 0
  }
}

/** A field's zero in a version that cannot carry null (a null default nullable only in other versions: empty). */
const nonNullZero = (f: FieldDefinition): unknown => {
  const z = zero(f)
  if (z !== null) return z
  if (f.type === "records" || f.type === "bytes") return new Uint8Array(0)
  if (f.type === "string") return ""
  if (f.type.startsWith("[]")) return []
  if (f.type === "struct") return Object.fromEntries(f.fields!.map((g) => [g.name, nonNullZero(g)]))
  return z
}

/** Makes a drawn value encodable at version v (fields v lacks at their defaults, nulls only where allowed). */
const fit = (x: any, fields: ReadonlyArray<FieldDefinition>, v: number, md: MessageDefinition): any => {
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    const raw = x[f.name]
    const on = inRange(f.versions, v) && (f.tag === undefined || inRange(md.flexible, v))
    if (!on || raw === undefined) out[f.name] = zero(f)
    else if (raw === null && !inRange(f.nullable, v)) out[f.name] = nonNullZero(f)
    else if (raw !== null && f.type === "struct") out[f.name] = fit(raw, f.fields!, v, md)
    else if (raw !== null && f.type === "[]struct") out[f.name] = raw.map((e: any) => fit(e, f.fields!, v, md))
    else out[f.name] = raw
  }
  return out
}

interface Target {
  readonly label: string
  readonly decode: (bytes: Uint8Array) => Result.Result<unknown, DecodeError>
  readonly seeds: Array<Uint8Array>
}

const buildTargets = async (seed: number): Promise<Array<Target>> => {
  const targets: Array<Target> = []
  const sample = (schema: any, count: number) =>
    Effect.runPromise(Arbitrary.sampleEffect(Arbitrary.schema(schema), { count, size: 5, seed }))
  for (const api of allApis as ReadonlyArray<AnyApi>) {
    const md = definitions[`${api.name}Response`]
    const values = await sample(api.Response, 6)
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      const seeds = values.map((x) => {
        const w = new Writer()
        api.encodeResponse(w, v, fit(x, md.fields, v, md))
        return w.finish()
      })
      targets.push({ label: `${api.name} v${v} response`, decode: (b) => decodeResponseBody(api, v, b, 0), seeds })
    }
    // requests too, through the request-frame decoder an in-memory broker uses
    const rd = definitions[`${api.name}Request`]
    const reqs = await sample(api.Request, 2)
    const seeds: Array<Uint8Array> = []
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      for (const x of reqs) {
        const w = new Writer()
        w.int16(api.key).int16(v).int32(1).nullableString("fuzz")
        if (v >= api.flexibleVersion) w.emptyTaggedFields()
        api.encodeRequest(w, v, fit(x, rd.fields, v, rd))
        seeds.push(w.finish())
      }
    }
    targets.push({ label: `${api.name} request frames`, decode: decodeRequestFrame, seeds })
  }
  for (const data of allData) {
    const md = definitions[data.name]
    const values = await sample(data.Schema, 6)
    const seeds: Array<Uint8Array> = []
    for (let v = data.minVersion; v <= data.maxVersion; v++) {
      for (const x of values) {
        const w = new Writer()
        w.int16(v)
        data.encode(w, v, fit(x, md.fields, v, md))
        seeds.push(w.finish())
      }
    }
    targets.push({ label: data.name, decode: (b) => decodeVersioned(data, b), seeds })
  }
  return targets
}

// ---- mutations ------------------------------------------------------------------------------------

const BIG = [0x7fffffff, 0x7ffffffe, 0x10000000, 0xffffffff, 0x80000000, 0x0000ffff, 0x00007fff]

const mutate = (r: ReturnType<typeof rng>, seed: Uint8Array): Uint8Array => {
  const kind = r.int(8)
  const n = seed.length
  switch (kind) {
    case 0: // truncation
      return seed.subarray(0, r.int(n + 1))
    case 1: { // 1-4 bit flips
      const b = seed.slice()
      for (let k = 1 + r.int(4); k > 0 && n > 0; k--) b[r.int(n)] ^= 1 << r.int(8)
      return b
    }
    case 2: { // int32-sized length inflation at a random offset
      const b = seed.slice()
      if (n >= 4) new DataView(b.buffer).setUint32(r.int(n - 3), BIG[r.int(BIG.length)])
      return b
    }
    case 3: { // int16 / varint inflation: 0x7fff, 0xff runs (varint continuation bytes)
      const b = seed.slice()
      if (n >= 2) {
        const at = r.int(n - 1)
        if (r.int(2) === 0) {
          b[at] = 0x7f
          b[at + 1] = 0xff
        } else for (let i = at; i < Math.min(n, at + 1 + r.int(6)); i++) b[i] = 0xff
      }
      return b
    }
    case 4: { // random byte overwrites
      const b = seed.slice()
      for (let k = 1 + r.int(8); k > 0 && n > 0; k--) b[r.int(n)] = r.int(256)
      return b
    }
    case 5: { // splice: insert or delete a few bytes
      const at = r.int(n + 1)
      if (r.int(2) === 0) {
        const ins = new Uint8Array(1 + r.int(8)).map(() => r.int(256))
        const b = new Uint8Array(n + ins.length)
        b.set(seed.subarray(0, at))
        b.set(ins, at)
        b.set(seed.subarray(at), at + ins.length)
        return b
      }
      const del = Math.min(n - at, 1 + r.int(8))
      const b = new Uint8Array(n - del)
      b.set(seed.subarray(0, at))
      b.set(seed.subarray(at + del), at)
      return b
    }
    case 6: // pure random bytes
      return new Uint8Array(r.int(64)).map(() => r.int(256))
    default: { // truncate then flip
      const b = seed.slice(0, Math.max(0, n - 1 - r.int(Math.max(1, n >> 2))))
      if (b.length > 0) b[r.int(b.length)] ^= 1 << r.int(8)
      return b
    }
  }
}

interface Stats {
  readonly ok: number
  readonly failed: number
  readonly slowest: number
  readonly slowestLabel: string
  readonly peakHeap: number
  readonly escaped: Array<string>
  readonly internal: Array<string>
  readonly targets: number
}

type Message =
  | { readonly _tag: "progress"; readonly label: string }
  | { readonly _tag: "done"; readonly stats: Stats }

/** The fuzzing loop over this worker's share of the targets. */
const fuzz = async (seed: number, shard: number, shards: number, total: number, report: (m: Message) => void) => {
  const all = await buildTargets(seed)
  const targets = all.filter((_, i) => i % shards === shard)
  const r = rng(seed + shard)
  Error.stackTraceLimit = 0 // DecodeError is an Error; its stack is irrelevant here and costs time
  let ok = 0
  let failed = 0
  let slowest = 0
  let slowestLabel = ""
  let peakHeap = 0
  const escaped: Array<string> = []
  const internal: Array<string> = []
  const perTarget = Math.ceil(total / all.length)
  for (const t of targets) {
    report({ _tag: "progress", label: t.label })
    for (let i = 0; i < perTarget; i++) {
      const base = t.seeds[r.int(t.seeds.length)]
      const input = i < t.seeds.length ? t.seeds[i] : mutate(r, base)
      const t0 = performance.now()
      let result: Result.Result<unknown, DecodeError>
      try {
        result = t.decode(input)
      } catch (e) {
        if (escaped.length < 10) escaped.push(`${t.label}: ${String(e)} on ${Buffer.from(input).toString("hex")}`)
        continue
      }
      const dt = performance.now() - t0
      if (dt > slowest) {
        slowest = dt
        slowestLabel = t.label
      }
      if (Result.isSuccess(result)) ok++
      else {
        failed++
        const e = result.failure
        if (e._tag !== "DecodeError" || e.reason.startsWith("internal error") || e.offset > input.length) {
          if (internal.length < 10) {
            internal.push(`${t.label}: ${e.reason} @${e.offset} on ${Buffer.from(input).toString("hex")}`)
          }
        }
      }
    }
    const heap = process.memoryUsage().heapUsed
    if (heap > peakHeap) peakHeap = heap
  }
  report({ _tag: "done", stats: { ok, failed, slowest, slowestLabel, peakHeap, escaped, internal, targets: targets.length } })
}

const SHARDS = 2
const WATCHDOG_MS = 30_000
const HEAP_LIMIT_MB = 512

/** Runs one shard in a worker thread; rejects on a hang (no progress for WATCHDOG_MS), a crash or running out of heap. */
const runShard = (shard: number) =>
  new Promise<Stats>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { kpaxFuzz: true, seed: SEED, shard, shards: SHARDS, total: TOTAL },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB }
    })
    let label = "(building seeds)"
    let timer = setTimeout(() => hang(), WATCHDOG_MS * 2)
    const hang = () => {
      void worker.terminate()
      reject(new Error(`seed ${SEED}: no progress for ${WATCHDOG_MS} ms while fuzzing ${label}: a hang`))
    }
    worker.on("message", (m: Message) => {
      clearTimeout(timer)
      if (m._tag === "done") {
        void worker.terminate()
        resolve(m.stats)
      } else {
        label = m.label
        timer = setTimeout(hang, WATCHDOG_MS)
      }
    })
    worker.on("error", (e) => {
      clearTimeout(timer)
      reject(new Error(`seed ${SEED}: fuzz worker died while fuzzing ${label}: ${String(e)}`))
    })
  })

if (workerData?.kpaxFuzz === true) {
  const { seed, shard, shards, total } = workerData as { seed: number; shard: number; shards: number; total: number }
  await fuzz(seed, shard, shards, total, (m) => parentPort!.postMessage(m))
} else {
  describe("decoder fuzzing", () => {
    it("answers over a million mutated bodies with a value or a DecodeError, never anything else", async () => {
      const start = performance.now()
      const shards = await Promise.all(Array.from({ length: SHARDS }, (_, i) => runShard(i)))
      const seconds = (performance.now() - start) / 1000
      const ok = shards.reduce((n, s) => n + s.ok, 0)
      const failed = shards.reduce((n, s) => n + s.failed, 0)
      const slow = shards.reduce((a, s) => (s.slowest > a.slowest ? s : a))
      const peakHeap = Math.max(...shards.map((s) => s.peakHeap))
      const escaped = shards.flatMap((s) => s.escaped)
      const internal = shards.flatMap((s) => s.internal)
      const summary = `seed ${SEED}: ${ok + failed} inputs over ${shards.reduce((n, s) => n + s.targets, 0)} targets ` +
        `in ${seconds.toFixed(1)} s on ${SHARDS} threads (${ok} decoded, ${failed} DecodeErrors), ` +
        `slowest ${slow.slowest.toFixed(1)} ms (${slow.slowestLabel}), peak heap ${(peakHeap / 2 ** 20).toFixed(0)} MiB`
      console.log(`fuzz: ${summary}`)
      expect(escaped, summary).toEqual([])
      expect(internal, summary).toEqual([])
      expect(ok + failed).toBeGreaterThanOrEqual(Math.min(TOTAL, 1_000_000))
      expect(ok, "some mutated inputs still decode").toBeGreaterThan(0)
      expect(failed, "most mutated inputs fail").toBeGreaterThan(0)
    }, 180_000)
  })
}
