import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadRun } from '../../../test/helpers/capture.ts'
import { buildProfile } from '../../../test/helpers/profile-builder.ts'
import { heapProfilesOf } from '../../cli/html-report.ts'
import { flameView } from './flame.ts'

test('the icicle shows only the sites that grew, laid out in preorder under their callers', () => {
  const first = buildProfile([
    { stack: ['main.cache', 'main.handle', 'main.main'], values: [100] },
    { stack: ['main.temp', 'main.handle', 'main.main'], values: [500] },
  ])
  const last = buildProfile([
    { stack: ['main.cache', 'main.handle', 'main.main'], values: [900] },
    { stack: ['main.temp', 'main.handle', 'main.main'], values: [100] },
    { stack: ['example.com/x/pkg.(*T).Grow', 'main.main'], values: [300] },
  ])
  const flame = flameView({ first, last, source: 'heap' })
  assert.ok(flame)
  assert.equal(flame.total, 800 + 300)
  const rows = flame.depth.map(
    (d, i) => `${d}:${flame.names[flame.name[i] ?? 0]}:${flame.value[i]}`,
  )
  assert.deepEqual(rows, [
    '0:all:1100',
    '1:main.main:1100',
    '2:main.handle:800',
    '3:main.cache:800',
    '2:example.com/x/pkg.(*T).Grow:300',
  ])
  assert.ok(flame.shortNames.includes('pkg.(*T).Grow'))
  assert.deepEqual(
    flame.top.map(r => r.name),
    ['main.cache', 'example.com/x/pkg.(*T).Grow'],
  )
})

test('with nothing grown, the icicle shows where the heap is at the end of the window', async () => {
  const run = await loadRun(`${GO119}/cgroup-limit-risk`)
  const profiles = heapProfilesOf(run.captures)
  assert.ok(profiles?.first)
  const flame = flameView(profiles)
  assert.ok(flame)
  assert.match(flame.title, /^in-use heap bytes/)
  assert.ok(flame.names.includes('main.allocSpike'))
})
