import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import type { MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import { MiB } from '../model/units.ts'
import { gcHeapGoal } from './gc-heap-goal.ts'

// Threshold edges on synthetic numbers; the real captures are at the end.
const target: TargetFacts = { sources: [], pid: 1, goVersion: 'go1.19.8', kernel: '6.1.0' }

/**
 * Two cycles of a heap whose collections leave `live` MiB, allocating 100 MiB/s, sampled twice
 * per cycle; the goal is `nextGC` MiB. RSS is the goal plus 20 MiB of non-heap memory.
 */
function sawtooth(live: number, nextGC: number): MemorySnapshot[] {
  const out: MemorySnapshot[] = []
  for (const [numGC, gcEnd] of [
    [10, 0],
    [11, 10_000],
  ] as const) {
    for (const after of [500, 1500]) {
      const heapAlloc = live + (100 * after) / 1000
      const s = snapshot({
        atMs: gcEnd + after,
        rss: nextGC + 20,
        runtime: {
          numGC,
          nextGC,
          heapAlloc,
          heapInuse: heapAlloc + 1,
          heapIdle: nextGC - heapAlloc - 1,
          heapReleased: 0,
        },
      })
      assert.ok(s.runtime)
      s.runtime.lastGCMs = gcEnd
      out.push(s)
    }
  }
  return out
}

const detect = (series: MemorySnapshot[], facts: Partial<TargetFacts> = {}) =>
  gcHeapGoal.detect({ target: { ...target, ...facts }, series, gaps: [] })

test('flags a goal ten times the live heap set in code, deriving GOGC from the runtime', () => {
  const outcome = detect(sawtooth(64, 704))
  assert.ok(outcome.kind === 'finding')
  const ratio = outcome.finding.evidence.find(e => e.label === 'NextGC ÷ heap after GC')
  assert.equal(ratio?.value, 11)
  assert.match(
    outcome.finding.summary,
    /sets no GOGC, so the program sets it in code .*GOGC ≈ 1000/,
  )
  assert.match(outcome.finding.fixes.join('\n'), /set GOMEMLIMIT/)
  assert.match(outcome.finding.fixes.join('\n'), /look for debug\.SetGCPercent/)
  // Peak with GOGC=100: 2 × 64 MiB live + the 20 MiB that is not heap.
  assert.equal(outcome.finding.whatIf?.rssBytes, 148 * MiB)
})

test('stays quiet with the default multiple of two', () => {
  assert.equal(detect(sawtooth(64, 128)).kind, 'clear')
  // GOGC 190: under the multiple of 3.
  assert.equal(detect(sawtooth(200, 580)).kind, 'clear')
})

test('stays quiet on a small heap whose high GOGC costs under 64 MiB', () => {
  // GOGC 1000 on 6 MiB live: 66 MiB goal, 54 MiB above what GOGC=100 allows.
  assert.equal(detect(sawtooth(6, 66)).kind, 'clear')
})

test('stays quiet when GOMEMLIMIT bounds the goal', () => {
  assert.equal(detect(sawtooth(64, 704), { gomemlimit: '512MiB' }).kind, 'clear')
})

test('takes GOGC from the environment when it agrees, and is surer for it', () => {
  const fromEnv = detect(sawtooth(64, 704), { gogc: '1000' })
  const inCode = detect(sawtooth(64, 704))
  assert.ok(fromEnv.kind === 'finding' && inCode.kind === 'finding')
  assert.match(fromEnv.finding.summary, /GOGC=1000\./)
  assert.match(fromEnv.finding.fixes.join('\n'), /GOGC=1000 is set in the environment/)
  assert.ok(fromEnv.finding.confidence > inCode.finding.confidence)
})

test('is critical when the expected peak is within 90% of the cgroup limit', () => {
  const limited = (limitMiB: number) =>
    sawtooth(64, 704).map(s => ({
      ...s,
      cgroup: {
        source: '/sys/fs/cgroup/memory/x',
        version: 1 as const,
        usage: 0,
        limit: limitMiB * MiB,
      },
    }))
  const near = detect(limited(760))
  assert.ok(near.kind === 'finding')
  assert.equal(near.finding.severity, 'critical')
  assert.match(near.finding.fixes[0] ?? '', /GOMEMLIMIT=684MiB \(90% of the cgroup limit\)/)
  const roomy = detect(limited(4096))
  assert.ok(roomy.kind === 'finding' && roomy.finding.severity === 'warning')
})

test("in a container, says what GOMAXPROCS the GC's CPU is sized by, for the target's Go and go.mod line", () => {
  const inContainer = sawtooth(64, 704).map(s => ({
    ...s,
    cgroup: { source: '/sys/fs/cgroup/memory/x', version: 1 as const, usage: 0, limit: 4096 * MiB },
  }))
  const procs = (facts: Partial<TargetFacts>, series: MemorySnapshot[] = inContainer) => {
    const outcome = detect(series, facts)
    assert.ok(outcome.kind === 'finding')
    return outcome.finding.fixes.filter(f => f.includes('GOMAXPROCS'))
  }
  // Before Go 1.25, the host's CPU count whatever the quota.
  assert.match(
    procs({ goVersion: 'go1.19.8' })[0] ?? '',
    /host's CPU count, not the container's CPU quota/,
  )
  assert.match(procs({ goVersion: 'go1.24.9' })[0] ?? '', /use Go ≥ 1\.25, which reads it/)
  // Go 1.25+ reads the quota, unless a go ≤ 1.24 module turned that off by DefaultGODEBUG.
  assert.deepEqual(procs({ goVersion: 'go1.26.8' }), [])
  assert.match(
    procs({ goVersion: 'go1.26.8', defaultGodebug: 'containermaxprocs=0,decoratemappings=0' })[0] ??
      '',
    /containermaxprocs=0, the default of a go\.mod go line ≤ 1\.24\): set godebug containermaxprocs=1 in go\.mod/,
  )
  // GOMAXPROCS set by hand, or no container: nothing to say.
  assert.deepEqual(procs({ goVersion: 'go1.19.8', gomaxprocs: '2' }), [])
  assert.deepEqual(procs({ goVersion: 'go1.19.8' }, sawtooth(64, 704)), [])
})

