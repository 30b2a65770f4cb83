import type { GoRuntimeMemory, MemorySnapshot } from './snapshot.ts'
import type { TargetFacts } from './target.ts'

/**
 * The samples regrouped by GC cycle, for detectors that need the live heap rather than the
 * sawtooth. HeapAlloc climbs between collections and drops at each one, so a sample shows the live
 * heap plus however much garbage has piled up since; only values fixed at a collection are free of
 * that. Two are: NextGC (the heap goal, set once per cycle from the heap marked live) and the
 * heap right after the collection, which we extrapolate from the samples inside one cycle.
 *
 * Reference: go/src/runtime/mgcpacer.go (go1.19): heapGoal = heapMarked + (heapMarked + stacks +
 * globals) × GOGC/100, capped by the memory limit; 2^63−1 less a little with GOGC=off.
 */

/** One GC cycle: what the samples taken between its end and the next collection saw. */
export interface GcCycle {
  numGC: number
  /** When the collection that opened the cycle ended (LastGC); the first sample's time if unknown. */
  endMs: number
  /** The heap goal the collection set. */
  nextGC: number
  /** The samples taken during the cycle, oldest first; TotalAlloc where read. */
  samples: { atMs: number; heapAlloc: number; totalAlloc?: number }[]
  /**
   * Every sample's time is when its runtime view was read (readAtMs), not a tick's or a
   * Prometheus grid step's: only then does a rate between two samples hold.
   */
  timed: boolean
  /**
   * runtime/metrics /gc/heap/live:bytes where served (Go ≥ 1.21): the heap this cycle's
   * collection marked live, exactly, without the stacks and globals NextGC adds.
   */
  heapLive?: number
  /** /gc/gogc:percent where served: GOGC as the runtime holds it, set in code or not. */
  gogcPercent?: number
  source: string
}

export interface GcCycles {
  cycles: GcCycle[]
  /** NumGC went backwards: the target restarted, and only the cycles since are kept. */
  restarted: boolean
}

/** A heap goal this large means the collector is off (GOGC=off, no memory limit). */
export const GC_OFF_GOAL = 2 ** 62

/**
 * The samples grouped by NumGC, oldest cycle first; only those after the last restart. With
 * `followUps`, a tick's follow-up reads count as samples too: for measuring the heap after GC
 * inside short cycles. Trends over cycles go without them, since follow-ups come in bursts only
 * while cycles are short: a spike's fast cycles at the window's end would then outnumber the
 * rest (memsick's scavenger-lag read as heap growth on go1.19.8, 1 run in 8).
 */
export function gcCycles(
  series: readonly MemorySnapshot[],
  { followUps = false }: { followUps?: boolean } = {},
): GcCycles {
  const cycles: GcCycle[] = []
  let restarted = false
  const views = series.flatMap(snapshot =>
    snapshot.runtime
      ? [snapshot.runtime, ...((followUps && snapshot.runtimeFollowUps) || [])].map(runtime => ({
          runtime,
          atMs: snapshot.atMs,
        }))
      : [],
  )
  for (const { runtime, atMs } of views) {
    const current = cycles.at(-1)
    if (current && runtime.numGC < current.numGC) {
      restarted = true
      cycles.length = 0
    }
    const sample: GcCycle['samples'][number] = {
      atMs: runtime.readAtMs ?? atMs,
      heapAlloc: runtime.heapAlloc,
    }
    if (runtime.totalAlloc !== undefined) sample.totalAlloc = runtime.totalAlloc
    let cycle = cycles.at(-1)
    if (cycle && cycle.numGC === runtime.numGC) cycle.samples.push(sample)
    else {
      cycle = {
        numGC: runtime.numGC,
        endMs: runtime.lastGCMs ?? atMs,
        nextGC: runtime.nextGC,
        samples: [sample],
        timed: true,
        source: runtime.source,
      }
      cycles.push(cycle)
    }
    if (runtime.readAtMs === undefined) cycle.timed = false
    // Both are fixed for the cycle; the latest seen wins (a scrape can lag a collection).
    if (runtime.heapLive !== undefined) cycle.heapLive = runtime.heapLive
    if (runtime.gogcPercent !== undefined) cycle.gogcPercent = runtime.gogcPercent
  }
  return { cycles, restarted }
}

