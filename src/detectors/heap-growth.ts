import type { Evidence, Finding } from '../model/finding.ts'
import {
  GC_OFF_GOAL,
  type GcCycle,
  gcCycles,
  gcIsOff,
  goalRatio,
  gogcFromEnviron,
} from '../model/gc-cycles.ts'
import { growingSites } from '../model/growing-sites.ts'
import { type GoRuntimeMemory, goResidentEstimate, type MemorySnapshot } from '../model/snapshot.ts'
import {
  environSource,
  goAtLeast,
  hasMemoryLimit,
  parseGoVersion,
  type TargetFacts,
} from '../model/target.ts'
import { formatBytes, formatDuration, MiB, parseBytes } from '../model/units.ts'
import { confidence, type Detector, lastWith, type Outcome } from './detector.ts'
import { type Trend, trendOf } from './trend.ts'

/**
 * The live heap rising across the window: objects still referenced pile up (an unbounded cache
 * or map, sub-slices pinning big arrays, timers, goroutines holding buffers), and every GC finds
 * more to keep.
 *
 * Signature: the heap goal NextGC, one value per GC cycle, rising (Theil–Sen slope, Mann–Kendall
 * p < 0.05), its floor rising too. NextGC is set at each collection from the heap marked live, (1 + GOGC/100) × live, so
 * it moves only when the live heap does: the GC sawtooth never reaches it. HeapAlloc itself, or
 * its lowest value per cycle, does: sampled every second against a GC every ~0.97 s, the healthy
 * scenario's HeapAlloc read 57, 57, 58, 59, 60, 61, 62, 64, 65 MiB (the samples drift along the
 * sawtooth) while NextGC stayed at 101.1–101.9 MiB. The live rate is the goal's rate divided by
 * 1 + GOGC/100, with GOGC from the environment, else measured (see goalRatio).
 *
 * What fools it: a process still warming up (caches filling after a start; real growth, but it
 * stops); a binding GOMEMLIMIT, which caps NextGC so the goal stops following the live heap (a
 * miss, not a false alarm); too few collections in the window (a slow allocator): then the answer
 * is unknown, or clear when the goal did not move.
 *
 * Fix: the allocation sites whose in-use bytes grow (heap profile diff), then bound what holds them.
 * Reference: go/src/runtime/mgcpacer.go (go1.19) heapGoal; go/src/runtime/mprof.go (heap profiles
 * show in-use memory as of the last completed GC).
 */

/** The trend test's level: one false alarm in 20 flat windows, before the size gates below. */
const ALPHA = 0.05
/** Mann–Kendall cannot reach p < 0.05 with fewer points (4 rising points: p = 1/24). */
const MIN_CYCLES = 4
/**
 * Growth across the window must be at least this share of the live heap. The healthy scenarios'
 * heap goal wanders ±0.7% between cycles; 2% keeps that noise out.
 */
const MIN_GROWTH_SHARE = 0.02
/** And at least this many bytes: below it, growth is lost next to stacks and metadata. */
const MIN_GROWTH_BYTES = 1 * MiB
/** A limit reached sooner than this makes the growth critical: someone must act today. */
const CRITICAL_HORIZON_MS = 3_600_000
/** The runtime collects at least this often, however little is allocated (forcegcperiod). */
const FORCED_GC_PERIOD_MS = 120_000

interface Growth {
  trend: Trend
  ratio: ReturnType<typeof goalRatio>
  spanMs: number
  restarted: boolean
  liveStart: number
  liveEnd: number
  livePerSecond: number
}

/** 'few': the cycles seen (fewer than MIN_CYCLES with a rise, or under two), too few to judge. */
function measure(
  series: readonly MemorySnapshot[],
  target: TargetFacts,
): Growth | { few: number } | 'flat' {
  const { cycles, restarted } = gcCycles(series)
  const usable: GcCycle[] = cycles.filter(c => c.nextGC > 0 && c.nextGC < GC_OFF_GOAL)
  const trend = trendOf(usable.map(c => ({ atMs: c.endMs, value: c.nextGC })))
  if (!trend) return { few: usable.length }
  const ratio = goalRatio(usable, target)
  const liveStart = trend.fittedStart / ratio.ratio
  const liveEnd = trend.fittedEnd / ratio.ratio
  const big = (bytes: number) => bytes >= MIN_GROWTH_BYTES && bytes >= MIN_GROWTH_SHARE * liveStart
  // A spike live during one collection (a batch job, a large request) raises that cycle's goal
  // only; a leak raises the floor: the lowest goal of the later half must rise too.
  const half = usable.length >> 1
  const floor = (cycles: GcCycle[]) => Math.min(...cycles.map(c => c.nextGC)) / ratio.ratio
  const floorRose = big(floor(usable.slice(-half)) - floor(usable.slice(0, half)))
  const grew = big(liveEnd - liveStart) && floorRose
  if (trend.n < MIN_CYCLES) return grew ? { few: trend.n } : 'flat'
  if (!grew || trend.pRising >= ALPHA) return 'flat'
  return {
    trend,
    ratio,
    spanMs: (usable.at(-1)?.endMs ?? 0) - (usable[0]?.endMs ?? 0),
    restarted,
    liveStart,
    liveEnd,
    livePerSecond: trend.perSecond / ratio.ratio,
  }
}

