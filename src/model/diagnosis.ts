import type { Finding, FindingId, Gap } from './finding.ts'
import type { RssBreakdown } from './rss-breakdown.ts'
import type { MemorySnapshot } from './snapshot.ts'
import type { TargetFacts } from './target.ts'

/**
 * The one-word answer: the first finding's id; else 'inconclusive' when a detector could not judge
 * (what it looks for may be there, unseen); else 'healthy': every detector judged, none found.
 */
export type Verdict = FindingId | 'inconclusive' | 'healthy'

/** Everything a diagnosis produced: what the reports render and what --json prints. */
export interface Diagnosis {
  target: TargetFacts
  window: { startMs: number; endMs: number; samples: number }
  /** The breakdown of the last sample's RSS. */
  rss?: RssBreakdown
  /** Most important first. */
  findings: Finding[]
  gaps: Gap[]
  /** Detectors that answered unknown: with no finding, they make the verdict 'inconclusive'. */
  unjudged: FindingId[]
  verdict: Verdict
  /**
   * Detectors that one more GC cycle may let judge (the window was short, not a signal), and
   * when the soonest next collection is expected: what diagnose waits for with --max-duration.
   */
  awaitingGc?: { detectors: FindingId[]; inMs?: number }
  /** Where data came from: '/proc', 'http://127.0.0.1:6060/debug/vars', a capture directory. */
  sources: string[]
  /** Things the user should know about the window itself (the target exited mid-run, …). */
  notes: string[]
  /** The series the findings were computed from, for reports that draw it. */
  series: MemorySnapshot[]
}
