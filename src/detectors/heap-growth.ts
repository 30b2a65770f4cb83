import type { Evidence, Finding } from '../model/finding.ts'
import { gcIsOff, gogcFromEnviron } from '../model/gc-cycles.ts'
import { growingSites } from '../model/growing-sites.ts'
import { type GoRuntimeMemory, goResidentEstimate, type MemorySnapshot } from '../model/snapshot.ts'
import {
  environSource,
  goAtLeast,
  hasMemoryLimit,
  parseGoVersion,
  type TargetFacts,
} from '../model/target.ts'
import { formatBytes, formatDuration, parseBytes } from '../model/units.ts'
import { confidence, type Detector, lastWith, type Outcome } from './detector.ts'
import {
  FORCED_GC_PERIOD_MS,
  type Growing,
  judgeGrowth,
  RANK_TEST_CYCLES,
  type Short,
  SIZE_STEP_SHARE,
  SIZE_TEST_CYCLES,
} from './live-heap-growth.ts'

/**
 * The live heap rising across the window: objects still referenced pile up (an unbounded cache
 * or map, sub-slices pinning big arrays, timers, goroutines holding buffers), and every GC finds
 * more to keep.
 *
 * Signature: the live heap read once per GC cycle rising (live-heap-growth.ts: the heap the
 * collection marked, /gc/heap/live:bytes, where served; else the heap goal NextGC each collection
 * sets from it, (1 + GOGC/100) × live), the heap right after each collection rising with it. Read
 * at collections, the live heap is out of the GC sawtooth's reach; HeapAlloc sampled between them
 * is not: sampled every second against a GC every ~0.97 s, the healthy scenario's HeapAlloc read
 * 57, 57, 58, 59, 60, 61, 62, 64, 65 MiB while NextGC stayed at 101.1–101.9 MiB. Four cycles or
 * more are tested by rank (Theil–Sen, Mann–Kendall p < 0.05); three, the fastest leaks' lot under
 * GOGC=100, by the size and steadiness of each rise. The heap profile diff, RSS and HeapInuse
 * corroborate and name the sites.
 *
 * What fools it: a process still warming up (caches filling after a start; real growth, but it
 * stops: a freshly scraped client_golang process grew 32.8 → 34.6 MiB over its first five
 * cycles); a binding GOMEMLIMIT, which caps NextGC so the goal stops following the live heap (a
 * miss, not a false alarm; /gc/heap/live:bytes is not capped); goroutine stacks raising NextGC,
 * caught by the heap after each GC except from Prometheus (grid times); too few collections in
 * the window (a slow allocator): then the answer is unknown, or clear when nothing grew.
 *
 * Fix: the allocation sites whose in-use bytes grow (heap profile diff), then bound what holds them.
 * Reference: go/src/runtime/mgcpacer.go (go1.19) heapGoal; go/src/runtime/mprof.go (heap profiles
 * show in-use memory as of the last completed GC).
 */

/** A limit reached sooner than this makes the growth critical: someone must act today. */
const CRITICAL_HORIZON_MS = 3_600_000
/** A limit this large is no limit: /gc/gomemlimit:bytes reports math.MaxInt64 when none is set. */
const NO_LIMIT = 2 ** 62
/** The size test rests on three points, so its confidence stays below the rank test's best. */
const SIZE_TEST_MAX_CONFIDENCE = 0.85

/**
 * When the growth reaches the limits, at its rate: GOMEMLIMIT bounds the Go memory (the live heap
 * must fit under it with the non-heap runtime memory); the cgroup limit bounds the peak, which the
 * heap goal drives. `soonestMs` is infinite without a limit.
 */
