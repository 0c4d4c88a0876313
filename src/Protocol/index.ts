/**
 * kpax wire protocol: generated codecs for every client API, request/response framing, and the
 * byte-level Writer/Reader they are built on.
 *
 * Layer: the bottom of kpax (`scripts/lint-cycles.ts`'s LAYERS, checked by `npm run
 * lint:cycles`): codecs without I/O. Imports no other kpax layer (only `effect` and the compression
 * libraries); every layer above may import it.
 *
 * @example
 * ```ts
 * import { ApiVersions, encodeRequestFrame } from "kpax/Protocol"
 * const bytes = encodeRequestFrame(ApiVersions, 3, 1, "my-client", {})
 * ```
 */
export * from "./Api.ts"
export * from "./DecodeError.ts"
export * from "./Frame.ts"
export * from "./generated/index.ts"
export { Reader, ReadFailure } from "./internal/Reader.ts"
export { EncodeFailure, Writer } from "./internal/Writer.ts"
