// Emits the TypeScript for one API (request + response) or one versioned data structure.
//
// Shape of the output, per struct (the message itself and every nested struct):
// - an Effect Schema (`Schema.Struct`) inside a lazily built `<Api>Schemas()` record; the
//   exported TS types are `typeof schema.Type`;
// - `write<Id>(w, v, x)` and `read<Id>(r, v)`: one function per struct covering every version,
//   straight-line code whose per-field branches are plain version comparisons (`v >= 4`),
//   resolved at generation time whenever the struct's reachable versions make them constant.
import {
  contains,
  covers,
  type Default,
  type Field,
  intersect,
  isEmpty,
  type Message,
  type Range,
  type Struct,
  structOf,
  type Type
} from "./model.ts"

const RESERVED = new Set([
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do",
  "else", "enum", "export", "extends", "false", "finally", "for", "function", "if", "import", "in",
  "instanceof", "new", "null", "return", "super", "switch", "this", "throw", "true", "try", "typeof",
  "var", "void", "while", "with", "yield", "let", "static", "implements", "interface", "package",
  "private", "protected", "public", "await", "arguments", "eval", "undefined",
  // names used by the generated code itself
  "v", "r", "w", "x", "n", "a", "i", "tag", "end", "nt", "start", "P", "Schema"
])

const local = (prop: string): string => (RESERVED.has(prop) ? `${prop}_` : prop)

/** A JS condition on `v` for "v in r", given that v is known to be in `base`. */
export const cond = (r: Range, base: Range): string => {
  if (isEmpty(base)) return "true"
  const x = intersect(r, base)
  if (isEmpty(x)) return "false"
  if (covers(x, base)) return "true"
  const parts: Array<string> = []
  if (x.lo > base.lo) parts.push(`v >= ${x.lo}`)
  if (x.hi < base.hi) parts.push(`v <= ${x.hi}`)
  return parts.join(" && ")
}
const paren = (c: string) => (c.includes("&&") ? `(${c})` : c)
const not = (c: string): string => {
  if (c === "true") return "false"
  if (c === "false") return "true"
  const m = /^v ([<>]=) (\d+)$/.exec(c)
  if (m) return `v ${m[1] === ">=" ? "<" : ">"} ${m[2]}`
  return `!(${c})`
}

const baseOf = (t: Type): Type => (t.kind === "array" ? t.elem : t)

export class Emitter {
  readonly m: Message
  readonly out: Array<string> = []
  private readonly needIsDefault = new Set<string>()
  private readonly needDefault = new Set<string>()
  /** The struct being emitted (for error messages). */
  private current = ""

  constructor(m: Message) {
    this.m = m
  }

  struct(name: string): Struct {
    return structOf(this.m, name)
  }

  /** Whether the TS type of a field admits null. */
  tsNullable(f: Field): boolean {
    return !isEmpty(intersect(f.nullable, f.versions)) || f.default.kind === "null"
  }

  /** Whether a field is optional (`?:`) in the TS type of its struct. */
  optional(f: Field, s: Struct): boolean {
    return this.m.optionalFields && (f.tag !== undefined || f.explicitDefault || !covers(f.versions, s.reach))
  }

  tsType(t: Type): string {
    switch (t.kind) {
      case "array":
        return `Array<${this.tsType(t.elem)}>`
      case "struct":
        return this.struct(t.struct).id
      case "prim":
        switch (t.prim) {
          case "bool":
            return "boolean"
          case "int64":
            return "bigint"
          case "string":
          case "uuid":
            return "string"
          case "bytes":
          case "records":
            return "Uint8Array"
          default:
            return "number"
        }
    }
  }

  fieldTsType(f: Field): string {
    return this.tsType(f.type) + (this.tsNullable(f) ? " | null" : "")
  }

