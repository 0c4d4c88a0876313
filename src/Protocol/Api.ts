/**
 * The table of every generated API (by key, by name) and the `Api<Req, Res>` / `Data<T>`
 * descriptor types (the contract between the protocol codecs and the connection layer), which live
 * in `ApiDescriptor.ts` so the generated codecs can import them without importing this table.
 *
 * @example
 * ```ts
 * import { Apis, Metadata } from "kpax/Protocol"
 * const w = new Writer()
 * Metadata.encodeRequest(w, 12, { topics: null })
 * Apis[3] === Metadata // true
 * ```
 */
import type { AnyApi, Data } from "./ApiDescriptor.ts"
import { apis, datas } from "./generated/index.ts"

export type { AnyApi, Api, Data, RequestOf, ResponseOf } from "./ApiDescriptor.ts"

/** Every generated API, by ascending key. */
export const allApis: ReadonlyArray<AnyApi> = apis

/** Every generated versioned data structure. */
export const allData: ReadonlyArray<Data<any>> = datas

/** Every generated API by its key (`Apis[3]` is Metadata); `undefined` for keys not generated. */
export const Apis: { readonly [key: number]: AnyApi | undefined } = Object.freeze(
  Object.fromEntries(apis.map((a) => [a.key, a]))
)

/** Every generated API by name (`ApisByName.Metadata`). */
export const ApisByName: { readonly [name: string]: AnyApi | undefined } = Object.freeze(
  Object.fromEntries(apis.map((a) => [a.name, a]))
)
