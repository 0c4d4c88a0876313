// Import-graph lint for src/: `npm run lint:cycles` (part of `npm test`'s pretest).
//
//   node scripts/lint-cycles.ts [--graph] [--no-layers] [root]     (root defaults to src)
//
// Fails (exit 1) on
// - any import cycle: every static `import`/`export … from`, `import type`, side-effect `import "…"`,
//   dynamic `import("…")` and type-position `import("…").T` counts, since a cycle of types is still
//   a cycle a reader has to untangle (the house rule: shared types live in a module both import);
// - any import of a layer that LAYERS (below: what the folders' main modules document) does not
//   allow, which is a higher layer or a peer.
// `--graph` also prints the edges between layers; `--no-layers` checks cycles only (for a root
// other than src/). TypeScript 7 has no compiler API and the
// madge/dependency-cruiser parsers need one, so this reads the sources with a small tokenizer of
// its own: comments, strings, templates and regular expressions are skipped, so an `import` in a
// doc example is not an edge.
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The layers of src/ (its folders and root modules) and what each may import besides itself: what
 * the opening doc comment of each folder's main module says. The table must have an order (no
 * layer reachable from itself), so no layer imports a higher one; `index.ts` (the package's root
 * entry point) gathers them all.
 */
const BOTTOM = ["Protocol", "Topic.ts", "Connection", "Cluster"] as const
const CLIENTS = [...BOTTOM, "Consumer", "Producer", "Admin", "SchemaRegistry"] as const
export const LAYERS: Layers = {
  "Protocol": [],
  "Topic.ts": [],
  "Connection": ["Protocol"],
  "Cluster": ["Protocol", "Connection"],
  "Consumer": BOTTOM,
  // transactional offset commits (Producer) and group offsets (Admin) use Consumer's group helpers
  "Producer": [...BOTTOM, "Consumer"],
  "Admin": [...BOTTOM, "Consumer"],
  "SchemaRegistry": BOTTOM,
  "Layers": CLIENTS,
  "Testing": [...CLIENTS, "Layers"],
  "Cli": [...CLIENTS, "Layers"],
  "index.ts": [...CLIENTS, "Layers", "Testing", "Cli"]
}

/** Per layer, the layers it may import. */
export type Layers = { readonly [layer: string]: ReadonlyArray<string> }

/** Layers from which a layer can reach itself through the table (the table then has no order). */
const circular = (layers: Layers): Array<string> =>
  Object.keys(layers).filter((start) => {
    const seen = new Set<string>()
    const todo = [...(layers[start] ?? [])]
    while (todo.length > 0) {
      const l = todo.pop()!
      if (l === start) return true
      if (seen.has(l)) continue
      seen.add(l)
      todo.push(...(layers[l] ?? []))
    }
    return false
  })

// ---- tokenizer -----------------------------------------------------------------------------

type Token = { readonly kind: "name" | "punct" | "string"; readonly text: string }