  schemaOf(t: Type): string {
    switch (t.kind) {
      case "array":
        return `Schema.Array(${this.schemaOf(t.elem)})`
      case "struct":
        return this.struct(t.struct).id
      case "prim":
        switch (t.prim) {
          case "bool":
            return "P.Bool"
          case "int8":
            return "P.Int8"
          case "int16":
            return "P.Int16"
          case "uint16":
            return "P.UInt16"
          case "int32":
            return "P.Int32"
          case "uint32":
            return "P.UInt32"
          case "int64":
            return "P.Int64"
          case "float64":
            return "P.Float64"
          case "string":
            return "P.KafkaString"
          case "uuid":
            return "P.Uuid"
          case "bytes":
          case "records":
            return "P.Bytes"
        }
    }
  }

  defaultExpr(d: Default): string {
    switch (d.kind) {
      case "null":
        return "null"
      case "bool":
        return String(d.value)
      case "number":
        return String(d.value)
      case "bigint":
        return `${d.value}n`
      case "string":
        return JSON.stringify(d.value)
      case "bytes":
        return "P.EMPTY_BYTES"
      case "uuid":
        return "P.ZERO_UUID"
      case "array":
        return "[]"
      case "struct": {
        const s = this.struct(d.struct)
        this.needDefault.add(s.name)
        return `${s.id}Default`
      }
    }
  }

  /** A JS expression, true when `e` differs from the field's default. */
  notDefault(e: string, f: Field): string {
    const d = f.default
    switch (d.kind) {
      case "null":
        return `${e} !== null`
      case "bool":
      case "number":
      case "bigint":
      case "string":
      case "uuid":
        return `${e} !== ${this.defaultExpr(d)}`
      case "bytes":
      case "array":
        return this.tsNullable(f) ? `(${e} === null || ${e}.length !== 0)` : `${e}.length !== 0`
      case "struct": {
        const s = this.struct(d.struct)
        this.needIsDefault.add(s.name)
        return this.tsNullable(f) ? `(${e} === null || !isDefault${s.id}(${e}))` : `!isDefault${s.id}(${e})`
      }
    }
  }

  /** Minimum encoded size of a value of type `t` in version `v` (a lower bound for array lengths). */
  minSize(t: Type, v: number, nullable: boolean, flexRange: Range): number {
    const flex = contains(flexRange, v)
    switch (t.kind) {
      case "array":
        return flex ? 1 : 4
      case "struct": {
        if (nullable) return 1
        const s = this.struct(t.struct)
        let n = contains(this.m.flexible, v) ? 1 : 0
        for (const f of s.fields) {
          if (f.tag !== undefined || !contains(f.versions, v)) continue
          n += this.minSize(f.type, v, contains(f.nullable, v), f.flexible ?? this.m.flexible)
        }
        return n
      }
      case "prim":
        switch (t.prim) {
          case "bool":
          case "int8":
            return 1
          case "int16":
          case "uint16":
            return 2
          case "int32":
          case "uint32":
            return 4
          case "int64":
          case "float64":
            return 8
          case "uuid":
            return 16
          case "string":
            return flex ? 1 : 2
          case "bytes":
          case "records":
            return flex ? 1 : 4
        }
    }
  }

  minElementSize(elem: Type, F: Range): number {
    const r = intersect(F, this.m.valid)
    let min = Infinity
    for (let v = r.lo; v <= r.hi; v++) min = Math.min(min, this.minSize(elem, v, false, this.m.flexible))
    if (min === Infinity) min = 1
    if (min === 0) console.warn(`codegen: ${this.m.name}: zero-size array element ${JSON.stringify(elem)}`)
    return min
  }

  // ---- schemas ---------------------------------------------------------------------------

  /** `const <Id> = Schema.Struct({...})` for every struct, children first. */
  schemaLines(): Array<string> {
    const o: Array<string> = []
    for (const s of this.m.structs) {
      o.push(`  const ${s.id} = Schema.Struct({`)
      for (const f of s.fields) {
        let sch = this.schemaOf(f.type)
        if (this.tsNullable(f)) sch = `Schema.NullOr(${sch})`
        if (this.optional(f, s)) sch = `Schema.optionalKey(${sch})`
        o.push(`    ${f.prop}: ${sch},`)
      }
      o.push(`  })`)
    }
    return o
  }

  // ---- encoder ---------------------------------------------------------------------------

  private flexOf(f: Field): Range {
    return f.flexible ?? this.m.flexible
  }