export interface HeapAfterGc {
  bytes: number
  /**
   * 'extrapolated': HeapAlloc in the cycle followed back to the collection's end along the
   * allocation rate between two samples; 'lowest HeapAlloc': one sample only, an upper bound.
   */
  method: 'extrapolated' | 'lowest HeapAlloc'
  /**
   * With 'extrapolated': how far back from its first sample the line was followed to the
   * collection's end. An error in the rate moves the result by the rate's error × this.
   */
  extrapolatedMs?: number
}

/**
 * The heap right after the collection that opened the cycle: the live heap (plus what was allocated
 * during marking, which the runtime also counts as marked). Where two samples of the cycle read
 * TotalAlloc, it is what was allocated by the collection's end less what had been freed by the
 * last sample (sweptHeapAfterGc). Else HeapAlloc is followed back to LastGC along its own rate
 * between two samples. The result never exceeds the lowest HeapAlloc seen, which bounds it from
 * above. A sample's time is when the target read its runtime view, taken as midway between the
 * request and the answer (readAtMs); an error there moves the heap by the allocation rate × the
 * error, and delays that differ between the two samples skew the rate either way. Measured on
 * memsick's gc-heap-goal (a true multiple of 11; bench/gc-multiple.bench.ts) on 2026-12-04, with
 * reads dated at their request: 10.7–11.4 idle, 10.8–11.2 beside six busy loops (go1.19.8,
 * go1.26.8, go1.27.3); with tick times, before readAtMs, it was 8.5–9.6. Dated midway, on
 * 2026-12-08: 10.47–11.85 in 36 runs, idle and beside three busy loops. On 2026-12-08, sampling
 * every 2 s (so that a sample often falls just after a
 * collection): from HeapAlloc's rate, 3.45 once and "healthy" once in 22 runs (go1.26.8,
 * go1.27.3; a scratch loop of `diagnose --interval 2s`; CI had failed on a 3.58); from TotalAlloc,
 * 9.9–11.2 in `bench/gc-multiple.bench.ts --interval 2s --runs 8` (24 runs, the three Gos) and
 * 9.8–11.5 in 24 more by the scratch loop, and 10.5–11.2 in `--runs 6 --busy 3` (18 runs at 1 s).
 */
export function heapAfterGc(cycle: GcCycle): HeapAfterGc {
  const lowest = Math.min(...cycle.samples.map(s => s.heapAlloc))
  const swept = sweptHeapAfterGc(cycle)
  if (swept !== undefined) {
    const bytes = Math.max(0, Math.min(lowest, swept.bytes))
    return { bytes, method: 'extrapolated', extrapolatedMs: swept.extrapolatedMs }
  }
  const estimates: number[] = []
  let extrapolatedMs: number | undefined
  for (let i = 0; i + 1 < cycle.samples.length; i++) {
    const a = cycle.samples[i] as GcCycle['samples'][number]
    const b = cycle.samples[i + 1] as GcCycle['samples'][number]
    const rate = (b.heapAlloc - a.heapAlloc) / (b.atMs - a.atMs)
    // A falling HeapAlloc inside one cycle is sweeping still freeing garbage: no rate to use. An
    // unchanged one is most often the same scrape read twice (a Prometheus grid finer than its
    // scrape), whose times are the grid's: no rate either.
    if (!(rate > 0) || a.atMs < cycle.endMs) continue
    estimates.push(a.heapAlloc - rate * (a.atMs - cycle.endMs))
    extrapolatedMs ??= a.atMs - cycle.endMs
  }
  if (estimates.length === 0) return { bytes: lowest, method: 'lowest HeapAlloc' }
  estimates.sort((x, y) => x - y)
  const mid = estimates.length >> 1
  const bytes =
    estimates.length % 2 === 1
      ? (estimates[mid] as number)
      : ((estimates[mid - 1] as number) + (estimates[mid] as number)) / 2
  return {
    bytes: Math.max(0, Math.min(lowest, bytes)),
    method: 'extrapolated',
    extrapolatedMs: extrapolatedMs ?? 0,
  }
}

