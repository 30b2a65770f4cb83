import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { CaptureKind, RawCapture } from './capture.ts'
import { FOLLOW_UP_READS, followUpPlan, gcClockOf } from './gc-follow-ups.ts'

function formatFile(kind: CaptureKind, path: string, atMs = 5000): RawCapture {
  const url = new URL(`../../testdata/formats/${path}`, import.meta.url)
  return { kind, origin: 'http://127.0.0.1:6060/x', atMs, bytes: readFileSync(url) }
}

test('reads the GC clock of memstats and of a /metrics without GOGC, at the request time', () => {
  const expvar = gcClockOf(formatFile('expvar', 'expvar/go1.19.8.json'))
  assert.equal(expvar?.atMs, 5000)
  assert.ok(expvar && Number.isInteger(expvar.numGC) && expvar.numGC > 0)
  const metrics = gcClockOf(
    formatFile('prom-text', 'prom-text/go1.19.8-client_golang1.14.0-default.txt'),
  )
  assert.equal(metrics?.numGC, 5, 'go_gc_duration_seconds_count')
})

test('no clock where the runtime reports GOGC itself, or the view does not parse', () => {
  // client_golang 1.25 on Go 1.26 serves go_gc_gogc_percent: nothing left to measure.
  const reported = formatFile('prom-text', 'prom-text/go1.26.8-client_golang1.25.0-default.txt')
  assert.equal(gcClockOf(reported), undefined)
  const html = { ...reported, kind: 'expvar' as const, bytes: Buffer.from('<html>login</html>') }
  assert.equal(gcClockOf(html), undefined)
})

test('follows up only when the last two ticks saw two or more collections', () => {
  const at = (atMs: number, numGC: number) => ({ atMs, numGC })
  assert.equal(followUpPlan(at(0, 10), at(1000, 10), 1000), undefined, 'no collection')
  assert.equal(followUpPlan(at(0, 10), at(1000, 11), 1000), undefined, 'one: ticks suffice')
  assert.equal(followUpPlan(at(1000, 10), at(1000, 14), 1000), undefined, 'no time between')
  // Four 0.25 s cycles a second: a read every 62.5 ms, six of them in 375 ms.
  assert.deepEqual(followUpPlan(at(0, 10), at(1000, 14), 1000), {
    gapMs: 62.5,
    reads: FOLLOW_UP_READS,
  })
  // Two 0.5 s cycles: 125 ms apart, as many as fit in half the interval.
  assert.deepEqual(followUpPlan(at(0, 10), at(1000, 12), 1000), { gapMs: 125, reads: 4 })
  // A thrashing collector: never closer than 10 ms.
  assert.deepEqual(followUpPlan(at(0, 0), at(1000, 1000), 1000), { gapMs: 10, reads: 6 })
  // Ticks 5 s apart (a slow answer) over two collections: 2.5 s cycles, longer than the interval.
  assert.equal(followUpPlan(at(0, 0), at(5000, 2), 1000), undefined)
})
