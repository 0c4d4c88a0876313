/**
 * `kpax coord <group>`: the broker coordinating a consumer group (or, with `--transactional-id`,
 * a transactional producer).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Cluster } from "../../Cluster/Cluster.ts"
import { CommandFailed, describeError } from "../Errors.ts"
import { withCluster } from "../Kafka.ts"
import { value } from "../Output.ts"

export const coord = Command.make("coord", {
  id: Argument.String("group").pipe(Argument.withDescription("consumer group id (or transactional id with --transactional-id)")),
  transactional: Flag.Boolean("transactional-id").pipe(
    Flag.withDescription("look up the coordinator of a transactional id instead of a group"),
    Flag.withDefault(false),
    Flag.withoutNegation
  )
}, (input) =>
  withCluster(Effect.gen(function*() {
    const cluster = yield* Cluster
    const type = input.transactional ? "transaction" : "group"
    // withCoordinator retries while the coordinator is not available yet (e.g. __consumer_offsets being created)
    const located = yield* cluster.withCoordinator({ type, key: input.id }, Effect.succeed).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `coordinator of ${type} ${input.id}: ${describeError(e)}` }))
    )
    const node = cluster.snapshot().brokers.get(located.nodeId)
    const host = node?.host ?? located.broker.address.replace(/:\d+$/, "")
    const port = node?.port ?? Number(located.broker.address.replace(/^.*:/, ""))
    yield* value(
      { [input.transactional ? "transactionalId" : "group"]: input.id, coordinator: { id: located.nodeId, host, port } },
      () => [`${type} ${input.id}: coordinator ${located.nodeId} (${host}:${port})`]
    )
  }))
).pipe(Command.withDescription("Show the broker coordinating a consumer group (or a transactional id)."))
