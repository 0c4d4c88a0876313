/**
 * Fault injection rules: error codes to answer instead of doing the work (n times, optionally for
 * one topic-partition or one broker) and latency to add to an API. A request takes one use of a
 * rule however many of its partitions the rule hit.
 *
 * @internal
 */

export interface ErrorRule {
  readonly apiKey: number
  readonly code: number
  remaining: number
  readonly topic: string | undefined
  readonly partition: number | undefined
  readonly nodeId: number | undefined
}

export interface DelayRule {
  readonly apiKey: number
  readonly ms: number
  remaining: number
  readonly nodeId: number | undefined
}

/** The rules hit while answering one request; `end` takes one use of each. */
export class FaultMatcher {
  private readonly rules: ReadonlyArray<ErrorRule>
  private readonly used = new Set<ErrorRule>()
  private readonly owner: Faults

  constructor(owner: Faults, rules: ReadonlyArray<ErrorRule>) {
    this.owner = owner
    this.rules = rules
  }

  /**
   * The injected error code for this part of the request (a partition, or the request as a whole
   * when `topic` is undefined), or 0. A rule naming a topic matches only that topic's partitions.
   */
  code(topic?: string, partition?: number): number {
    for (const r of this.rules) {
      if (r.remaining <= 0 && !this.used.has(r)) continue
      if (r.topic !== undefined && r.topic !== topic) continue
      if (r.partition !== undefined && r.partition !== partition) continue
      this.used.add(r)
      return r.code
    }
    return 0
  }

  end(): void {
    if (this.used.size === 0) return
    for (const r of this.used) r.remaining--
    this.owner.prune()
  }
}

const NONE: ReadonlyArray<ErrorRule> = []

export class Faults {
  errors: Array<ErrorRule> = []
  delays: Array<DelayRule> = []

  addError(rule: ErrorRule): void {
    this.errors.push(rule)
  }

  addDelay(rule: DelayRule): void {
    this.delays.push(rule)
  }

  clear(): void {
    this.errors = []
    this.delays = []
  }

  prune(): void {
    this.errors = this.errors.filter((r) => r.remaining > 0)
    this.delays = this.delays.filter((r) => r.remaining > 0)
  }

  /** The error rules that may apply to a request of `apiKey` at `nodeId`. */
  matcher(apiKey: number, nodeId: number): FaultMatcher {
    let rules: Array<ErrorRule> | undefined
    for (const r of this.errors) {
      if (r.apiKey !== apiKey || r.remaining <= 0) continue
      if (r.nodeId !== undefined && r.nodeId !== nodeId) continue
      ;(rules ??= []).push(r)
    }
    return new FaultMatcher(this, rules ?? NONE)
  }

  /** Milliseconds of latency to add to this request (one use of each matching rule). */
  takeDelay(apiKey: number, nodeId: number): number {
    let ms = 0
    let any = false
    for (const r of this.delays) {
      if (r.apiKey !== apiKey || r.remaining <= 0) continue
      if (r.nodeId !== undefined && r.nodeId !== nodeId) continue
      ms += r.ms
      r.remaining--
      any = true
    }
    if (any) this.prune()
    return ms
  }
}
