/**
 * What the connection layer needs from an API descriptor: the wire half of `Protocol/Api.ts`'s
 * `Api<Req, Res>` (which is assignable to it).
 *
 * @internal
 */
import type { Reader } from "../../Protocol/internal/Reader.ts"
import type { Writer } from "../../Protocol/internal/Writer.ts"

export interface WireApi<Req, Res> {
  readonly key: number
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  /** First flexible version (request header v2 / response header v1), 32767 if none. */
  readonly flexibleVersion: number
  readonly encodeRequest: (w: Writer, version: number, req: Req) => void
  readonly decodeResponse: (r: Reader, version: number) => Res
}
