import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fixture } from '../../test/helpers/format-fixtures.ts'
import { parseGoroutineLeak } from '../sources/formats/pprof-goroutineleak.ts'
import { leakedGoroutines } from './leaked-goroutines.ts'

const profile = (name: string) => parseGoroutineLeak(fixture('pprof-goroutineleak', name))

test("reads the leaked count at both edges and the largest group's wait from real profiles", () => {
  const first = profile('go1.27-leak-debug1.txt')
  const last = profile('go1.27-leak.pb.gz')
  const leaked = leakedGoroutines({ first, last, source: last.source })
  assert.equal(leaked.start, first.total)
  assert.equal(leaked.startSource, first.source)
  assert.equal(leaked.end, last.total)
  assert.equal(leaked.bucket?.site?.func, 'main.leakyWorker')
  // The proto keeps runtime.chanrecv1; debug=1 would only say "channel or select".
  assert.equal(leaked.waitReason, 'chan receive')
  assert.equal(
    leakedGoroutines({ last: first, source: first.source }).waitReason,
    'channel or select',
  )
})

test('none leaked: a count of 0, no group, no start when only the end was read', () => {
  const none = profile('go1.27-control.pb.gz')
  assert.deepEqual(leakedGoroutines({ last: none, source: 'x' }), { end: 0, source: 'x' })
})
