import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseGoroutineText } from '../sources/formats/goroutine-text.ts'
import { bucketGoroutines, maskPointers } from './goroutine-buckets.ts'

const dir = 'testdata/formats/goroutines'
const read = (name: string) => parseGoroutineText(readFileSync(join(dir, name)), name)

test('puts the 300 leaked workers of a real dump in one bucket, first, at any-value', () => {
  const groups = bucketGoroutines(read('go1.19-debug2.txt'))
  const top = groups.buckets[0]
  assert.equal(top?.count, 300)
  assert.equal(top?.state, 'chan receive')
  assert.equal(top?.site?.func, 'main.leakyWorker')
  assert.equal(top?.createdBy?.func, 'main.main')
  assert.equal(top?.ids.length, 10)
  assert.equal(
    groups.total,
    groups.buckets.reduce((n, b) => n + b.count, 0),
  )
})

test('splits goroutines whose non-pointer arguments differ at exact and any-pointer, not at any-value', () => {
  const d = read('go1.19-debug2.txt')
  const workers = (level: 'exact' | 'any-pointer' | 'any-value') =>
    bucketGoroutines(d, level).buckets.filter(b => b.site?.func === 'main.leakyWorker').length
  // leakyWorker(id int, results chan<- int): the id differs, the channel pointer does not.
  assert.equal(workers('exact'), 300)
  assert.equal(workers('any-pointer'), 300)
  assert.equal(workers('any-value'), 1)
})

test('groups sync.Mutex waiters by their user function, not the runtime frames', () => {
  const groups = bucketGoroutines(read('go1.19-sigquit.log'))
  const lockers = groups.buckets.find(b => b.site?.func === 'main.locker')
  assert.equal(lockers?.state, 'semacquire')
  assert.equal(lockers?.frames[0]?.func, 'runtime.gopark')
})

test('carries the wait minutes range of a bucket', () => {
  const groups = bucketGoroutines(read('go1.19-debug2-waiting.txt'))
  const workers = groups.buckets.find(b => b.site?.func === 'main.leakyWorker')
  assert.deepEqual([workers?.count, workers?.minWaitMinutes, workers?.maxWaitMinutes], [40, 1, 1])
})

test('sums counts of aggregated debug=1 stacks', () => {
  const groups = bucketGoroutines(read('go1.19-debug1.txt'))
  assert.equal(groups.buckets[0]?.count, 300)
  assert.equal(groups.total, groups.declaredTotal)
})

test('keeps the state in the key and takes min and max minutes over the bucket', () => {
  const text = [
    'goroutine 1 [chan receive, 5 minutes]:',
    'main.w(0xc000010000)',
    '\t/m.go:1 +0x1',
    '',
    'goroutine 2 [chan receive, 9 minutes]:',
    'main.w(0xc000020000)',
    '\t/m.go:1 +0x1',
    '',
    'goroutine 3 [chan receive]:',
    'main.w(0xc000030000)',
    '\t/m.go:1 +0x1',
    '',
    'goroutine 4 [select]:',
    'main.w(0xc000030000)',
    '\t/m.go:1 +0x1',
    '',
  ].join('\n')
  const groups = bucketGoroutines(parseGoroutineText(Buffer.from(text), 'x'), 'any-pointer')
  assert.deepEqual(
    groups.buckets.map(b => [
      b.count,
      b.state,
      b.minWaitMinutes,
      b.maxWaitMinutes,
      b.frames[0]?.args,
    ]),
    [
      [3, 'chan receive', 0, 9, '*'],
      [1, 'select', 0, 0, '*'],
    ],
  )
})

test('masks only hex values large enough to be pointers', () => {
  assert.equal(maskPointers('0xc000012345, 0x5, {0x4b2c4e?, 0x2}'), '*, 0x5, {*?, 0x2}')
})

// How long this takes is bench/goroutines.bench.ts's business; here only the answer counts.
test('buckets 200k goroutines', () => {
  const block = (i: number) =>
    `goroutine ${i} [chan receive, ${i % 7} minutes]:\nmain.leak(0x${(0xc000000000 + i * 64).toString(16)}, 0x${(i % 3).toString(16)})\n\t/src/leak.go:42 +0x3a\ncreated by main.spawn\n\t/src/leak.go:30 +0x85\n\n`
  const parts: string[] = []
  for (let i = 1; i <= 200_000; i++) parts.push(block(i))
  const d = parseGoroutineText(Buffer.from(parts.join('')), 'big.txt')
  const groups = bucketGoroutines(d, 'any-pointer')
  assert.equal(groups.total, 200_000)
  assert.deepEqual(
    groups.buckets.map(b => b.count),
    [66667, 66667, 66666],
  )
  assert.deepEqual([groups.buckets[0]?.minWaitMinutes, groups.buckets[0]?.maxWaitMinutes], [0, 6])
})
