import type { Edges } from './edges.ts'
import type { Evidence } from './finding.ts'
import { bucketGoroutines, type GoroutineBucket } from './goroutine-buckets.ts'
import { waitReasonOf } from './goroutine-growth.ts'
import type { GoroutineDump } from './goroutines.ts'
import {
  goAtLeast,
  godebugValue,
  leakProfileSupport,
  parseGoVersion,
  type TargetFacts,
} from './target.ts'

/**
 * What the goroutine leak profile (Go 1.27; 1.26 with GOEXPERIMENT=goroutineleakprofile) says at
 * the window's edges: how many goroutines the runtime proved can never wake, and where most of
 * them are parked. Each count is one GC cycle's detection, so it is exact for that instant:
 * unlike a count that rises, it needs no trend to tell a leak from load.
 *
 * Blind spot (go1.26 release notes): a primitive reachable through a global, or through a
 * runnable goroutine's locals, is not leaked to the runtime even when nothing will ever use it.
 */
export interface LeakedGoroutines {
  /** Leaked at the window's start, when the profile was read there. */
  start?: number
  end: number
  /** The largest stack group of the last profile; absent when none leaked. */
  bucket?: GoroutineBucket
  /** What that group waits on, read off its stack (the proto keeps runtime.chanrecv1). */
  waitReason?: string
  /** Where the last profile was read. */
  source: string
  /** Where the first was read, when it was. */
  startSource?: string
}

export function leakedGoroutines(leaks: Edges<GoroutineDump>): LeakedGoroutines {
  const result: LeakedGoroutines = { end: leaks.last.total, source: leaks.source }
  if (leaks.first) {
    result.start = leaks.first.total
    result.startSource = leaks.first.source
  }
  const bucket = bucketGoroutines(leaks.last).buckets[0]
  if (bucket) {
    result.bucket = bucket
    result.waitReason = waitReasonOf(bucket, leaks.last.form)
  }
  return result
}

/** The leak profile's counts and its largest group, each with the profile it was read from. */
export function leakEvidence(leaks: LeakedGoroutines): Evidence[] {
  const { source } = leaks
  const evidence: Evidence[] = []
  if (leaks.start !== undefined) {
    evidence.push({
      label: 'goroutines leaked at start (runtime leak detection)',
      value: leaks.start,
      unit: 'count',
      source: leaks.startSource ?? source,
    })
  }
  // One read is not necessarily the window's end: a live watch has only its start's so far,
  // and a target that stopped answering leaves only the start's.
  evidence.push({
    label:
      leaks.start === undefined
        ? 'goroutines leaked (runtime leak detection)'
        : 'goroutines leaked at end (runtime leak detection)',
    value: leaks.end,
    unit: 'count',
    source,
  })
  const site = leaks.bucket?.site
  if (leaks.bucket && site) {
    evidence.push(
      { label: 'leaked stack group', value: site.func, source },
      { label: 'leaked at', value: `${site.file}:${site.line}`, source },
      { label: 'leaked, waiting in', value: leaks.waitReason ?? 'unknown', source },
      { label: 'goroutines in the leaked group', value: leaks.bucket.count, unit: 'count', source },
    )
  }
  return evidence
}

/** One sentence on what the runtime's leak detection found. */
export function leakSentence(leaks: LeakedGoroutines): string {
  const at = leaks.start === undefined ? '' : ` (${leaks.start} at the window's start)`
  if (leaks.end === 0) {
    const when = leaks.start === undefined ? '' : " at the window's end"
    return `The runtime's goroutine leak detection found none leaked${when}${at}.`
  }
  const site = leaks.bucket?.site
  const where = site
    ? `: ${leaks.bucket?.count} of them in ${site.func} (${site.file.split('/').pop()}:${site.line}), waiting in ${leaks.waitReason ?? 'unknown'}`
    : ''
  return `The runtime's goroutine leak detection found ${leaks.end} goroutines that can never wake${at}${where}, on something no runnable goroutine can reach.`
}

/** How to get the runtime's own list of leaked goroutines from this Go, when it was not read. */
export function leakProfileFix(target: TargetFacts): string {
  const running = target.goVersion ?? 'an unknown Go'
  switch (leakProfileSupport(target)) {
    case 'served':
      return `confirm with gomemdoctor --leak-profile (or curl /debug/pprof/goroutineleak?debug=1): ${running} lists the goroutines no other can ever wake, at the cost of one GC cycle per fetch`
    case 'needs-experiment':
      return `rebuild with GOEXPERIMENT=goroutineleakprofile (${running} keeps the profile behind it; Go ≥ 1.27 always serves it), then run gomemdoctor --leak-profile: /debug/pprof/goroutineleak lists the goroutines no other can ever wake`
    case 'none':
      return `Go ≥ 1.27 (running ${running}) serves /debug/pprof/goroutineleak, which lists the goroutines no other can ever wake (Go 1.26 with GOEXPERIMENT=goroutineleakprofile)`
    case 'unknown':
      return 'if the target runs Go ≥ 1.27 (or 1.26 built with GOEXPERIMENT=goroutineleakprofile), gomemdoctor --leak-profile reads /debug/pprof/goroutineleak: the goroutines no other can ever wake'
  }
}

/**
 * Labels in goroutine dumps tell which request started a leaked goroutine: GODEBUG
 * tracebacklabels=1 from Go 1.26, the default for go 1.27 modules (godebugs: Changed 27, Old 0).
 */
export function tracebackLabelsFix(target: TargetFacts): string | undefined {
  const version = parseGoVersion(target.goVersion)
  if (!version || !goAtLeast(version, 26)) return undefined
  if (godebugValue(target, 'tracebacklabels') === '1') return undefined
  const off = godebugValue(target, 'tracebacklabels') === '0'
  if (goAtLeast(version, 27) && !off) return undefined
  return `set pprof labels (pprof.Do) where the goroutines start and run with GODEBUG=tracebacklabels=1: ${target.goVersion} then prints them in the ?debug=2 dump's goroutine headers${off ? ' (DefaultGODEBUG or GODEBUG has tracebacklabels=0 now)' : ' (the default only for go 1.27 modules)'}`
}
