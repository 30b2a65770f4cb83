import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture } from '../../test/helpers/capture.ts'
import { namedMappingsCapture } from '../../test/helpers/named-mappings.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import { breakdownRss } from './rss-breakdown.ts'
import { MiB } from './units.ts'

const sum = (slices: { bytes: number }[]) => slices.reduce((a, s) => a + s.bytes, 0)

test('splits RSS into Go classes, LazyFree, files and the unexplained rest, summing to RSS', () => {
  const s = snapshot({
    rss: 1200,
    rssFile: 20,
    lazyFree: 900,
    runtime: {
      heapAlloc: 100,
      heapInuse: 110,
      heapIdle: 1000,
      heapReleased: 960,
      stackInuse: 2,
      stackSys: 2,
    },
  })
  const breakdown = breakdownRss(s)
  assert.ok(breakdown)
  assert.equal(sum(breakdown.slices), 1200 * MiB)
  const byKey = Object.fromEntries(breakdown.slices.map(x => [x.key, x.bytes / MiB]))
  assert.equal(byKey['live-heap'], 100)
  assert.equal(byKey['heap-fragmentation'], 10)
  assert.equal(byKey['idle-heap'], 40)
  assert.equal(byKey['released-resident'], 900)
  assert.equal(byKey['file-backed'], 20)
  // 1200 − (100 + 10 + 40 + 900 + 2 + 6 metadata + 20) = 122 left for non-Go memory.
  assert.equal(byKey.unexplained, 122)
})

test('names Go memory that is mapped but not resident instead of a negative unexplained slice', () => {
  const s = snapshot({
    rss: 60,
    rssFile: 10,
    runtime: { heapAlloc: 40, heapInuse: 48, heapIdle: 20, heapReleased: 0 },
  })
  const breakdown = breakdownRss(s)
  assert.ok(breakdown)
  assert.equal(sum(breakdown.slices), 60 * MiB)
  const notResident = breakdown.slices.find(x => x.key === 'go-not-resident')
  assert.ok(notResident && notResident.bytes < 0)
  assert.ok((breakdown.slices.find(x => x.key === 'unexplained')?.bytes ?? -1) >= 0)
})

test('says which slices cannot be separated without the runtime view', () => {
  const breakdown = breakdownRss(snapshot({ rss: 500, rssFile: 30, lazyFree: 300 }))
  assert.ok(breakdown?.unseparated?.includes('--url'))
  assert.ok(breakdown)
  assert.deepEqual(
    breakdown.slices.map(s => [s.key, s.bytes / MiB]),
    [
      ['released-resident', 300],
      ['file-backed', 30],
      ['anonymous', 170],
    ],
  )
})

const bytesOf = (breakdown: { slices: { key: string; bytes: number }[] }, key: string) =>
  breakdown.slices.filter(s => s.key === key).reduce((a, s) => a + s.bytes, 0)

test('captured go1.26.8 with names: Go classes, non-Go and files from smaps, summing to VmRSS', () => {
  for (const run of ['go1.26.8-vm-named', 'go1.26.8-vm-named-madvdontneed0'] as const) {
    const capture = namedMappingsCapture(run)
    const breakdown = breakdownRss(capture.snapshot, capture)
    assert.ok(breakdown?.split?.exact, run)
    assert.equal(sum(breakdown.slices), capture.snapshot.status?.vmRss, run)
    const { split } = breakdown
    assert.equal(bytesOf(breakdown, 'non-go'), split.nonGoBytes)
    assert.equal(bytesOf(breakdown, 'file-backed'), split.fileBytes)
    // VmRSS was read after smaps: what changed in between (the reads' own buffers) is all that
    // is left, not the estimate's "not explained".
    const smapsTotal = capture.mappings.mappings.reduce((a, m) => a + m.rss, 0)
    const drift = breakdown.slices.filter(s => s.key === 'unexplained')
    assert.equal(sum(drift), (capture.snapshot.status?.vmRss ?? 0) - smapsTotal)
    assert.ok(drift.every(s => s.label === 'changed between reads'))
    // Go's classes (MemStats) and the difference to what Go's named mappings hold are Go's bytes.
    const go = breakdown.slices.filter(
      s => !['non-go', 'file-backed', 'unexplained'].includes(s.key),
    )
    assert.equal(sum(go), split.goBytes, run)
  }
})

test("this machine's captures (no names): the heap arenas measured, the rest estimated", async () => {
  for (const name of [`${GO119}/non-go-memory`, 'go1.26-line1.24-linux6.18/non-go-memory']) {
    const input = await loadCapture(name)
    const last = input.series.at(-1)
    assert.ok(last && input.mappings)
    const breakdown = breakdownRss(last, { mappings: input.mappings.last, target: input.target })
    assert.ok(breakdown?.split)
    assert.equal(breakdown.split.method, 'arenas')
    assert.equal(sum(breakdown.slices), last.status?.vmRss, name)
    assert.ok(bytesOf(breakdown, 'non-go') > 200 * MiB, name)
    // Without smaps, the same sample gives the runtime estimate and its 'not explained' slice.
    const estimate = breakdownRss(last)
    assert.equal(estimate?.split?.method, 'runtime')
    assert.ok(estimate && bytesOf(estimate, 'non-go') === 0 && bytesOf(estimate, 'unexplained') > 0)
    assert.equal(sum(estimate.slices), last.status?.vmRss)
  }
})

test("huge pages refilling Go's released heap are Go's, not 'not explained'", async () => {
  const input = await loadCapture('go1.26-linux6.18/thp-bloat')
  const last = input.series.at(-1)
  assert.ok(last && input.mappings)
  const breakdown = breakdownRss(last, { mappings: input.mappings.last, target: input.target })
  assert.ok(breakdown)
  assert.ok(bytesOf(breakdown, 'go-uncounted') > 512 * MiB, 'in the arenas, beyond what Go keeps')
  assert.ok(bytesOf(breakdown, 'non-go') < 32 * MiB)
  assert.equal(sum(breakdown.slices), last.status?.vmRss)
})

test('named mappings without the runtime view: Go as one slice, non-Go and files measured', () => {
  const capture = namedMappingsCapture('go1.26.8-vm-named-madvdontneed0')
  const { runtime: _runtime, ...snapshot } = capture.snapshot
  const breakdown = breakdownRss(snapshot, capture)
  assert.ok(breakdown?.split?.exact)
  assert.equal(sum(breakdown.slices), snapshot.status?.vmRss)
  assert.ok(bytesOf(breakdown, 'released-resident') > 200 * MiB)
  assert.equal(
    bytesOf(breakdown, 'released-resident') + bytesOf(breakdown, 'go-uncounted'),
    breakdown.split.goBytes,
  )
  assert.match(breakdown.unseparated ?? '', /--url/)
})
