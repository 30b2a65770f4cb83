import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import type { TargetFacts } from '../model/target.ts'
import { madvFreeFixes, madvFreeRetention } from './madv-free-retention.ts'

// Threshold edges on synthetic numbers; the real captures are at the end.
const go = (goVersion: string, godebug?: string): TargetFacts => ({
  sources: [],
  pid: 1,
  goVersion,
  kernel: '6.1.0',
  ...(godebug === undefined ? {} : { godebug }),
})

test('answers unknown, not clear, when smaps_rollup was unreadable', () => {
  const outcome = madvFreeRetention.detect({
    target: go('go1.19.8'),
    series: [snapshot({ rss: 900 })],
    gaps: [],
  })
  assert.deepEqual(outcome, { kind: 'unknown', missing: ['os.lazyFree'] })
})

test('stays quiet below 64 MiB of LazyFree, however large its share', () => {
  const outcome = madvFreeRetention.detect({
    target: go('go1.14.15'),
    series: [snapshot({ rss: 100, lazyFree: 63 })],
    gaps: [],
  })
  assert.equal(outcome.kind, 'clear')
})

test('rates severity by the share of RSS held as LazyFree', () => {
  const severity = (rss: number, lazyFree: number) => {
    const outcome = madvFreeRetention.detect({
      target: go('go1.14.15'),
      series: [snapshot({ rss, lazyFree })],
      gaps: [],
    })
    return outcome.kind === 'finding' ? outcome.finding.severity : outcome.kind
  }
  assert.equal(severity(1000, 90), 'clear')
  assert.equal(severity(1000, 150), 'info')
  assert.equal(severity(1000, 300), 'warning')
  assert.equal(severity(1000, 600), 'critical')
})

test('is surer when HeapReleased covers LazyFree and the Go version uses MADV_FREE', () => {
  const series = [
    snapshot({ rss: 1000, lazyFree: 800, runtime: { heapIdle: 900, heapReleased: 850 } }),
  ]
  const sure = madvFreeRetention.detect({ target: go('go1.14.15'), series, gaps: [] })
  const doubtful = madvFreeRetention.detect({ target: go('go1.19.8'), series, gaps: [] })
  assert.ok(sure.kind === 'finding' && doubtful.kind === 'finding')
  assert.ok(sure.finding.confidence > 0.9)
  assert.ok(doubtful.finding.confidence < 0.7)
  assert.match(doubtful.finding.summary, /C allocator/)
})

test('reports a condition that resolved during the window as such, not as current', () => {
  const outcome = madvFreeRetention.detect({
    target: go('go1.14.15'),
    series: [
      snapshot({ atMs: 0, rss: 1000, lazyFree: 800 }),
      snapshot({ atMs: 5000, rss: 200, lazyFree: 0 }),
    ],
    gaps: [],
  })
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.resolvedDuringWindow, true)
  assert.equal(outcome.finding.severity, 'info')
  assert.equal(outcome.finding.bytesExplained, 0)
})

test('recommends GODEBUG=madvdontneed=1 or Go ≥ 1.16 according to the target version', () => {
  const old = madvFreeFixes(go('go1.14.15'))
  assert.match(old[0] ?? '', /GODEBUG=madvdontneed=1/)
  // A runtime GODEBUG: not in internal/godebugs, so go.mod and //go:debug cannot set it.
  assert.match(old[0] ?? '', /only the environment sets it, not \/\/go:debug or go\.mod's godebug/)
  assert.match(old[1] ?? '', /Go ≥ 1\.16/)
  const keepsOthers = madvFreeFixes(go('go1.13.1', 'gctrace=1'))
  assert.match(keepsOthers[0] ?? '', /GODEBUG=gctrace=1,madvdontneed=1/)
  const modern = madvFreeFixes(go('go1.19.8', 'madvdontneed=0,gctrace=1'))
  assert.match(modern[0] ?? '', /remove madvdontneed=0 .*GODEBUG=gctrace=1/)
  assert.ok(!modern.some(fix => /Go ≥ 1\.16/.test(fix)))
})

test('flags RSS held as LazyFree under madvdontneed=0 (real go1.19 capture)', async () => {
  const input = await loadCapture(`${GO119}/madv-free-retention`)
  const outcome = madvFreeRetention.detect(input)
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'critical')
  assert.ok(outcome.finding.confidence >= 0.95)
  const lazyFree = outcome.finding.evidence.find(e => e.label === 'LazyFree')
  assert.ok(typeof lazyFree?.value === 'number' && lazyFree.value > 900 * 2 ** 20)
  assert.match(lazyFree.source, /^\/proc\/\d+\/smaps_rollup$/)
  assert.match(outcome.finding.fixes[0] ?? '', /remove madvdontneed=0/)
})

test('stays quiet on the same workload with madvdontneed=1 (real go1.19 capture)', async () => {
  const input = await loadCapture(`${GO119}/madv-free-retention-control`)
  assert.equal(madvFreeRetention.detect(input).kind, 'clear')
})

test('infers MADV_FREE pages from RSS and HeapReleased when smaps_rollup was not read (real capture)', async () => {
  const input = withoutPart(await loadCapture(`${GO119}/madv-free-retention`), 'rollup')
  const outcome = madvFreeRetention.detect(input)
  assert.ok(outcome.kind === 'finding')
  assert.ok(
    outcome.finding.confidence < 0.8,
    `inferred, so less sure: ${outcome.finding.confidence}`,
  )
  assert.match(outcome.finding.summary, /LazyFree was not measured/)
  assert.ok(outcome.finding.evidence.some(e => e.label.includes('inferred MADV_FREE')))
})

test('infers nothing when the gap is larger than what HeapReleased could hold (non-Go memory)', () => {
  const outcome = madvFreeRetention.detect({
    target: go('go1.14.15'),
    series: [snapshot({ rss: 1000, runtime: { heapIdle: 120, heapReleased: 100 } })],
    gaps: [],
  })
  assert.equal(outcome.kind, 'clear')
})

test('answers unknown when neither smaps_rollup nor the runtime view was read (real capture)', async () => {
  const input = withoutPart(
    withoutPart(await loadCapture(`${GO119}/madv-free-retention`), 'rollup'),
    'runtime',
  )
  assert.deepEqual(madvFreeRetention.detect(input), { kind: 'unknown', missing: ['os.lazyFree'] })
})
