import type { Evidence, Finding, Severity } from '../model/finding.ts'
import {
  type GoRuntimeMemory,
  type MemorySnapshot,
  rssOrGoResident,
  runtimeMemoryLimit,
} from '../model/snapshot.ts'
import {
  goAtLeast,
  goVersionSourceOf,
  hasMemoryLimit,
  parseGoVersion,
  releaseMode,
  type TargetFacts,
} from '../model/target.ts'
import { formatBytes, formatDuration, MiB } from '../model/units.ts'
import { confidence, type Detector, type Outcome } from './detector.ts'

/**
 * Free heap the runtime still holds resident after the heap shrank: idle spans not yet returned
 * to the OS (HeapIdle − HeapReleased) beyond what the scavenger means to keep.
 *
 * Mechanism: since Go 1.13 a background scavenger returns free pages at about 1% of one CPU,
 * but only down to a retention goal of 1.1 × the heap goal (retainExtraPercent = 10), or to 95%
 * of GOMEMLIMIT (Go ≥ 1.19). After a spike, the next GC lowers the heap goal and the excess is
 * returned gradually; until then it stays in RSS. Before Go 1.13 spans were returned only after
 * five minutes unused. Go 1.19 returned a freed 1 GiB spike in about 2 s on our machines, so this
 * condition is often transient: the finding says when it resolved during the window.
 *
 * Signature: retained (HeapSys − HeapReleased) well above 1.1 × NextGC, with large idle memory.
 * Idle memory within the heap goal is not lag: the heap will grow into it before the next GC.
 *
 * Reference: go/src/runtime/mgcscavenge.go (go1.19): gcPaceScavenger, retainExtraPercent.
 */

/** The runtime keeps 10% over the heap goal on purpose (retainExtraPercent). */
const RETAIN_EXTRA = 1.1
/** Below this the lag is a rounding error next to stacks, binaries and page tables. */
const MIN_LAG = 64 * MiB
/** The lag must be this share of RSS before anyone watching RSS would notice it. */
const MIN_SHARE_OF_RSS = 0.1
/** At this share of RSS the lag is worth a warning rather than a note. */
const WARNING_SHARE = 0.25

/** Bytes the scavenger has yet to return: idle memory above its retention goal. */
export function scavengerLagBytes(runtime: GoRuntimeMemory): number {
  const idle = runtime.heapIdle - runtime.heapReleased
  const retained = runtime.heapSys - runtime.heapReleased
  const excess = retained - RETAIN_EXTRA * runtime.nextGC
  return Math.max(0, Math.min(idle, excess))
}

interface Measured {
  snapshot: MemorySnapshot
  runtime: GoRuntimeMemory
  lag: number
  rss: number
}

function measure(snapshot: MemorySnapshot): Measured | undefined {
  const runtime = snapshot.runtime
  if (!runtime) return undefined
  const rss = rssOrGoResident(snapshot, runtime)
  return { snapshot, runtime, lag: scavengerLagBytes(runtime), rss }
}

function holds(m: Measured): boolean {
  return m.lag >= MIN_LAG && m.lag >= MIN_SHARE_OF_RSS * m.rss
}

function fixesFor(target: TargetFacts, runtime: GoRuntimeMemory): string[] {
  const version = parseGoVersion(target.goVersion)
  const fixes: string[] = []
  // The limit in effect, where the runtime's gauge tells it (debug.SetMemoryLimit included).
  const inEffect = runtimeMemoryLimit(runtime)
  if (version && !goAtLeast(version, 13)) {
    fixes.push(
      `upgrade Go: ${target.goVersion} returns idle memory only after 5 minutes; Go ≥ 1.13 has a background scavenger`,
    )
  }
  if (typeof inEffect === 'number') {
    fixes.push(
      `GOMEMLIMIT is ${formatBytes(inEffect)} in the runtime (${runtime.source}): the scavenger returns memory only to stay under 95% of it, so lower it toward the memory you can give the process`,
    )
  } else if (hasMemoryLimit(version)) {
    fixes.push(
      'set GOMEMLIMIT (or debug.SetMemoryLimit) a little under the memory you can give the process: the scavenger then returns memory to stay under 95% of it; no Go version derives it from the container limit by itself',
    )
  }
  if (hasMemoryLimit(version)) {
    // Go 1.21 made the background scavenger skip dense 4 MiB chunks (huge-page aware); the
    // memory limit and FreeOSMemory ignore that, so they return what the background one keeps.
    if (!version || goAtLeast(version, 21)) {
      fixes.push(
        `${version ? target.goVersion : 'Go ≥ 1.21'}: the background scavenger leaves densely used 4 MiB chunks alone for a GC cycle (it keeps huge pages whole); GOMEMLIMIT and debug.FreeOSMemory do not wait for that`,
      )
    }
  } else {
    fixes.push(
      `rebuild with Go ≥ 1.19 for GOMEMLIMIT (running ${target.goVersion}), which makes the scavenger return memory to stay under a limit`,
    )
  }
  fixes.push(
    'after a known spike (a batch job, a large request), call debug.FreeOSMemory(): a forced GC plus a full scavenge',
  )
  fixes.push(
    'or wait: the background scavenger returns the excess gradually at about 1% of one CPU',
  )
  if (releaseMode(target).mode === 'madv-free') {
    fixes.push(
      'note: this process releases with MADV_FREE, so returned pages stay in RSS as LazyFree until memory pressure (see madv-free-retention)',
    )
  }
  return fixes
}

