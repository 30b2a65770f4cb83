import type { Edges } from '../model/edges.ts'
import type { Evidence, Finding, Severity } from '../model/finding.ts'
import { findGoHeapArenas } from '../model/go-heap-arenas.ts'
import { type MappingsSnapshot, residentIn, type ThpSettings } from '../model/mappings.ts'
import {
  arenaExpected,
  type GoRuntimeMemory,
  goResidentEstimate,
  type MemorySnapshot,
} from '../model/snapshot.ts'
import {
  goAtLeast,
  godebugValue,
  goVersionSourceOf,
  parseGoVersion,
  type TargetFacts,
} from '../model/target.ts'
import { formatBytes, MiB } from '../model/units.ts'
import { confidence, type Detector, lastWith, type Outcome } from './detector.ts'

/**
 * Transparent huge pages holding heap memory the Go runtime has released: RSS the heap does not
 * use, which the runtime counts as returned (HeapReleased) and the kernel keeps resident.
 *
 * Mechanism: the runtime releases free heap pages 4 KiB at a time (MADV_DONTNEED). Where the
 * 2 MiB region around them is eligible for huge pages (THP "always", or "madvise" plus
 * MADV_HUGEPAGE), khugepaged collapses it back into one huge page as long as no more than
 * khugepaged/max_ptes_none (default 511 of 512) of its pages are missing, and fills the released
 * ones with zeroes. Go up to 1.20 marked the huge pages around a release MADV_NOHUGEPAGE, which
 * prevents it; Go 1.21.0 dropped that workaround and put huge pages on dense heap chunks itself
 * (MADV_HUGEPAGE, then MADV_COLLAPSE: golang/go#61718, #63334) until 1.21.4, which stopped
 * touching huge page settings: from then on khugepaged refills what the runtime releases
 * (golang/go#64332), and only GODEBUG=disablethp=1 (Go 1.21.6, 1.22 and later, still in 1.27) or
 * the kernel's settings keep it off. The heap can also be simply backed by huge pages that it
 * uses; that is not bloat: on Go 1.19 a steady 1 GiB heap collapsed into huge pages shows
 * AnonHugePages 1028 MiB with RSS 1072 MiB ≈ Sys − HeapReleased 1074 MiB (the thp-bloat control).
 *
 * Signature: with /proc/PID/smaps, RSS in Go's heap arenas above what Go keeps there (HeapSys −
 * HeapReleased + StackSys), backed by huge pages in those arenas: min(both) ≥ 64 MiB and ≥ 10% of
 * RSS. Without smaps, the process-wide gap RssAnon − LazyFree − (Sys − HeapReleased) covered by
 * AnonHugePages stands in, at low confidence (C memory in huge pages looks the same).
 *
 * Go's heap arenas are found by model/go-heap-arenas.ts: by the runtime's names on Go ≥ 1.25
 * where the kernel keeps them, otherwise by their shape, confirmed by HeapSys + StackInuse; never
 * by address, which Go 1.26 randomises. Taken for C memory, the same huge pages would be
 * non-go-memory.
 *
 * This machine runs THP "madvise", where no Go built here (1.19, 1.26, 1.27) bloats on its own.
 * The thp-bloat scenario therefore does to a real Go heap what Go 1.21.0-1.21.3 did, and what
 * khugepaged does to any Go ≥ 1.21.4 under THP "always": it marks the heap MADV_HUGEPAGE after
 * releasing 31 of every 32 pieces and collapses it (MADV_COLLAPSE, Linux ≥ 6.1). Measured on
 * go1.19.8: HeapInuse 33 MiB, HeapReleased 994 MiB, yet VmRSS 1069 MiB with AnonHugePages
 * 1026 MiB, all in Go's heap arena; on go1.26.8 (random heap base, unnamed here): HeapInuse
 * 36 MiB, HeapReleased 992 MiB, VmRSS 1041 MiB, 1028 MiB of huge pages in its arenas. The kernel
 * effect and the numbers are real; the runtime that would cause them in production is not the
 * one running here.
 *
 * Reference: go/src/runtime/mem_linux.go sysUnusedOS (go1.19, MADV_NOHUGEPAGE) and sysMapOS
 * (go1.26, disablethp); runtime/extern.go disablethp (go1.26); golang/go#61718, #63334, #64332
 * (1.21.x); the Go GC guide, "Linux transparent huge pages" (disablethp: Go 1.21.6, 1.22); Linux
 * Documentation/admin-guide/mm/transhuge.rst (v6.1) max_ptes_none.
 */

