import type { Evidence, Finding, Severity } from '../model/finding.ts'
import { gcCycles, gcIsOff, gogcFromEnviron, measuredGoalRatio } from '../model/gc-cycles.ts'
import {
  type GoRuntimeMemory,
  type MemorySnapshot,
  rssOrGoResident,
  runtimeMemoryLimit,
} from '../model/snapshot.ts'
import {
  environSource,
  goAtLeast,
  godebugValue,
  hasMemoryLimit,
  parseGoVersion,
  type TargetFacts,
} from '../model/target.ts'
import { formatBytes, MiB, parseBytes } from '../model/units.ts'
import { confidence, type Detector, lastWith, type Outcome } from './detector.ts'

/**
 * The heap goal far above the live heap: a high GOGC (or GOGC=off) lets garbage pile up to
 * (1 + GOGC/100) × the live heap before each collection, and RSS follows the peaks, since the
 * scavenger keeps memory up to 1.1 × the goal. Nothing leaks; the process trades memory for GC CPU.
 *
 * Signature: NextGC ÷ the heap after GC ≥ 3 (GOGC ≥ 200), the excess over what the default GOGC
 * would allow ≥ 64 MiB, and no GOMEMLIMIT to bound it. GOGC is read from /proc/PID/environ, but a
 * program that calls debug.SetGCPercent shows nothing there, so the multiple is also measured: the
 * heap right after a collection is extrapolated from two reads in one cycle (gc-cycles.ts). Where
 * cycles are shorter than the sampling interval, diagnose reads the runtime view a few more times
 * after each tick so that some cycle is read twice (sources/gc-follow-ups.ts); without those (a
 * recording, a Prometheus range) it is found from what the cycles between two samples allocated
 * (TotalAlloc and NumGC), a rougher estimate. For SetGCPercent(400) with 1 GiB/s of garbage
 * (bench/gc-multiple.bench.ts, 2026-12-08): 4.31–5.99 for the true 5 with the follow-up reads,
 * 3.0–4.9 (once below 3) from the ticks alone. The heap marked includes what was allocated while
 * marking, and the goal is set from it: GODEBUG=gctrace=1 showed NextGC ÷ marked at 5.0–5.1.
 *
 * Where the target serves client_golang's runtime/metrics gauges (Go ≥ 1.21, client_golang ≥ 1.20:
 * go_gc_gogc_percent and go_gc_gomemlimit_bytes by default, go_gc_heap_live_bytes when asked),
 * GOGC and GOMEMLIMIT are read as the runtime holds them, SetGCPercent and SetMemoryLimit
 * included, and the live heap is the last GC's own figure: nothing is inferred, and a limit set
 * in code is seen.
 *
 * What fools it, without those gauges: a GOMEMLIMIT set in code (debug.SetMemoryLimit) is
 * invisible; then the goal is bounded and this finding overstates the risk. Without TotalAlloc
 * (a scrape that lacks go_memstats_alloc_bytes_total), a cycle sampled once gives only a lower
 * bound on the multiple, which errs toward quiet.
 *
 * Fix: GOMEMLIMIT (Go ≥ 1.19) keeps a high GOGC's CPU savings and bounds the peak; or lower GOGC.
 * Reference: go/src/runtime/mgcpacer.go (go1.19) heapGoal; https://go.dev/doc/gc-guide.
 */

/** The default GOGC=100 gives 2; from 3 (GOGC 200) on, the goal is a choice worth questioning. */
const MIN_RATIO = 3
/** Bytes above what GOGC=100 would allow; less is not worth anyone's time. */
const MIN_EXCESS = 64 * MiB
/** The expected peak within this share of the cgroup limit is an OOM kill waiting for a spike. */
const CRITICAL_SHARE_OF_LIMIT = 0.9
/** The excess must be this share of the peak to be a warning rather than a note. */
const WARNING_SHARE = 0.25

