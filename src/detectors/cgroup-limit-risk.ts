import type { Evidence, Finding, Severity } from '../model/finding.ts'
import type { CgroupMemory, MemorySnapshot } from '../model/snapshot.ts'
import { hasMemoryLimit, parseGoVersion, type TargetFacts } from '../model/target.ts'
import { formatBytes, MiB } from '../model/units.ts'
import { confidence, type Detector, type Outcome } from './detector.ts'

/**
 * The memory cgroup is close to its limit with memory the kernel cannot take back: the next
 * spike ends in an OOM kill.
 *
 * Mechanism: a memory cgroup charges every page its processes touch (anonymous memory, page
 * cache, kernel memory) against memory.limit_in_bytes (v1) or memory.max (v2). At the limit the
 * kernel reclaims inside the cgroup, counting each failed charge (v1 memory.failcnt, v2
 * memory.events `max`); page cache and MADV_FREE pages go first. Anonymous memory cannot be
 * reclaimed without swap, so when it alone fills the limit the OOM killer runs (`oom_kill`).
 *
 * Signature: (usage − page cache − LazyFree) / limit high. Usage at the limit is not enough:
 * v1 and v2 both fill a cgroup with page cache up to its limit, and the hit counter then rises
 * thousands of times a second on a perfectly safe process (measured: the control scenario, 11%
 * anonymous, usage 99.9% of the limit, ~1000 hits/s). OOM kills recorded in the cgroup are a
 * finding on their own.
 *
 * Measured (Linux 6.18, cgroup v1): MADV_FREE pages sit on the inactive_file list and still count
 * in total_rss (1.07 GB LazyFree ≈ 1.07 GB total_inactive_file, total_cache 8 KiB), so LazyFree is
 * subtracted from anonymous memory, not from page cache, and never twice.
 *
 * What can fool it: page cache in tmpfs or shared memory counts as cache (v1 total_cache, v2
 * file) but cannot be reclaimed without swap; other processes in the same cgroup (the evidence
 * shows the target's own RSS beside the cgroup's usage); LazyFree is the target's, not the cgroup's.
 *
 * Fix: find what grows (see the other findings), raise the limit, and on Go ≥ 1.19 set
 * GOMEMLIMIT under the limit so the heap goal cannot overshoot it.
 *
 * Reference: Linux Documentation/admin-guide/cgroup-v1/memory.rst (v6.1) 2.5 "Reclaim", 5.2
 * "stat file"; cgroup-v2.rst "memory.events"; go/src/runtime/mgcpacer.go (go1.19) memoryLimit.
 */

/** Not-reclaimable share of the limit at which the next spike may not fit: a warning. */
const WARNING_SHARE = 0.85
/** At this share only a few percent remain before the OOM killer: critical. */
const CRITICAL_SHARE = 0.95
/** The share a raised limit should bring the not-reclaimable part down to. */
const COMFORTABLE_SHARE = 0.7
/** GOMEMLIMIT leaves this share of the limit to non-Go memory and page cache. */
const GOMEMLIMIT_SHARE = 0.9

interface Measured {
  snapshot: MemorySnapshot
  cgroup: CgroupMemory & { limit: number }
  /** Page cache (total_cache / file), or inactive_file when only that was read. */
  cache?: number
  /** The target's LazyFree, at most the cgroup's anonymous memory. */
  lazyFree?: number
  /** usage − page cache − LazyFree: what the kernel cannot reclaim without swap. */
  hard: number
  share: number
}

function measure(snapshot: MemorySnapshot): Measured | undefined {
  const cgroup = snapshot.cgroup
  if (cgroup?.limit === undefined || cgroup.limit <= 0) return undefined
  const cache = cgroup.file ?? cgroup.inactiveFile
  let lazyFree = snapshot.rollup?.lazyFree
  if (lazyFree !== undefined && cgroup.anon !== undefined)
    lazyFree = Math.min(lazyFree, cgroup.anon)
  const hard = Math.max(0, cgroup.usage - (cache ?? 0) - (lazyFree ?? 0))
  const m: Measured = {
    snapshot,
    cgroup: { ...cgroup, limit: cgroup.limit },
    hard,
    share: hard / cgroup.limit,
  }
  if (cache !== undefined) m.cache = cache
  if (lazyFree !== undefined) m.lazyFree = lazyFree
  return m
}

function fixesFor(target: TargetFacts, m: Measured): string[] {
  const version = parseGoVersion(target.goVersion)
  const limit = m.cgroup.limit
  const raiseTo = Math.ceil(m.hard / COMFORTABLE_SHARE / MiB)
  const fixes = [
    'find what holds the memory that cannot be reclaimed: the other findings of this report name it (heap growth, non-Go memory, goroutines)',
    `or raise the limit to at least ${raiseTo} MiB, so what cannot be reclaimed stays under ${COMFORTABLE_SHARE * 100}% of it`,
  ]
  const gomemlimit = `${Math.floor((limit * GOMEMLIMIT_SHARE) / MiB)}MiB`
  if (hasMemoryLimit(version)) {
    fixes.push(
      target.gomemlimit === undefined
        ? `set GOMEMLIMIT=${gomemlimit} (${GOMEMLIMIT_SHARE * 100}% of the limit): the GC then collects before the heap goal overshoots the limit, instead of the OOM killer acting`
        : `GOMEMLIMIT is ${target.gomemlimit}: check it is below the cgroup limit (${formatBytes(limit)}) with room for non-Go memory, e.g. ${gomemlimit}`,
    )
  } else {
    fixes.push(
      `rebuild with Go ≥ 1.19 for GOMEMLIMIT (running ${target.goVersion}); until then lower GOGC so the heap goal stays under the limit`,
    )
  }
  return fixes
}