  /** Statements writing `val` (an expression without side effects) of field `f`. */
  private writeValue(f: Field, val: string, F: Range, flexC: string, ind: string): Array<string> {
    const t = f.type
    const Nc = cond(f.nullable, F)
    const name = `${this.current}.${f.prop}`
    const tsNull = this.tsNullable(f)
    const out: Array<string> = []
    const prim = (p: string, e: string, nullable: boolean): string => {
      switch (p) {
        case "string":
        case "bytes":
        case "records": {
          const K = p === "string" ? "String" : "Bytes"
          const N = nullable ? "Nullable" : ""
          if (flexC === "true") return `w.compact${N}${K}(${e})`
          if (flexC === "false") return nullable ? `w.nullable${K}(${e})` : `w.${K.toLowerCase()}(${e})`
          return `w.flex${N}${K}(${flexC}, ${e})`
        }
        case "bool":
          return `w.bool(${e})`
        default:
          return `w.${p}(${e})`
      }
    }
    const nonNull = (e: string) => `P.nonNull(${e}, ${JSON.stringify(name)}, v)`
    if (t.kind === "prim") {
      if (!tsNull) out.push(prim(t.prim, val, false))
      else if (Nc === "true") out.push(prim(t.prim, val, true))
      else if (Nc === "false") out.push(prim(t.prim, nonNull(val), false))
      else {
        out.push(`if (${Nc}) ${prim(t.prim, val, true)}`)
        out.push(`else ${prim(t.prim, nonNull(val), false)}`)
      }
    } else if (t.kind === "struct") {
      const id = this.struct(t.struct).id
      if (!tsNull) out.push(`write${id}(w, v, ${val})`)
      else if (Nc === "false") out.push(`write${id}(w, v, ${nonNull(val)})`)
      else {
        out.push(`if (${val} === null) {`)
        if (Nc !== "true") out.push(`  if (${not(Nc)}) ${nonNull(val)}`)
        out.push(`  w.int8(-1)`)
        out.push(`} else {`)
        out.push(`  w.int8(1)`)
        out.push(`  write${id}(w, v, ${val})`)
        out.push(`}`)
      }
    } else {
      const len = (n: string) =>
        flexC === "true" ? `w.compactArrayLength(${n})` : flexC === "false" ? `w.arrayLength(${n})` : `w.flexArrayLength(${flexC}, ${n})`
      const elem = t.elem
      const elemWrite = elem.kind === "struct"
        ? `write${this.struct(elem.struct).id}(w, v, a[i])`
        : elem.kind === "prim"
        ? prim(elem.prim, "a[i]", false)
        : (() => {
          throw new Error(`${name}: nested arrays are not supported`)
        })()
      const loop = [`${len("a.length")}`, `for (let i = 0; i < a.length; i++) ${elemWrite}`]
      if (!tsNull) {
        out.push(`{`, `  const a = ${val}`, ...loop.map((l) => "  " + l), `}`)
      } else if (Nc === "false") {
        out.push(`{`, `  const a = ${nonNull(val)}`, ...loop.map((l) => "  " + l), `}`)
      } else {
        out.push(`{`, `  const a = ${val}`, `  if (a === null) {`)
        if (Nc !== "true") out.push(`    if (${not(Nc)}) ${nonNull("a")}`)
        out.push(`    ${len("-1")}`, `  } else {`, ...loop.map((l) => "    " + l), `  }`, `}`)
      }
    }
    return out.map((l) => ind + l)
  }

  /** The value of field `f` of `x`, defaulted when optional and missing. */
  private valueOf(f: Field, s: Struct): string {
    return this.optional(f, s) ? `x.${f.prop} === undefined ? ${this.defaultExpr(f.default)} : x.${f.prop}` : `x.${f.prop}`
  }

