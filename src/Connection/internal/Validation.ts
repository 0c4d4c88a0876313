/**
 * Request validation through the API's Effect Schema: once per request at the broker boundary
 * (the generated writers trust their input), never per field or record. The compiled encoder is
 * cached per API.
 *
 * @internal
 */
import { Exit, Schema } from "effect"
import type { AnyApi } from "../../Protocol/Api.ts"
import { Apis } from "../../Protocol/Api.ts"
import { EncodeError } from "../../Protocol/DecodeError.ts"
import { requestPrechecks } from "../../Protocol/generated/prechecks.ts"

type Validate = (req: unknown) => Exit.Exit<unknown, Schema.SchemaError>

const validators = new WeakMap<AnyApi, Validate>()

/**
 * `undefined` when `req` satisfies the API's request Schema, else a typed `EncodeError`. A
 * generated plain-TS precheck (the same checks) answers first; only a request it cannot vouch
 * for goes through the Schema, which decides and builds the error message.
 */
export const validateRequest = (api: AnyApi, version: number, req: unknown): EncodeError | undefined => {
  const precheck = requestPrechecks[api.key]
  if (precheck !== undefined && Apis[api.key] === api && precheck(req)) return undefined
  let validate = validators.get(api)
  if (validate === undefined) {
    validate = Schema.encodeExit(api.Request) as Validate
    validators.set(api, validate)
  }
  const exit = validate(req)
  if (Exit.isSuccess(exit)) return undefined
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  const detail = failure !== undefined && failure._tag === "Fail" ? failure.error.message : String(exit.cause)
  return new EncodeError({ api: api.name, version, reason: `the request does not match its Schema: ${detail}` })
}
