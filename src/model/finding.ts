/** Findings, the evidence behind them, and the gaps in what could be read. JSON-safe data. */

/** Stable ids: a contract (DESIGN.md). File names, docs, scenarios and tests share them. */
export const FINDING_IDS = [
  'madv-free-retention',
  'scavenger-lag',
  'heap-growth',
  'goroutine-leak',
  'non-go-memory',
  'file-mapped',
  'gc-heap-goal',
  'thp-bloat',
  'cgroup-limit-risk',
  'fragmentation',
] as const
export type FindingId = (typeof FINDING_IDS)[number]

export type Severity = 'critical' | 'warning' | 'info'
export const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 }

export interface Evidence {
  label: string
  /** Raw: bytes are bytes; formatting happens in report/. */
  value: number | string
  unit?: 'bytes' | 'ratio' | 'count' | 'seconds' | 'bytes/s'
  /** Where the value was read: '/proc/4242/smaps_rollup', 'http://127.0.0.1:6060/debug/vars'. */
  source: string
}

export interface Finding {
  id: FindingId
  severity: Severity
  /** 0..1; the summary says why. */
  confidence: number
  title: string
  summary: string
  evidence: Evidence[]
  /** Specific to the target's Go version, GODEBUG and kernel. */
  fixes: string[]
  /** Expected RSS once the fix is applied, when it can be computed. */
  whatIf?: { rssBytes: number; explanation: string }
  /** Bytes of RSS this cause accounts for: ranks findings of the same severity. */
  bytesExplained: number
  /** Set when the condition was seen during the window but no longer holds at its end. */
  resolvedDuringWindow?: boolean
}

/**
 * Signals: the named inputs detectors need. A missing one becomes a Gap and makes a detector
 * answer unknown instead of guessing.
 */
export const SIGNALS = [
  'os.rss',
  'os.rssSplit',
  'os.lazyFree',
  'os.anonHugePages',
  'runtime.memstats',
  'runtime.goroutines',
  'target.goVersion',
  'target.godebug',
  'target.kernel',
  'cgroup.memory',
  'os.mappings',
  'os.thp',
  'profile.heap',
  'profile.goroutines',
  'profile.goroutineLeak',
] as const
export type Signal = (typeof SIGNALS)[number]

/** What could not be read, and what that costs the diagnosis (DESIGN: never guess silently). */
export interface Gap {
  signal: Signal | string
  reason: string
  cost: string
}