/**
 * When the growth reaches the limits, at its rate: GOMEMLIMIT bounds the Go memory (the live heap
 * must fit under it with the non-heap runtime memory); the cgroup limit bounds the peak, which the
 * heap goal drives. `soonestMs` is infinite without a limit.
 */
function timeToLimits(
  target: TargetFacts,
  series: readonly MemorySnapshot[],
  growth: Growth,
  runtime: GoRuntimeMemory,
): { evidence: Evidence[]; projections: string[]; soonestMs: number } {
  const { trend, liveEnd, livePerSecond } = growth
  const source = runtime.source
  const evidence: Evidence[] = []
  const projections: string[] = []
  let soonestMs = Number.POSITIVE_INFINITY
  const memLimit = parseBytes(target.gomemlimit ?? '')
  if (memLimit !== undefined && livePerSecond > 0) {
    const nonHeap = goResidentEstimate(runtime) - runtime.heapInuse
    const ms = (Math.max(0, memLimit - nonHeap - liveEnd) / livePerSecond) * 1000
    soonestMs = Math.min(soonestMs, ms)
    const environ = environSource(target)
    evidence.push({ label: 'GOMEMLIMIT', value: memLimit, unit: 'bytes', source: environ })
    evidence.push({ label: 'time to GOMEMLIMIT', value: ms / 1000, unit: 'seconds', source })
    projections.push(`GOMEMLIMIT (${formatBytes(memLimit)}) in about ${formatDuration(ms)}`)
  }
  const cgroup = lastWith(series, 'cgroup')?.cgroup
  if (cgroup?.limit !== undefined && trend.perSecond > 0) {
    const peak = Math.max(...series.map(s => s.status?.vmRss ?? s.cgroup?.usage ?? 0))
    const ms = (Math.max(0, cgroup.limit - peak) / trend.perSecond) * 1000
    soonestMs = Math.min(soonestMs, ms)
    evidence.push({
      label: 'cgroup limit',
      value: cgroup.limit,
      unit: 'bytes',
      source: cgroup.source,
    })
    evidence.push({ label: 'time to the cgroup limit', value: ms / 1000, unit: 'seconds', source })
    projections.push(
      `the cgroup limit (${formatBytes(cgroup.limit)}) in about ${formatDuration(ms)}`,
    )
  }
  return { evidence, projections, soonestMs }
}

/**
 * How long a window would see MIN_CYCLES cycles: at the pace seen, or, with at most one cycle
 * seen, at the runtime's forced collection every 2 minutes (runtime/proc.go forcegcperiod).
 */
function longerWindow(series: readonly MemorySnapshot[], cycles: number): string {
  const windowMs = (series.at(-1)?.atMs ?? 0) - (series[0]?.atMs ?? 0)
  const periodMs = cycles >= 2 && windowMs > 0 ? windowMs / cycles : FORCED_GC_PERIOD_MS
  const minutes = Math.max(1, Math.ceil((periodMs * (MIN_CYCLES + 1)) / 60_000))
  const pace = cycles >= 2 ? 'at this pace' : 'Go collects at least every 2 minutes, so'
  return `${pace} --duration ${minutes}m sees enough`
}

function fixesFor(target: TargetFacts, sites: readonly { name: string }[], url?: string): string[] {
  const version = parseGoVersion(target.goVersion)
  const base = url ?? 'http://HOST:PORT'
  const fixes = [
    sites.length > 0
      ? `find what keeps the objects allocated in ${sites.map(s => s.name).join(', ')} reachable, and bound it (size or age eviction, a sync.Map entry deleted, a slice reset)`
      : `take two heap profiles a minute apart (curl -o a.pb.gz ${base}/debug/pprof/heap; …b.pb.gz) and diff them: go tool pprof -top -sample_index=inuse_space -base a.pb.gz b.pb.gz`,
    version && !goAtLeast(version, 20)
      ? `a small sub-slice or substring keeps its whole backing array: copy it (strings.Clone from Go 1.18; append([]byte(nil), b...) on ${target.goVersion})`
      : 'a small sub-slice or substring keeps its whole backing array: copy it (strings.Clone, bytes.Clone)',
  ]
  if (!version || !goAtLeast(version, 23)) {
    fixes.push(
      `time.After or time.NewTimer in a loop keep every timer until it fires before Go 1.23${version ? ` (running ${target.goVersion})` : ''}: Stop the timer, or upgrade`,
    )
  }
  fixes.push(
    hasMemoryLimit(version)
      ? 'GOMEMLIMIT does not stop a leak: it makes the GC work harder as the limit nears, buying time before an OOM kill'
      : 'no runtime setting stops a leak; restarts only hide it',
  )
  return fixes
}

