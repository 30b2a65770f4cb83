import assert from 'node:assert/strict'
import { test } from 'node:test'
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
