/**
 * The docs' code blocks marked `registry` (rules: test/docs/blocks.test.ts), run here where vitest
 * provides a Schema Registry: `KAFKA_SCHEMA_REGISTRY_URL` names it for `SchemaRegistry.layerConfig`.
 */
import { registryUrl } from "../registry/env.ts"
import { describeBlocks } from "../docs/suite.ts"

describeBlocks({ suite: "schema-registry", registry: true, env: () => ({ KAFKA_SCHEMA_REGISTRY_URL: registryUrl() }) })
