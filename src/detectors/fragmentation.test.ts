import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import { greenTeaGC, type TargetFacts } from '../model/target.ts'
import { MiB } from '../model/units.ts'
import { fragmentation } from './fragmentation.ts'

// Threshold edges on synthetic numbers; the real captures are at the end.
const target: TargetFacts = { sources: [], pid: 1, goVersion: 'go1.19.8', kernel: '6.1.0' }

const heap = (heapInuse: number, heapAlloc: number, rss = heapInuse + 60, atMs = 0) =>
  snapshot({ atMs, rss, runtime: { heapInuse, heapAlloc, heapIdle: 0, heapReleased: 0 } })

const detect = (...series: ReturnType<typeof heap>[]) =>
  fragmentation.detect({ target, series, gaps: [] })

test('flags in-use spans mostly empty, and what RSS would be with them packed', () => {
  const outcome = detect(heap(1000, 150))
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.bytesExplained, 850 * MiB)
  assert.equal(outcome.finding.whatIf?.rssBytes, 210 * MiB)
  const share = outcome.finding.evidence.find(e => e.label === 'share of HeapInuse')
  assert.equal(share?.value, 0.85)
})

test('stays quiet under 64 MiB of waste, however large its share', () => {
  assert.equal(detect(heap(100, 37)).kind, 'clear')
  assert.equal(detect(heap(100, 36)).kind, 'finding')
})

test('stays quiet under 30% of HeapInuse, however many bytes', () => {
  assert.equal(detect(heap(1000, 701)).kind, 'clear')
  assert.equal(detect(heap(1000, 700)).kind, 'finding')
})

test("judges the 64 MiB on the waste beyond the span layout floor of the target's Go", () => {
  const on = (goVersion: string, more: Partial<TargetFacts> = {}) =>
    fragmentation.detect({
      target: { ...target, goVersion, ...more },
      series: [heap(200, 130)],
      gaps: [],
    }).kind
  // 70 MiB empty in a 200 MiB heap (35%). Go 1.19 has no floor: a finding. Green Tea may hold
  // 7.03% of it (14 MiB) in span tails, heap bits in span 6.25% (12.5 MiB): 56–57.5 MiB beyond.
  assert.equal(on('go1.19.8'), 'finding')
  assert.equal(on('go1.21.13'), 'finding')
  assert.equal(on('go1.22.0'), 'clear')
  assert.equal(on('go1.26.8'), 'clear')
  assert.equal(on('go1.27.3'), 'clear')
  assert.equal(on('go1.26.8', { buildSettings: { GOEXPERIMENT: 'nogreenteagc' } }), 'clear')
  // A waste well beyond the floor is fragmentation on every Go, and says what the floor is.
  const outcome = fragmentation.detect({
    target: { ...target, goVersion: 'go1.26.8' },
    series: [heap(1000, 150)],
    gaps: [],
  })
  assert.ok(outcome.kind === 'finding')
  const floor = outcome.finding.evidence.find(e => e.label.startsWith('span layout floor'))
  assert.deepEqual([floor?.value, floor?.source], [0.0703, 'go1.26.8 (Green Tea GC)'])
})

test('knows which Go runs Green Tea: 1.26 on unless nogreenteagc, 1.25 only with greenteagc', () => {
  const facts = (goVersion: string, experiment?: string): TargetFacts => ({
    sources: [],
    goVersion,
    ...(experiment ? { buildSettings: { GOEXPERIMENT: experiment } } : {}),
  })
  assert.equal(greenTeaGC(facts('go1.26.8')), true)
  assert.equal(greenTeaGC(facts('go1.27.3')), true)
  assert.equal(greenTeaGC(facts('go1.26.8', 'nogreenteagc')), false)
  assert.equal(greenTeaGC(facts('go1.25.4')), false)
  assert.equal(greenTeaGC(facts('go1.25.4', 'greenteagc')), true)
  assert.equal(greenTeaGC(facts('go1.25.4 X:greenteagc')), true)
  assert.equal(greenTeaGC(facts('go1.19.8')), false)
  // Unknown: what most Go built today runs, which errs toward quiet here.
  assert.equal(greenTeaGC({ sources: [] }), true)
})

test('rates severity by the share of RSS the waste takes', () => {
  const severity = (rss: number) => {
    const outcome = detect(heap(400, 200, rss))
    return outcome.kind === 'finding' ? outcome.finding.severity : outcome.kind
  }
  assert.equal(severity(1000), 'info')
  assert.equal(severity(800), 'warning')
  assert.equal(severity(400), 'critical')
})

test('reports waste that ended during the window as resolved', () => {
  const outcome = detect(heap(1000, 150, 1100, 0), heap(200, 150, 300, 3000))
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.resolvedDuringWindow, true)
  assert.equal(outcome.finding.severity, 'info')
  assert.equal(outcome.finding.bytesExplained, 0)
  assert.equal(outcome.finding.whatIf, undefined)
})

test('names the Clone helpers the target version has', () => {
  const fixes = (goVersion: string) => {
    const outcome = fragmentation.detect({
      target: { ...target, goVersion },
      series: [heap(1000, 150)],
      gaps: [],
    })
    assert.ok(outcome.kind === 'finding')
    return outcome.finding.fixes[0] ?? ''
  }
  assert.match(
    fixes('go1.19.8'),
    /strings\.Clone, append\(\[\]byte\(nil\), b\.\.\.\) \(bytes\.Clone needs Go 1\.20\)/,
  )
  assert.match(fixes('go1.22.1'), /strings\.Clone, bytes\.Clone, slices\.Clone$/)
})

test('answers unknown without the runtime view', () => {
  assert.deepEqual(fragmentation.detect({ target, series: [snapshot({ rss: 900 })], gaps: [] }), {
    kind: 'unknown',
    missing: ['runtime.memstats'],
  })
})

test('flags one kept 1 KiB object in eight (real go1.19 capture)', async () => {
  const outcome = fragmentation.detect(await loadCapture(`${GO119}/fragmentation`))
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'critical')
  // memsick keeps one 1 KiB object in eight of 1 GiB: 896 MiB of empty slots.
  assert.ok(
    outcome.finding.bytesExplained > 850 * MiB && outcome.finding.bytesExplained < 950 * MiB,
  )
  const waste = outcome.finding.evidence.find(e => e.label === 'HeapInuse − HeapAlloc')
  assert.match(waste?.source ?? '', /\/debug\/vars$/)
})

test('stays quiet when the same survivors were allocated together (real go1.19 capture)', async () => {
  assert.equal(
    fragmentation.detect(await loadCapture(`${GO119}/fragmentation-control`)).kind,
    'clear',
  )
})

test('stays quiet on healthy heaps and on every other cause (real go1.19 captures)', async () => {
  for (const name of ['healthy', 'heap-growth-control', 'gc-heap-goal', 'scavenger-lag']) {
    assert.equal(fragmentation.detect(await loadCapture(`${GO119}/${name}`)).kind, 'clear', name)
  }
})

test('answers unknown on a real capture without the runtime view', async () => {
  const input = withoutPart(await loadCapture(`${GO119}/fragmentation`), 'runtime')
  assert.deepEqual(fragmentation.detect(input), { kind: 'unknown', missing: ['runtime.memstats'] })
})
