// Why protobufjs and ajv: the libraries measured side by side (kpax keeps only the winners, so run this
// in a scratch folder: npm install protobufjs@8 @bufbuild/protobuf@2 ajv@8 @cfworker/json-schema@4.1.6, then node libraries.mjs).
// Results and load: bench/RESULTS.md, "Schema Registry serde libraries".
import protobuf from "protobufjs"
import descriptor from "protobufjs/ext/descriptor/index.js"
import { createFileRegistry, fromBinary, toBinary, create } from "@bufbuild/protobuf"
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import Ajv from "ajv"
import { Validator } from "@cfworker/json-schema"

const proto = `syntax = "proto3"; package bench; message Order { string id = 1; int64 qty = 2; double price = 3; repeated string tags = 4; bool paid = 5; }`
const time = (name, n, f) => { for (let i = 0; i < n / 10; i++) f(i); const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) f(i); const ns = Number(process.hrtime.bigint() - t) / n; console.log(`${name.padEnd(34)} ${ns.toFixed(0).padStart(6)} ns/op`); return ns }
const N = 300_000
const value = { id: "order-12345", qty: 3, price: 19.99, tags: ["a", "bb", "ccc"], paid: true }
// protobufjs: parse .proto text at run time (what a registry hands us)
const t0 = process.hrtime.bigint()
const root = protobuf.parse(proto, { keepCase: true }).root
const T = root.lookupType("bench.Order")
console.log(`protobufjs parse .proto            ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(2)} ms`)
const pbBytes = T.encode(T.fromObject(value)).finish()
// @bufbuild/protobuf: no .proto parser; a FileDescriptorSet (here converted from protobufjs's parse)
const set = root.toDescriptor("proto3")
const setBytes = descriptor.FileDescriptorSet.encode(set).finish()
const t1 = process.hrtime.bigint()
const reg = createFileRegistry(fromBinary(FileDescriptorSetSchema, setBytes))
const D = reg.getMessage("bench.Order")
console.log(`bufbuild registry from descriptor  ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(2)} ms`)
const bufValue = { ...value, qty: 3n }
for (let round = 0; round < 2; round++) {
  time("protobufjs encode (fromObject)", N, () => T.encode(T.fromObject(value)).finish())
  time("bufbuild encode (create)", N, () => toBinary(D, create(D, bufValue)))
  time("protobufjs decode + toObject", N, () => T.toObject(T.decode(pbBytes), { longs: Number }))
  time("bufbuild decode", N, () => fromBinary(D, pbBytes))
}
const js = { type: "object", properties: { id: { type: "string" }, qty: { type: "integer" }, price: { type: "number" }, tags: { type: "array", items: { type: "string" } }, paid: { type: "boolean" } }, required: ["id", "qty", "price", "tags", "paid"] }
const ajv = new Ajv({ strict: false }).compile(js)
const cf = new Validator(js, "7")
for (let round = 0; round < 2; round++) {
  time("ajv validate", N, () => ajv(value))
  time("@cfworker/json-schema validate", N / 10, () => cf.validate(value).valid)
}
console.log("bad value rejected:", ajv({ ...value, qty: "x" }), cf.validate({ ...value, qty: "x" }).valid)