/**
 * The heap after the collection from TotalAlloc, with the cycle's first and last samples that
 * read it: TotalAlloc at the collection's end (the first sample's, less the allocation rate
 * between the two × how long after the end it was read) less TotalAlloc − HeapAlloc at the last,
 * everything freed by then. Nothing allocated after the collection is freed before the next one,
 * so once sweeping has freed the collection's garbage (well before a second sample a second
 * later) that difference is the heap the collection left. HeapAlloc alone is misled by a sample
 * read while sweeping still frees: it counts the garbage not yet swept, and its rise to the next
 * sample falls short of what was allocated. On a real go1.26.8 capture
 * (testdata/gc-cycles/go1.26-read-while-sweeping: read 6 ms after the collection, 322 MiB, then
 * 582 MiB with 509 MiB allocated) HeapAlloc's rate gave 321 MiB after GC, a multiple of 2.3 for a
 * true 11, and the diagnosis "healthy"; this gives 71 MiB. undefined with fewer than two such
 * samples or no time between them.
 */
function sweptHeapAfterGc(cycle: GcCycle): { bytes: number; extrapolatedMs: number } | undefined {
  const read = cycle.samples.filter(s => s.totalAlloc !== undefined)
  const first = read[0]
  const last = read.at(-1)
  if (!first || !last || first === last) return undefined
  const span = last.atMs - first.atMs
  const allocated = (last.totalAlloc as number) - (first.totalAlloc as number)
  if (!(span > 0) || !(allocated >= 0)) return undefined
  // A view requested before LastGC shows this cycle, so it was read after the collection ended.
  const sinceEnd = Math.max(0, first.atMs - cycle.endMs)
  const allocatedByEnd = (first.totalAlloc as number) - (allocated / span) * sinceEnd
  const bytes = allocatedByEnd - ((last.totalAlloc as number) - last.heapAlloc)
  return { bytes, extrapolatedMs: sinceEnd }
}

/** The GOGC the environment sets: a number, 'off', or undefined when unset or unparsable. */
export function gogcFromEnviron(target: TargetFacts): number | 'off' | undefined {
  const text = target.gogc?.trim().toLowerCase()
  if (text === undefined || text === '') return undefined
  if (text === 'off') return 'off'
  const value = Number(text)
  if (!Number.isFinite(value)) return undefined
  // The runtime reads GOGC with atoi; a negative value turns the collector off.
  return value < 0 ? 'off' : value
}

/** True when the runtime reports an unbounded heap goal: the collector never runs on its own. */
export function gcIsOff(runtime: GoRuntimeMemory): boolean {
  return runtime.nextGC >= GC_OFF_GOAL
}

/** NextGC ÷ the heap after GC, as measured; GOGC ≈ (ratio − 1) × 100 when no limit binds. */
export interface MeasuredRatio {
  ratio: number
  /**
   * 'extrapolated': the median over cycles; 'allocated': from what was allocated between samples
   * with collections between them (allocatedRatio); 'at least': from lowest HeapAlloc, a bound.
   */
  method: 'extrapolated' | 'allocated' | 'at least'
  heapAfterGc: number
  nextGC: number
}

/** The cycle had a heap goal: one was read, and it is not GC-off's. */
const hasGoal = (cycle: GcCycle) => cycle.nextGC > 0 && cycle.nextGC < GC_OFF_GOAL

