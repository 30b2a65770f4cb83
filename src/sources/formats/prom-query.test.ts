import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { InputError } from '../../errors.ts'
import type { RawCapture } from '../capture.ts'
import { parsePromQuery } from './prom-query.ts'

// Answers of Debian's Prometheus 2.42 scraping testprograms/fleetfixture, saved as received.
const DIR = new URL('../../../testdata/prometheus/2.42/', import.meta.url)

function capture(
  text: string | Buffer,
  origin = 'http://prom:9090/api/v1/query_range',
): RawCapture {
  return { kind: 'prom-query', origin, atMs: 0, bytes: Buffer.from(text) }
}

function saved(file: string): RawCapture {
  return capture(readFileSync(new URL(file, DIR)))
}

test('reads a real matrix answer: labels, times in ms, string values as numbers', () => {
  const answer = parsePromQuery(saved('query-range-matrix.json'))
  assert.ok(answer.status === 'success')
  assert.equal(answer.series.length, 1)
  const [series] = answer.series
  assert.ok(series)
  assert.equal(series.metric.__name__, 'go_goroutines')
  assert.equal(series.metric.job, 'api')
  assert.deepEqual([...series.timesMs], [1795965185000, 1795965186000, 1795965187000])
  assert.deepEqual([...series.values], [8, 8, 8])
})

test('an empty result is a success with no series', () => {
  const answer = parsePromQuery(saved('query-range-empty.json'))
  assert.deepEqual(answer, { status: 'success', series: [], warnings: [] })
})

test("returns Prometheus's own error for a bad selector and for too many points", () => {
  assert.deepEqual(parsePromQuery(saved('query-range-bad-data.json')), {
    status: 'error',
    errorType: 'bad_data',
    error: '1:19: parse error: unexpected identifier "api" in label matching, expected string',
  })
  const points = parsePromQuery(saved('query-range-too-many-points.json'))
  assert.ok(points.status === 'error')
  assert.match(points.error, /exceeded maximum resolution of 11,000 points/)
})

test('reads NaN, +Inf, -Inf, exponents and millisecond timestamps', () => {
  const answer = parsePromQuery(
    capture(
      JSON.stringify({
        status: 'success',
        warnings: ['partial response'],
        data: {
          resultType: 'matrix',
          result: [
            {
              metric: { job: 'a' },
              values: [
                [1700000000.123, '1.073741824e+09'],
                [1700000001, 'NaN'],
                [1700000002, '+Inf'],
                [1700000003, '-Inf'],
              ],
            },
          ],
        },
      }).replace('"job"', '"__proto__":"x","job"'),
    ),
  )
  assert.ok(answer.status === 'success')
  const series = answer.series[0]
  assert.ok(series)
  assert.equal(series.timesMs[0], 1700000000123)
  assert.deepEqual([...series.values], [2 ** 30, Number.NaN, Infinity, -Infinity])
  assert.equal(Object.getPrototypeOf(series.metric), Object.prototype)
  assert.equal(Object.getOwnPropertyDescriptor(series.metric, '__proto__')?.value, 'x')
  assert.deepEqual(answer.warnings, ['partial response'])
})

test('names what is not a Prometheus API answer, in one line', () => {
  const cases: [string | Buffer, RegExp][] = [
    [
      readFileSync(new URL('not-found.txt', DIR)),
      /not JSON, so not a Prometheus API answer: "404 page not found/,
    ],
    [
      '<!DOCTYPE html><html><body>Grafana login</body></html>',
      /got HTML, not a Prometheus API answer/,
    ],
    ['', /empty, not a Prometheus API answer/],
    ['{"data":[]}', /without "status"/],
    [
      readFileSync(new URL('query-range-instant-vector.json', DIR)),
      /resultType "vector", expected a matrix/,
    ],
    [
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}}',
      /series 0: point 0 has value "2"/,
    ],
    [
      '{"status":"success","data":{"resultType":"matrix","result":[{"values":[]}]}}',
      /series 0: no "metric" labels/,
    ],
    [
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["1","2"]]}]}}',
      /point 0 is not \[unix seconds/,
    ],
  ]
  for (const [body, message] of cases) {
    assert.throws(
      () => parsePromQuery(capture(body)),
      (error: unknown) =>
        error instanceof InputError &&
        message.test(error.message) &&
        error.message.startsWith('http://prom:9090/api/v1/query_range: ') &&
        !error.message.includes('\n'),
      String(message),
    )
  }
})