function timeToLimits(
  target: TargetFacts,
  series: readonly MemorySnapshot[],
  growth: Growing,
  runtime: GoRuntimeMemory,
): { evidence: Evidence[]; projections: string[]; soonestMs: number } {
  const { liveEnd, livePerSecond } = growth
  const goalPerSecond = livePerSecond * growth.ratio.ratio
  const source = runtime.source
  const evidence: Evidence[] = []
  const projections: string[] = []
  let soonestMs = Number.POSITIVE_INFINITY
  const fromEnviron = parseBytes(target.gomemlimit ?? '')
  const reported =
    runtime.memoryLimit !== undefined && runtime.memoryLimit < NO_LIMIT
      ? runtime.memoryLimit
      : undefined
  const memLimit = fromEnviron ?? reported
  if (memLimit !== undefined && livePerSecond > 0) {
    const nonHeap = goResidentEstimate(runtime) - runtime.heapInuse
    const ms = (Math.max(0, memLimit - nonHeap - liveEnd) / livePerSecond) * 1000
    soonestMs = Math.min(soonestMs, ms)
    const limitSource = fromEnviron !== undefined ? environSource(target) : source
    evidence.push({ label: 'GOMEMLIMIT', value: memLimit, unit: 'bytes', source: limitSource })
    evidence.push({ label: 'time to GOMEMLIMIT', value: ms / 1000, unit: 'seconds', source })
    projections.push(`GOMEMLIMIT (${formatBytes(memLimit)}) in about ${formatDuration(ms)}`)
  }
  const cgroup = lastWith(series, 'cgroup')?.cgroup
  if (cgroup?.limit !== undefined && goalPerSecond > 0) {
    const peak = Math.max(...series.map(s => s.status?.vmRss ?? s.cgroup?.usage ?? 0))
    const ms = (Math.max(0, cgroup.limit - peak) / goalPerSecond) * 1000
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

/** Why a short window could not judge, and the window that would. */
function shortReason(series: readonly MemorySnapshot[], short: Short): string {
  const rose = formatBytes(Math.abs(short.rose))
  const next =
    short.nextGcInMs === undefined
      ? ''
      : short.nextGcInMs >= FORCED_GC_PERIOD_MS / 2
        ? ' (the next is due within 2 minutes: the runtime forces one)'
        : ` (the next is due in about ${formatDuration(short.nextGcInMs)})`
  let what: string
  if (short.cycles <= 1) {
    what = `no collection ran during the window${short.rose > 0 ? ` and HeapAlloc rose ${rose}` : ''}: live heap and garbage cannot be told apart until one does${next}`
  } else if (short.cycles < SIZE_TEST_CYCLES) {
    what = `one collection in the window, and the live heap rose ${rose}: one more cycle judges it${next}`
  } else {
    what = `the live heap rose ${rose} over ${short.cycles} GC cycles, too little or too unevenly to judge by size (each rise ≥ ${SIZE_STEP_SHARE * 100}%, steady); a rank test needs ${RANK_TEST_CYCLES}${next}`
  }
  return `${what}; ${longerWindow(series, short)}`
}

/**
 * A --duration that should see the cycles still missing: the next collection, then one period
 * per further cycle, with a quarter more for a pace that slows (a growing heap's cycles lengthen).
 */
function longerWindow(series: readonly MemorySnapshot[], short: Short): string {
  const windowMs = (series.at(-1)?.atMs ?? 0) - (series[0]?.atMs ?? 0)
  const wanted = short.cycles >= SIZE_TEST_CYCLES ? RANK_TEST_CYCLES : SIZE_TEST_CYCLES
  const more = Math.max(1, wanted - short.cycles)
  const periodMs = short.periodMs ?? short.nextGcInMs ?? FORCED_GC_PERIOD_MS
  const extraMs = (short.nextGcInMs ?? periodMs) + (more - 1) * periodMs
  const ms = Math.max(1000, (windowMs + extraMs) * 1.25)
  const text = ms < 60_000 ? `${Math.ceil(ms / 5000) * 5}s` : `${Math.ceil(ms / 60_000)}m`
  return `--duration ${text} should see enough (or --max-duration ${text}, and diagnose waits for them)`
}

/** How the growth was measured, in one line of evidence. */
function measuredBy(growth: Growing): string {
  const reading =
    growth.reading === 'heapLive'
      ? 'the heap each collection marked live (/gc/heap/live:bytes)'
      : `the heap goal each collection set (NextGC ÷ ${growth.ratio.ratio.toFixed(growth.ratio.ratio % 1 === 0 ? 0 : 2)})`
  const test =
    growth.test === 'rank'
      ? `a rank test over ${growth.trend.n} GC cycles`
      : `the size of each rise over ${growth.points.length} GC cycles (too few for a rank test)`
  const agreeing = growth.witnesses.filter(w => w.agrees).map(w => w.name)
  return `${reading}, by ${test}${agreeing.length > 0 ? `; agreeing: ${agreeing.join(', ')}` : ''}`
}

/**
 * The rank test's p and the cycle count raise confidence, and a profile diff naming where the
 * bytes go confirms it independently. The size test starts lower (three points) and leans on
 * its witnesses.
 */
function scoreOf(growth: Growing, sites: number): number {
  const { trend } = growth
  const others = growth.witnesses.filter(w => w.agrees && w.name !== 'the heap right after each GC')
  let score: number
  if (growth.test === 'rank') {
    score = 0.6
    if (trend.pRising < 0.01) score += 0.15
    if (trend.n >= 6) score += 0.05
    if (others.length > 0) score += 0.05
  } else score = 0.5 + 0.1 * Math.min(2, others.length)
  if (sites > 0) score += 0.15
  if (growth.ratio.derived && growth.reading === 'goal') score -= 0.05
  if (growth.restarted) score -= 0.1
  return growth.test === 'size' ? Math.min(SIZE_TEST_MAX_CONFIDENCE, score) : score
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

function evidenceOf(growth: Growing, source: string): Evidence[] {
  const { trend, ratio } = growth
  const evidence: Evidence[] = [
    { label: 'live heap after GC, start', value: growth.liveStart, unit: 'bytes', source },
    { label: 'live heap after GC, end', value: growth.liveEnd, unit: 'bytes', source },
    { label: 'live heap growth rate', value: growth.livePerSecond, unit: 'bytes/s', source },
    { label: 'measured by', value: measuredBy(growth), source },
  ]
  if (growth.reading === 'goal') {
    evidence.push({
      label: 'heap goal (NextGC) growth rate',
      value: growth.livePerSecond * ratio.ratio,
      unit: 'bytes/s',
      source,
    })
  }
  if (growth.test === 'rank') {
    evidence.push({
      label: 'trend test',
      value: `${trend.n} GC cycles, Mann–Kendall S=${trend.s}, p=${trend.pRising.toPrecision(2)}`,
      source,
    })
  } else {
    const base = growth.points[0]?.live ?? 1
    const shares = growth.steps.map(step => `${Math.round((100 * step) / base)}%`).join(', ')
    evidence.push({
      label: 'size test',
      value: `${growth.points.length} GC cycles, rises of ${shares} of the live heap (each must be ≥ ${SIZE_STEP_SHARE * 100}%, at steady rates)`,
      source,
    })
  }
  if (growth.reading === 'goal')
    evidence.push({ label: 'NextGC ÷ live heap', value: ratio.how, source: ratio.source })
  for (const w of growth.witnesses) {
    evidence.push({
      label: `${w.agrees ? 'agrees' : 'does not show it'}: ${w.name}`,
      value: w.value,
      source: w.source,
    })
  }
  return evidence
}

export const heapGrowth: Detector = {
  id: 'heap-growth',
  needs: ['runtime.memstats'],
  detect({ target, series, heapProfiles }): Outcome {
    const last = lastWith(series, 'runtime')
    if (!last) return { kind: 'unknown', missing: ['runtime.memstats'] }
    // The collector is off: nothing separates live from garbage.
    const gogcOff =
      gogcFromEnviron(target) === 'off' ||
      (last.runtime.gogcPercent !== undefined && last.runtime.gogcPercent < 0)
    if (gcIsOff(last.runtime) || gogcOff)
      return {
        kind: 'unknown',
        missing: [],
        reason:
          'the collector is off (GOGC=off or an unbounded NextGC): no collection separates the live heap from garbage (see gc-heap-goal)',
      }
    const growth = judgeGrowth(series, target, heapProfiles)
    if (growth.kind === 'flat') return { kind: 'clear' }
    if (growth.kind === 'short') {
      return {
        kind: 'unknown',
        missing: [],
        reason: shortReason(series, growth),
        awaitsGc: growth.nextGcInMs === undefined ? {} : { inMs: growth.nextGcInMs },
      }
    }
    const { liveStart, liveEnd, livePerSecond } = growth
    const source = last.runtime.source
    const evidence = evidenceOf(growth, source)
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

    const cycles = growth.points.length
    let summary =
      `The live heap grew from ${formatBytes(liveStart)} to ${formatBytes(liveEnd)} over ` +
      `${cycles} GC cycles (${formatDuration(growth.spanMs)}), ` +
      `${formatBytes(livePerSecond)}/s: about ${formatBytes(livePerSecond * 3600)} an hour.`
    if (growth.test === 'size') {
      const agreeing = growth.witnesses.filter(w => w.agrees).map(w => w.name)
      summary += ` Judged on ${cycles} cycles by the size of each rise (a rank test needs ${RANK_TEST_CYCLES})${agreeing.length > 0 ? `, with ${agreeing.join(', ')} agreeing` : ''}: a longer window makes it surer.`
    }
    if (limits.projections.length > 0) {
      summary += ` At this rate it reaches ${limits.projections.join(' and ')}.`
    }
    if (growth.restarted)
      summary += ' The target restarted during the window: only the cycles since count.'
    if (sites.length > 0)
      summary += ` The heap profiles point at ${sites.map(s => s.name).join(', ')}.`

    const finding: Finding = {
      id: 'heap-growth',
      severity: limits.soonestMs <= CRITICAL_HORIZON_MS ? 'critical' : 'warning',
      confidence: confidence(scoreOf(growth, sites.length)),
      title: 'The live heap is growing',
      summary,
      evidence,
      fixes: fixesFor(target, sites, target.url),
      // What the growth added to the peak RSS during the window: the heap goal's rise.
      bytesExplained: Math.max(0, (liveEnd - liveStart) * growth.ratio.ratio),
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