/** Resident memory that is not the heap: stacks, runtime metadata, the binary, cgo. */
function nonHeap(snapshot: MemorySnapshot, runtime: GoRuntimeMemory): number {
  const heapResident = runtime.heapSys - runtime.heapReleased
  const rss = rssOrGoResident(snapshot, runtime)
  return Math.max(0, rss - heapResident)
}

function fixesFor(target: TargetFacts, off: boolean, derived: boolean, limit?: number): string[] {
  const version = parseGoVersion(target.goVersion)
  const hasMemLimit = hasMemoryLimit(version)
  const suggested = limit === undefined ? undefined : Math.floor((limit * 0.9) / MiB)
  const fixes: string[] = []
  if (hasMemLimit) {
    fixes.push(
      `set GOMEMLIMIT${suggested ? `=${suggested}MiB (90% of the cgroup limit)` : ' to the memory you budget for the process'}: the GC then runs more often only as the heap nears it, keeping the CPU savings of a high GOGC`,
    )
  } else {
    fixes.push(
      `rebuild with Go ≥ 1.19 for GOMEMLIMIT (running ${target.goVersion}), which bounds the heap however high GOGC is`,
    )
  }
  const where = derived
    ? 'GOGC is set in code: look for debug.SetGCPercent'
    : target.godebugUnknown
      ? 'GOGC is set in the environment or in code with debug.SetGCPercent'
      : `GOGC${target.gogc ? `=${target.gogc}` : ''} is set in the environment`
  fixes.push(
    off
      ? `turn the collector back on, or keep GOGC=off only with GOMEMLIMIT${hasMemLimit ? '' : ' (Go ≥ 1.19)'} (${where})`
      : `or lower GOGC toward 100: each step down costs GC CPU and saves peak memory (${where})`,
  )
  // In a container, the GC CPU that either fix spends comes out of GOMAXPROCS.
  const procs = limit === undefined ? undefined : gomaxprocsFix(target)
  if (procs) fixes.push(procs)
  return fixes
}

/**
 * What GOMAXPROCS the GC's 25% CPU share is sized by in a container: from Go 1.25 the CPU quota
 * (containermaxprocs, off for go ≤ 1.24 modules by DefaultGODEBUG); before, the host's CPU count.
 * Undefined when GOMAXPROCS is set by hand or the version is unknown.
 */
export function gomaxprocsFix(target: TargetFacts): string | undefined {
  const version = parseGoVersion(target.goVersion)
  if (!version || target.gomaxprocs !== undefined) return undefined
  if (!goAtLeast(version, 25)) {
    return `${target.goVersion} sets GOMAXPROCS to the host's CPU count, not the container's CPU quota: set GOMAXPROCS to the quota (or use Go ≥ 1.25, which reads it) so the extra GC work is not throttled`
  }
  if (godebugValue(target, 'containermaxprocs') === '0') {
    return `GOMAXPROCS ignores the container's CPU quota here (containermaxprocs=0, the default of a go.mod go line ≤ 1.24): set godebug containermaxprocs=1 in go.mod, or GOMAXPROCS, so the GC's share is sized to the quota`
  }
  return undefined
}