  /** Statements writing field `f` of `x` (a local holds the value when it needs defaulting). */
  private writeField(f: Field, s: Struct, F: Range, flexC: string, ind: string): Array<string> {
    if (!this.optional(f, s)) return this.writeValue(f, `x.${f.prop}`, F, flexC, ind)
    const Nc = cond(f.nullable, F)
    if (f.type.kind === "prim" && (!this.tsNullable(f) || Nc === "true" || Nc === "false")) {
      // used exactly once: inline the defaulting expression
      return this.writeValue(f, this.valueOf(f, s), F, flexC, ind)
    }
    const loc = local(f.prop)
    return [`${ind}const ${loc} = ${this.valueOf(f, s)}`, ...this.writeValue(f, loc, F, flexC, ind)]
  }

  private absentCheck(f: Field, s: Struct, ind: string): Array<string> {
    if (f.ignorable) return []
    const e = `x.${f.prop}`
    const test = this.optional(f, s) ? `${e} !== undefined && ${this.notDefault(e, f)}` : this.notDefault(e, f)
    return [`${ind}if (${test}) P.notInVersion(${JSON.stringify(`${this.current}.${f.prop}`)}, v)`]
  }

  emitWriter(s: Struct, isRoot: boolean): void {
    const o = this.out
    const S = s.reach
    this.current = s.id
    o.push(`function write${s.id}(w: Writer, v: number, x: ${s.id}): void {`)
    if (isRoot) {
      o.push(`  if (v < ${this.m.valid.lo} || v > ${this.m.valid.hi}) P.badVersion(${JSON.stringify(this.m.name)}, v)`)
    }
    const tagged: Array<Field> = []
    for (const f of s.fields) {
      if (f.tag !== undefined) {
        tagged.push(f)
        continue
      }
      const F = intersect(f.versions, S)
      const Pc = cond(f.versions, S)
      const flexC = cond(this.flexOf(f), F)
      if (Pc === "true") {
        o.push(...this.writeField(f, s, F, flexC, "  "))
      } else if (Pc === "false") {
        o.push(...this.absentCheck(f, s, "  "))
      } else {
        o.push(`  if (${Pc}) {`)
        o.push(...this.writeField(f, s, F, flexC, "    "))
        const absent = this.absentCheck(f, s, "    ")
        if (absent.length > 0) o.push(`  } else {`, ...absent)
        o.push(`  }`)
      }
    }
    const flexS = cond(this.m.flexible, S)
    tagged.sort((a, b) => a.tag! - b.tag!)
    for (const f of tagged) {
      const Tc = cond(f.tagged, intersect(S, this.m.flexible))
      const present = Tc === "true" ? flexS : Tc === "false" ? "false" : flexS === "true" ? Tc : `${paren(flexS)} && ${paren(Tc)}`
      if (present !== "true") {
        const absent = this.absentCheck(f, s, "")
        if (absent.length > 0) {
          if (present === "false") o.push(...absent.map((l) => "  " + l))
          else o.push(`  if (${not(present)}) {`, ...absent.map((l) => "    " + l), `  }`)
        }
      }
    }
    const live = tagged.filter((f) => cond(f.tagged, intersect(S, this.m.flexible)) !== "false")
    if (flexS !== "false") {
      const ind = flexS === "true" ? "  " : "    "
      if (flexS !== "true") o.push(`  if (${flexS}) {`)
      if (live.length === 0) {
        o.push(`${ind}w.emptyTaggedFields()`)
      } else {
        o.push(`${ind}let nt = 0`)
        live.forEach((f, k) => {
          const Tc = cond(f.tagged, intersect(S, this.m.flexible))
          o.push(`${ind}const t${k} = ${this.valueOf(f, s)}`)
          const nd = this.notDefault(`t${k}`, f)
          o.push(`${ind}const has${k} = ${Tc === "true" ? "" : paren(Tc) + " && "}${nd}`)
          o.push(`${ind}if (has${k}) nt++`)
        })
        o.push(`${ind}w.uvarint(nt)`)
        live.forEach((f, k) => {
          const F = intersect(intersect(f.versions, S), this.m.flexible)
          o.push(`${ind}if (has${k}) {`)
          o.push(`${ind}  const start = w.taggedFieldStart(${f.tag})`)
          o.push(...this.writeValue(f, `t${k}`, F, "true", ind + "  "))
          o.push(`${ind}  w.taggedFieldEnd(start)`)
          o.push(`${ind}}`)
        })
      }
      if (flexS !== "true") o.push(`  }`)
    }
    o.push(`}`)
    o.push(``)
  }

