import type { Edges } from '../model/edges.ts'
import type { Finding, FindingId, Gap, Signal } from '../model/finding.ts'
import type { GoroutineDump } from '../model/goroutines.ts'
import type { Profile } from '../model/heap-profile.ts'
import type { MappingsSnapshot, ThpSettings } from '../model/mappings.ts'
import type { MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'

/** What every detector sees: facts read once, the samples oldest first, and what was missing. */
export interface DetectorInput {
  target: TargetFacts
  series: readonly MemorySnapshot[]
  gaps: readonly Gap[]
  /** Heap profiles (/debug/pprof/heap) at the start and the end of the window. */
  heapProfiles?: Edges<Profile>
  /** Goroutine dumps (/debug/pprof/goroutine?debug=1) at the start and the end, count-gated. */
  goroutineDumps?: Edges<GoroutineDump>
  /**
   * The goroutine leak profile (/debug/pprof/goroutineleak, Go 1.27 or 1.26 with the experiment)
   * at the start and the end, only when the user allowed its cost (--leak-profile).
   */
  goroutineLeaks?: Edges<GoroutineDump>
  /** /proc/PID/smaps at the start and the end of the window, size-gated. */
  mappings?: Edges<MappingsSnapshot>
  /** The machine's transparent huge page settings. */
  thp?: ThpSettings
}

/** found / clear / unknown: unknown names the signals whose absence stopped the detector. */
export type Outcome =
  | { kind: 'finding'; finding: Finding }
  | { kind: 'clear' }
  | {
      kind: 'unknown'
      missing: readonly Signal[]
      /** Why, when it is not simply that the missing signals were not read (a restart, too few samples). */
      reason?: string
      /**
       * Set when the window, not a signal, fell short: one more GC cycle may settle it, expected
       * in `inMs` when that can be told (diagnose may wait for it: --max-duration).
       */
      awaitsGc?: { inMs?: number }
    }

export interface Detector {
  id: FindingId
  /** Signals without which the answer is 'unknown'. */
  needs: readonly Signal[]
  detect(input: DetectorInput): Outcome
}

/** The newest sample that has the part a detector reads, or undefined. */
export function lastWith<K extends keyof MemorySnapshot>(
  series: readonly MemorySnapshot[],
  part: K,
): (MemorySnapshot & Required<Pick<MemorySnapshot, K>>) | undefined {
  for (let i = series.length - 1; i >= 0; i--) {
    const snapshot = series[i]
    if (snapshot?.[part] !== undefined) {
      return snapshot as MemorySnapshot & Required<Pick<MemorySnapshot, K>>
    }
  }
  return undefined
}

/** Clamps a confidence into 0..0.99 and keeps two decimals: nothing read from a live process is certain. */
export function confidence(value: number): number {
  return Math.round(Math.min(0.99, Math.max(0, value)) * 100) / 100
}

export type { Edges }
