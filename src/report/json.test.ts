import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadRun } from '../../test/helpers/capture.ts'
import { diagnoseRun } from '../cli/commands/diagnose.ts'
import { toJsonReport } from './json.ts'

test('rss.split beside the breakdown: Go, non-Go and files, exact or not, why, and where from', async () => {
  const report = toJsonReport(diagnoseRun(await loadRun(`${GO119}/non-go-memory`)))
  assert.ok(report.rss?.split)
  const { split, breakdown, bytes } = report.rss
  assert.deepEqual(Object.keys(split).sort(), [
    'exact',
    'fileBytes',
    'goBytes',
    'method',
    'nonGoBytes',
    'reason',
    'source',
  ])
  assert.equal(split.exact, false)
  assert.equal(split.method, 'arenas')
  assert.equal(split.reason, 'go1.19.8 does not name its mappings (Go ≥ 1.25 does)')
  assert.match(split.source, /^\/proc\/\d+\/smaps, http:\/\/127\.0\.0\.1:\d+\/debug\/vars$/)
  // DESIGN's contract holds beside it: the breakdown still sums to RSS exactly.
  assert.equal(
    breakdown.reduce((sum, slice) => sum + slice.bytes, 0),
    bytes,
  )
  const nonGo = breakdown.find(slice => slice.key === 'non-go')
  assert.equal(nonGo?.bytes, split.nonGoBytes)
})
