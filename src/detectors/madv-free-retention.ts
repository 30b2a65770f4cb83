import type { Evidence, Finding, Severity } from '../model/finding.ts'
import { goResidentEstimate, type MemorySnapshot } from '../model/snapshot.ts'
import {
  environSource,
  goAtLeast,
  goVersionSourceOf,
  parseGoVersion,
  releaseMode,
  type TargetFacts,
} from '../model/target.ts'
import { formatBytes, MiB } from '../model/units.ts'
import { confidence, type Detector, type Outcome } from './detector.ts'

/**
 * RSS the Go runtime already gave back with MADV_FREE, which the kernel has not reclaimed yet.
 *
 * Mechanism: Go 1.12–1.15 on Linux ≥ 4.5 released pages with MADV_FREE by default; later versions
 * do so only with GODEBUG=madvdontneed=0. MADV_FREE lets the kernel take the pages lazily: until
 * the machine (or the memory cgroup) is under pressure they stay mapped and count in RSS. They
 * show as LazyFree in /proc/PID/smaps_rollup, and the runtime counts them in HeapReleased.
 *
 * Signature: LazyFree is a large share of RSS; HeapReleased covers it (the pages are Go's).
 * Harm: not a leak. The kernel reclaims these pages under pressure (measured on our machines: a
 * 1 GiB allocation in the same limited cgroup got its memory in 0.6 s, no OOM kill), but RSS-based
 * alerts, autoscalers and OOM-score policies see a process far larger than it is.
 *
 * What can fool it: LazyFree from a C allocator (jemalloc and others also use MADV_FREE) in a
 * cgo program; then HeapReleased does not cover it and the Go version says MADV_DONTNEED, and
 * confidence drops accordingly.
 *
 * Reference: go/src/runtime/mem_linux.go sysUnusedOS (go1.19); Linux mm/madvise.c, MADV_FREE.
 */

/** Below this, LazyFree is noise next to binaries, stacks and page tables. */
const MIN_LAZY_FREE = 64 * MiB
/** LazyFree must be at least this share of RSS to matter to anyone watching RSS. */
const MIN_SHARE_OF_RSS = 0.1
/** Shares of RSS at which the distortion becomes a warning, then critical. */
const WARNING_SHARE = 0.2
const CRITICAL_SHARE = 0.5
/** HeapReleased must cover this much of LazyFree for the pages to be Go's. */
const RELEASED_COVERS = 0.8

interface Measured {
  snapshot: MemorySnapshot
  rss: number
  /** LazyFree, or when smaps_rollup was not read, the bytes inferred to be MADV_FREE'd. */
  lazyFree: number
  share: number
  /** True when lazyFree was inferred from RSS and the runtime view, not measured. */
  inferred: boolean
}

function measure(snapshot: MemorySnapshot): Measured | undefined {
  const rss = snapshot.status?.vmRss ?? snapshot.rollup?.rss
  if (rss === undefined || rss === 0) return undefined
  const lazyFree = snapshot.rollup?.lazyFree
  if (lazyFree !== undefined)
    return { snapshot, rss, lazyFree, share: lazyFree / rss, inferred: false }
  // Without smaps_rollup (Prometheus, a URL-only target with /metrics) the pages can only be
  // inferred: resident bytes Go does not account for, which its released memory could hold.
  // Non-Go memory makes the same gap, so the released bytes must cover nearly all of it.
  const runtime = snapshot.runtime
  if (!runtime) return undefined
  const gap = rss - goResidentEstimate(runtime) - (snapshot.status?.rssFile ?? 0)
  const inferred =
    gap > 0 && runtime.heapReleased >= gap * RELEASED_COVERS
      ? Math.min(gap, runtime.heapReleased)
      : 0
  return { snapshot, rss, lazyFree: inferred, share: inferred / rss, inferred: true }
}

function holds(m: Measured): boolean {
  return m.lazyFree >= MIN_LAZY_FREE && m.share >= MIN_SHARE_OF_RSS
}

