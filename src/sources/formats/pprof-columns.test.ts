import assert from 'node:assert/strict'
import { test } from 'node:test'
import { f64, grow, u32 } from './pprof-columns.ts'

test('a column keeps every value pushed past its capacity, in order', () => {
  const column = f64(2)
  const values = [1.5, -2, 2 ** 53 - 1, 0, 7]
  for (const v of values) column.push(v)
  assert.deepEqual([...column.trimmed()], values)
  assert.ok(column.data.length >= values.length)
  const ids = u32(1)
  for (let i = 0; i < 1000; i++) ids.push(i * 3)
  assert.equal(ids.trimmed().length, 1000)
  assert.equal(ids.trimmed()[999], 2997)
})

test('grow keeps the contents and the element type, and never shrinks', () => {
  const array = Uint32Array.from([1, 2, 3])
  const grown = grow(array, 10)
  assert.ok(grown instanceof Uint32Array)
  assert.deepEqual([...grown.subarray(0, 3)], [1, 2, 3])
  assert.ok(grown.length >= 10)
  assert.equal(grow(array, 2), array)
})