export const cgroupLimitRisk: Detector = {
  id: 'cgroup-limit-risk',
  needs: ['cgroup.memory'],
  detect({ target, series }): Outcome {
    const withCgroup = series.filter(s => s.cgroup !== undefined)
    if (withCgroup.length === 0) return { kind: 'unknown', missing: ['cgroup.memory'] }
    const measured = withCgroup.map(measure).filter(m => m !== undefined)
    const first = measured[0]
    const last = measured.at(-1)
    // No limit: nothing to run into (the machine's own memory is another matter).
    if (!first || !last) return { kind: 'clear' }

    const oomBefore = first.cgroup.oomKills ?? 0
    const oomAfter = last.cgroup.oomKills ?? 0
    const oomRose = oomAfter > oomBefore
    const hitsRose = (last.cgroup.limitHits ?? 0) > (first.cgroup.limitHits ?? 0)
    const worst = measured.reduce((a, b) => (b.share > a.share ? b : a))
    const holds = (m: Measured) => m.share >= WARNING_SHARE
    if (!holds(worst) && oomAfter === 0) return { kind: 'clear' }

    const current = holds(last) || oomAfter > 0
    const shown = holds(last) || !holds(worst) ? last : worst
    let severity: Severity = 'warning'
    if (oomRose || shown.share >= CRITICAL_SHARE || (holds(shown) && hitsRose)) {
      severity = 'critical'
    }
    if (!current) severity = 'info'

    const { cgroup } = shown
    const src = cgroup.source
    const evidence: Evidence[] = [
      { label: 'cgroup usage', value: cgroup.usage, unit: 'bytes', source: src },
      { label: 'cgroup limit', value: cgroup.limit, unit: 'bytes', source: src },
      {
        label: 'not reclaimable',
        value: shown.hard,
        unit: 'bytes',
        source: src,
      },
      { label: 'not reclaimable / limit', value: shown.share, unit: 'ratio', source: src },
    ]
    if (shown.cache !== undefined) {
      const label = cgroup.file !== undefined ? 'page cache' : 'inactive file'
      evidence.push({ label, value: shown.cache, unit: 'bytes', source: src })
    }
    if (cgroup.inactiveFile !== undefined) {
      evidence.push({
        label: 'working set (usage − inactive_file)',
        value: Math.max(0, cgroup.usage - cgroup.inactiveFile),
        unit: 'bytes',
        source: src,
      })
    }
    if (shown.lazyFree !== undefined && shown.snapshot.rollup) {
      evidence.push({
        label: 'LazyFree (reclaimable)',
        value: shown.lazyFree,
        unit: 'bytes',
        source: shown.snapshot.rollup.source,
      })
    }
    if (cgroup.anon !== undefined) {
      evidence.push({ label: 'anonymous', value: cgroup.anon, unit: 'bytes', source: src })
    }
    if (last.cgroup.limitHits !== undefined) {
      const delta = last.cgroup.limitHits - (first.cgroup.limitHits ?? 0)
      evidence.push({
        label: 'limit hits during the window',
        value: delta,
        unit: 'count',
        source: src,
      })
    }
    if (cgroup.oomKills !== undefined) {
      evidence.push({ label: 'OOM kills', value: oomAfter, unit: 'count', source: src })
    }
    const rss = shown.snapshot.status?.vmRss
    if (shown.snapshot.status && rss !== undefined) {
      evidence.push({
        label: 'target RSS',
        value: rss,
        unit: 'bytes',
        source: shown.snapshot.status.source,
      })
    }

    const pct = (x: number) => `${Math.round(x * 100)}%`
    let summary =
      `${formatBytes(shown.hard)} of the cgroup's ${formatBytes(cgroup.usage)} cannot be reclaimed ` +
      `(${pct(shown.share)} of its ${formatBytes(cgroup.limit)} limit)`
    summary +=
      shown.cache !== undefined
        ? `; the kernel can take back ${formatBytes(shown.cache + (shown.lazyFree ?? 0))} of page cache${shown.lazyFree ? ' and LazyFree' : ''} first.`
        : '; memory.stat was not read, so page cache could not be told apart and the whole usage counts.'
    if (hitsRose && holds(shown)) {
      summary +=
        ' Usage is hitting the limit during the window: the kernel is already reclaiming, and once the reclaimable part is gone the OOM killer runs.'
    }
    if (oomRose) summary += ` ${oomAfter - oomBefore} OOM kill(s) happened during the window.`
    else if (oomAfter > 0) summary += ` The cgroup has recorded ${oomAfter} OOM kill(s).`
    if (rss !== undefined && rss < cgroup.usage * 0.5) {
      summary += ` The target's RSS is ${formatBytes(rss)}: most of the usage belongs to other processes or cache in the same cgroup.`
    }
    if (!current) {
      summary += ` That was the peak during the window; at its end ${pct(last.share)} could not be reclaimed.`
    }

    // The split is what makes this finding: without memory.stat it is a guess from usage alone.
    let score = shown.cache !== undefined ? 0.9 : 0.6
    if (oomAfter > 0) score += 0.05
    const finding: Finding = {
      id: 'cgroup-limit-risk',
      severity,
      confidence: confidence(score),
      title: current
        ? oomAfter > 0 && !holds(last)
          ? 'OOM kills recorded in the memory cgroup'
          : 'Memory cgroup near its limit with memory that cannot be reclaimed'
        : 'Memory cgroup was near its limit during the window',
      summary,
      evidence,
      fixes: fixesFor(target, shown),
      // A risk, not a share of RSS: it ranks after the causes of the same severity.
      bytesExplained: 0,
    }
    if (!current) finding.resolvedDuringWindow = true
    return { kind: 'finding', finding }
  },
}