function severityOf(share: number): Severity {
  if (share >= CRITICAL_SHARE) return 'critical'
  if (share >= WARNING_SHARE) return 'warning'
  return 'info'
}

/** The fix depends on why MADV_FREE is in use: the Go version, or an explicit GODEBUG. */
export function madvFreeFixes(target: TargetFacts): string[] {
  const version = parseGoVersion(target.goVersion)
  const godebug = target.godebug ?? ''
  const explicitFree = /(^|,)\s*madvdontneed=0\b/.test(godebug)
  const fixes: string[] = []
  if (explicitFree) {
    const rest = godebug
      .split(',')
      .filter(pair => !/^\s*madvdontneed=/.test(pair))
      .join(',')
    fixes.push(
      version && goAtLeast(version, 16)
        ? `remove madvdontneed=0 from GODEBUG (${rest ? `GODEBUG=${rest}` : 'unset GODEBUG'}): ${target.goVersion} then releases memory with MADV_DONTNEED and RSS follows the heap`
        : `set GODEBUG=madvdontneed=1 instead of madvdontneed=0${rest ? ` (GODEBUG=${rest},madvdontneed=1)` : ''}`,
    )
  } else if (!version || !goAtLeast(version, 16)) {
    const others = godebug ? `${godebug},` : ''
    fixes.push(
      `run with GODEBUG=${others}madvdontneed=1 (read once at start: set it in the image, unit file or pod spec, then restart; it is a runtime setting, so only the environment sets it, not //go:debug or go.mod's godebug)`,
    )
    fixes.push(
      `or rebuild with Go ≥ 1.16, which releases memory with MADV_DONTNEED by default${version ? ` (running ${target.goVersion})` : ''}`,
    )
  } else if (target.godebugUnknown) {
    fixes.push(
      `${target.goVersion} uses MADV_FREE only with GODEBUG=madvdontneed=0: if the deployment sets it (image, unit file, pod spec), remove it`,
    )
    fixes.push(
      'if it does not, look for a C allocator in the process that frees with MADV_FREE (jemalloc, tcmalloc, glibc tunables)',
    )
  } else {
    fixes.push(
      'this Go version already uses MADV_DONTNEED: look for a C allocator in the process that frees with MADV_FREE (jemalloc, tcmalloc, glibc tunables)',
    )
  }
  fixes.push(
    "if only RSS-based alerts are affected, alert on what cannot be reclaimed instead: RSS − LazyFree, or the runtime's Sys − HeapReleased",
  )
  return fixes
}

