/**
 * What the group coordinator's handlers share: the coordinator check and group lookup.
 *
 * @internal
 */
import { ErrorCode } from "../../../Protocol/Errors.ts"
import type { ClassicGroup } from "../groups.ts"
import { newClassicGroup } from "../groups.ts"
import type { Kafka, RequestContext } from "../kafka.ts"

/** 0 when this node coordinates the group and nothing is injected, else the error code. */
export const coordinatorError = (kafka: Kafka, ctx: RequestContext, groupId: string): number => {
  const injected = ctx.fault.code()
  if (injected !== 0) return injected
  if (groupId === "") return ErrorCode.INVALID_GROUP_ID
  return kafka.isCoordinator(ctx.nodeId, "group", groupId) ? 0 : ErrorCode.NOT_COORDINATOR
}

/** The classic group of an id (created when asked), "consumer" when a KIP-848 group with members has it. */
export const classicGroup = (kafka: Kafka, groupId: string, create: boolean): ClassicGroup | "consumer" | undefined => {
  const g = kafka.groups.get(groupId)
  if (g !== undefined) {
    if (g.type === "classic") return g
    if (g.members.size > 0) return "consumer"
    if (!create) return undefined
  }
  if (!create) return undefined
  const fresh = newClassicGroup(groupId)
  kafka.groups.set(groupId, fresh)
  return fresh
}

export const NO_OPS = -2147483648
