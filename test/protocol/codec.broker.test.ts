// The generated codecs against a real broker: requests framed with Frame.ts go over a plain
// node:net socket to the test Kafka (test/kafka/env.ts), and its answers decode; where the
// broker's bytes hold no tagged fields newer than our definitions, re-encoding the decoded value
// reproduces them byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as net from "node:net"
import {
  type AnyApi,
  ApiVersions,
  type ApiVersionsResponse,
  DescribeCluster,
  DescribeConfigs,
  decodeResponseBody,
  encodeRequestFrame,
  FindCoordinator,
  ListGroups,
  Metadata,
  readResponseHeader,
  responseHeaderVersion
} from "../../src/Protocol/index.ts"
import { Writer } from "../../src/Protocol/internal/Writer.ts"
import { brokers } from "../kafka/env.ts"

/** A minimal sequential Kafka connection: one request at a time, size-prefixed frames. */
class Conn {
  private readonly socket: net.Socket
  private buffer = Buffer.alloc(0)
  private waiting: ((frame: Buffer) => void) | undefined
  private failWaiting: ((e: unknown) => void) | undefined
  private correlationId = 0

  constructor(socket: net.Socket) {
    this.socket = socket
    socket.on("error", (e) => this.failWaiting?.(e))
    socket.on("close", () => this.failWaiting?.(new Error("connection closed")))
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      if (this.buffer.length >= 4) {
        const size = this.buffer.readInt32BE(0)
        if (this.buffer.length >= 4 + size && this.waiting) {
          const frame = this.buffer.subarray(4, 4 + size)
          this.buffer = this.buffer.subarray(4 + size)
          const w = this.waiting
          this.waiting = undefined
          w(frame)
        }
      }
    })
  }

  static open(hostPort: string): Promise<Conn> {
    const [host, port] = hostPort.split(":")
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port: Number(port) }, () => resolve(new Conn(s)))
      s.once("error", reject)
    })
  }

  /** Sends one request; resolves with the response frame (size prefix stripped) and checks its correlation id. */
  async send<Req>(api: AnyApi, version: number, req: Req): Promise<{ frame: Buffer; bodyOffset: number }> {
    const id = ++this.correlationId
    const frame = await new Promise<Buffer>((resolve, reject) => {
      this.waiting = resolve
      this.failWaiting = reject
      this.socket.write(encodeRequestFrame(api, version, id, "kpax-codec-test", req))
    })
    const header = readResponseHeader(frame, responseHeaderVersion(api, version))
    if (Result.isFailure(header)) throw header.failure
    expect(header.success.correlationId).toBe(id)
    return { frame, bodyOffset: header.success.bodyOffset }
  }

  /** Sends a request and decodes the answer; fails the test on a DecodeError. */
  async call<Req, Res>(api: AnyApi, version: number, req: Req): Promise<{ res: Res; body: Buffer }> {
    const { frame, bodyOffset } = await this.send(api, version, req)
    const res = decodeResponseBody(api, version, frame, bodyOffset)
    if (Result.isFailure(res)) throw res.failure
    return { res: res.success as Res, body: frame.subarray(bodyOffset) }
  }

  close() {
    this.socket.destroy()
  }
}

const reencode = (api: AnyApi, version: number, res: unknown): string => {
  const w = new Writer()
  api.encodeResponse(w, version, res)
  return Buffer.from(w.finish()).toString("hex")
}

describe("codecs against the test broker", () => {
  let conn: Conn
  let supported: Map<number, { min: number; max: number }>
  const common = (api: AnyApi) => {
    const s = supported.get(api.key)
    if (s === undefined) return undefined
    const lo = Math.max(api.minVersion, s.min)
    const hi = Math.min(api.maxVersion, s.max)
    return lo <= hi ? { lo, hi } : undefined
  }

  beforeAll(async () => {
    conn = await Conn.open(brokers()[0])
    const { res } = await conn.call<object, ApiVersionsResponse>(ApiVersions, 3, {
      clientSoftwareName: "kpax-codec-test",
      clientSoftwareVersion: "0.1.0"
    })
    expect(res.errorCode).toBe(0)
    supported = new Map(res.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]))
  })
  afterAll(() => conn?.close())

  it("ApiVersions: every version we share with the broker decodes (header v0 even when flexible)", async () => {
    const range = common(ApiVersions)!
    for (let v = range.lo; v <= range.hi; v++) {
      const { res } = await conn.call<object, ApiVersionsResponse>(ApiVersions, v, { clientSoftwareName: "kpax", clientSoftwareVersion: "1" })
      expect(res.errorCode).toBe(0)
      expect(res.apiKeys.find((k) => k.apiKey === Metadata.key)).toBeDefined()
      if (v >= 1) expect(res.throttleTimeMs).toBe(0)
    }
  })

  it("Metadata: every shared version decodes and re-encodes to the broker's bytes", async () => {
    const range = common(Metadata)!
    expect(range.hi).toBe(Metadata.maxVersion)
    const port = Number(brokers()[0].split(":")[1])
    for (let v = range.lo; v <= range.hi; v++) {
      const { res, body } = await conn.call<object, any>(Metadata, v, { topics: v === 0 ? [] : null })
      expect(res.brokers.some((b: any) => b.port === port)).toBe(true)
      if (v >= 2) expect(typeof res.clusterId).toBe("string")
      expect(reencode(Metadata, v, res), `Metadata v${v}`).toBe(body.toString("hex"))
    }
  })

  it("other admin and group APIs decode at the highest shared version", async () => {
    const dc = common(DescribeCluster)
    if (dc !== undefined) {
      const { res, body } = await conn.call<object, any>(DescribeCluster, dc.hi, { includeClusterAuthorizedOperations: false })
      expect(res.errorCode).toBe(0)
      expect(res.brokers.length).toBeGreaterThan(0)
      expect(reencode(DescribeCluster, dc.hi, res)).toBe(body.toString("hex"))
    }
    const lg = common(ListGroups)!
    const groups = await conn.call<object, any>(ListGroups, lg.hi, {})
    expect(groups.res.errorCode).toBe(0)
    const fc = common(FindCoordinator)!
    const coord = await conn.call<object, any>(FindCoordinator, fc.hi, { keyType: 0, ...(fc.hi >= 4 ? { coordinatorKeys: ["kpax-codec-test-group"] } : { key: "kpax-codec-test-group" }) })
    const c = fc.hi >= 4 ? coord.res.coordinators[0] : coord.res
    expect([0, 15]).toContain(c.errorCode) // NONE or COORDINATOR_NOT_AVAILABLE while the offsets topic is created
    const cfg = common(DescribeConfigs)!
    const { res: configs } = await conn.call<object, any>(DescribeConfigs, cfg.hi, {
      resources: [{ resourceType: 4, resourceName: "", configurationKeys: null }] // BROKER, default resource
    })
    expect(configs.results.length).toBe(1)
  })
})
