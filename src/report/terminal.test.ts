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
  verdict: unjudged.length > 0 ? 'inconclusive' : 'healthy',
  sources: [],
  notes: [],
  series: [],
})

const lastLine = (d: Diagnosis) =>
  renderTerminal(d, { width: 100, color: false }).trimEnd().split('\n').at(-1)

test('healthy only when every detector could judge; otherwise inconclusive, saying how many could not', () => {
  assert.equal(lastLine(quiet([])), 'verdict: healthy')
  assert.equal(
    lastLine(quiet(['madv-free-retention', 'thp-bloat'])),
    'verdict: inconclusive (2 of 10 detectors could not judge)',
  )
  const text = renderTerminal(quiet(['thp-bloat']), { width: 100, color: false })
  assert.match(text, /^INCONCLUSIVE no finding, but thp-bloat could not be judged/m)
  assert.doesNotMatch(text, /HEALTHY/)
})
