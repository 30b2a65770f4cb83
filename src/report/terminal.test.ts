import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Diagnosis } from '../model/diagnosis.ts'
import { renderTerminal } from './terminal.ts'

const quiet = (unjudged: Diagnosis['unjudged']): Diagnosis => ({
  target: { pid: 4242, sources: [] },
  window: { startMs: 0, endMs: 30_000, samples: 31 },
  findings: [],
  gaps: [],
  unjudged,
  verdict: 'healthy',
  sources: [],
  notes: [],
  series: [],
})

const lastLine = (d: Diagnosis) =>
  renderTerminal(d, { width: 100, color: false }).trimEnd().split('\n').at(-1)

test('healthy only when every detector could judge; otherwise it says how many could not', () => {
  assert.equal(lastLine(quiet([])), 'verdict: healthy')
  assert.equal(
    lastLine(quiet(['madv-free-retention', 'thp-bloat'])),
    'verdict: no finding (2 of 10 detectors could not judge)',
  )
})