// after these a `/` starts a regular expression, not a division
const REGEX_AFTER_PUNCT = new Set("( , = : [ ! & | ? { } ; + - * % < > ~ ^ =>".split(" "))
const REGEX_AFTER_NAME = new Set(["return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "yield", "await", "instanceof"])

const isNameStart = (c: string) => /[A-Za-z_$\u0080-\uffff]/.test(c)
const isNamePart = (c: string) => /[A-Za-z0-9_$\u0080-\uffff]/.test(c)

/** Names, punctuation and string literals (with their value) of a TypeScript source; the rest is dropped. */
export const tokenize = (src: string): Array<Token> => {
  const out: Array<Token> = []
  // brace depth at which each open template's `${` started
  const templates: Array<number> = []
  let depth = 0
  let i = 0
  const regexAllowed = () => {
    const last = out[out.length - 1]
    if (last === undefined) return true
    if (last.kind === "punct") return REGEX_AFTER_PUNCT.has(last.text)
    return last.kind === "name" && REGEX_AFTER_NAME.has(last.text)
  }
  const template = () => {
    // i is just past "`" or past the "}" closing a `${`
    while (i < src.length) {
      const c = src[i]!
      if (c === "\\") i += 2
      else if (c === "`") {
        i++
        out.push({ kind: "string", text: "" })
        return
      } else if (c === "$" && src[i + 1] === "{") {
        i += 2
        templates.push(depth)
        depth++
        out.push({ kind: "punct", text: "(" })
        return
      } else i++
    }
  }
  while (i < src.length) {
    const c = src[i]!
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2)
      i = end < 0 ? src.length : end + 2
    } else if (c === "'" || c === "\"") {
      let j = i + 1
      let text = ""
      while (j < src.length && src[j] !== c && src[j] !== "\n") {
        if (src[j] === "\\") {
          text += src[j + 1] ?? ""
          j += 2
        } else text += src[j++]
      }
      out.push({ kind: "string", text })
      i = j + 1
    } else if (c === "`") {
      i++
      template()
    } else if (c === "/" && regexAllowed()) {
      let j = i + 1
      let inClass = false
      while (j < src.length && src[j] !== "\n") {
        const d = src[j]!
        if (d === "\\") j++
        else if (d === "[") inClass = true
        else if (d === "]") inClass = false
        else if (d === "/" && !inClass) break
        j++
      }
      j++
      while (j < src.length && isNamePart(src[j]!)) j++
      out.push({ kind: "string", text: "" })
      i = j
    } else if (isNameStart(c)) {
      let j = i + 1
      while (j < src.length && isNamePart(src[j]!)) j++
      out.push({ kind: "name", text: src.slice(i, j) })
      i = j
    } else if (/\s/.test(c)) {
      i++
    } else if (/[0-9]/.test(c)) {
      let j = i + 1
      while (j < src.length && /[0-9A-Za-z_.]/.test(src[j]!)) j++
      out.push({ kind: "name", text: src.slice(i, j) })
      i = j
    } else {
      if (c === "{") depth++
      if (c === "}") {
        depth--
        if (templates.length > 0 && templates[templates.length - 1] === depth) {
          templates.pop()
          out.push({ kind: "punct", text: ")" })
          i++
          template()
          continue
        }
      }
      const two = src.slice(i, i + 2)
      const text = two === "=>" ? two : c
      out.push({ kind: "punct", text })
      i += text.length
    }
  }
  return out
}

// tokens that may stand between `import`/`export` and `from` in a declaration
const CLAUSE = new Set(["{", "}", ",", "*"])

/** The module specifiers a source imports, in every form (type-only ones included). */
export const specifiers = (src: string): Array<string> => {
  const t = tokenize(src)
  const found: Array<string> = []
  for (let k = 0; k < t.length; k++) {
    const tok = t[k]!
    if (tok.kind !== "name" || (tok.text !== "import" && tok.text !== "export")) continue
    const prev = t[k - 1]
    if (prev !== undefined && prev.kind === "punct" && prev.text === ".") continue // x.import
    const next = t[k + 1]
    if (next === undefined) continue
    if (tok.text === "import" && next.kind === "string") {
      found.push(next.text) // import "./side-effect.ts"
      continue
    }
    if (tok.text === "import" && next.text === "(" && t[k + 2]?.kind === "string") {
      found.push(t[k + 2]!.text) // import("./x.ts"), also in type positions
      continue
    }
    // import … from "x" / export … from "x": only names and clause punctuation in between
    for (let j = k + 1; j < t.length; j++) {
      const u = t[j]!
      if (u.kind === "name" && u.text === "from" && t[j + 1]?.kind === "string") {
        found.push(t[j + 1]!.text)
        break
      }
      if (u.kind === "name" || (u.kind === "punct" && CLAUSE.has(u.text))) continue
      break
    }
  }
  return found
}

// ---- graph ---------------------------------------------------------------------------------

const walk = (dir: string, files: Array<string>): Array<string> => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) walk(p, files)
    else if (/\.(ts|mts|cts|tsx)$/.test(e.name) && !e.name.endsWith(".d.ts")) files.push(p)
  }
  return files
}

const resolve = (from: string, spec: string): string | undefined => {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return undefined
  const base = path.resolve(path.dirname(from), spec)
  const candidates = [base, base.replace(/\.js$/, ".ts"), `${base}.ts`, path.join(base, "index.ts")]
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile())
}

const rel = (p: string) => path.relative(process.cwd(), p)

/**
 * What the lint found under `root`: problems (cycles; with `layers`, imports `layers` does not
 * allow and top-level entries of `root` that are no layer), the cycles, the edges between layers.
 */
