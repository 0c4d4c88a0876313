/**
 * ACL APIs, answered as a broker without an authorizer does: SECURITY_DISABLED.
 *
 * @internal
 */
import { ErrorCode } from "../../../Protocol/Errors.ts"
import { CreateAcls } from "../../../Protocol/generated/CreateAcls.ts"
import type { CreateAclsRequest, CreateAclsResponse } from "../../../Protocol/generated/CreateAcls.ts"
import { DeleteAcls } from "../../../Protocol/generated/DeleteAcls.ts"
import type { DeleteAclsRequest, DeleteAclsResponse } from "../../../Protocol/generated/DeleteAcls.ts"
import { DescribeAcls } from "../../../Protocol/generated/DescribeAcls.ts"
import type { DescribeAclsRequest, DescribeAclsResponse } from "../../../Protocol/generated/DescribeAcls.ts"
import type { Kafka, RequestContext } from "../kafka.ts"
import { route } from "./common.ts"
import type { Route } from "./common.ts"

const MESSAGE = "No Authorizer is configured."

const code = (ctx: RequestContext): number => {
  const injected = ctx.fault.code()
  return injected !== 0 ? injected : ErrorCode.SECURITY_DISABLED
}

const describeAcls = (_kafka: Kafka, ctx: RequestContext, _req: DescribeAclsRequest): DescribeAclsResponse => ({
  throttleTimeMs: 0,
  errorCode: code(ctx),
  errorMessage: MESSAGE,
  resources: []
})

const createAcls = (_kafka: Kafka, ctx: RequestContext, req: CreateAclsRequest): CreateAclsResponse => ({
  throttleTimeMs: 0,
  results: req.creations.map(() => ({ errorCode: code(ctx), errorMessage: MESSAGE }))
})

const deleteAcls = (_kafka: Kafka, ctx: RequestContext, req: DeleteAclsRequest): DeleteAclsResponse => ({
  throttleTimeMs: 0,
  filterResults: req.filters.map(() => ({ errorCode: code(ctx), errorMessage: MESSAGE, matchingAcls: [] }))
})

export const aclRoutes: ReadonlyArray<Route> = [
  route(DescribeAcls, 1, 3, describeAcls),
  route(CreateAcls, 1, 3, createAcls),
  route(DeleteAcls, 1, 3, deleteAcls)
]
