/**
 * `npm run lint:cycles` (scripts/lint-cycles.ts): finds the imports of every form, type-only ones
 * included, ignores what only looks like an import (comments, strings, templates, regular
 * expressions), and reports cycles and imports of a higher layer.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { lint, specifiers } from "../../scripts/lint-cycles.ts"

const roots: Array<string> = []
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true })
})

const tree = (files: Record<string, string>): string => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kpax-lint-"))
  roots.push(root)
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true })
    fs.writeFileSync(path.join(root, name), text)
  }
  return root
}

describe("lint:cycles", () => {
  it("finds imports in every form and nothing in comments, strings, templates or regexes", () => {
    const src = [
      `// import { a } from "./comment.ts"`,
      `/* import "./block.ts" */`,
      `const s = "import { x } from './string.ts'"`,
      `const r = /["'\`]/g`,
      "const t = `${\"a\"} import \"./template.ts\" ${{ a: 1 }.a}`",
      `import type { T } from "./type.ts"`,
      `import * as N from "./namespace.ts"`,
      `import D, { e, type F } from "./mixed.ts"`,
      `import "./side-effect.ts"`,
      `export * from "./star.ts"`,
      `export * as S from "./star-as.ts"`,
      `export type { G } from "./export-type.ts"`,
      `export {\n  h,\n  i\n} from "./multi-line.ts"`,
      `type Q = import("./type-query.ts").Q`,
      `const lazy = () => import("./dynamic.ts")`,
      `const url = import.meta.url`,
      `const ratio = a / b / c`
    ].join("\n")
    expect(specifiers(src)).toEqual([
      "./type.ts", "./namespace.ts", "./mixed.ts", "./side-effect.ts", "./star.ts", "./star-as.ts",
      "./export-type.ts", "./multi-line.ts", "./type-query.ts", "./dynamic.ts"
    ])
  })

  it("reports a cycle made of a type-only import, and none once the shared type has its own module", () => {
    const cyclic = tree({
      "a.ts": `import type { B } from "./b.ts"\nexport interface A { readonly b: B }\n`,
      "b.ts": `import { type A } from "./a.ts"\nexport interface B { readonly a?: A }\n`
    })
    const found = lint(cyclic, undefined)
    expect(found.cycles.map((c) => c.map((f) => path.basename(f)).sort())).toEqual([["a.ts", "b.ts"]])
    expect(found.problems).toHaveLength(1)

    const fixed = tree({
      "types.ts": `export interface A { readonly b: B }\nexport interface B { readonly a?: A }\n`,
      "a.ts": `export type { A } from "./types.ts"\n`,
      "b.ts": `import type { A } from "./types.ts"\nexport const a = (x: A) => x\n`
    })
    expect(lint(fixed, undefined)).toMatchObject({ problems: [], cycles: [], modules: 3, imports: 2 })
  })

  it("reports an import of a higher layer, of a peer, a folder that is no layer, and a table without order", () => {
    const root = tree({
      "Low/Low.ts": `import { high } from "../High/High.ts"\nexport const low = high\n`,
      "High/High.ts": `export const high = 1\n`,
      "Peer/Peer.ts": `import { high } from "../High/High.ts"\nexport const peer = high\n`,
      "Stray/Stray.ts": `import { low } from "../Low/Low.ts"\nexport const stray = low\n`
    })
    const { problems } = lint(root, { Low: [], High: ["Low"], Peer: ["Low"] })
    expect(problems).toHaveLength(3)
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringContaining("layer Low may not import High (it may import no other layer)"),
      expect.stringContaining("layer Peer may not import High (it may import Low)"),
      expect.stringMatching(/Stray: not a layer/)
    ]))
    const unordered = lint(root, { Low: ["High"], High: ["Peer"], Peer: ["Low"], Stray: ["Low"] })
    expect(unordered.problems.filter((p) => p.startsWith("LAYERS"))).toEqual([
      "LAYERS: layer Low can reach itself, so the layers have no order",
      "LAYERS: layer High can reach itself, so the layers have no order",
      "LAYERS: layer Peer can reach itself, so the layers have no order"
    ])
  })
})
