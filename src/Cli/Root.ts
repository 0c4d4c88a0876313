/**
 * The `kpax` command: global flags and every subcommand.
 *
 * @since 0.1.0
 */
import { Command } from "effect/cli"
import { acls } from "./commands/acls.ts"
import { config } from "./commands/config.ts"
import { configs } from "./commands/configs.ts"
import { consume } from "./commands/consume.ts"
import { coord } from "./commands/coord.ts"
import { groups } from "./commands/groups.ts"
import { meta } from "./commands/meta.ts"
import { offset } from "./commands/offset.ts"
import { produce } from "./commands/produce.ts"
import { rollback } from "./commands/rollback.ts"
import { tail } from "./commands/tail.ts"
import { topics } from "./commands/topics.ts"
import * as Global from "./Global.ts"

const DESCRIPTION = `kpax: a command line for Apache Kafka.

Connection flags fall back to KAFKA_* environment variables (KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD), then to the profile of the kpax config file (--profile / KPAX_PROFILE; kpax config show), then to localhost:9092. --command-config reads a Java client.properties file. Times: earliest, latest, now, -1h / -30m / +10s (relative), RFC 3339 (2024-05-01T10:00:00Z), @<epoch ms>; a bare integer is an offset.`

export const root = Command.make("kpax").pipe(
  Command.withDescription(DESCRIPTION),
  Command.withSubcommands([consume, tail, produce, offset, rollback, meta, coord, topics, groups, configs, acls, config]),
  Command.withGlobalFlags(Global.all)
)