export const scavengerLag: Detector = {
  id: 'scavenger-lag',
  needs: ['runtime.memstats'],
  detect({ target, series }): Outcome {
    const measured = series.map(measure).filter(m => m !== undefined)
    const last = measured.at(-1)
    const first = measured[0]
    if (!last || !first) return { kind: 'unknown', missing: ['runtime.memstats'] }
    const worst = measured.reduce((a, b) => (b.lag > a.lag ? b : a))
    if (!holds(worst)) return { kind: 'clear' }

    const current = holds(last)
    const shown = current ? last : worst
    const { runtime } = shown
    const idle = runtime.heapIdle - runtime.heapReleased
    const evidence: Evidence[] = [
      { label: 'HeapIdle − HeapReleased', value: idle, unit: 'bytes', source: runtime.source },
      {
        label: 'HeapSys − HeapReleased',
        value: runtime.heapSys - runtime.heapReleased,
        unit: 'bytes',
        source: runtime.source,
      },
      { label: 'NextGC', value: runtime.nextGC, unit: 'bytes', source: runtime.source },
      { label: 'HeapAlloc', value: runtime.heapAlloc, unit: 'bytes', source: runtime.source },
      {
        label: 'above the scavenger goal (1.1 × NextGC)',
        value: shown.lag,
        unit: 'bytes',
        source: runtime.source,
      },
    ]
    if (shown.snapshot.status) {
      evidence.unshift({
        label: 'RSS',
        value: shown.rss,
        unit: 'bytes',
        source: shown.snapshot.status.source,
      })
    }
    evidence.push({
      label: 'Go version',
      value: target.goVersion ?? 'unknown',
      source: goVersionSourceOf(target),
    })

    let summary =
      `${formatBytes(shown.lag)} of free heap is still resident above what the scavenger keeps ` +
      `(1.1 × the heap goal ${formatBytes(runtime.nextGC)}); live heap is ${formatBytes(runtime.heapAlloc)}.`
    const elapsedMs = last.snapshot.atMs - first.snapshot.atMs
    if (current && first.lag > last.lag * 1.2 && elapsedMs > 0) {
      const rate = (first.lag - last.lag) / (elapsedMs / 1000)
      summary += ` It is being returned at ${formatBytes(rate)}/s: about ${formatDuration((last.lag / rate) * 1000)} to go.`
    } else if (current) {
      summary += ' It did not shrink during the window.'
    } else {
      summary += ` That was at ${formatDuration(worst.snapshot.atMs - first.snapshot.atMs)} into the window; by its end the scavenger had returned it (${formatBytes(last.lag)} left).`
    }

    const severity: Severity = !current
      ? 'info'
      : shown.lag >= WARNING_SHARE * shown.rss
        ? 'warning'
        : 'info'
    const finding: Finding = {
      id: 'scavenger-lag',
      severity,
      // The numbers come straight from the runtime; what is uncertain is how long it will last.
      confidence: confidence(current ? 0.85 : 0.6),
      title: current
        ? 'Freed heap not yet returned to the OS'
        : 'Freed heap was held for a while, then returned during the window',
      summary,
      evidence,
      fixes: fixesFor(target, runtime),
      bytesExplained: current ? last.lag : 0,
    }
    if (current && releaseMode(target).mode !== 'madv-free') {
      finding.whatIf = {
        rssBytes: last.rss - last.lag,
        explanation:
          'RSS once the scavenger has returned the excess (or after GOMEMLIMIT / FreeOSMemory)',
      }
    }
    if (!current) finding.resolvedDuringWindow = true
    return { kind: 'finding', finding }
  },
}
