/**
 * Generates `src/Protocol/Errors.ts` from Kafka's error table (`protocol/kafka-<version>/errors.json`, taken from the
 * version's kafka-clients jar by `npm run codegen:extract`).
 *
 * Codes, names and the `retriable` / `invalidMetadata` flags come from the table; the one-line
 * descriptions are the project's own (below) — Kafka's message strings are not copied. The run fails
 * if the table has a code with no description here, or a description names a code the table lacks.
 *
 *   npm run codegen:errors            # writes src/Protocol/Errors.ts
 *   npm run codegen:errors -- --check # exits 1 if the committed file is stale
 */
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { PROTOCOL_DIR } from "./version.ts"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../..")
const source = resolve(PROTOCOL_DIR, "errors.json")
const target = resolve(root, "src/Protocol/Errors.ts")

interface Entry {
  readonly code: number
  readonly name: string
  readonly retriable: boolean
  readonly invalidMetadata: boolean
}

/** One line per code, in our own words. */
const descriptions: Record<string, string> = {
  UNKNOWN_SERVER_ERROR: "The broker hit an unexpected failure while handling the request.",
  NONE: "No error.",
  OFFSET_OUT_OF_RANGE: "The requested offset is outside the partition's current log range.",
  CORRUPT_MESSAGE: "A record failed its checksum, exceeded size limits, or is malformed.",
  UNKNOWN_TOPIC_OR_PARTITION: "This broker does not host the topic or partition (yet, or any more).",
  INVALID_FETCH_SIZE: "The fetch size in the request is not acceptable.",
  LEADER_NOT_AVAILABLE: "The partition has no leader right now, typically during an election.",
  NOT_LEADER_OR_FOLLOWER: "This broker is not the partition's leader (or a replica of it); refresh metadata.",
  REQUEST_TIMED_OUT: "The broker gave up waiting (e.g. for replication) before the request completed.",
  BROKER_NOT_AVAILABLE: "The target broker is not reachable or not running.",
  REPLICA_NOT_AVAILABLE: "A replica expected on this broker is not present.",
  MESSAGE_TOO_LARGE: "A record or batch is larger than the broker or topic allows.",
  STALE_CONTROLLER_EPOCH: "The request came from a controller whose epoch is out of date.",
  OFFSET_METADATA_TOO_LARGE: "The metadata string attached to a committed offset is too long.",
  NETWORK_EXCEPTION: "The connection to the broker broke before a response arrived.",
  COORDINATOR_LOAD_IN_PROGRESS: "The coordinator is still loading its state; try again shortly.",
  COORDINATOR_NOT_AVAILABLE: "No coordinator is available for this group or transaction right now.",
  NOT_COORDINATOR: "This broker is not the coordinator for the group or transaction; look it up again.",
  INVALID_TOPIC_EXCEPTION: "The topic name is invalid, or the operation is not allowed on an internal topic.",
  RECORD_LIST_TOO_LARGE: "The batch of records in the produce request exceeds the segment size.",
  NOT_ENOUGH_REPLICAS: "Fewer in-sync replicas than min.insync.replicas; the write was refused.",
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: "The write was stored, but fewer in-sync replicas than required acknowledged it.",
  INVALID_REQUIRED_ACKS: "The acks value in the produce request is not supported.",
  ILLEGAL_GENERATION: "The group generation in the request is not the current one.",
  INCONSISTENT_GROUP_PROTOCOL: "The member's protocol type or protocols do not match the group's.",
  INVALID_GROUP_ID: "The group id is empty or otherwise not valid.",
  UNKNOWN_MEMBER_ID: "The coordinator does not know this member id.",
  INVALID_SESSION_TIMEOUT: "The session timeout is outside the range the broker accepts.",
  REBALANCE_IN_PROGRESS: "The group is rebalancing; the member must rejoin.",
  INVALID_COMMIT_OFFSET_SIZE: "The offset commit was refused because its metadata is too large.",
  TOPIC_AUTHORIZATION_FAILED: "The principal is not authorized to access the topic.",
  GROUP_AUTHORIZATION_FAILED: "The principal is not authorized to access the group.",
  CLUSTER_AUTHORIZATION_FAILED: "The principal is not authorized for this cluster-level operation.",
  INVALID_TIMESTAMP: "A record timestamp is outside the range the topic accepts.",
  UNSUPPORTED_SASL_MECHANISM: "The broker does not offer the requested SASL mechanism.",
  ILLEGAL_SASL_STATE: "The request is not allowed in the current SASL handshake state.",
  UNSUPPORTED_VERSION: "The broker does not support this API version.",
  TOPIC_ALREADY_EXISTS: "A topic with this name already exists.",
  INVALID_PARTITIONS: "The requested number of partitions is not valid.",
  INVALID_REPLICATION_FACTOR: "The requested replication factor is not valid.",
  INVALID_REPLICA_ASSIGNMENT: "The explicit replica assignment is not valid.",
  INVALID_CONFIG: "A configuration value in the request is not valid.",
  NOT_CONTROLLER: "This broker is not the active controller.",
  INVALID_REQUEST: "The broker could not make sense of the request (malformed or inconsistent); see the broker log.",
  UNSUPPORTED_FOR_MESSAGE_FORMAT: "The topic's on-disk message format is too old for this request.",
  POLICY_VIOLATION: "The request breaks a policy configured on the broker.",
  OUT_OF_ORDER_SEQUENCE_NUMBER: "The broker got a producer sequence number out of order.",
  DUPLICATE_SEQUENCE_NUMBER: "The broker already has a batch with this producer sequence number.",
  INVALID_PRODUCER_EPOCH: "The producer epoch is out of date; another instance may have taken over.",
  INVALID_TXN_STATE: "The operation is not allowed in the transaction's current state.",
  INVALID_PRODUCER_ID_MAPPING: "The producer id does not match the one held for this transactional id.",
  INVALID_TRANSACTION_TIMEOUT: "The transaction timeout exceeds the broker's transaction.max.timeout.ms.",
  CONCURRENT_TRANSACTIONS: "Another transaction for this producer is still completing; retry shortly.",
  TRANSACTION_COORDINATOR_FENCED: "A newer transaction coordinator has replaced the one that sent this request.",
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "The principal is not authorized for this transactional id.",
  SECURITY_DISABLED: "Security features are turned off on this cluster.",
  OPERATION_NOT_ATTEMPTED: "The broker skipped this operation because another part of the batch failed.",
  KAFKA_STORAGE_ERROR: "A disk or log directory problem on the broker prevented the operation.",
  LOG_DIR_NOT_FOUND: "The named log directory does not exist on the broker.",
  SASL_AUTHENTICATION_FAILED: "SASL authentication failed (wrong credentials or mechanism setup).",
  UNKNOWN_PRODUCER_ID: "The broker has no state for this producer id (e.g. it expired).",
  REASSIGNMENT_IN_PROGRESS: "A partition reassignment is already running for this topic.",
  DELEGATION_TOKEN_AUTH_DISABLED: "Delegation tokens are not enabled on this cluster.",
  DELEGATION_TOKEN_NOT_FOUND: "No delegation token matches the request.",
  DELEGATION_TOKEN_OWNER_MISMATCH: "The principal is neither the owner nor a renewer of the delegation token.",
  DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: "Delegation token operations are not allowed over this kind of connection.",
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: "The principal is not authorized for this delegation token.",
  DELEGATION_TOKEN_EXPIRED: "The delegation token has expired.",
  INVALID_PRINCIPAL_TYPE: "The principal type is not supported.",
  NON_EMPTY_GROUP: "The group still has members, so it cannot be deleted.",
  GROUP_ID_NOT_FOUND: "No group with this id exists.",
  FETCH_SESSION_ID_NOT_FOUND: "The broker no longer has the fetch session; start a new one.",
  INVALID_FETCH_SESSION_EPOCH: "The fetch session epoch is not the one the broker expects.",
  LISTENER_NOT_FOUND: "The leader has no listener with the name this connection used.",
  TOPIC_DELETION_DISABLED: "Deleting topics is turned off on this cluster.",
  FENCED_LEADER_EPOCH: "The request's leader epoch is older than the broker's; refresh metadata.",
  UNKNOWN_LEADER_EPOCH: "The request's leader epoch is newer than the broker knows about yet.",
  UNSUPPORTED_COMPRESSION_TYPE: "The broker or the request version does not support this compression codec.",
  STALE_BROKER_EPOCH: "The broker epoch in the request is out of date.",
  OFFSET_NOT_AVAILABLE: "The leader cannot serve this offset yet (high watermark not caught up).",
  MEMBER_ID_REQUIRED: "The group requires a member id; rejoin with the one the coordinator returned.",
  PREFERRED_LEADER_NOT_AVAILABLE: "The preferred replica cannot become leader right now.",
  GROUP_MAX_SIZE_REACHED: "The group already has its maximum number of members.",
  FENCED_INSTANCE_ID: "Another member with the same group.instance.id has replaced this one.",
  ELIGIBLE_LEADERS_NOT_AVAILABLE: "No replica eligible to lead the partition is online.",
  ELECTION_NOT_NEEDED: "The partition already has the leader the election asked for.",
  NO_REASSIGNMENT_IN_PROGRESS: "There is no reassignment in progress to cancel.",
  GROUP_SUBSCRIBED_TO_TOPIC: "The group still subscribes to the topic, so its offsets cannot be deleted.",
  INVALID_RECORD: "The broker rejected a record as invalid (e.g. a null key on a compacted topic).",
  UNSTABLE_OFFSET_COMMIT: "The partition has pending transactional offset commits; retry later.",
  THROTTLING_QUOTA_EXCEEDED: "The request exceeded a throttling quota (e.g. topic creation rate).",
  PRODUCER_FENCED: "A newer producer with the same transactional id has fenced this one.",
  RESOURCE_NOT_FOUND: "The requested resource does not exist.",
  DUPLICATE_RESOURCE: "The request names the same resource more than once.",
  UNACCEPTABLE_CREDENTIAL: "The credential does not meet the broker's requirements.",
  INCONSISTENT_VOTER_SET: "The voter sets of the sender and receiver do not agree.",
  INVALID_UPDATE_VERSION: "The update version in the request is not valid.",
  FEATURE_UPDATE_FAILED: "The feature update could not be applied.",
  PRINCIPAL_DESERIALIZATION_FAILURE: "The broker could not deserialize the forwarded principal.",
  SNAPSHOT_NOT_FOUND: "The requested metadata snapshot does not exist.",
  UNKNOWN_TOPIC_ID: "This broker does not know the topic id; refresh metadata.",
  DUPLICATE_BROKER_REGISTRATION: "Another broker is already registered with this id.",
  BROKER_ID_NOT_REGISTERED: "The broker id is not registered with the controller.",
  INCONSISTENT_TOPIC_ID: "The topic id does not match the one the broker has for this topic name.",
  INCONSISTENT_CLUSTER_ID: "The cluster id in the request is not this cluster's.",
  TRANSACTIONAL_ID_NOT_FOUND: "No transaction state exists for the transactional id.",
  FETCH_SESSION_TOPIC_ID_ERROR: "Topic ids in the fetch session are inconsistent; start a new session.",
  INELIGIBLE_REPLICA: "The new ISR includes a replica that is not eligible to join it.",
  NEW_LEADER_ELECTED: "A new leader was elected while the request was pending.",
  OFFSET_MOVED_TO_TIERED_STORAGE: "The requested offset now lives only in tiered (remote) storage.",
  FENCED_MEMBER_EPOCH: "The member epoch is fenced by the group coordinator; rejoin with epoch 0.",
  UNRELEASED_INSTANCE_ID: "The group.instance.id is still held by a member that has not left.",
  UNSUPPORTED_ASSIGNOR: "The group coordinator does not support the requested assignor.",
  STALE_MEMBER_EPOCH: "The member epoch is older than the coordinator's; retry with the current one.",
  MISMATCHED_ENDPOINT_TYPE: "The request was sent to an endpoint of the wrong kind (broker vs controller).",
  UNSUPPORTED_ENDPOINT_TYPE: "This endpoint type cannot serve the request.",
  UNKNOWN_CONTROLLER_ID: "The controller id is not known.",
  UNKNOWN_SUBSCRIPTION_ID: "The client telemetry subscription id is not known or has changed.",
  TELEMETRY_TOO_LARGE: "The client telemetry payload is larger than the broker accepts.",
  INVALID_REGISTRATION: "The controller rejected the broker registration as invalid.",
  TRANSACTION_ABORTABLE: "The transaction hit a server-side error; the producer must abort it.",
  INVALID_RECORD_STATE: "The share-group record is not in a state that allows this acknowledgement.",
  SHARE_SESSION_NOT_FOUND: "The broker no longer has the share session.",
  INVALID_SHARE_SESSION_EPOCH: "The share session epoch is not the one the broker expects.",
  FENCED_STATE_EPOCH: "The share-partition state epoch is out of date.",
  INVALID_VOTER_KEY: "The voter key does not match the receiver's replica key.",
  DUPLICATE_VOTER: "The voter is already in the voter set.",
  VOTER_NOT_FOUND: "The voter is not in the voter set.",
  INVALID_REGULAR_EXPRESSION: "The regular expression in the subscription is not valid.",
  POSITION_OUT_OF_RANGE: "The requested position is outside the range the broker holds.",
  REBOOTSTRAP_REQUIRED: "The client must bootstrap again: its view of the cluster is no longer usable.",
  STREAMS_INVALID_TOPOLOGY: "The streams group member sent a topology the coordinator cannot accept.",
  STREAMS_INVALID_TOPOLOGY_EPOCH: "The streams topology epoch does not match the group's.",
  STREAMS_TOPOLOGY_FENCED: "The member's streams topology was replaced by a newer one.",
  SHARE_SESSION_LIMIT_REACHED: "The broker has as many share sessions as it allows; try again later.",
  GROUP_DELETION_FAILED: "The group could not be deleted.",
  STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED: "The streams group's topology description could not be updated.",
  CONTROLLER_ID_NOT_REGISTERED: "The controller id is not registered with the quorum."
}