test('recommends Go ≥ 1.19 for GOMEMLIMIT on older versions', () => {
  const outcome = detect(sawtooth(64, 704), { goVersion: 'go1.17.13' })
  assert.ok(outcome.kind === 'finding')
  assert.match(outcome.finding.fixes[0] ?? '', /rebuild with Go ≥ 1\.19 .*running go1\.17\.13/)
})

test('flags a collector turned off, from the environment or from the unbounded goal', () => {
  const off = sawtooth(64, 704).map(s => {
    assert.ok(s.runtime)
    return { ...s, runtime: { ...s.runtime, nextGC: Number('9223372036842154959') } }
  })
  const inCode = detect(off)
  assert.ok(inCode.kind === 'finding')
  assert.equal(inCode.finding.severity, 'critical')
  assert.match(inCode.finding.summary, /debug\.SetGCPercent\(-1\)/)
  const fromEnv = detect(sawtooth(64, 704), { gogc: 'off' })
  assert.ok(fromEnv.kind === 'finding')
  assert.match(fromEnv.finding.summary, /GOGC=off is set in the environment/)
})

test('answers unknown without the runtime view', () => {
  assert.deepEqual(detect([snapshot({ rss: 100 })]), {
    kind: 'unknown',
    missing: ['runtime.memstats'],
  })
})

test('flags GOGC set to 1000 with debug.SetGCPercent (real go1.19 capture)', async () => {
  const outcome = gcHeapGoal.detect(await loadCapture(`${GO119}/gc-heap-goal`))
  assert.ok(outcome.kind === 'finding')
  const ratio = outcome.finding.evidence.find(e => e.label === 'NextGC ÷ heap after GC')?.value
  // True multiple 11 (NextGC 729 MiB, ~66 MiB live); the measurement errs low.
  assert.ok(typeof ratio === 'number' && ratio > 7 && ratio < 11.5, String(ratio))
  assert.match(outcome.finding.summary, /debug\.SetGCPercent/)
  assert.ok(outcome.finding.whatIf && outcome.finding.whatIf.rssBytes < 300 * MiB)
  assert.ok(outcome.finding.bytesExplained > 400 * MiB)
})

test('stays quiet on the same workload with GOGC 100 (real go1.19 capture)', async () => {
  assert.equal(gcHeapGoal.detect(await loadCapture(`${GO119}/gc-heap-goal-control`)).kind, 'clear')
})

test('stays quiet on large and small healthy heaps (real go1.19 captures)', async () => {
  for (const name of ['healthy', 'heap-growth-control', 'fragmentation', 'scavenger-lag']) {
    assert.equal(gcHeapGoal.detect(await loadCapture(`${GO119}/${name}`)).kind, 'clear', name)
  }
})