export const madvFreeRetention: Detector = {
  id: 'madv-free-retention',
  needs: ['os.lazyFree', 'runtime.memstats'],
  detect({ target, series }): Outcome {
    const all = series.map(measure).filter(m => m !== undefined)
    // Where LazyFree was measured in some samples, inference from the others adds only noise.
    const measured = all.some(m => !m.inferred) ? all.filter(m => !m.inferred) : all
    const last = measured.at(-1)
    if (!last) return { kind: 'unknown', missing: ['os.lazyFree'] }
    const worst = measured.reduce((a, b) => (b.lazyFree > a.lazyFree ? b : a))
    if (!holds(worst)) return { kind: 'clear' }

    const current = holds(last)
    const shown = current ? last : worst
    const mode = releaseMode(target)
    const runtime = shown.snapshot.runtime
    const releasedCovers =
      runtime !== undefined && runtime.heapReleased >= shown.lazyFree * RELEASED_COVERS

    // LazyFree alone is strong evidence (only MADV_FREE produces it). Each independent fact that
    // ties it to Go's runtime raises confidence; a Go in MADV_DONTNEED mode lowers it.
    let score = shown.inferred ? 0.45 : 0.7
    if (releasedCovers) score += 0.15
    if (mode.mode === 'madv-free') score += 0.12
    if (mode.mode === 'madv-dontneed') score -= 0.3
    if (runtime !== undefined && !releasedCovers) score -= 0.2

    const statusSource = shown.snapshot.status?.source ?? shown.snapshot.rollup?.source ?? ''
    const rollupSource = shown.snapshot.rollup?.source ?? ''
    const evidence: Evidence[] = [
      { label: 'RSS', value: shown.rss, unit: 'bytes', source: statusSource },
    ]
    if (shown.inferred && runtime) {
      evidence.push({
        label: 'RSS − (Sys − HeapReleased), inferred MADV_FREE',
        value: shown.lazyFree,
        unit: 'bytes',
        source: `${statusSource}, ${runtime.source}`,
      })
    } else {
      evidence.push({
        label: 'LazyFree',
        value: shown.lazyFree,
        unit: 'bytes',
        source: rollupSource,
      })
    }
    if (runtime) {
      evidence.push({
        label: 'HeapReleased',
        value: runtime.heapReleased,
        unit: 'bytes',
        source: runtime.source,
      })
      evidence.push({
        label: 'HeapAlloc',
        value: runtime.heapAlloc,
        unit: 'bytes',
        source: runtime.source,
      })
    }
    const exe = goVersionSourceOf(target)
    const environ = environSource(target)
    evidence.push({ label: 'Go version', value: target.goVersion ?? 'unknown', source: exe })
    evidence.push({
      label: 'GODEBUG',
      value: target.godebug ?? (target.godebugUnknown ? 'unknown' : 'unset'),
      source: environ,
    })
    evidence.push({ label: 'release mode', value: mode.why, source: `${exe}, ${environ}` })
    const cgroup = shown.snapshot.cgroup
    if (cgroup?.limit !== undefined) {
      evidence.push({
        label: 'cgroup usage',
        value: cgroup.usage,
        unit: 'bytes',
        source: cgroup.source,
      })
      evidence.push({
        label: 'cgroup limit',
        value: cgroup.limit,
        unit: 'bytes',
        source: cgroup.source,
      })
    }

    const pct = Math.round(shown.share * 100)
    const owner = releasedCovers
      ? 'memory the Go runtime already gave back with MADV_FREE'
      : 'pages freed with MADV_FREE'
    let summary =
      `${formatBytes(shown.lazyFree)} of RSS (${pct}%) is ${owner}. The kernel takes these pages back only ` +
      'under memory pressure, so RSS-based alerts, autoscalers and OOM policies see a process ' +
      `${formatBytes(shown.rss)} large whose real need is about ${formatBytes(shown.rss - shown.lazyFree)}. ` +
      'It is not a leak.'
    if (cgroup?.limit !== undefined) {
      const withPages = Math.round((cgroup.usage / cgroup.limit) * 100)
      const without = Math.round((Math.max(0, cgroup.usage - shown.lazyFree) / cgroup.limit) * 100)
      summary += ` The memory cgroup counts them: it is at ${withPages}% of its limit with them, ${without}% without.`
    }
    if (mode.mode === 'madv-dontneed') {
      summary += ` Go itself should not be the source (${mode.why}): suspect a C allocator.`
    }
    if (shown.inferred) {
      summary += ` LazyFree was not measured (no /proc/PID/smaps_rollup): this is inferred from RSS exceeding Go's resident estimate by about what HeapReleased holds; non-Go memory could look the same, so confirm with smaps_rollup on the host.`
    }
    if (!current) {
      summary += ` This was seen during the window (peak ${formatBytes(worst.lazyFree)}) but LazyFree was ${formatBytes(last.lazyFree)} at its end: the kernel reclaimed it.`
    }

    const finding: Finding = {
      id: 'madv-free-retention',
      severity: current ? severityOf(shown.share) : 'info',
      confidence: confidence(score),
      title: current
        ? 'RSS held by memory already freed with MADV_FREE'
        : 'MADV_FREE pages were held during the window, since reclaimed',
      summary,
      evidence,
      fixes: madvFreeFixes(target),
      whatIf: {
        rssBytes: last.rss - (current ? last.lazyFree : 0),
        explanation: 'RSS once freed pages are returned at once (MADV_DONTNEED): RSS − LazyFree',
      },
      bytesExplained: current ? last.lazyFree : 0,
    }
    if (!current) finding.resolvedDuringWindow = true
    return { kind: 'finding', finding }
  },
}