export const gcHeapGoal: Detector = {
  id: 'gc-heap-goal',
  needs: ['runtime.memstats'],
  detect({ target, series }): Outcome {
    const last = lastWith(series, 'runtime')
    if (!last) return { kind: 'unknown', missing: ['runtime.memstats'] }
    const { runtime } = last
    const limit = lastWith(series, 'cgroup')?.cgroup.limit
    const environ = environSource(target)
    const source = runtime.source
    // The runtime's own gauges, where served, win over the environment: they are what is in
    // effect, whatever the program set in code.
    const runtimeLimit = runtimeMemoryLimit(runtime)
    const memLimit =
      runtimeLimit === undefined
        ? parseBytes(target.gomemlimit ?? '')
        : runtimeLimit === 'unset'
          ? undefined
          : runtimeLimit
    // A GOMEMLIMIT below the cgroup limit bounds the goal: the configuration the fix recommends.
    if (memLimit !== undefined && (limit === undefined || memLimit < limit))
      return { kind: 'clear' }
    const fromEnv = gogcFromEnviron(target)
    const gogcRead = runtime.gogcPercent
    const gogc = gogcRead === undefined ? fromEnv : gogcRead < 0 ? 'off' : gogcRead
    // Read from the runtime and not what the environment says: the program set it in code. An
    // environment that was not read (a URL-only target) says nothing either way.
    const setInCode = gogcRead !== undefined && !target.godebugUnknown && gogc !== (fromEnv ?? 100)
    const rest = nonHeap(last, runtime)
    const rss = rssOrGoResident(last, runtime)
    const gauge = (name: string) => `${source} (${name})`
    const evidence: Evidence[] = [
      gogcRead === undefined
        ? { label: 'GOGC', value: target.gogc ?? 'unset', source: environ }
        : { label: 'GOGC in effect', value: gogc ?? 100, source: gauge('go_gc_gogc_percent') },
      runtimeLimit === undefined
        ? { label: 'GOMEMLIMIT', value: target.gomemlimit ?? 'unset', source: environ }
        : {
            label: 'GOMEMLIMIT in effect',
            value: runtimeLimit,
            ...(runtimeLimit === 'unset' ? {} : { unit: 'bytes' as const }),
            source: gauge('go_gc_gomemlimit_bytes'),
          },
    ]
    if (gogcRead !== undefined && setInCode) {
      evidence.push({
        label: 'GOGC in the environment',
        value: target.gogc ?? 'unset',
        source: environ,
      })
    }
    const limitEvidence = () => {
      const cgroup = lastWith(series, 'cgroup')?.cgroup
      if (cgroup?.limit !== undefined)
        evidence.push({
          label: 'cgroup limit',
          value: cgroup.limit,
          unit: 'bytes',
          source: cgroup.source,
        })
    }

    if (gcIsOff(runtime) || gogc === 'off') {
      evidence.push({ label: 'NextGC', value: runtime.nextGC, unit: 'bytes', source })
      evidence.push({ label: 'HeapAlloc', value: runtime.heapAlloc, unit: 'bytes', source })
      limitEvidence()
      const finding: Finding = {
        id: 'gc-heap-goal',
        severity: 'critical',
        confidence: confidence(0.95),
        title: 'The garbage collector is off and no memory limit bounds the heap',
        summary:
          `NextGC is ${gcIsOff(runtime) ? 'unbounded' : formatBytes(runtime.nextGC)}: ` +
          `${gogc === 'off' && !setInCode && fromEnv === 'off' ? 'GOGC=off is set in the environment' : 'the program turned the collector off in code (debug.SetGCPercent(-1))'}, ` +
          `so every allocation stays until the process is killed. HeapAlloc is ${formatBytes(runtime.heapAlloc)} and rising with every allocation.`,
        evidence,
        fixes: fixesFor(target, true, fromEnv !== 'off', limit),
        bytesExplained: runtime.heapAlloc,
      }
      return { kind: 'finding', finding }
    }

    const measured = measuredGoalRatio(gcCycles(series, { followUps: true }).cycles)
    const envRatio = typeof gogc === 'number' ? 1 + gogc / 100 : undefined
    if (!measured && envRatio === undefined)
      return {
        kind: 'unknown',
        missing: [],
        reason: 'no sample gave the heap after a collection, and the environment sets no GOGC',
      }
    // GOGC read from the runtime is exact. Otherwise a measured multiple wins over the
    // environment (the program may override GOGC); a lower bound only wins when it is higher.
    const ratio =
      gogcRead !== undefined && envRatio !== undefined
        ? envRatio
        : measured !== undefined && measured.method !== 'at least'
          ? measured.ratio
          : Math.max(measured?.ratio ?? 0, envRatio ?? 0)
    // The last GC's live heap, where served; else what the goal implies.
    const live = runtime.heapLive ?? runtime.nextGC / ratio
    const excess = runtime.nextGC - 2 * live
    if (ratio < MIN_RATIO || excess < MIN_EXCESS) return { kind: 'clear' }

    const peak = runtime.nextGC + rest
    const defaultPeak = 2 * live + rest
    const derived =
      gogcRead !== undefined
        ? setInCode
        : measured !== undefined && (envRatio === undefined || measured.ratio > envRatio * 1.5)
    const gogcText = `${Math.round((ratio - 1) * 100)}`
    evidence.push(
      { label: 'NextGC', value: runtime.nextGC, unit: 'bytes', source },
      runtime.heapLive === undefined
        ? { label: 'heap after GC (live)', value: live, unit: 'bytes', source }
        : {
            label: 'live heap (last GC)',
            value: live,
            unit: 'bytes',
            source: gauge('go_gc_heap_live_bytes'),
          },
      { label: 'NextGC ÷ heap after GC', value: Math.round(ratio * 100) / 100, source },
      { label: 'expected peak RSS (NextGC + non-heap)', value: peak, unit: 'bytes', source },
      { label: 'RSS', value: rss, unit: 'bytes', source: last.status?.source ?? source },
    )
    limitEvidence()

    let summary =
      `The heap goal NextGC is ${formatBytes(runtime.nextGC)}, ${ratio.toFixed(1)} × the heap after GC ` +
      `(${formatBytes(live)}): garbage piles up to the goal before each collection, and RSS follows the peaks. `
    summary +=
      gogcRead !== undefined
        ? `The runtime reports GOGC=${gogcRead}${setInCode ? `, while the environment ${target.gogc === undefined ? 'sets none' : `says GOGC=${target.gogc}`}: the program sets it in code (debug.SetGCPercent)` : ''}. `
        : derived
          ? `The environment ${fromEnv === undefined ? 'sets no GOGC' : `says GOGC=${target.gogc}`}, so the program sets it in code (debug.SetGCPercent): measured, GOGC ≈ ${measured?.method === 'at least' ? 'at least ' : ''}${gogcText}. `
          : `GOGC=${target.gogc ?? gogcText}. `
    summary += `With GOGC=100 the peak would be about ${formatBytes(defaultPeak)}.`
    let severity: Severity = excess >= WARNING_SHARE * peak ? 'warning' : 'info'
    if (limit !== undefined) {
      const share = peak / limit
      summary += ` The expected peak is ${Math.round(share * 100)}% of the cgroup limit (${formatBytes(limit)}).`
      if (share >= CRITICAL_SHARE_OF_LIMIT) severity = 'critical'
    }

    // The goal comes straight from the runtime; the live heap is a measurement (less sure from one
    // sample per cycle), and the environment agreeing with it makes it certain.
    let score = measured?.method === 'extrapolated' ? 0.85 : 0.7
    if (envRatio !== undefined && !derived) score += 0.1
    // GOGC as the runtime holds it: nothing about the multiple is inferred.
    if (gogcRead !== undefined) score = runtime.heapLive === undefined ? 0.9 : 0.95
    const finding: Finding = {
      id: 'gc-heap-goal',
      severity,
      confidence: confidence(score),
      title: 'The heap goal is far above the live heap',
      summary,
      evidence,
      fixes: fixesFor(target, false, derived, limit),
      whatIf: {
        rssBytes: Math.round(defaultPeak),
        explanation:
          'peak RSS with GOGC=100, or with GOMEMLIMIT set near it: 2 × heap after GC + non-heap',
      },
      bytesExplained: Math.max(0, Math.min(rss, peak) - defaultPeak),
    }
    return { kind: 'finding', finding }
  },
}
