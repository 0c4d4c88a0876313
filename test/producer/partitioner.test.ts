import { describe, expect, it } from "@effect/vitest"
import * as Partitioner from "../../src/Producer/Partitioner.ts"

// Produced by the Java client itself (kafka-clients 4.4.0): Utils.murmur2 of the UTF-8 key and
// Utils.toPositive(hash) % n for n = 1, 3, 6, 7, 100, printed by fixtures/JavaMurmur2.java.
const javaVectors: ReadonlyArray<readonly [string, number, Record<number, number>]> = [
  ["", 275646681, { 1: 0, 3: 0, 6: 3, 7: 2, 100: 81 }],
  ["a", -1563381124, { 1: 0, 3: 1, 6: 4, 7: 5, 100: 24 }],
  ["ab", 316155434, { 1: 0, 3: 2, 6: 2, 7: 0, 100: 34 }],
  ["abc", 479470107, { 1: 0, 3: 0, 6: 3, 7: 4, 100: 7 }],
  ["abcd", -1323649548, { 1: 0, 3: 2, 6: 2, 7: 5, 100: 0 }],
  ["abcde", 461995741, { 1: 0, 3: 1, 6: 1, 7: 4, 100: 41 }],
  ["kpax", -1749728616, { 1: 0, 3: 2, 6: 2, 7: 3, 100: 32 }],
  ["hello world", 1221641059, { 1: 0, 3: 1, 6: 1, 7: 2, 100: 59 }],
  ["user-42", 1459644460, { 1: 0, 3: 1, 6: 4, 7: 1, 100: 60 }],
  ["été-漢字", -1113315793, { 1: 0, 3: 1, 6: 1, 7: 0, 100: 55 }],
  ["0123456789abcdef0123", 203624608, { 1: 0, 3: 1, 6: 4, 7: 5, 100: 8 }],
  ["the quick brown fox jumps over the lazy dog", -890066680, { 1: 0, 3: 1, 6: 4, 7: 3, 100: 68 }]
]

const utf8 = (s: string) => new TextEncoder().encode(s)
const input = (
  key: Uint8Array | null,
  partitionCount: number,
  available: ReadonlyArray<number> = [],
  size = 100,
  topic = "t"
): Partitioner.PartitionInput => ({ topic, key, size, partitionCount, available })

describe("Partitioner", () => {
  it("murmur2 matches the Java client's Utils.murmur2", () => {
    for (const [key, hash] of javaVectors) expect(Partitioner.murmur2Hash(utf8(key)), key).toBe(hash)
  })

  it("keyed records land where the Java client puts them", () => {
    const p = Partitioner.defaultPartitioner({ batchSize: 16384 })
    for (const [key, , parts] of javaVectors) {
      for (const [n, expected] of Object.entries(parts)) {
        expect(Partitioner.partitionForKey(utf8(key), Number(n)), `${key} % ${n}`).toBe(expected)
        expect(p(input(utf8(key), Number(n))), `${key} % ${n}`).toBe(expected)
      }
    }
  })

  it("keyless records stick to one partition for a batch's worth of bytes, then move", () => {
    const p = Partitioner.defaultPartitioner({ batchSize: 1000 })
    const first = p(input(null, 6, [0, 1, 2, 3, 4, 5]))
    for (let i = 0; i < 9; i++) expect(p(input(null, 6, [0, 1, 2, 3, 4, 5]))).toBe(first)
    const next = p(input(null, 6, [0, 1, 2, 3, 4, 5]))
    expect(next).not.toBe(first)
    expect(next).toBeGreaterThanOrEqual(0)
    expect(next).toBeLessThan(6)
  })

  it("sticky partitioning spreads keyless records over the available partitions only", () => {
    const p = Partitioner.sticky(100)
    const seen = new Set<number>()
    for (let i = 0; i < 2000; i++) seen.add(p(input(null, 6, [1, 3, 5])))
    expect([...seen].sort()).toEqual([1, 3, 5])
  })

  it("sticky state is per topic", () => {
    const p = Partitioner.sticky(1_000_000)
    const a = p(input(null, 1000, [], 1, "a"))
    for (let i = 0; i < 50; i++) expect(p(input(null, 1000, [], 1, "a"))).toBe(a)
    const seen = new Set<number>()
    for (let i = 0; i < 50; i++) seen.add(p(input(null, 1000, [], 1, `topic-${i}`)))
    expect(seen.size).toBeGreaterThan(1)
  })

  it("round-robin cycles through the available partitions", () => {
    const p = Partitioner.roundRobin()
    const got = Array.from({ length: 6 }, () => p(input(utf8("k"), 4, [0, 2, 3])))
    expect(got).toEqual([0, 2, 3, 0, 2, 3])
    const q = Partitioner.roundRobin()
    expect(Array.from({ length: 5 }, () => q(input(null, 3)))).toEqual([0, 1, 2, 0, 1])
  })
})