  // ---- decoder ---------------------------------------------------------------------------

  /** An expression reading a value of field `f` (not an array). */
  private readExpr(f: Field, F: Range, flexC: string): string {
    const t = f.type
    const Nc = cond(f.nullable, F)
    const prim = (p: string, nullable: boolean): string => {
      switch (p) {
        case "string":
        case "bytes":
        case "records": {
          const K = p === "string" ? "String" : "Bytes"
          const N = nullable ? "Nullable" : ""
          if (flexC === "true") return `r.compact${N}${K}()`
          if (flexC === "false") return nullable ? `r.nullable${K}()` : `r.${K.toLowerCase()}()`
          return `r.flex${N}${K}(${flexC})`
        }
        default:
          return `r.${p}()`
      }
    }
    if (t.kind === "prim") {
      if (Nc === "true") return prim(t.prim, true)
      if (Nc === "false") return prim(t.prim, false)
      return `(${Nc} ? ${prim(t.prim, true)} : ${prim(t.prim, false)})`
    }
    if (t.kind === "struct") {
      const id = this.struct(t.struct).id
      if (Nc === "false") return `read${id}(r, v)`
      if (Nc === "true") return `(r.int8() < 0 ? null : read${id}(r, v))`
      return `(${paren(Nc)} && r.int8() < 0 ? null : read${id}(r, v))`
    }
    throw new Error("readExpr on an array")
  }

  /** Statements reading array field `f` into the (declared) local `target`. */
  private readArray(f: Field, F: Range, flexC: string, target: string, ind: string): Array<string> {
    const t = f.type
    if (t.kind !== "array") throw new Error("readArray on a non-array")
    const elem = t.elem
    const min = this.minElementSize(elem, F)
    const len = flexC === "true"
      ? `r.compactArrayLength(${min})`
      : flexC === "false"
      ? `r.arrayLength(${min})`
      : `r.flexArrayLength(${flexC}, ${min})`
    const elemRead = elem.kind === "struct"
      ? `read${this.struct(elem.struct).id}(r, v)`
      : this.readExpr({ ...f, type: elem, nullable: { lo: 1, hi: 0 } }, F, flexC)
    const Nc = cond(f.nullable, F)
    const msg = JSON.stringify(`${this.current}.${f.prop} is null but not nullable in this version`)
    if (elem.kind === "prim" && elem.prim === "int32") {
      // one Reader call: length, one bounds check, a tight loop (replica lists, partition lists, ...)
      const out = [`{`, `  const a = r.int32Array(${flexC})`]
      if (Nc === "true") out.push(`  ${target} = a`)
      else if (Nc === "false") out.push(`  if (a === null) r.fail(${msg})`, `  ${target} = a`)
      else out.push(`  if (a === null && ${not(Nc)}) r.fail(${msg})`, `  ${target} = a`)
      out.push(`}`)
      return out.map((l) => ind + l)
    }
    const out = [`{`, `  const n = ${len}`]
    if (Nc === "true") out.push(`  if (n < 0) ${target} = null`)
    else if (Nc === "false") out.push(`  if (n < 0) r.fail(${msg})`)
    else out.push(`  if (n < 0) {`, `    if (${not(Nc)}) r.fail(${msg})`, `    ${target} = null`, `  }`)
    out.push(
      `  else {`,
      `    const a: ${this.tsType(t)} = new Array(n)`,
      `    for (let i = 0; i < n; i++) a[i] = ${elemRead}`,
      `    ${target} = a`,
      `  }`,
      `}`
    )
    return out.map((l) => ind + l)
  }