/**
 * The heap goal's multiple from what was allocated between samples in different cycles, for
 * windows in which no cycle is sampled twice (cycles shorter than the sampling interval, read
 * without follow-up reads: a recording, a Prometheus range). A cycle
 * allocates from the heap after its GC, L, up to its goal G: with k collections between samples
 * a and b, TotalAlloc grows by (G_a − HeapAlloc_a) + (k − 1)(G_b − L) + (HeapAlloc_b − L), taking
 * the cycles between for b's (the steady heap the multiple is about). Pooled over the window's
 * pairs, one L for all their collections: the HeapAlloc of a cycle sampled once enters two pairs
 * with opposite signs, so only the window's ends remain, their error (garbage not yet swept
 * counted as heap) divided by every collection in the window rather than by one pair's. For a true
 * 5 (bench/gc-multiple.bench.ts, 4 runs on each of go1.19.8, 1.26.8, 1.27.3) the median of pairs
 * read 3.3–5.6, pooled 3.6–5.4; beside three busy loops on go1.19.8, 3.0–4.9 in 12 runs, since
 * the goals of the cycles between, which nobody read, swing (332–688 MiB). A heap the collection
 * finished short of its goal makes L come out high and the multiple low.
 */
function allocatedRatio(
  cycles: readonly GcCycle[],
): { ratio: number; heapAfterGc: number; nextGC: number } | undefined {
  let collections = 0
  let heapTimesCollections = 0
  let goalTimesCollections = 0
  for (let i = 0; i + 1 < cycles.length; i++) {
    const before = cycles[i] as GcCycle
    const after = cycles[i + 1] as GcCycle
    const a = before.samples.at(-1)
    const b = after.samples[0]
    const k = after.numGC - before.numGC
    if (a?.totalAlloc === undefined || b?.totalAlloc === undefined || k < 1) continue
    if (!hasGoal(before) || !hasGoal(after)) continue
    const allocated = b.totalAlloc - a.totalAlloc
    if (!(allocated > 0)) continue
    collections += k
    heapTimesCollections +=
      before.nextGC - a.heapAlloc + (k - 1) * after.nextGC + b.heapAlloc - allocated
    goalTimesCollections += k * after.nextGC
  }
  if (collections === 0) return undefined
  const heap = heapTimesCollections / collections
  if (!(heap > 0)) return undefined
  const nextGC = goalTimesCollections / collections
  return { ratio: nextGC / heap, heapAfterGc: heap, nextGC }
}

/**
 * The heap goal's multiple of the heap after GC, from the cycles that allow it. Extrapolated
 * cycles give estimates (their median, weighted toward those read soon after their collection,
 * is taken); without one, what was allocated between cycles
 * does (allocatedRatio); else only lower bounds remain (the highest is taken), since
 * HeapAlloc never falls below the heap after GC within a cycle.
 */
export function measuredGoalRatio(cycles: readonly GcCycle[]): MeasuredRatio | undefined {
  const measured = cycles
    .filter(hasGoal)
    .map(c => ({ cycle: c, after: heapAfterGc(c) }))
    .filter(m => m.after.bytes > 0)
    .map(m => ({ ...m, ratio: m.cycle.nextGC / m.after.bytes }))
  const extrapolated = measured
    .filter(m => m.after.method === 'extrapolated')
    .sort((a, b) => a.ratio - b.ratio)
  if (extrapolated.length === 0) {
    const allocated = allocatedRatio(cycles)
    if (allocated) return { ...allocated, method: 'allocated' }
  }
  const chosen =
    weightedMedian(
      extrapolated,
      m => 1 / Math.max(MIN_EXTRAPOLATED_MS, m.after.extrapolatedMs ?? 0),
    ) ??
    measured.reduce<(typeof measured)[number] | undefined>(
      (best, m) => (best === undefined || m.ratio > best.ratio ? m : best),
      undefined,
    )
  if (!chosen) return undefined
  return {
    ratio: chosen.ratio,
    method: chosen.after.method === 'extrapolated' ? 'extrapolated' : 'at least',
    heapAfterGc: chosen.after.bytes,
    nextGC: chosen.cycle.nextGC,
  }
}