/** Below this, huge-page rounding is noise (a few 2 MiB pages around live spans). */
const MIN_BLOAT = 64 * MiB
/** The bloat must be this share of RSS to matter to anyone watching RSS. */
const MIN_SHARE_OF_RSS = 0.1
/** Shares of RSS at which the bloat becomes a warning, then critical. */
const WARNING_SHARE = 0.2
const CRITICAL_SHARE = 0.5

interface Measured {
  rss: number
  bloat: number
  share: number
  hugePages: number
  /** Set when measured from smaps: Go's arenas' RSS and huge pages. */
  arena?: { rss: number; hugePages: number; expected: number; source: string }
  runtime: GoRuntimeMemory
  snapshot: MemorySnapshot
}

/** Bloat located in Go's arenas from one smaps read and the runtime view nearest to it. */
function fromMappings(snapshot: MemorySnapshot, mappings: MappingsSnapshot): Measured | undefined {
  const { runtime, status } = snapshot
  if (!runtime || !status) return undefined
  const arenas = findGoHeapArenas(mappings, runtime)
  const rss = residentIn(mappings, arenas.contains)
  const hugePages = arenas.mappings.reduce((sum, m) => sum + m.anonHugePages, 0)
  const expected = arenaExpected(runtime)
  const bloat = Math.min(hugePages, Math.max(0, rss - expected))
  return {
    rss: status.vmRss,
    bloat,
    share: bloat / status.vmRss,
    hugePages: snapshot.rollup?.anonHugePages ?? hugePages,
    arena: { rss, hugePages, expected, source: mappings.source },
    runtime,
    snapshot,
  }
}

/** Without smaps: the anonymous RSS Go cannot account for, as far as huge pages cover it. */
function fromRollup(snapshot: MemorySnapshot): Measured | undefined {
  const { runtime, status, rollup } = snapshot
  if (!runtime || status?.rssAnon === undefined || rollup?.anonHugePages === undefined) {
    return undefined
  }
  const gap = status.rssAnon - (rollup.lazyFree ?? 0) - goResidentEstimate(runtime)
  const bloat = Math.min(rollup.anonHugePages, Math.max(0, gap))
  const rss = status.vmRss
  return { rss, bloat, share: bloat / rss, hugePages: rollup.anonHugePages, runtime, snapshot }
}

/**
 * With smaps, the bloat at the window's edges, each beside the runtime view of the sample nearest
 * to it; without, every sample's estimate from smaps_rollup.
 */
function measureWindow(
  series: readonly MemorySnapshot[],
  mappings: Edges<MappingsSnapshot> | undefined,
): Measured[] {
  if (!mappings) return series.map(fromRollup).filter(m => m !== undefined)
  const near = (atMs: number) =>
    series
      .filter(s => s.runtime && s.status)
      .reduce<MemorySnapshot | undefined>(
        (best, s) =>
          best === undefined || Math.abs(s.atMs - atMs) < Math.abs(best.atMs - atMs) ? s : best,
        undefined,
      )
  const edges = mappings.first ? [mappings.first, mappings.last] : [mappings.last]
  return edges
    .map(m => {
      const s = near(m.atMs)
      return s ? fromMappings(s, m) : undefined
    })
    .filter(m => m !== undefined)
}

const holds = (m: Measured) => m.bloat >= MIN_BLOAT && m.share >= MIN_SHARE_OF_RSS

