/**
 * Config resources and entries as typed values, and their protocol codes.
 *
 * @internal
 */

/**
 * What a config belongs to.
 *
 * @since 0.1.0
 */
export type ConfigResourceType = "topic" | "broker" | "brokerLogger" | "clientMetrics" | "group"

/**
 * A config resource: a topic by name, a broker by node id (`"1"`; `""` is the cluster-wide
 * default), a broker's loggers by node id, a client-metrics subscription or a group by name.
 *
 * @since 0.1.0
 */
export interface ConfigResource {
  readonly type: ConfigResourceType
  readonly name: string
}

/**
 * Where a config value comes from.
 *
 * @since 0.1.0
 */
export type ConfigSource =
  | "unknown"
  | "topic"
  | "dynamicBroker"
  | "dynamicDefaultBroker"
  | "staticBroker"
  | "default"
  | "dynamicBrokerLogger"
  | "clientMetrics"
  | "group"

/**
 * The type of a config value.
 *
 * @since 0.1.0
 */
export type ConfigType = "unknown" | "boolean" | "string" | "int" | "short" | "long" | "double" | "list" | "class" | "password"

/**
 * Another source of a config's value, by precedence (the effective one first).
 *
 * @since 0.1.0
 */
export interface ConfigSynonym {
  readonly name: string
  readonly value: string | null
  readonly source: ConfigSource
}

/**
 * One config of a resource. `value` is `null` for sensitive configs (and unset ones).
 *
 * @since 0.1.0
 */
export interface ConfigEntry {
  readonly name: string
  readonly value: string | null
  readonly source: ConfigSource
  readonly isDefault: boolean
  readonly isSensitive: boolean
  readonly isReadOnly: boolean
  readonly type: ConfigType
  /** Only with `includeSynonyms`. */
  readonly synonyms: ReadonlyArray<ConfigSynonym>
  /** Only with `includeDocumentation`. */
  readonly documentation: string | null
}

/**
 * One change of `alterConfigs`: set a value, delete it (back to its default), or append to /
 * subtract from a list config.
 *
 * @since 0.1.0
 */
export type AlterConfigOp =
  | { readonly op: "set"; readonly name: string; readonly value: string }
  | { readonly op: "delete"; readonly name: string }
  | { readonly op: "append"; readonly name: string; readonly value: string }
  | { readonly op: "subtract"; readonly name: string; readonly value: string }

const RESOURCE_CODES: { readonly [K in ConfigResourceType]: number } = {
  topic: 2,
  broker: 4,
  brokerLogger: 8,
  clientMetrics: 16,
  group: 32
}

export const resourceTypeCode = (t: ConfigResourceType): number => RESOURCE_CODES[t]

export const resourceTypeOf = (code: number): ConfigResourceType | undefined =>
  (Object.keys(RESOURCE_CODES) as Array<ConfigResourceType>).find((k) => RESOURCE_CODES[k] === code)

const SOURCES: ReadonlyArray<ConfigSource> = [
  "unknown",
  "topic",
  "dynamicBroker",
  "dynamicDefaultBroker",
  "staticBroker",
  "default",
  "dynamicBrokerLogger",
  "clientMetrics",
  "group"
]

export const sourceOf = (code: number): ConfigSource => SOURCES[code] ?? "unknown"

const TYPES: ReadonlyArray<ConfigType> = ["unknown", "boolean", "string", "int", "short", "long", "double", "list", "class", "password"]

export const typeOf = (code: number): ConfigType => TYPES[code] ?? "unknown"

const OPS = { set: 0, delete: 1, append: 2, subtract: 3 } as const

export const opCode = (op: AlterConfigOp["op"]): number => OPS[op]

/** `topic orders`, `broker 1 config`, … */
export const describeResource = (r: ConfigResource): string =>
  r.type === "topic" ? `topic ${r.name}` : `${r.type} ${r.name === "" ? "(default)" : r.name} config`
