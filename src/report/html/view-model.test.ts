import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadRun } from '../../../test/helpers/capture.ts'
import { diagnoseRun } from '../../cli/commands/diagnose.ts'
import type { MemorySnapshot } from '../../model/snapshot.ts'
import { MAX_POINTS, RSS_KEYS, thin, toReportView } from './view-model.ts'

test('the view of a real MADV_FREE run carries the LazyFree slice in every sample drawn', async () => {
  const run = await loadRun(`${GO119}/madv-free-retention`)
  const view = toReportView(diagnoseRun(run), { mode: 'report', generatedAtMs: 0 })
  assert.equal(view.verdict.id, 'madv-free-retention')
  const lazy = RSS_KEYS.findIndex(k => k.key === 'released-resident')
  const column = view.series.rss[lazy] ?? []
  assert.equal(column.length, run.captures.ticks.length)
  assert.ok(
    column.every(v => v !== null && v > 0),
    JSON.stringify(column),
  )
  // Evidence values are formatted for people; sources stay as read.
  const evidence = view.findings[0]?.evidence ?? []
  assert.ok(evidence.some(e => /[KMG]iB$/.test(e.value)))
  assert.ok(evidence.some(e => e.source.includes('smaps_rollup')))
})

test("the page's verdict is the JSON's: inconclusive when a real run's detectors could not all judge", async () => {
  // The healthy capture, replayed without its /proc view: what needs /proc cannot judge.
  const run = await loadRun(`${GO119}/healthy`)
  const judged = toReportView(diagnoseRun(run), { mode: 'report', generatedAtMs: 0 })
  assert.deepEqual(judged.verdict, {
    id: 'healthy',
    severity: 'healthy',
    text: 'no memory problem found in this window',
  })
  const withoutProc = {
    ...run,
    captures: {
      ...run.captures,
      ticks: run.captures.ticks.map(t => ({
        ...t,
        captures: t.captures.filter(c => !c.kind.startsWith('proc-') && c.kind !== 'smaps-rollup'),
      })),
    },
  }
  const diagnosis = diagnoseRun(withoutProc)
  assert.equal(diagnosis.verdict, 'inconclusive')
  const view = toReportView(diagnosis, { mode: 'report', generatedAtMs: 0 })
  assert.equal(view.verdict.id, 'inconclusive')
  assert.equal(view.verdict.severity, 'unjudged')
  assert.match(view.verdict.text, /^no finding, but .*file-mapped.* could not be judged$/)
})

test('a long window is thinned to at most MAX_POINTS, keeping every step and peak', () => {
  const n = 86_400
  const snapshots: MemorySnapshot[] = Array.from({ length: n }, (_, i) => ({
    atMs: i * 1000,
    // A sawtooth with one narrow spike: thinning must keep the spike's top.
    status: { source: 's', vmRss: (i % 600) * 1000 + (i === 43_210 ? 10 ** 9 : 0) },
  }))
  const kept = thin(snapshots, MAX_POINTS)
  assert.ok(kept.length <= MAX_POINTS + 1, String(kept.length))
  assert.ok(kept.includes(43_210), 'the spike is drawn')
  assert.equal(kept.at(-1), n - 1, 'the last sample is drawn')
  assert.deepEqual(
    [...kept].sort((a, b) => a - b),
    kept,
    'in time order',
  )
})

test('the breakdown card carries the Go/non-Go split, exact or estimated, and why', async () => {
  const view = toReportView(diagnoseRun(await loadRun('go1.26-line1.24-linux6.18/non-go-memory')), {
    mode: 'report',
    generatedAtMs: 0,
  })
  const split = view.rss?.split
  assert.ok(split)
  assert.equal(split.exact, false)
  assert.equal(split.how, 'estimated (heap arenas measured)')
  assert.match(split.reason, /DefaultGODEBUG has decoratemappings=0/)
  assert.match(split.text, /^Go \S+ \S+ · non-Go \S+ MiB · files \S+ MiB$/)
  assert.match(split.source, /smaps.*debug\/vars/)
})