/**
 * The remedy the target's Go has. Go ≤ 1.20 worked around THP itself (MADV_NOHUGEPAGE around
 * what it released); 1.21.0 dropped that and forced huge pages on dense heap chunks itself
 * (MADV_HUGEPAGE, MADV_COLLAPSE: golang/go#61718, #63334), undone by 1.21.4, after which the
 * runtime leaves huge pages to the kernel (#64332). GODEBUG=disablethp=1 (MADV_NOHUGEPAGE on
 * every heap mapping, runtime/mem_linux.go sysMapOS) came in 1.21.6 and 1.22; it is a runtime
 * setting, read from the environment at start-up only (not //go:debug or go.mod), and Go says it
 * will be removed in a future release, so the kernel's settings are the lasting fix.
 */
function fixesFor(target: TargetFacts, thp: ThpSettings | undefined): string[] {
  const version = parseGoVersion(target.goVersion)
  const running = target.goVersion ?? 'this Go'
  const fixes: string[] = []
  const hasDisableThp =
    version !== undefined &&
    (goAtLeast(version, 22) || (version.minor === 21 && goAtLeast(version, 21, 6)))
  if (godebugValue(target, 'disablethp') === '1' && (hasDisableThp || !version)) {
    fixes.push(
      `GODEBUG already has disablethp=1, so ${running} keeps huge pages off its heap mappings: something re-enables them (a C library calling madvise(MADV_HUGEPAGE) or MADV_COLLAPSE on Go's memory)`,
    )
  } else if (hasDisableThp) {
    fixes.push(
      `run with GODEBUG=disablethp=1 (${running} has it since Go 1.21.6): the runtime then marks its heap MADV_NOHUGEPAGE; set it in the environment, as //go:debug and go.mod cannot set it, and it is meant to be removed in a future Go`,
    )
  } else if (version && version.major === 1 && version.minor === 21) {
    fixes.push(
      goAtLeast(version, 21, 4)
        ? `upgrade to Go ≥ 1.21.6 (running ${running}): it adds GODEBUG=disablethp=1, which keeps huge pages off the heap`
        : `upgrade to Go ≥ 1.21.6 (running ${running}): Go 1.21.0–1.21.3 put huge pages on the heap itself (MADV_HUGEPAGE, MADV_COLLAPSE; golang/go#61718, #63334), 1.21.4 stopped, and 1.21.6 adds GODEBUG=disablethp=1`,
    )
  } else if (version && !goAtLeast(version, 21)) {
    fixes.push(
      `${running} marks huge pages it releases MADV_NOHUGEPAGE: look for code that re-enables them on the heap (a C library calling madvise(MADV_HUGEPAGE) or MADV_COLLAPSE, prctl(PR_SET_THP_DISABLE) undone)`,
    )
  } else if (!version) {
    fixes.push(
      'if the binary is Go ≥ 1.21.6, run it with GODEBUG=disablethp=1 (the Go version could not be read)',
    )
  }
  const ptes = thp?.maxPtesNone
  fixes.push(
    `set /sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none to 0 (now ${ptes ?? 'unknown'}): khugepaged then never fills released pages to make a huge page`,
  )
  if (thp?.enabled === 'always') {
    fixes.push(
      'or set transparent_hugepage/enabled to madvise (now always), and defrag to defer+madvise, as the Go GC guide advises',
    )
  }
  return fixes
}