export const heapGrowth: Detector = {
  id: 'heap-growth',
  needs: ['runtime.memstats'],
  detect({ target, series, heapProfiles }): Outcome {
    const last = lastWith(series, 'runtime')
    if (!last) return { kind: 'unknown', missing: ['runtime.memstats'] }
    // No collection in the window, or the collector is off: nothing separates live from garbage.
    if (gcIsOff(last.runtime) || gogcFromEnviron(target) === 'off')
      return {
        kind: 'unknown',
        missing: [],
        reason:
          'the collector is off (GOGC=off or an unbounded NextGC): no collection separates the live heap from garbage (see gc-heap-goal)',
      }
    const growth = measure(series, target)
    if (growth === 'flat') return { kind: 'clear' }
    if ('few' in growth) {
      const seen = growth.few === 1 ? 'one GC cycle' : `${growth.few} GC cycles`
      return {
        kind: 'unknown',
        missing: [],
        reason: `${growth.few <= 1 ? 'no collection ran during the window' : `the heap goal rose over only ${seen}`}: the trend test needs ${MIN_CYCLES}; ${longerWindow(series, growth.few)}`,
      }
    }
    const { trend, ratio, liveStart, liveEnd, livePerSecond } = growth
    const source = last.runtime.source

    const evidence: Evidence[] = [
      { label: 'live heap after GC, start', value: liveStart, unit: 'bytes', source },
      { label: 'live heap after GC, end', value: liveEnd, unit: 'bytes', source },
      { label: 'live heap growth rate', value: livePerSecond, unit: 'bytes/s', source },
      { label: 'heap goal (NextGC) growth rate', value: trend.perSecond, unit: 'bytes/s', source },
      {
        label: 'trend test',
        value: `${trend.n} GC cycles, Mann–Kendall S=${trend.s}, p=${trend.pRising.toPrecision(2)}`,
        source,
      },
      { label: 'NextGC ÷ live heap', value: ratio.how, source: ratio.source },
    ]

    const limits = timeToLimits(target, series, growth, last.runtime)
    evidence.push(...limits.evidence)

    const sites = heapProfiles ? growingSites(heapProfiles.first, heapProfiles.last) : []
    for (const site of sites) {
      evidence.push({
        label: `growing: ${site.name}`,
        value: site.bytes,
        unit: 'bytes',
        source: heapProfiles?.source ?? '',
      })
    }

    let summary =
      `The live heap grew from ${formatBytes(liveStart)} to ${formatBytes(liveEnd)} over ` +
      `${trend.n} GC cycles (${formatDuration(growth.spanMs)}), ` +
      `${formatBytes(livePerSecond)}/s: about ${formatBytes(livePerSecond * 3600)} an hour.`
    if (limits.projections.length > 0) {
      summary += ` At this rate it reaches ${limits.projections.join(' and ')}.`
    }
    if (growth.restarted)
      summary += ' The target restarted during the window: only the cycles since count.'
    if (sites.length > 0)
      summary += ` The heap profiles point at ${sites.map(s => s.name).join(', ')}.`

    // The rank test is the evidence: a stronger p and more cycles raise confidence, and a profile
    // diff that names where the bytes go confirms it independently.
    let score = 0.6
    if (trend.pRising < 0.01) score += 0.15
    if (trend.n >= 6) score += 0.05
    if (sites.length > 0) score += 0.15
    if (ratio.derived) score -= 0.05
    if (growth.restarted) score -= 0.1

    const finding: Finding = {
      id: 'heap-growth',
      severity: limits.soonestMs <= CRITICAL_HORIZON_MS ? 'critical' : 'warning',
      confidence: confidence(score),
      title: 'The live heap is growing',
      summary,
      evidence,
      fixes: fixesFor(target, sites, target.url),
      // What the growth added to the peak RSS during the window: the heap goal's rise.
      bytesExplained: Math.max(0, trend.fittedEnd - trend.fittedStart),
    }
    // What the fix leaves depends on what the leak holds that the program still needs, so the
    // honest figure is where RSS stops: today's, instead of climbing by the hourly rate.
    const rssNow = lastWith(series, 'status')?.status.vmRss
    if (rssNow !== undefined) {
      finding.whatIf = {
        rssBytes: rssNow,
        explanation: `RSS stops climbing near today's figure instead of adding about ${formatBytes(livePerSecond * 3600)} an hour; what the fix frees of memory already leaked depends on what the program still holds`,
      }
    }
    return { kind: 'finding', finding }
  },
}