  emitReader(s: Struct, isRoot: boolean): void {
    const o = this.out
    const S = s.reach
    this.current = s.id
    o.push(`function read${s.id}(r: Reader, v: number): ${s.id} {`)
    if (isRoot) {
      o.push(`  if (v < ${this.m.valid.lo} || v > ${this.m.valid.hi}) r.fail(\`${this.m.name} has no version \${v}\`)`)
    }
    const tagged: Array<Field> = []
    for (const f of s.fields) {
      const loc = local(f.prop)
      const T = this.fieldTsType(f)
      if (f.tag !== undefined) {
        tagged.push(f)
        o.push(`  let ${loc}: ${T} = ${this.defaultExpr(f.default)}`)
        continue
      }
      const F = intersect(f.versions, S)
      const Pc = cond(f.versions, S)
      const flexC = cond(this.flexOf(f), F)
      if (Pc === "false") {
        o.push(`  const ${loc}: ${T} = ${this.defaultExpr(f.default)}`)
      } else if (f.type.kind !== "array") {
        const e = this.readExpr(f, F, flexC)
        o.push(`  const ${loc}: ${T} = ${Pc === "true" ? e : `${paren(Pc)} ? ${e} : ${this.defaultExpr(f.default)}`}`)
      } else if (Pc === "true") {
        o.push(`  let ${loc}: ${T}`)
        o.push(...this.readArray(f, F, flexC, loc, "  "))
      } else {
        // the default only when the version lacks the field (not built and dropped otherwise)
        o.push(`  let ${loc}: ${T}`)
        o.push(`  if (${Pc}) {`)
        o.push(...this.readArray(f, F, flexC, loc, "    "))
        o.push(`  } else ${loc} = ${this.defaultExpr(f.default)}`)
      }
    }
    const flexS = cond(this.m.flexible, S)
    if (flexS !== "false") {
      const live = tagged
        .filter((f) => cond(f.tagged, intersect(S, this.m.flexible)) !== "false")
        .sort((a, b) => a.tag! - b.tag!)
      const ind = flexS === "true" ? "  " : "    "
      if (flexS !== "true") o.push(`  if (${flexS}) {`)
      if (live.length === 0) {
        o.push(`${ind}r.skipTaggedFields()`)
      } else {
        o.push(`${ind}for (let nt = r.uvarint(); nt > 0; nt--) {`)
        o.push(`${ind}  const tag = r.uvarint()`)
        o.push(`${ind}  const end = r.taggedFieldEnd()`)
        live.forEach((f, k) => {
          const Tc = cond(f.tagged, intersect(S, this.m.flexible))
          const F = intersect(intersect(f.versions, S), this.m.flexible)
          const test = `tag === ${f.tag}${Tc === "true" ? "" : ` && ${paren(Tc)}`}`
          const kw = k === 0 ? "if" : "else if"
          if (f.type.kind === "array") {
            o.push(`${ind}  ${kw} (${test}) {`)
            o.push(...this.readArray(f, F, "true", local(f.prop), ind + "    "))
            o.push(`${ind}  }`)
          } else {
            o.push(`${ind}  ${kw} (${test}) ${local(f.prop)} = ${this.readExpr(f, F, "true")}`)
          }
        })
        o.push(`${ind}  else {`)
        o.push(`${ind}    r.offset = end`)
        o.push(`${ind}    continue`)
        o.push(`${ind}  }`)
        o.push(`${ind}  if (r.offset !== end) r.fail(\`tagged field \${tag} of ${this.m.name} has the wrong size\`)`)
        o.push(`${ind}}`)
      }
      if (flexS !== "true") o.push(`  }`)
    }
    const props = s.fields.map((f) => (local(f.prop) === f.prop ? f.prop : `${f.prop}: ${local(f.prop)}`))
    o.push(`  return { ${props.join(", ")} }`)
    o.push(`}`)
    o.push(``)
  }

  // ---- request prechecks -----------------------------------------------------------------

