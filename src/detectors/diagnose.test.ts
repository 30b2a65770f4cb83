import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { test } from 'node:test'
import { loadCapture } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import type { Finding } from '../model/finding.ts'
import type { Detector } from './detector.ts'
import { diagnose, rankFindings } from './diagnose.ts'

const finding = (
  id: Finding['id'],
  severity: Finding['severity'],
  bytesExplained: number,
  confidence = 0.9,
): Finding => ({
  id,
  severity,
  confidence,
  title: id,
  summary: '',
  evidence: [],
  fixes: [],
  bytesExplained,
})

test('ranks by severity, then bytes of RSS explained, then confidence', () => {
  const ranked = rankFindings([
    finding('fragmentation', 'info', 900),
    finding('heap-growth', 'warning', 10),
    finding('goroutine-leak', 'warning', 50, 0.5),
    finding('scavenger-lag', 'warning', 50, 0.8),
    finding('madv-free-retention', 'critical', 1),
  ])
  assert.deepEqual(
    ranked.map(f => f.id),
    ['madv-free-retention', 'scavenger-lag', 'goroutine-leak', 'heap-growth', 'fragmentation'],
  )
})

const stub = (id: Finding['id'], outcome: ReturnType<Detector['detect']>): Detector => ({
  id,
  needs: [],
  detect: () => outcome,
})

test('the verdict is the first finding, and unknown detectors are named with a gap', () => {
  const input = {
    target: { sources: [] },
    series: [snapshot({ rss: 100 })],
    gaps: [],
    sources: [],
    notes: [],
  }
  const result = diagnose(input, [
    stub('fragmentation', { kind: 'finding', finding: finding('fragmentation', 'info', 5) }),
    stub('madv-free-retention', { kind: 'unknown', missing: ['os.lazyFree'] }),
    stub('heap-growth', { kind: 'finding', finding: finding('heap-growth', 'warning', 5) }),
  ])
  assert.equal(result.verdict, 'heap-growth')
  assert.deepEqual(result.unjudged, ['madv-free-retention'])
  assert.deepEqual(
    result.gaps.map(g => g.signal),
    ['os.lazyFree'],
  )
  assert.match(result.gaps[0]?.cost ?? '', /madv-free-retention could not be judged/)
})

test('healthy when every detector is clear', () => {
  const input = {
    target: { sources: [] },
    series: [snapshot({ rss: 100 })],
    gaps: [],
    sources: [],
    notes: [],
  }
  const result = diagnose(input, [
    stub('madv-free-retention', { kind: 'clear' }),
    stub('heap-growth', { kind: 'clear' }),
  ])
  assert.equal(result.verdict, 'healthy')
  assert.deepEqual(result.unjudged, [])
})

test('inconclusive, never healthy, when a detector could not judge; the input gaps are not mutated', () => {
  const gaps = [{ signal: 'os.lazyFree', reason: 'EACCES', cost: 'LazyFree unknown' }]
  const input = {
    target: { sources: [] },
    series: [snapshot({ rss: 100 })],
    gaps,
    sources: [],
    notes: [],
  }
  const result = diagnose(input, [
    stub('madv-free-retention', { kind: 'unknown', missing: ['os.lazyFree'] }),
    stub('heap-growth', { kind: 'clear' }),
  ])
  assert.equal(result.verdict, 'inconclusive')
  assert.deepEqual(result.unjudged, ['madv-free-retention'])
  assert.equal(gaps[0]?.cost, 'LazyFree unknown')
  assert.match(
    result.gaps[0]?.cost ?? '',
    /LazyFree unknown; madv-free-retention could not be judged/,
  )
})

test('an unknown with a reason becomes a gap under the detector, saying why', () => {
  const input = {
    target: { sources: [] },
    series: [snapshot({ rss: 100 })],
    gaps: [],
    sources: [],
    notes: [],
  }
  const result = diagnose(input, [
    stub('goroutine-leak', {
      kind: 'unknown',
      missing: ['runtime.goroutines'],
      reason: 'the target restarted during the window',
    }),
  ])
  assert.deepEqual(result.gaps, [
    {
      signal: 'goroutine-leak',
      reason: 'the target restarted during the window',
      cost: 'goroutine-leak could not be judged',
    },
  ])
})

// Every committed capture of a real process, on every Go it was captured on: a scenario's
// capture gives its own finding and no other, a control's and the healthy process's none.
const CAPTURES = new URL('../../testdata/captures/', import.meta.url)
for (const build of readdirSync(CAPTURES)) {
  for (const scenario of readdirSync(new URL(`${build}/`, CAPTURES))) {
    test(`the ${build} capture of ${scenario} gives ${scenario.endsWith('-control') || scenario === 'healthy' ? 'no finding' : 'its own finding only'}`, async () => {
      const d = diagnose({ ...(await loadCapture(`${build}/${scenario}`)), sources: [], notes: [] })
      const expected = scenario.endsWith('-control') || scenario === 'healthy' ? [] : [scenario]
      assert.deepEqual(
        d.findings.map(f => f.id),
        expected,
      )
    })
  }
}
