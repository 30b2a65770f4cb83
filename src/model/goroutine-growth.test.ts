import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseGoroutineText } from '../sources/formats/goroutine-text.ts'
import { parsePprof } from '../sources/formats/pprof.ts'
import { bucketGoroutines } from './goroutine-buckets.ts'
import { growingGroup, waitReasonOf } from './goroutine-growth.ts'
import { type GoroutineDump, goroutinesFromProfile } from './goroutines.ts'

const fixture = (name: string) => `testdata/formats/${name}`
const text = (name: string) => parseGoroutineText(readFileSync(fixture(`goroutines/${name}`)), name)
const siteBucket = (dump: GoroutineDump, func: string) => {
  const bucket = bucketGoroutines(dump).buckets.find(b => b.site?.func === func)
  assert.ok(bucket, func)
  return bucket
}
/** The dump without the first `n` goroutines parked in `func` (all of them when n is omitted). */
const without = (dump: GoroutineDump, func: string, n = Number.POSITIVE_INFINITY) => {
  let dropped = 0
  return {
    ...dump,
    records: dump.records.filter(r => {
      const parked = dump.frames[r.frames[0] ?? -1]?.func === func
      return !(parked && dropped++ < n)
    }),
  }
}

test('reads the wait reason from the proto profile, ?debug=2 and ?debug=1 (real go1.19 dumps)', () => {
  const proto = goroutinesFromProfile(
    parsePprof(readFileSync(fixture('pprof/go1.19-goroutine.pb.gz')), 'goroutine.pb.gz'),
  )
  const reason = (dump: GoroutineDump, func: string) =>
    waitReasonOf(siteBucket(dump, func), dump.form)
  assert.equal(reason(proto, 'main.leakyWorker'), 'chan receive')
  assert.equal(reason(proto, 'main.selecter'), 'select')
  assert.equal(reason(proto, 'main.locker'), 'semacquire (sync.(*Mutex).Lock)')
  assert.equal(reason(proto, 'main.sleeper'), 'sleep')
  const debug2 = text('go1.19-debug2.txt')
  assert.equal(reason(debug2, 'main.leakyWorker'), 'chan receive')
  const debug1 = text('go1.19-debug1.txt')
  assert.equal(debug1.form, 'debug=1')
  assert.equal(reason(debug1, 'main.leakyWorker'), 'channel or select')
  assert.equal(reason(debug1, 'main.locker'), 'semacquire (sync.(*Mutex).Lock)')
  assert.equal(reason(debug1, 'main.sleeper'), 'sleep')
})

test('names the group that grew most, with its counts in the first and the last dump', () => {
  // The first dump is the real one with 30 of its 40 leaked workers taken out.
  const last = text('go1.19-debug2-waiting.txt')
  const first = without(last, 'main.leakyWorker', 30)
  const group = growingGroup({ first, last, source: 'dump' })
  assert.equal(group?.bucket.site?.func, 'main.leakyWorker')
  assert.deepEqual(
    [group?.start, group?.end, group?.waitReason, group?.form, group?.source],
    [10, 40, 'chan receive', 'debug=2', 'dump'],
  )
})

test('counts a group absent from the first dump from 0', () => {
  const last = text('go1.19-debug2-waiting.txt')
  const group = growingGroup({ first: without(last, 'main.leakyWorker'), last, source: 'dump' })
  assert.equal(group?.bucket.site?.func, 'main.leakyWorker')
  assert.deepEqual([group?.start, group?.end], [0, 40])
})

test('names no group without a first dump, or when no group grew', () => {
  const last = text('go1.19-debug2-waiting.txt')
  assert.equal(growingGroup(undefined), undefined)
  assert.equal(growingGroup({ last, source: 'dump' }), undefined)
  assert.equal(growingGroup({ first: last, last, source: 'dump' }), undefined)
})

test('adds up a group started from two places: its count is every goroutine parked there', () => {
  // The real dump's 40 leaked workers, half of them said to be created elsewhere.
  const real = text('go1.19-debug2-waiting.txt')
  const creators = new Set(real.records.map(r => r.createdBy))
  const elsewhere = real.frames.findIndex((_, i) => !creators.has(i))
  let flipped = 0
  const last: GoroutineDump = {
    ...real,
    records: real.records.map(r =>
      real.frames[r.frames[0] ?? -1]?.func === 'main.leakyWorker' && flipped++ % 2 === 0
        ? { ...r, createdBy: elsewhere }
        : r,
    ),
  }
  assert.ok(
    bucketGoroutines(last).buckets.filter(b => b.site?.func === 'main.leakyWorker').length >= 2,
  )
  const group = growingGroup({ first: without(last, 'main.leakyWorker', 30), last, source: 'dump' })
  assert.equal(group?.bucket.site?.func, 'main.leakyWorker')
  assert.deepEqual([group?.start, group?.end], [10, 40])
})