const entries: ReadonlyArray<Entry> = (JSON.parse(readFileSync(source, "utf8")) as Array<Entry>)
  .map(({ code, name, retriable, invalidMetadata }) => ({ code, name, retriable, invalidMetadata }))
  .sort((a, b) => a.code - b.code)

const missing = entries.filter((e) => !(e.name in descriptions)).map((e) => e.name)
const extra = Object.keys(descriptions).filter((n) => !entries.some((e) => e.name === n))
if (missing.length > 0 || extra.length > 0) {
  console.error(`errors codegen: missing descriptions for [${missing.join(", ")}]; unknown names [${extra.join(", ")}]`)
  process.exit(1)
}

const errors = entries.filter((e) => e.code !== 0)
const lit = (s: string) => JSON.stringify(s)

const out = `/**
 * Every Kafka protocol error code as a typed error. GENERATED by \`npm run codegen:errors\` from
 * Kafka's error table (codes, names, flags); descriptions are kpax's own. Do not edit by hand.
 *
 * One error class, {@link KafkaError} (\`_tag: "KafkaError"\`), whose \`reason\` is a tagged
 * {@link ErrorInfo} (\`_tag\` = Kafka's error name). Match a whole family with \`Effect.catchTag\`,
 * one code with \`Effect.catchReason\`, or test \`error.name\` (a literal union):
 *
 * @example
 * \`\`\`ts
 * import { Effect } from "effect"
 * import { ErrorCode, KafkaError, errorForCode } from "kpax/Errors"
 *
 * declare const produce: Effect.Effect<void, KafkaError>
 * produce.pipe(
 *   Effect.catchReason("KafkaError", "NOT_LEADER_OR_FOLLOWER", (info, error) => Effect.log(info.description, error.message)),
 *   Effect.catchTag("KafkaError", (e) => e.retriable ? Effect.void : Effect.fail(e))
 * )
 * errorForCode(ErrorCode.NOT_LEADER_OR_FOLLOWER)?.name // "NOT_LEADER_OR_FOLLOWER"
 * errorForCode(0)                                      // undefined
 * \`\`\`
 *
 * @module
 */
import { Data } from "effect"

/**
 * Kafka's error codes by name (\`ErrorCode.NOT_LEADER_OR_FOLLOWER === 6\`).
 *
 * @example
 * \`\`\`ts
 * if (partition.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) resetOffsets()
 * \`\`\`
 */
export const ErrorCode = {
${entries.map((e) => `  ${e.name}: ${e.code}`).join(",\n")}
} as const

/** The name of every error code except \`NONE\`. */
export type ErrorName = Exclude<keyof typeof ErrorCode, "NONE">

/**
 * What the protocol says about one error code. Tagged by Kafka's name, so it is the \`reason\` of
 * a {@link KafkaError} for \`Effect.catchReason\`.
 *
 * @example
 * \`\`\`ts
 * errorInfo(6) // { _tag: "NOT_LEADER_OR_FOLLOWER", code: 6, retriable: true, invalidMetadata: true, description: "…" }
 * \`\`\`
 */
export interface ErrorInfo<N extends ErrorName = ErrorName> {
  /** Kafka's name of the error, e.g. \`"NOT_LEADER_OR_FOLLOWER"\`. */
  readonly _tag: N
  readonly code: (typeof ErrorCode)[N]
  /** Trying the same request again may succeed (the Java client's RetriableException). */
  readonly retriable: boolean
  /** Refresh metadata before retrying (the Java client's InvalidMetadataException). */
  readonly invalidMetadata: boolean
  /** One line saying what went wrong. */
  readonly description: string
}

/** The union of every code's {@link ErrorInfo}, discriminated by \`_tag\`. */
export type ErrorReason = { readonly [N in ErrorName]: ErrorInfo<N> }[ErrorName]

const info = <N extends ErrorName>(
  _tag: N,
  retriable: boolean,
  invalidMetadata: boolean,
  description: string
): ErrorInfo<N> => Object.freeze({ _tag, code: ErrorCode[_tag], retriable, invalidMetadata, description })

/**
 * Every error code's {@link ErrorInfo}, by name.
 *
 * @example
 * \`\`\`ts
 * Errors.NOT_COORDINATOR.retriable // true
 * \`\`\`
 */
export const Errors: { readonly [N in ErrorName]: ErrorInfo<N> } = {
${errors.map((e) => `  ${e.name}: info(${lit(e.name)}, ${e.retriable}, ${e.invalidMetadata}, ${lit(descriptions[e.name]!)})`).join(",\n")}
}

const byCode = new Map<number, ErrorReason>()
for (const name in Errors) {
  const e = Errors[name as ErrorName] as ErrorReason
  byCode.set(e.code, e)
}

/**
 * The {@link ErrorInfo} of a code, without allocating; \`undefined\` for \`0\` (no error) and for
 * codes this version of kpax does not know.
 *
 * @example
 * \`\`\`ts
 * errorInfo(3)?.invalidMetadata // true
 * \`\`\`
 */
export const errorInfo = (code: number): ErrorReason | undefined => byCode.get(code)

/**
 * A Kafka protocol error returned by a broker. \`reason\` is the code's {@link ErrorInfo}; \`code\`,
 * \`name\`, \`retriable\`, \`invalidMetadata\` and \`description\` are copied from it for convenience.
 * A code unknown to kpax gets the \`UNKNOWN_SERVER_ERROR\` reason but keeps its own \`code\`.
 * \`message\` is the broker's error message when it sent a non-empty one, else the description.
 *
 * @example
 * \`\`\`ts
 * Effect.catchTag("KafkaError", (e) => e.invalidMetadata ? refreshMetadata : Effect.fail(e))
 * \`\`\`
 */
export class KafkaError extends Data.TaggedError("KafkaError")<{
  readonly reason: ErrorReason
  readonly code: number
  readonly name: ErrorName
  readonly retriable: boolean
  readonly invalidMetadata: boolean
  readonly description: string
  readonly message: string
}> {}

/**
 * The typed error for a code, or \`undefined\` for \`0\` (\`NONE\`). \`message\` is the broker's
 * error message, if the response carried one.
 *
 * @example
 * \`\`\`ts
 * const error = errorForCode(response.errorCode, response.errorMessage)
 * if (error) return yield* error
 * \`\`\`
 */
export const errorForCode = (code: number, message?: string | null): KafkaError | undefined => {
  if (code === 0) return undefined
  const reason = byCode.get(code) ?? Errors.UNKNOWN_SERVER_ERROR
  return new KafkaError({
    reason,
    code,
    name: reason._tag,
    retriable: reason.retriable,
    invalidMetadata: reason.invalidMetadata,
    description: reason.description,
    message: message != null && message !== "" ? message : (reason.code === code ? reason.description : \`Unknown Kafka error code \${code}\`)
  })
}

/**
 * A {@link KafkaError} for a name (for tests and fakes).
 *
 * @example
 * \`\`\`ts
 * Effect.fail(kafkaError("REBALANCE_IN_PROGRESS"))
 * \`\`\`
 */
export const kafkaError = (name: ErrorName, message?: string): KafkaError => errorForCode(ErrorCode[name], message)!
`

if (process.argv.includes("--check")) {
  const current = readFileSync(target, "utf8")
  if (current !== out) {
    console.error("src/Protocol/Errors.ts is stale: run npm run codegen:errors")
    process.exit(1)
  }
  console.log("src/Protocol/Errors.ts is up to date")
} else {
  writeFileSync(target, out)
  console.log(`wrote ${target} (${errors.length} error codes)`)
}