  /** A JS expression, true only when `e` certainly satisfies the Schema of type `t` (not null). */
  private precheckExpr(t: Type, e: string): string {
    switch (t.kind) {
      case "struct":
        return `is${this.struct(t.struct).id}Valid(${e})`
      case "array":
        throw new Error("precheckExpr on an array")
      case "prim":
        switch (t.prim) {
          case "bool":
            return `typeof ${e} === "boolean"`
          case "int8":
            return `typeof ${e} === "number" && ((${e} << 24) >> 24) === ${e}`
          case "int16":
            return `typeof ${e} === "number" && ((${e} << 16) >> 16) === ${e}`
          case "uint16":
            return `typeof ${e} === "number" && (${e} & 0xffff) === ${e}`
          case "int32":
            return `typeof ${e} === "number" && (${e} | 0) === ${e}`
          case "uint32":
            return `typeof ${e} === "number" && ${e} >>> 0 === ${e}`
          case "int64":
            return `typeof ${e} === "bigint" && BigInt.asIntN(64, ${e}) === ${e}`
          case "float64":
            return `typeof ${e} === "number"` // a double: NaN and ±Infinity are encodable, as the Schema says
          case "string":
            return `C.kafkaString(${e})`
          case "uuid":
            return `C.uuid(${e})`
          case "bytes":
          case "records":
            return `C.bytes(${e})`
        }
    }
  }

  /**
   * \`is<Id>Valid(x)\`: true only when \`x\` certainly satisfies the struct's Schema (same checks:
   * integer ranges, well-formed strings, uuids, nullability, optional keys); false means "ask
   * the Schema", which alone builds error messages.
   */
  emitPrecheck(s: Struct): void {
    const o = this.out
    o.push(`function is${s.id}Valid(x: unknown): boolean {`)
    o.push(`  if (!C.struct(x)) return false`)
    for (const f of s.fields) {
      const loc = local(f.prop)
      o.push(`  {`)
      o.push(`    const ${loc}: any = x.${f.prop}`)
      if (this.optional(f, s)) o.push(`    if (${loc} === undefined) { if (Object.hasOwn(x, ${JSON.stringify(f.prop)})) return false }`)
      else o.push(`    if (${loc} === undefined) return false`)
      const test: Array<string> = []
      const ind = "    "
      if (f.type.kind === "array") {
        const elem = f.type.elem
        if (elem.kind === "array") throw new Error(`${s.id}.${f.prop}: nested arrays are not supported`)
        test.push(`${ind}else if (!Array.isArray(${loc})) return false`)
        test.push(`${ind}else for (let i = 0; i < ${loc}.length; i++) {`)
        test.push(`${ind}  const $e: any = ${loc}[i]`)
        test.push(`${ind}  if (!(${this.precheckExpr(elem, "$e")})) return false`)
        test.push(`${ind}}`)
      } else {
        test.push(`${ind}else if (!(${this.precheckExpr(f.type, loc)})) return false`)
      }
      if (this.tsNullable(f)) o.push(`    else if (${loc} === null) {}`)
      o.push(...test)
      o.push(`  }`)
    }
    o.push(`  return true`)
    o.push(`}`)
    o.push(``)
  }

  // ---- defaults --------------------------------------------------------------------------

  /** Default-value constants and isDefault functions requested while emitting the codecs. */
  emitDefaults(): Array<string> {
    const out: Array<string> = []
    // resolve transitively (a default struct may contain default structs)
    for (let grew = true; grew;) {
      grew = false
      const before = this.needDefault.size + this.needIsDefault.size
      for (const name of [...this.needDefault]) {
        for (const f of this.struct(name).fields) this.defaultExpr(f.default)
      }
      for (const name of [...this.needIsDefault]) {
        for (const f of this.struct(name).fields) this.notDefault("x", f)
      }
      grew = this.needDefault.size + this.needIsDefault.size !== before
    }
    for (const s of this.m.structs) {
      if (this.needDefault.has(s.name)) {
        const props = s.fields.map((f) => `${f.prop}: ${this.defaultExpr(f.default)}`)
        out.push(`const ${s.id}Default: ${s.id} = Object.freeze({ ${props.join(", ")} })`)
        out.push(``)
      }
    }
    for (const s of this.m.structs) {
      if (this.needIsDefault.has(s.name)) {
        const tests = s.fields.map((f) =>
          this.optional(f, s) ? `(x.${f.prop} === undefined || !(${this.notDefault(`x.${f.prop}`, f)}))` : `!(${this.notDefault(`x.${f.prop}`, f)})`
        )
        out.push(`function isDefault${s.id}(x: ${s.id}): boolean {`)
        out.push(`  return ${tests.join(" &&\n    ")}`)
        out.push(`}`)
        out.push(``)
      }
    }
    return out
  }
}
