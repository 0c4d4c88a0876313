/** Where the committed protocol definitions of the Kafka version the project runs live. */
import * as path from "node:path"
import { KAFKA_VERSION } from "../../test/kafka/harness.ts"

export { KAFKA_VERSION }
export const PROTOCOL_DIR = path.resolve(import.meta.dirname, "../../protocol", `kafka-${KAFKA_VERSION}`)