export const thpBloat: Detector = {
  id: 'thp-bloat',
  needs: ['os.anonHugePages', 'runtime.memstats'],
  detect({ target, series, mappings, thp }): Outcome {
    const missing = [
      ...(series.some(s => s.rollup?.anonHugePages !== undefined) || mappings
        ? []
        : (['os.anonHugePages'] as const)),
      ...(series.some(s => s.runtime) ? [] : (['runtime.memstats'] as const)),
    ]
    if (missing.length > 0) return { kind: 'unknown', missing }

    const measured = measureWindow(series, mappings)
    const last = measured.at(-1)
    if (!last) return { kind: 'unknown', missing: ['os.rssSplit'] }
    const worst = measured.reduce((a, b) => (b.bloat > a.bloat ? b : a))
    if (!holds(worst)) return { kind: 'clear' }

    const current = holds(last)
    const shown = current ? last : worst
    let severity: Severity = 'info'
    if (shown.share >= WARNING_SHARE) severity = 'warning'
    if (shown.share >= CRITICAL_SHARE) severity = 'critical'
    if (!current) severity = 'info'

    const { runtime, snapshot } = shown
    const statusSource = snapshot.status?.source ?? ''
    const rollupSource = snapshot.rollup?.source ?? lastWith(series, 'rollup')?.rollup.source ?? ''
    const evidence: Evidence[] = [
      { label: 'RSS', value: shown.rss, unit: 'bytes', source: statusSource },
      { label: 'AnonHugePages', value: shown.hugePages, unit: 'bytes', source: rollupSource },
      { label: 'HeapInuse', value: runtime.heapInuse, unit: 'bytes', source: runtime.source },
      { label: 'HeapReleased', value: runtime.heapReleased, unit: 'bytes', source: runtime.source },
    ]
    if (shown.arena) {
      const { source } = shown.arena
      evidence.push(
        { label: "RSS in Go's heap arenas", value: shown.arena.rss, unit: 'bytes', source },
        {
          label: "AnonHugePages in Go's heap arenas",
          value: shown.arena.hugePages,
          unit: 'bytes',
          source,
        },
        {
          label: 'what Go keeps there (HeapSys − HeapReleased + StackSys)',
          value: shown.arena.expected,
          unit: 'bytes',
          source: runtime.source,
        },
      )
    }
    evidence.push({
      label: 'held by huge pages, not used by the heap',
      value: shown.bloat,
      unit: 'bytes',
      source: shown.arena ? `${shown.arena.source} − ${runtime.source}` : `${rollupSource}`,
    })
    const sys = thp?.source ?? '/sys/kernel/mm/transparent_hugepage'
    evidence.push(
      { label: 'THP enabled', value: thp?.enabled ?? 'unknown', source: `${sys}/enabled` },
      { label: 'THP defrag', value: thp?.defrag ?? 'unknown', source: `${sys}/defrag` },
      {
        label: 'khugepaged max_ptes_none',
        value: thp?.maxPtesNone ?? 'unknown',
        unit: 'count',
        source: `${sys}/khugepaged/max_ptes_none`,
      },
      {
        label: 'Go version',
        value: target.goVersion ?? 'unknown',
        source: goVersionSourceOf(target),
      },
    )

    const pct = Math.round(shown.share * 100)
    let summary =
      `${formatBytes(shown.bloat)} of RSS (${pct}%) is transparent huge pages over heap memory the Go runtime ` +
      `has released (HeapReleased ${formatBytes(runtime.heapReleased)}, HeapInuse ${formatBytes(runtime.heapInuse)}): ` +
      'the kernel filled the released pages back in with zeroes to make 2 MiB pages.'
    summary += shown.arena
      ? ` Go's heap arenas hold ${formatBytes(shown.arena.rss)} resident, ${formatBytes(shown.arena.hugePages)} of it in huge pages, where Go keeps ${formatBytes(shown.arena.expected)}.`
      : " /proc/PID/smaps was not read, so the huge pages could not be located in Go's heap: C memory in huge pages would look the same."
    summary += ` THP is "${thp?.enabled ?? 'unknown'}" with max_ptes_none ${thp?.maxPtesNone ?? 'unknown'}.`
    if (!current) {
      summary += ` That was at the window's start; at its end ${formatBytes(last.bloat)} remained.`
    }

    let score = shown.arena ? 0.85 : 0.55
    if (thp?.enabled !== undefined && thp.enabled !== 'never') score += 0.05
    if (thp?.enabled === 'never') score -= 0.3
    const finding: Finding = {
      id: 'thp-bloat',
      severity,
      confidence: confidence(score),
      title: current
        ? 'Huge pages hold heap memory Go has released'
        : 'Huge pages held released heap memory during the window',
      summary,
      evidence,
      fixes: fixesFor(target, thp),
      bytesExplained: current ? last.bloat : 0,
    }
    if (current) {
      finding.whatIf = {
        rssBytes: last.rss - last.bloat,
        explanation: 'RSS once huge pages no longer refill released heap memory',
      }
    } else finding.resolvedDuringWindow = true
    return { kind: 'finding', finding }
  },
}
