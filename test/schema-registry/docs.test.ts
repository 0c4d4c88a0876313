/**
 * The docs' code blocks marked `registry` (rules: test/docs/blocks.test.ts), run here where vitest
 * provides a Schema Registry: `KAFKA_SCHEMA_REGISTRY_URL` names it for `SchemaRegistry.layerConfig`.
 */
import { registryUrl } from "../registry/env.ts"
import { describeBlocks } from "../docs/suite.ts"

// one block at a time: the test registry (Apicurio on H2) fails concurrent registrations of new content
describeBlocks({ suite: "schema-registry", registry: true, parallel: 1, env: () => ({ KAFKA_SCHEMA_REGISTRY_URL: registryUrl() }) })