/** Reads closer than this to the collection weigh alike: their times are only that precise. */
const MIN_EXTRAPOLATED_MS = 10

/**
 * The item at which the weights, summed in the given (ascending) order, reach half their total;
 * undefined for none. Extrapolated cycles weigh 1 ÷ how far back their line was followed: an error
 * in a rate (which swings between reads a few tens of ms apart under load) moves a cycle's
 * estimate in proportion. On memsick's GOGC 400 (a true 5), 36 saved runs of
 * bench/gc-multiple.bench.ts (three Gos, idle and beside three busy loops, 2026-12-08): weighted,
 * 4.31–5.99 with an RMS error of 0.36 (the saved runs re-diagnosed: `diagnose DIR`); as a plain
 * median, by hand with the weights set to 1, 4.32–6.75, RMS 0.44 (the tail is in the busy runs). GOGC 1000 (a true 11): 10.47–11.85 against 10.47–11.71.
 */
function weightedMedian<T>(sorted: readonly T[], weight: (item: T) => number): T | undefined {
  const total = sorted.reduce((sum, item) => sum + weight(item), 0)
  let sum = 0
  for (const item of sorted) {
    sum += weight(item)
    if (sum >= total / 2) return item
  }
  return sorted.at(-1)
}

/** The default GOGC's multiple is 2; measured values up to this are read as the default. */
const DEFAULT_RATIO_BAND = 2.5

/** The multiple used to turn the heap goal into the live heap, and how it was chosen. */
export interface GoalRatio {
  ratio: number
  how: string
  source: string
  /** True when measured rather than read: GOGC was set in code. */
  derived: boolean
}

/**
 * 1 + GOGC/100 with GOGC as the runtime reports it (/gc/gogc:percent, which sees
 * debug.SetGCPercent too), else from the environment; without either, the runtime's default 100
 * unless the measured multiple is clearly higher (a program that calls debug.SetGCPercent, which
 * the environment cannot show). Go ≥ 1.18 adds stacks and globals to the goal; small next to
 * heaps worth diagnosing.
 */
export function goalRatio(cycles: readonly GcCycle[], target: TargetFacts): GoalRatio {
  const environ = target.pid === undefined ? 'the environment' : `/proc/${target.pid}/environ`
  const reported = cycles.at(-1)?.gogcPercent
  if (reported !== undefined && reported >= 0) {
    return {
      ratio: 1 + reported / 100,
      how: `GOGC=${reported} (/gc/gogc:percent)`,
      source: cycles.at(-1)?.source ?? environ,
      derived: false,
    }
  }
  const gogc = gogcFromEnviron(target)
  if (typeof gogc === 'number') {
    return {
      ratio: 1 + gogc / 100,
      how: `GOGC=${gogc} (environment)`,
      source: environ,
      derived: false,
    }
  }
  const measured = measuredGoalRatio(cycles)
  const source = cycles.at(-1)?.source ?? environ
  if (!measured || measured.ratio <= DEFAULT_RATIO_BAND) {
    const seen = measured ? `; measured ${measured.ratio.toFixed(2)}` : ''
    return {
      ratio: 2,
      how: `2: GOGC=100, the default (environment has none${seen})`,
      source,
      derived: false,
    }
  }
  const bound = measured.method === 'at least' ? 'at least ' : ''
  return {
    ratio: measured.ratio,
    how: `${bound}${measured.ratio.toFixed(1)} measured: GOGC about ${bound}${Math.round((measured.ratio - 1) * 100)}, set in code (the environment has none)`,
    source,
    derived: true,
  }
}
