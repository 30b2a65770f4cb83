import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadRun } from '../../test/helpers/capture.ts'
import { namedMappingsCapture } from '../../test/helpers/named-mappings.ts'
import { diagnoseRun } from '../cli/commands/diagnose.ts'
import type { Diagnosis } from '../model/diagnosis.ts'
import { breakdownRss } from '../model/rss-breakdown.ts'
import { formatBytes } from '../model/units.ts'
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

const rssBlock = (d: Diagnosis) => {
  const lines = renderTerminal(d, { width: 100, color: false }).split('\n')
  const at = lines.findIndex(line => line.startsWith('RSS '))
  return lines.slice(at, at + 3)
}

test('under RSS, the Go/non-Go split and whether it is exact, with the reason', async () => {
  const estimated = rssBlock(diagnoseRun(await loadRun('go1.26-linux6.18/non-go-memory')))
  assert.match(estimated[0] ?? '', /^RSS 307 MiB$/)
  assert.match(
    `${estimated[1]} ${estimated[2]?.trim()}`,
    /^ {2}Go \S+ MiB · non-Go 295 MiB · files \S+ MiB, estimated \(heap arenas measured\): Linux 6\.18\S* keeps no names for anonymous memory \(no CONFIG_ANON_VMA_NAME\)$/,
  )
  const capture = namedMappingsCapture('go1.26.8-vm-named')
  const rss = breakdownRss(capture.snapshot, capture)
  assert.ok(rss)
  const exact = rssBlock({ ...quiet([]), rss })
  const { split } = rss
  assert.ok(split)
  assert.equal(
    exact[1],
    `  Go ${formatBytes(split.goBytes)} · non-Go ${formatBytes(split.nonGoBytes)} · files ${formatBytes(split.fileBytes)}, exact: Go names its mappings ([anon: Go: …])`,
  )
})