export const lint = (root: string, layers: Layers | undefined) => {
  const files = walk(root, []).sort()
  const unknown = new Set<string>()
  const problems: Array<string> = []
  if (layers !== undefined) {
    for (const l of circular(layers)) problems.push(`LAYERS: layer ${l} can reach itself, so the layers have no order`)
  }
  const layerOf = (file: string): string => path.relative(root, file).split(path.sep)[0]!
  const graph = new Map<string, Array<string>>()
  const layerEdges = new Map<string, number>()
  for (const f of files) {
    const deps: Array<string> = []
    for (const spec of specifiers(fs.readFileSync(f, "utf8"))) {
      const target = resolve(f, spec)
      if (target === undefined) {
        if (spec.startsWith(".")) problems.push(`${rel(f)}: cannot resolve import "${spec}"`)
        continue
      }
      if (!target.startsWith(root + path.sep)) continue
      deps.push(target)
      const a = layerOf(f)
      const b = layerOf(target)
      if (a === b) continue
      layerEdges.set(`${a} -> ${b}`, (layerEdges.get(`${a} -> ${b}`) ?? 0) + 1)
      if (layers === undefined) continue
      for (const layer of [a, b]) {
        if (layers[layer] === undefined && !unknown.has(layer)) {
          unknown.add(layer)
          problems.push(`${rel(path.join(root, layer))}: not a layer in scripts/lint-cycles.ts's LAYERS (add it with what its main module's doc comment says it may import)`)
        }
      }
      const allowed = layers[a]
      if (allowed !== undefined && layers[b] !== undefined && !allowed.includes(b)) {
        problems.push(`${rel(f)} imports ${rel(target)}: layer ${a} may not import ${b} (it may import ${allowed.length === 0 ? "no other layer" : allowed.join(", ")})`)
      }
    }
    graph.set(f, [...new Set(deps)])
  }

  // strongly connected components (Tarjan, iterative): each with more than one module, or a
  // module importing itself, is a cycle
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const cycles: Array<Array<string>> = []
  let next = 0
  for (const start of graph.keys()) {
    if (index.has(start)) continue
    const work: Array<{ v: string; i: number }> = [{ v: start, i: 0 }]
    index.set(start, next)
    low.set(start, next++)
    stack.push(start)
    onStack.add(start)
    while (work.length > 0) {
      const frame = work[work.length - 1]!
      const deps = graph.get(frame.v) ?? []
      if (frame.i < deps.length) {
        const w = deps[frame.i++]!
        if (!index.has(w)) {
          index.set(w, next)
          low.set(w, next++)
          stack.push(w)
          onStack.add(w)
          work.push({ v: w, i: 0 })
        } else if (onStack.has(w)) low.set(frame.v, Math.min(low.get(frame.v)!, index.get(w)!))
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent !== undefined) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(frame.v)!))
      if (low.get(frame.v) === index.get(frame.v)) {
        const scc: Array<string> = []
        let w: string
        do {
          w = stack.pop()!
          onStack.delete(w)
          scc.push(w)
        } while (w !== frame.v)
        if (scc.length > 1 || (graph.get(frame.v) ?? []).includes(frame.v)) cycles.push(scc)
      }
    }
  }

  for (const scc of cycles) {
    const members = new Set(scc)
    const lines = scc.sort().map((m) => `    ${rel(m)} -> ${(graph.get(m) ?? []).filter((d) => members.has(d)).map(rel).join(", ")}`)
    problems.push(`import cycle of ${scc.length} module${scc.length === 1 ? "" : "s"}:\n${lines.join("\n")}`)
  }
  const imports = [...graph.values()].reduce((n, d) => n + d.length, 0)
  return { modules: files.length, imports, problems, cycles, layerEdges }
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const root = path.resolve(args.find((a) => !a.startsWith("--")) ?? "src")
  const { modules, imports, problems, cycles, layerEdges } = lint(root, args.includes("--no-layers") ? undefined : LAYERS)
  if (args.includes("--graph")) for (const [edge, n] of [...layerEdges].sort()) console.log(`${edge} (${n})`)
  if (problems.length > 0) {
    console.error(`lint:cycles: ${problems.length} problem${problems.length === 1 ? "" : "s"} in ${rel(root)}/ (${cycles.length} cycle${cycles.length === 1 ? "" : "s"}):`)
    for (const p of problems) console.error(`  ${p}`)
    process.exit(1)
  }
  console.log(`lint:cycles: ${modules} modules, ${imports} imports in ${rel(root)}/: no cycle${args.includes("--no-layers") ? "" : ", no import across layers that LAYERS does not allow"}`)
}
