import type { Evidence, Finding, Signal } from '../model/finding.ts'
import { DEBUG1_CHANNEL, type GrowingGroup, growingGroup } from '../model/goroutine-growth.ts'
import {
  type LeakedGoroutines,
  leakEvidence,
  leakedGoroutines,
  leakProfileFix,
  leakSentence,
  tracebackLabelsFix,
} from '../model/leaked-goroutines.ts'
import { type GoRuntimeMemory, goResidentEstimate, type MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import { formatBytes, formatDuration, KiB } from '../model/units.ts'
import { confidence, type Detector, type DetectorInput, type Outcome } from './detector.ts'
import { type Trend, type TrendPoint, trendOf } from './trend.ts'

/**
 * Goroutines that are started and never end. Each keeps its stack (2 KiB at least, more once it
 * grew) and everything it references, so RSS, GC work and scheduler queues grow with the count.
 *
 * Mechanism: a goroutine parked on something nobody will ever do (a receive from a channel no one
 * sends on or closes, a send no one reads, a select without a ctx.Done() case, a lock never
 * unlocked) never runs again and is never collected. Each request that takes that path adds one.
 *
 * Signature: the goroutine count rises across the window (Mann–Kendall, Theil–Sen slope), from the
 * count alone (/metrics' go_goroutines or the /debug/pprof/ index: no stop-the-world), with
 * StackInuse rising beside it. With goroutine dumps at the window's edges, the stack group whose
 * count grew names the leak: its function, wait reason and minutes waiting.
 *
 * What can fool it: load that rises during the window (connection goroutines follow traffic: an
 * "IO wait" group lowers confidence); a window that ends on the rising edge of a batch of
 * goroutines that will all end (longer windows tell); a restart (the count or NumGC falls),
 * which answers unknown rather than calling the new process's ramp-up a leak. A large steady
 * count is not a leak. ?debug=1 dumps hide runtime frames, so a channel wait shows as "a channel
 * or select" there; the proto and ?debug=2 forms tell which.
 *
 * The strongest evidence, where the target serves it and the user allowed its cost
 * (--leak-profile: a GC cycle per fetch, at the window's edges only): the goroutine leak profile
 * (Go 1.27; 1.26 with GOEXPERIMENT=goroutineleakprofile). The runtime's GC proves a goroutine
 * leaked when what it blocks on is reachable from no runnable goroutine, so the leaked count is
 * exact and needs no trend: a leak the profile names is a finding even when the count held still
 * in the window. When the count rises and the profile finds none of it leaked, the new goroutines
 * wait on something still reachable: load, or a leak through a global (the profile's blind spot),
 * so confidence drops and the summary says which.
 *
 * Comparing the stack groups of the two dumps and reading the wait reason off a stack is
 * model/goroutine-growth.ts's job, reading the leak profile (its evidence, its fixes by version)
 * model/leaked-goroutines.ts's; this file judges the count and explains. It is over 400 lines
 * because both judgements (the count's, the profile's) build one finding from the same stack
 * costs and evidence; apart, each would need the other's.
 *
 * Reference: go/src/runtime/stack.go _StackMin (go1.19); go1.26 and go1.27 release notes,
 * runtime/pprof goroutineleak profile; go1.27.3 src/runtime/pprof/pprof.go writeGoroutineLeak.
 */

/** Mann–Kendall needs 5 rising points for an exact p of 1/120 ≈ 0.008, the fewest under P_MAX. */
const MIN_POINTS = 5
/** One-sided p at which the count is taken to rise: a steady count passes 1 time in 100. */
const P_MAX = 0.01
/** Growth over the window below which it is load noise: in-flight requests move by this much. */
const MIN_GROWTH = 50
/** ...and as a share of the count: 2% of 50k connection goroutines is still within load swings. */
const MIN_GROWTH_SHARE = 0.02
/** A count below half the previous sample's, or a NumGC that went back, is a restart. */
const RESET_DROP = 0.5
/** StackInuse only supports the count, so a weaker test suffices. */
const STACK_P_MAX = 0.05
/** The growing group must carry half the growth to be named as the leak. */
const GROUP_SHARE = 0.5
/** Leaked stacks this share of RSS are most of the process's memory story: critical. */
const CRITICAL_SHARE = 0.25
/** The smallest goroutine stack (runtime _StackMin): the per-goroutine floor without StackInuse. */
const MIN_STACK = 2 * KiB
/**
 * Leaked goroutines the profile must name for a finding on its own (the count flat): as many as
 * the count must grow by. A handful stuck forever is a bug, but not this tool's memory story.
 */
const MIN_LEAKED = MIN_GROWTH
/** The runtime's proof, for the share of the growth it covers: near certainty. */
const LEAK_PROOF_SCORE = 0.25
/** Growth the runtime calls not leaked is load, or a leak through a global: much less sure. */
const NOT_LEAKED_PENALTY = 0.2

interface CountPoint extends TrendPoint {
  source: string
}

/** The count at each sample: /metrics' go_goroutines or the /debug/pprof/ index (assemble picks),
 * else the runtime view's own count. Samples without one are skipped, not zeroed. */
function countsOf(series: readonly MemorySnapshot[]): CountPoint[] {
  return series.flatMap(s => {
    const count = s.goroutines?.count ?? s.runtime?.goroutines
    const source = s.goroutines?.source ?? s.runtime?.source ?? ''
    return count === undefined ? [] : [{ atMs: s.atMs, value: count, source }]
  })
}

/** Times (ms) at which the series starts over: a new process, or most goroutines gone at once. */
function restartsIn(series: readonly MemorySnapshot[], counts: readonly CountPoint[]): number[] {
  const at: number[] = []
  for (let i = 1; i < counts.length; i++) {
    const [a, b] = [counts[i - 1] as CountPoint, counts[i] as CountPoint]
    if (b.value < a.value * RESET_DROP) at.push(b.atMs)
  }
  // NumGC only grows within one process; a smaller one belongs to a new process.
  const withGC = series.filter(s => s.runtime)
  for (let i = 1; i < withGC.length; i++) {
    const [a, b] = [withGC[i - 1] as MemorySnapshot, withGC[i] as MemorySnapshot]
    if ((b.runtime?.numGC ?? 0) < (a.runtime?.numGC ?? 0)) at.push(b.atMs)
  }
  return at.sort((x, y) => x - y)
}

/** Growth over the window large enough to matter: below it, load noise. */
function grewEnough(points: readonly CountPoint[]): boolean {
  const trend = trendOf(points)
  if (!trend) return false
  const growth = trend.fittedEnd - trend.fittedStart
  return growth >= Math.max(MIN_GROWTH, MIN_GROWTH_SHARE * trend.fittedStart)
}

/** StackInuse at the window's edges and its trend: what the goroutines' stacks hold. */
interface StackGrowth {
  first: GoRuntimeMemory
  last: GoRuntimeMemory
  trend: Trend
  /** StackInuse rises with the count. */
  rises: boolean
}

/** From the samples with a runtime view; undefined when fewer than two had one. */
function stackGrowthOf(withStacks: readonly MemorySnapshot[]): StackGrowth | undefined {
  const trend = trendOf(withStacks.map(s => ({ atMs: s.atMs, value: s.runtime?.stackInuse ?? 0 })))
  const first = withStacks[0]?.runtime
  const last = withStacks.at(-1)?.runtime
  if (!trend || !first || !last) return undefined
  return { first, last, trend, rises: trend.pRising <= STACK_P_MAX }
}

/** The evidence that names the growing group: where it parks, on what, how long, how many. */
function groupEvidence(group: GrowingGroup): Evidence[] {
  const { bucket, source } = group
  const site = bucket.site
  // Go prints "N minutes" only in per-goroutine forms, and only from one minute of waiting.
  const minutes =
    group.form === 'debug=2' || group.form === 'traceback'
      ? bucket.maxWaitMinutes === 0
        ? 'under a minute (Go prints minutes from 1)'
        : `${bucket.minWaitMinutes}–${bucket.maxWaitMinutes}`
      : `not in a ${group.form} dump (?debug=2 prints them)`
  const evidence: Evidence[] = [
    { label: 'growing stack group', value: site?.func ?? '?', source },
    { label: 'at', value: site ? `${site.file}:${site.line}` : '?', source },
    { label: 'wait reason', value: group.waitReason, source },
    { label: 'minutes waiting', value: minutes, source },
    { label: 'goroutines in the group at start', value: group.start, unit: 'count', source },
    { label: 'goroutines in the group at end', value: group.end, unit: 'count', source },
  ]
  if (bucket.createdBy) {
    evidence.push({ label: 'created by', value: bucket.createdBy.func, source })
  }
  return evidence
}

function fixesFor(
  target: TargetFacts,
  group: GrowingGroup | undefined,
  leaks: LeakedGoroutines | undefined,
): string[] {
  const fixes: string[] = []
  const site = group?.bucket.site
  if (site) {
    fixes.push(
      `give ${site.func} a way out of its wait at ${site.file}:${site.line} (${group.waitReason}): close the channel when the producer is done, select on ctx.Done() beside the channel, or make a reply channel buffered (1) so a sender never waits for a caller that gave up`,
    )
  }
  if (group?.waitReason === 'IO wait') {
    fixes.push(
      'goroutines in IO wait follow connections: set http.Server ReadTimeout/IdleTimeout and client timeouts, and close every response body',
    )
  }
  fixes.push(
    'give every goroutine an owner that ends it: pass a context.Context and return on ctx.Done(); in tests, go.uber.org/goleak fails a test that leaves goroutines behind',
  )
  if (!leaks) fixes.push(leakProfileFix(target))
  const tracebackLabels = tracebackLabelsFix(target)
  if (tracebackLabels) fixes.push(tracebackLabels)
  return fixes
}

/** The judgement of the goroutine count (and the dumps beside it), with the leak profile as evidence. */
function fromCount(
  { target, series, goroutineDumps }: DetectorInput,
  leaks: LeakedGoroutines | undefined,
): Outcome {
  const missing: Signal[] = ['runtime.goroutines']
  const counts = countsOf(series)
  const trend = trendOf(counts)
  if (!trend) {
    return counts.length === 0
      ? { kind: 'unknown', missing }
      : {
          kind: 'unknown',
          missing,
          reason: `${counts.length} goroutine counts: too few for a trend`,
        }
  }
  // Across a restart the counts are two processes': a rise in either may be a start-up ramp,
  // so it is unknown; with no rise anywhere no leak was seen, whatever happened.
  const restarts = restartsIn(series, counts)
  if (restarts.length > 0) {
    const edges = [-Infinity, ...restarts, Infinity]
    const pieces = edges
      .slice(1)
      .map((end, i) => counts.filter(p => p.atMs >= (edges[i] as number) && p.atMs < end))
    return pieces.some(grewEnough)
      ? {
          kind: 'unknown',
          missing,
          reason:
            'the target restarted during the window (the goroutine count or NumGC fell); a rise across a restart may be its start-up',
        }
      : { kind: 'clear' }
  }
  // Growth below the threshold is clear however few the samples: no leak that size happened.
  if (!grewEnough(counts)) return { kind: 'clear' }
  // Growth that the test cannot confirm is clear only when there were samples enough to test.
  if (trend.pRising > P_MAX) {
    return counts.length < MIN_POINTS
      ? {
          kind: 'unknown',
          missing,
          reason: `the count rose, but ${counts.length} samples are too few to tell a trend from noise (${MIN_POINTS} needed): sample longer`,
        }
      : { kind: 'clear' }
  }
  const growth = trend.fittedEnd - trend.fittedStart

  const first = counts[0] as CountPoint
  const last = counts.at(-1) as CountPoint
  const elapsedMs = last.atMs - first.atMs
  const withStacks = series.flatMap(s => (s.runtime ? [s] : []))
  const stacks = stackGrowthOf(withStacks)
  const { perGoroutine, lastRuntime, rss } = stackCost(series)

  // A group that carries less than half the growth is one of several growing with load: naming
  // it as the leak would send the reader to the wrong code.
  let group = growingGroup(goroutineDumps)
  if (group && group.end - group.start < GROUP_SHARE * growth) group = undefined
  const reason = group?.waitReason ?? leaks?.waitReason ?? ''
  // The runtime's count when the leak profile was read; else with the group named, all of it is
  // leaked; without, at least what the window added.
  const leaked = leaks && leaks.end > 0 ? leaks.end : group ? group.end : Math.round(growth)
  const exact = group !== undefined || (leaks !== undefined && leaks.end > 0)
  const freed = leaked * perGoroutine

  // Trend values name every place the counts came from (the index, or /metrics).
  const countSources = [...new Set([first.source, last.source])].join(', ')
  const evidence: Evidence[] = [
    { label: 'goroutines at start', value: first.value, unit: 'count', source: first.source },
    { label: 'goroutines at end', value: last.value, unit: 'count', source: last.source },
    {
      label: 'goroutines added per second (Theil–Sen)',
      value: Math.round(trend.perSecond * 10) / 10,
      unit: 'count',
      source: countSources,
    },
    {
      label: `Mann–Kendall p, count rising (${trend.n} samples)`,
      value: Number(trend.pRising.toPrecision(2)),
      source: countSources,
    },
  ]
  if (stacks) {
    const { source } = stacks.last
    evidence.push(
      {
        label: 'StackInuse at start',
        value: stacks.first.stackInuse,
        unit: 'bytes',
        source: stacks.first.source,
      },
      { label: 'StackInuse at end', value: stacks.last.stackInuse, unit: 'bytes', source },
      {
        label: 'StackInuse growth (Theil–Sen)',
        value: Math.round(stacks.trend.perSecond),
        unit: 'bytes/s',
        source,
      },
    )
  }
  if (group) evidence.push(...groupEvidence(group))
  if (leaks) evidence.push(...leakEvidence(leaks))
  evidence.push({
    label: 'stack per goroutine',
    value: Math.round(perGoroutine),
    unit: 'bytes',
    source: lastRuntime ? `${lastRuntime.source} (StackInuse / goroutines)` : 'runtime _StackMin',
  })

  // The count trend alone could be load; each independent agreement raises confidence.
  let score = 0.6
  if (stacks?.rises) score += 0.1
  if (trend.pRising <= P_MAX / 10) score += 0.05
  if (group) score += 0.15
  if (/chan|select|semacquire|Cond/.test(reason)) score += 0.05
  if (reason === 'IO wait') score -= 0.15
  if (group && group.bucket.minWaitMinutes * 60_000 > elapsedMs) score += 0.05
  // The runtime's own proof covers the growth, or finds none of it leaked.
  if (leaks && leaks.end >= GROUP_SHARE * growth) score += LEAK_PROOF_SCORE
  else if (leaks?.end === 0) score -= NOT_LEAKED_PENALTY

  let summary =
    `The goroutine count rose from ${first.value} to ${last.value} in ${formatDuration(elapsedMs)} ` +
    `(${trend.perSecond.toFixed(1)}/s, Mann–Kendall p = ${trend.pRising.toPrecision(2)}).`
  if (stacks) {
    summary += ` Goroutine stacks went from ${formatBytes(stacks.first.stackInuse)} to ${formatBytes(stacks.last.stackInuse)}${stacks.rises ? '' : ' (not a clear rise)'}.`
  }
  if (group) {
    const site = group.bucket.site
    summary += ` ${group.end - group.start} of the new goroutines are in ${site?.func ?? '?'} (${site?.file.split('/').pop()}:${site?.line}), waiting in ${reason}${reason === DEBUG1_CHANNEL ? ' (a ?debug=1 dump hides the runtime frames that tell which)' : ''}: that group held ${group.start} goroutines at the start and ${group.end} at the end.`
  }
  if (leaks) summary += ` ${leakSentence(leaks)}`
  if (leaks?.end === 0) {
    summary +=
      ' So the new goroutines wait on something still reachable: load that will end, or a leak through a global or a running goroutine, which the leak profile cannot see.'
  }
  summary += group
    ? ' Goroutines that never end keep their stacks and all they reference.'
    : leaks && leaks.end > 0
      ? ''
      : goroutineDumps
        ? ' No single stack group carries the growth.'
        : ' No goroutine dump was read, so the growing stack is not named.'

  if (goroutineDumps?.last.truncated) {
    summary += ` The last dump was cut short (${goroutineDumps.last.truncated}): group counts are lower bounds.`
  }

  // A leak is a warning: it grows without bound, but slowly next to most RSS. When the leaked
  // stacks are already a quarter of RSS, they are the process's memory problem: critical.
  const finding: Finding = {
    id: 'goroutine-leak',
    severity: rss !== undefined && freed >= CRITICAL_SHARE * rss ? 'critical' : 'warning',
    confidence: confidence(score),
    title: group
      ? `Goroutine leak in ${group.bucket.site?.func ?? '?'}`
      : leaks?.bucket
        ? `Goroutine leak in ${leaks.bucket.site?.func ?? '?'}`
        : 'Goroutine count rising',
    summary,
    evidence,
    fixes: fixesFor(target, group, leaks),
    bytesExplained: Math.round(freed),
  }
  if (rss !== undefined) {
    finding.whatIf = {
      rssBytes: Math.round(rss - freed),
      explanation: `RSS once ${leaked} leaked goroutines are gone and their stacks (${formatBytes(freed)}${exact ? '' : ', at least'}) returned; what they reference is freed too`,
    }
  }
  return { kind: 'finding', finding }
}

/**
 * A finding from the leak profile alone: the runtime named goroutines that can never wake, while
 * the count held still (or could not be judged) in the window. `count` is what the count said.
 */
function fromLeakProfile(
  { target, series }: DetectorInput,
  leaks: LeakedGoroutines,
  count: Exclude<Outcome, { kind: 'finding' }>,
): Finding {
  const { perGoroutine, lastRuntime, rss } = stackCost(series)
  const freed = leaks.end * perGoroutine
  const counts = countsOf(series)
  const evidence: Evidence[] = [...leakEvidence(leaks)]
  const first = counts[0]
  const last = counts.at(-1)
  if (first && last) {
    evidence.unshift(
      { label: 'goroutines at start', value: first.value, unit: 'count', source: first.source },
      { label: 'goroutines at end', value: last.value, unit: 'count', source: last.source },
    )
  }
  evidence.push({
    label: 'stack per goroutine',
    value: Math.round(perGoroutine),
    unit: 'bytes',
    source: lastRuntime ? `${lastRuntime.source} (StackInuse / goroutines)` : 'runtime _StackMin',
  })
  const why =
    count.kind === 'clear'
      ? 'The goroutine count did not rise in the window: the leak is there, but did not grow while it was watched (or grows slower than the window can see).'
      : `The count alone could not be judged${count.reason ? ` (${count.reason})` : ''}.`
  const site = leaks.bucket?.site
  const finding: Finding = {
    id: 'goroutine-leak',
    severity: rss !== undefined && freed >= CRITICAL_SHARE * rss ? 'critical' : 'warning',
    // The runtime's proof at both edges is as sure as this tool gets; at one edge, nearly.
    confidence: confidence(leaks.start !== undefined && leaks.start >= MIN_LEAKED ? 0.95 : 0.9),
    title: `Goroutine leak in ${site?.func ?? '?'}`,
    summary: `${leakSentence(leaks)} ${why} Goroutines that never end keep their stacks and all they reference.`,
    evidence,
    fixes: fixesFor(target, undefined, leaks),
    bytesExplained: Math.round(freed),
  }
  if (rss !== undefined) {
    finding.whatIf = {
      rssBytes: Math.round(rss - freed),
      explanation: `RSS once ${leaks.end} leaked goroutines are gone and their stacks (${formatBytes(freed)}) returned; what they reference is freed too`,
    }
  }
  return finding
}

/** What a leaked goroutine costs: its share of StackInuse, and RSS to weigh it against. */
function stackCost(series: readonly MemorySnapshot[]): {
  perGoroutine: number
  lastRuntime: GoRuntimeMemory | undefined
  rss: number | undefined
} {
  const withStacks = series.flatMap(s => (s.runtime ? [s] : []))
  const lastRuntime = withStacks.at(-1)?.runtime
  const lastCount = withStacks.at(-1)?.goroutines?.count ?? lastRuntime?.goroutines
  // The average stack. Leaked goroutines parked shallow sit near the 2 KiB minimum, so this errs
  // high only when other goroutines run deep stacks.
  const perGoroutine =
    lastRuntime && lastCount ? Math.max(MIN_STACK, lastRuntime.stackInuse / lastCount) : MIN_STACK
  // Without /proc (a URL-only target) Go's resident estimate stands in for RSS, as in scavenger-lag.
  const rss =
    series.at(-1)?.status?.vmRss ?? (lastRuntime ? goResidentEstimate(lastRuntime) : undefined)
  return { perGoroutine, lastRuntime, rss }
}

export const goroutineLeak: Detector = {
  id: 'goroutine-leak',
  needs: ['runtime.goroutines'],
  detect(input): Outcome {
    const leaks = input.goroutineLeaks && leakedGoroutines(input.goroutineLeaks)
    const outcome = fromCount(input, leaks)
    if (outcome.kind === 'finding' || !leaks || leaks.end < MIN_LEAKED) return outcome
    return { kind: 'finding', finding: fromLeakProfile(input, leaks, outcome) }
  },
}
