/**
 * Messaging attributes of a request span (made only when a tracer records spans): what the
 * request says of its consumer group, topic and operation, and a response's top-level error.
 *
 * @internal
 */
import { errorInfo } from "../../Protocol/Errors.ts"

/** `messaging.operation.name` (and `.type` where the conventions define one) of group APIs. */
const OPERATIONS: Readonly<Record<string, readonly [name: string, type: string | undefined]>> = {
  JoinGroup: ["join", undefined],
  SyncGroup: ["sync", undefined],
  Heartbeat: ["heartbeat", undefined],
  ConsumerGroupHeartbeat: ["heartbeat", undefined],
  LeaveGroup: ["leave", undefined],
  OffsetCommit: ["commit", "settle"],
  TxnOffsetCommit: ["commit", "settle"],
  OffsetFetch: ["fetch_offsets", undefined]
}

/** Adds the request's messaging attributes to `base` (returned). */
export const requestAttributes = (api: string, req: unknown, base: Record<string, unknown>): Record<string, unknown> => {
  const op = OPERATIONS[api]
  if (op !== undefined) {
    base["messaging.operation.name"] = op[0]
    if (op[1] !== undefined) base["messaging.operation.type"] = op[1]
  }
  if (typeof req !== "object" || req === null) return base
  const r = req as {
    readonly groupId?: unknown
    readonly groups?: ReadonlyArray<{ readonly groupId?: unknown }>
    readonly topicData?: ReadonlyArray<{ readonly name?: unknown }>
    readonly topics?: ReadonlyArray<{ readonly name?: unknown }>
  }
  const group = typeof r.groupId === "string" ? r.groupId : r.groups?.length === 1 ? r.groups[0]!.groupId : undefined
  if (typeof group === "string" && group !== "") base["messaging.consumer.group.name"] = group
  const topics = r.topicData ?? (op !== undefined ? r.topics : undefined)
  if (topics !== undefined && topics.length === 1 && typeof topics[0]!.name === "string" && topics[0]!.name !== "") {
    base["messaging.destination.name"] = topics[0]!.name
  }
  return base
}

/** `error.type` of a response whose top-level error code is not 0. */
export const responseErrorType = (res: unknown): string | undefined => {
  if (typeof res !== "object" || res === null) return undefined
  const code = (res as { readonly errorCode?: unknown }).errorCode
  if (typeof code !== "number" || code === 0) return undefined
  return errorInfo(code)?._tag ?? String(code)
}
