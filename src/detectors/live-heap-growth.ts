import {
  GC_OFF_GOAL,
  type GcCycle,
  type GoalRatio,
  gcCycles,
  goalRatio,
  type HeapAfterGc,
  heapAfterGc,
} from '../model/gc-cycles.ts'
import { type Profile, sampleTypeIndex, sampleTypeTotal } from '../model/heap-profile.ts'
import type { MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import { formatBytes, MiB } from '../model/units.ts'
import type { Edges } from './detector.ts'
import { type Trend, trendOf } from './trend.ts'

/**
 * Is the live heap growing? heap-growth's measurement, from every signal a window holds.
 *
 * The live heap is read once per GC cycle, where the GC sawtooth cannot reach it: the heap the
 * collection marked (/gc/heap/live:bytes, exact, where served), else the heap goal it set
 * (NextGC ÷ (1 + GOGC/100)). The heap right after each collection (HeapAlloc followed back to
 * LastGC, gc-cycles' heapAfterGc) is a second reading of the same thing that NextGC's stacks
 * and globals do not move: when the goal rises and that floor does not, something other than the
 * live heap moved the goal (a goroutine leak's stacks, a GOGC change) and this is no heap growth.
 *
 * Under GOGC=100 a growing heap doubles its goal each cycle, so the faster the leak, the fewer the
 * cycles: a 20 MiB/s leak from 150 MiB sees three in 10 s. Hence two tests:
 * - four cycles or more: Theil–Sen slope and Mann–Kendall p < 0.05 (the rank test);
 * - exactly three: the size test. Each rise between cycles must exceed SIZE_STEP_SHARE of the live
 *   heap, at rates within SIZE_RATE_SPREAD of each other. Three points give a rank test no power
 *   (p = 1/6 at best), so this rests on what healthy heaps do between cycles: measured on the
 *   memsick controls, the per-cycle live heap wanders under 1%; a leak's step is its share of
 *   the allocation (for GOGC=100 a cycle allocates the live heap once, so a leak that is 5% of
 *   the allocation rate raises each cycle by 5%).
 * Fewer cycles are short of evidence, unless nothing grew: a flat pair of cycles, or, with no
 * collection at all, HeapAlloc rising less than the growth gates (the live heap cannot grow by
 * more than was allocated).
 *
 * The heap profiles at the window's edges (in-use bytes as of the last GC before each), the RSS
 * and HeapInuse trends are witnesses: they raise confidence, and the finding names them, but the
 * sawtooth reaches RSS and HeapInuse (a GOGC=400 heap's first cycle climbs 1 GiB in 8 s), so
 * neither decides alone.
 */

/** The trend test's level: one false alarm in 20 flat windows, before the size gates below. */
export const ALPHA = 0.05
/** Mann–Kendall cannot reach p < 0.05 with fewer points (4 rising points: p = 1/24). */
export const RANK_TEST_CYCLES = 4
/** The size test's cycles: three readings, two rises. */
export const SIZE_TEST_CYCLES = 3
/**
 * Growth across the window must be at least this share of the live heap. The healthy scenarios'
 * heap goal wanders ±0.7% between cycles; 2% keeps that noise out.
 */
const MIN_GROWTH_SHARE = 0.02
/** And at least this many bytes: below it, growth is lost next to stacks and metadata. */
const MIN_GROWTH_BYTES = 1 * MiB
/** The size test: every rise at least this share of the first cycle's live heap (7× the noise). */
export const SIZE_STEP_SHARE = 0.05
/** …and at least this many bytes (four heap-profile sampling periods). */
const SIZE_STEP_BYTES = 2 * MiB
/** …at rates (bytes/s) within this factor of each other: a leak is steady, a spike is not. */
const SIZE_RATE_SPREAD = 3
/**
 * The floor must show at least this share of the goal's growth. Both read the same live heap; the
 * floor also holds what was allocated during marking, so in a leak it keeps pace or leads.
 */
const FLOOR_AGREEMENT = 0.5
/**
 * Floors are a witness only from this many cycles with a slope between samples (extrapolated):
 * two noisy floors are too little to overrule the goal.
 */
const FLOOR_MIN_CYCLES = 3
/** The heap profiles agree when they show at least this share of the growth between their GCs. */
const PROFILE_AGREEMENT = 0.5
/** The runtime collects at least this often, however little is allocated (forcegcperiod). */
export const FORCED_GC_PERIOD_MS = 120_000

/** One GC cycle's live heap. */
export interface LivePoint {
  /** When the collection that opened the cycle ended (LastGC). */
  atMs: number
  live: number
  floor: HeapAfterGc
  /** Its samples carry the time their runtime view was read (gc-cycles' GcCycle.timed). */
  timed: boolean
}

/** What the per-cycle live heap was read from. */
export type LiveReading = 'heapLive' | 'goal'

/** Another signal's view of the growth: it agrees, or it does not. */
export interface Witness {
  name: string
  agrees: boolean
  /** Its measure, for the evidence ('+126 MiB in use'). */
  value: string
  source: string
  /** It shows the opposite: the heap fell over the same cycles. */
  contradicts?: boolean
}

export interface Growing {
  kind: 'growing'
  test: 'rank' | 'size'
  reading: LiveReading
  ratio: GoalRatio
  points: LivePoint[]
  /** Theil–Sen and Mann–Kendall over the per-cycle live heap. */
  trend: Trend
  /** The rises between consecutive cycles. */
  steps: number[]
  liveStart: number
  liveEnd: number
  livePerSecond: number
  spanMs: number
  restarted: boolean
  witnesses: Witness[]
}

/** Too little to judge: what was seen, and when the next collection is expected. */
export interface Short {
  kind: 'short'
  /** Cycles seen (the one open at the window's start included). */
  cycles: number
  /** The live heap rose across them (or HeapAlloc did, with no collection). */
  rose: number
  /** When the next collection should end, from the allocation rate and NextGC; unknown if idle. */
  nextGcInMs?: number
  /** Mean time between collections in the window, when two or more were seen. */
  periodMs?: number
}

export type Judgement = Growing | Short | { kind: 'flat' }

export function judgeGrowth(
  series: readonly MemorySnapshot[],
  target: TargetFacts,
  heapProfiles?: Edges<Profile>,
): Judgement {
  const { cycles: all, restarted } = gcCycles(series)
  const cycles = all.filter(c => c.nextGC > 0 && c.nextGC < GC_OFF_GOAL)
  if (cycles.length <= 1) return allocationBound(series, cycles)
  const ratio = goalRatio(cycles, target)
  const reading: LiveReading = cycles.every(c => c.heapLive !== undefined) ? 'heapLive' : 'goal'
  const points: LivePoint[] = cycles.map(c => ({
    atMs: c.endMs,
    live: reading === 'heapLive' ? (c.heapLive as number) : c.nextGC / ratio.ratio,
    floor: heapAfterGc(c),
    timed: c.timed,
  }))
  const trend = trendOf(points.map(p => ({ atMs: p.atMs, value: p.live })))
  if (!trend) return short(series, cycles, 0)
  const first = points[0] as LivePoint
  const big = (bytes: number) =>
    bytes >= MIN_GROWTH_BYTES && bytes >= MIN_GROWTH_SHARE * trend.fittedStart
  // A spike live during one collection (a batch job, a large request) raises that cycle's reading
  // only; a leak raises the floor: the lowest reading of the later half must rise too.
  const half = points.length >> 1
  const lowest = (ps: LivePoint[]) => Math.min(...ps.map(p => p.live))
  const grew =
    big(trend.fittedEnd - trend.fittedStart) &&
    big(lowest(points.slice(-half)) - lowest(points.slice(0, half)))
  if (!grew) return { kind: 'flat' }
  const floor = reading === 'goal' ? floorWitness(points, trend) : undefined
  if (floor && !floor.agrees) return { kind: 'flat' }

  const steps = points.slice(1).map((p, i) => p.live - (points[i] as LivePoint).live)
  let test: Growing['test']
  if (points.length >= RANK_TEST_CYCLES) {
    if (trend.pRising >= ALPHA) return { kind: 'flat' }
    test = 'rank'
  } else if (points.length === SIZE_TEST_CYCLES && sizeTest(points, steps)) test = 'size'
  else return short(series, cycles, trend.fittedEnd - trend.fittedStart)

  const witnesses = [
    floor,
    profileWitness(heapProfiles, (points.at(-1) as LivePoint).live - first.live),
    sampleWitness(
      series,
      'RSS',
      s => s.status && { value: s.status.vmRss, source: s.status.source },
    ),
    sampleWitness(
      series,
      'HeapInuse',
      s => s.runtime && { value: s.runtime.heapInuse, source: s.runtime.source },
    ),
  ].filter((w): w is Witness => w !== undefined)
  // Three cycles are the least evidence there is: heap profiles that saw the heap fall over the
  // same cycles make the rise a transient (memsick's scavenger-lag control building a spike it
  // frees: goals 449 → 1787 MiB while the profiles went 126 → 20 MiB; go1.19.8, 1 run in 10).
  if (test === 'size' && witnesses.some(w => w.contradicts)) return { kind: 'flat' }
  return {
    kind: 'growing',
    test,
    reading,
    ratio,
    points,
    trend,
    steps,
    liveStart: trend.fittedStart,
    liveEnd: trend.fittedEnd,
    livePerSecond: trend.perSecond,
    spanMs: (points.at(-1) as LivePoint).atMs - first.atMs,
    restarted,
    witnesses,
  }
}

/** Every rise large, and the rises steady: a leak, not a wobble or one spike at the end. */
function sizeTest(points: readonly LivePoint[], steps: readonly number[]): boolean {
  const base = (points[0] as LivePoint).live
  if (!steps.every(step => step >= SIZE_STEP_SHARE * base && step >= SIZE_STEP_BYTES)) return false
  const rates = steps.map(
    (step, i) =>
      step / Math.max(1, (points[i + 1] as LivePoint).atMs - (points[i] as LivePoint).atMs),
  )
  return Math.max(...rates) <= SIZE_RATE_SPREAD * Math.min(...rates)
}

/**
 * The heap right after each collection, where at least FLOOR_MIN_CYCLES cycles allow following
 * HeapAlloc back to LastGC (a cycle seen in one sample only gives an upper bound: a point
 * anywhere on the sawtooth), with the times the runtime was read. Prometheus gives the grid's
 * time, up to a scrape interval after the scrape's: followed back at 36 MiB/s, a floor read from
 * a 1 s grid was measured 110 MiB off its neighbours, so there the floor is no witness.
 */
function floorWitness(points: readonly LivePoint[], trend: Trend): Witness | undefined {
  const usable = points.filter(p => p.floor.method === 'extrapolated' && p.timed)
  if (usable.length < FLOOR_MIN_CYCLES) return undefined
  const floors = trendOf(usable.map(p => ({ atMs: p.atMs, value: p.floor.bytes })))
  if (!floors) return undefined
  return {
    name: 'the heap right after each GC',
    // Floors from scrapes (Prometheus's grid time, not the scrape's) are noisier than the goal:
    // a floor that rises by rank agrees even at a slower pace.
    agrees: floors.perSecond >= FLOOR_AGREEMENT * trend.perSecond || floors.pRising < ALPHA,
    value: `${formatBytes(floors.fittedStart)} → ${formatBytes(floors.fittedEnd)} over ${usable.length} GC cycles`,
    source: 'HeapAlloc followed back to LastGC',
  }
}

/** The heap profiles' in-use bytes: as of the last GC before each edge, so the same cycles. */
function profileWitness(profiles: Edges<Profile> | undefined, rise: number): Witness | undefined {
  if (!profiles?.first) return undefined
  const inuse = (p: Profile) => {
    const index = sampleTypeIndex(p, 'inuse_space')
    return index < 0 ? undefined : sampleTypeTotal(p, index)
  }
  const start = inuse(profiles.first)
  const end = inuse(profiles.last)
  if (start === undefined || end === undefined) return undefined
  const grown = end - start
  return {
    name: 'the heap profiles',
    agrees: grown >= PROFILE_AGREEMENT * rise && grown >= 2 * profiles.last.period,
    contradicts: grown < 0,
    value: `${grown >= 0 ? '+' : '−'}${formatBytes(Math.abs(grown))} in use (${formatBytes(start)} → ${formatBytes(end)})`,
    source: profiles.source,
  }
}

/** A per-sample signal's trend: the sawtooth reaches it, so it only corroborates. */
function sampleWitness(
  series: readonly MemorySnapshot[],
  name: string,
  read: (s: MemorySnapshot) => { value: number; source: string } | undefined,
): Witness | undefined {
  const points: { atMs: number; value: number }[] = []
  let source = ''
  for (const s of series) {
    const v = read(s)
    if (!v) continue
    points.push({ atMs: s.atMs, value: v.value })
    source = v.source
  }
  const trend = trendOf(points)
  if (!trend || trend.n < RANK_TEST_CYCLES) return undefined
  return {
    name,
    agrees: trend.pRising < ALPHA && trend.perSecond > 0,
    value: `${trend.perSecond >= 0 ? '+' : '−'}${formatBytes(Math.abs(trend.perSecond))}/s over ${trend.n} samples, Mann–Kendall p=${trend.pRising.toPrecision(2)}`,
    source,
  }
}

/**
 * At most one cycle (no collection in the window): the live heap cannot have grown by more than
 * was allocated, and while no collection runs HeapAlloc rises by exactly what is allocated. A
 * HeapAlloc that fell meanwhile was the previous collection's sweep still freeing: no bound.
 * The bound runs from the second sample: the first is followed by the window's start edge, whose
 * heap and goroutine profiles allocate 1–2.5 MiB in the target (measured on memsick, Go 1.19 and
 * 1.26) that are ours, not the target's; each later sample costs it about 35 KiB (/debug/vars).
 */
function allocationBound(series: readonly MemorySnapshot[], cycles: readonly GcCycle[]): Judgement {
  const allocs = series.flatMap(s => (s.runtime ? [s.runtime.heapAlloc] : [])).slice(1)
  const first = allocs[0]
  const last = allocs.at(-1)
  if (first === undefined || last === undefined || allocs.length < 2)
    return short(series, cycles, 0)
  const steady = allocs.every((a, i) => i === 0 || a >= (allocs[i - 1] as number))
  const rose = last - first
  if (steady && rose < Math.max(MIN_GROWTH_BYTES, MIN_GROWTH_SHARE * first)) return { kind: 'flat' }
  return short(series, cycles, rose)
}

function short(series: readonly MemorySnapshot[], cycles: readonly GcCycle[], rose: number): Short {
  const result: Short = { kind: 'short', cycles: cycles.length, rose }
  const next = nextGcInMs(series, cycles)
  if (next !== undefined) result.nextGcInMs = next
  const firstEnd = cycles[1]?.endMs
  const lastEnd = cycles.at(-1)?.endMs
  if (cycles.length >= 3 && firstEnd !== undefined && lastEnd !== undefined && lastEnd > firstEnd)
    result.periodMs = (lastEnd - firstEnd) / (cycles.length - 2)
  return result
}

/**
 * When the next collection should end: HeapAlloc reaches NextGC at the allocation rate the
 * latest cycle shows (or the median of the cycles that show one); an idle heap waits for the
 * forced collection, 2 minutes after the last.
 */
function nextGcInMs(
  series: readonly MemorySnapshot[],
  cycles: readonly GcCycle[],
): number | undefined {
  const current = cycles.at(-1)
  const lastSample = current?.samples.at(-1)
  const lastAt = series.at(-1)?.atMs
  if (!current || !lastSample || lastAt === undefined) return undefined
  const rateOf = (c: GcCycle) => {
    const a = c.samples[0]
    const b = c.samples.at(-1)
    const r = a && b && b.atMs > a.atMs ? (b.heapAlloc - a.heapAlloc) / (b.atMs - a.atMs) : 0
    return r > 0 ? r : undefined
  }
  const rate =
    rateOf(current) ?? median(cycles.map(rateOf).filter((r): r is number => r !== undefined))
  if (rate !== undefined && rate > 0)
    return Math.max(0, (current.nextGC - lastSample.heapAlloc) / rate)
  const forcedAt = current.endMs + FORCED_GC_PERIOD_MS
  return current.endMs < lastAt ? Math.max(0, forcedAt - lastAt) : undefined
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