test('answers unknown on a real capture without the runtime view', async () => {
  const input = withoutPart(await loadCapture(`${GO119}/gc-heap-goal`), 'runtime')
  assert.deepEqual(gcHeapGoal.detect(input), { kind: 'unknown', missing: ['runtime.memstats'] })
})

/** The sawtooth as a target serving client_golang's runtime/metrics gauges would show it. */
function withGauges(
  series: MemorySnapshot[],
  gauges: { gogcPercent?: number; memoryLimit?: number; heapLive?: number },
): MemorySnapshot[] {
  return series.map(s => (s.runtime ? { ...s, runtime: { ...s.runtime, ...gauges } } : s))
}
const NO_LIMIT = 2 ** 63

test('reads GOGC as the runtime holds it (SetGCPercent included) rather than inferring it', () => {
  // One sample per cycle (the multiple only bounded from below), no GOGC in the environment.
  const once = sawtooth(64, 704).filter((_, i) => i % 2 === 1)
  const inferred = detect(once)
  assert.ok(inferred.kind === 'finding')
  assert.match(inferred.finding.summary, /measured, GOGC ≈ at least/)
  const outcome = detect(withGauges(once, { gogcPercent: 1000, memoryLimit: NO_LIMIT }))
  assert.ok(outcome.kind === 'finding', JSON.stringify(outcome))
  const value = (label: string) => outcome.finding.evidence.find(e => e.label === label)
  assert.equal(value('GOGC in effect')?.value, 1000)
  assert.match(value('GOGC in effect')?.source ?? '', /\(go_gc_gogc_percent\)$/)
  assert.equal(value('GOGC in the environment')?.value, 'unset')
  assert.equal(value('GOMEMLIMIT in effect')?.value, 'unset')
  assert.equal(value('NextGC ÷ heap after GC')?.value, 11)
  assert.match(
    outcome.finding.summary,
    /runtime reports GOGC=1000, while the environment sets none: the program sets it in code/,
  )
  assert.match(outcome.finding.fixes.join('\n'), /look for debug\.SetGCPercent/)
  assert.equal(outcome.finding.confidence, 0.9)
  // With the live heap too, the last GC's own figure replaces the estimate.
  const live = detect(
    withGauges(once, { gogcPercent: 1000, memoryLimit: NO_LIMIT, heapLive: 60 * MiB }),
  )
  assert.ok(live.kind === 'finding')
  const heap = live.finding.evidence.find(e => e.label === 'live heap (last GC)')
  assert.deepEqual([heap?.value, live.finding.confidence], [60 * MiB, 0.95])
  assert.match(heap?.source ?? '', /\(go_gc_heap_live_bytes\)$/)
  assert.equal(live.finding.whatIf?.rssBytes, (2 * 60 + 20) * MiB)
})

test('the GOGC the runtime reports wins over the environment, both ways', () => {
  // The environment says 1000 but the program lowered it to 100 in code: clear.
  assert.equal(
    detect(withGauges(sawtooth(64, 704), { gogcPercent: 100 }), { gogc: '1000' }).kind,
    'clear',
  )
  // The environment agrees with the runtime: not "set in code".
  const agreed = detect(withGauges(sawtooth(64, 704), { gogcPercent: 1000 }), { gogc: '1000' })
  assert.ok(agreed.kind === 'finding')
  assert.doesNotMatch(agreed.finding.summary, /in code/)
  assert.ok(!agreed.finding.evidence.some(e => e.label === 'GOGC in the environment'))
  // An environment never read (a URL-only target) is not called unset.
  const urlOnly = detect(withGauges(sawtooth(64, 704), { gogcPercent: 1000 }), {
    godebugUnknown: true,
  })
  assert.ok(urlOnly.kind === 'finding')
  assert.doesNotMatch(urlOnly.finding.summary, /in code|environment/)
  assert.ok(!urlOnly.finding.evidence.some(e => e.label === 'GOGC in the environment'))
  // -1 is off.
  const off = detect(withGauges(sawtooth(64, 704), { gogcPercent: -1 }))
  assert.ok(off.kind === 'finding')
  assert.match(off.finding.summary, /turned the collector off in code/)
})

test('a GOMEMLIMIT set in code, seen through the runtime gauge, bounds the goal; an unset one does not', () => {
  const series = sawtooth(64, 704)
  assert.equal(detect(withGauges(series, { memoryLimit: 512 * MiB })).kind, 'clear')
  // The runtime says no limit, whatever the environment claimed.
  assert.equal(
    detect(withGauges(series, { memoryLimit: NO_LIMIT }), { gomemlimit: '512MiB' }).kind,
    'finding',
  )
})
