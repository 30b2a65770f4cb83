import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { TargetError, UsageError } from '../../errors.ts'
import { RUNTIME_METRIC_NAMES } from '../formats/prom-text.ts'
import {
  CADVISOR_METRIC_NAMES,
  fetchFleet,
  MAX_POINTS_PER_SERIES,
  planChunks,
  queryFor,
  selectorMatchers,
  windowFor,
} from './prometheus.ts'

test('chunks cover the grid exactly once, each within 11,000 points', () => {
  const window = { startMs: 0, endMs: 25_000 * 1000, stepMs: 1000 }
  for (const max of [1, 7, 10_000, 50_000]) {
    const chunks = planChunks(window, max)
    let expected = 0
    for (const chunk of chunks) {
      assert.equal(chunk.startMs, expected * 1000)
      const points = (chunk.endMs - chunk.startMs) / 1000 + 1
      assert.ok(points <= Math.min(max, MAX_POINTS_PER_SERIES), `${points} points with max ${max}`)
      expected += points
    }
    assert.equal(expected, 25_001)
  }
})

test('windows end on the step grid and cover the range', () => {
  assert.deepEqual(windowFor(6 * 3600_000, 30_000, 1_700_000_012_345), {
    startMs: 1_700_000_010_000 - 6 * 3600_000,
    endMs: 1_700_000_010_000,
    stepMs: 30_000,
  })
})

test('selectors are matchers in braces; the cAdvisor query keeps the selected pods only', () => {
  assert.equal(selectorMatchers(undefined), '')
  assert.equal(selectorMatchers(' {job="api"} '), 'job="api"')
  assert.throws(() => selectorMatchers('job="api"'), UsageError)
  assert.equal(queryFor('go_goroutines', 'job="api"'), 'go_goroutines{job="api"}')
  assert.equal(queryFor('go_goroutines', ''), 'go_goroutines')
  assert.equal(
    queryFor('container_memory_rss', 'job="api"'),
    'container_memory_rss{container!="",container!="POD"} and on (namespace, pod) go_info{job="api"}',
  )
})

/** A stand-in server: `answer` decides each query_range's reply from the PromQL. */
async function fakePrometheus(
  answer: (query: string, params: URLSearchParams, res: ServerResponse) => void,
  t: { after(fn: () => unknown): void },
): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    answer(url.searchParams.get('query') ?? '', url.searchParams, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function matrix(res: ServerResponse, params: URLSearchParams, instances: number): void {
  const start = Number(params.get('start'))
  const end = Number(params.get('end'))
  const step = Number(params.get('step'))
  const result = Array.from({ length: instances }, (_, i) => ({
    metric: { job: 'api', instance: `i${i}` },
    values: Array.from({ length: Math.round((end - start) / step) + 1 }, (_, k) => [
      start + k * step,
      String(k),
    ]),
  }))
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }))
}

const WINDOW = { startMs: 1_700_000_000_000, endMs: 1_700_000_099_000, stepMs: 1000 }
const ALL = RUNTIME_METRIC_NAMES.length + CADVISOR_METRIC_NAMES.length + 1

test('one query per metric for the whole fleet; a failed metric is a gap naming it, the rest is read', async t => {
  const url = await fakePrometheus((query, params, res) => {
    if (query.startsWith('go_goroutines')) {
      res.statusCode = 503
      res.end(
        '{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}',
      )
    } else if (query.startsWith('go_memstats_heap_idle_bytes')) {
      // Never answers: the client's timeout ends it.
    } else matrix(res, params, 3)
  }, t)
  const fetched = await fetchFleet(url, '{job="api"}', WINDOW, { timeoutMs: 500 })
  assert.equal(fetched.requests, ALL)
  assert.equal(fetched.byName.get('go_memstats_heap_alloc_bytes')?.length, 3)
  const values = fetched.byName.get('go_memstats_heap_alloc_bytes')?.[0]?.values
  assert.deepEqual([values?.[0], values?.[99]], [0, 99])
  assert.deepEqual(
    fetched.gaps.map(gap => [gap.signal, gap.reason.slice(0, 40), gap.cost]).sort(),
    [
      [
        'prometheus:go_goroutines',
        'Prometheus answered timeout (HTTP 503): ',
        'go_goroutines is missing over the whole window',
      ],
      [
        'prometheus:go_memstats_heap_idle_bytes',
        'no answer within 500 ms',
        'go_memstats_heap_idle_bytes is missing over the whole window',
      ],
    ],
  )
})

test('an answer over the server sample limit is split in time and read whole', async t => {
  const asked: string[] = []
  const url = await fakePrometheus((query, params, res) => {
    const points =
      (Number(params.get('end')) - Number(params.get('start'))) / Number(params.get('step')) + 1
    if (query.startsWith('go_memstats_sys_bytes')) asked.push(`${points}`)
    if (query.startsWith('go_memstats_sys_bytes') && points > 30) {
      res.statusCode = 422
      res.end(
        '{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}',
      )
    } else matrix(res, params, 2)
  }, t)
  const fetched = await fetchFleet(url, undefined, WINDOW, { timeoutMs: 2000 })
  assert.deepEqual(fetched.gaps, [])
  assert.deepEqual(asked, ['100', '50', '25', '25', '50', '25', '25'])
  const values = fetched.byName.get('go_memstats_sys_bytes')?.[1]?.values
  assert.equal(values?.length, 100)
  assert.ok(
    values?.every((v, k) => Number.isFinite(v) && v <= k),
    'every point filled once',
  )
})

test('the chunk size follows the instance count go_info reports', async t => {
  const starts = new Set<string>()
  const url = await fakePrometheus((query, params, res) => {
    if (query === 'go_goroutines') starts.add(params.get('start') ?? '')
    matrix(res, params, 10)
  }, t)
  const fetched = await fetchFleet(url, undefined, WINDOW, {
    timeoutMs: 2000,
    maxPointsPerQuery: 250,
  })
  assert.equal(starts.size, 4, '10 series × 100 points in answers of at most 250 points')
  assert.equal(fetched.byName.get('go_goroutines')?.[9]?.values[99], 24)
})

test("a bad selector is a usage error with Prometheus's words; a web page or a 404 is not Prometheus", async t => {
  const bad = await fakePrometheus((_q, _p, res) => {
    res.statusCode = 400
    res.end(
      '{"status":"error","errorType":"bad_data","error":"1:19: parse error: unexpected identifier \\"api\\""}',
    )
  }, t)
  await assert.rejects(
    fetchFleet(bad, '{job=api}', WINDOW, { timeoutMs: 1000 }),
    (error: unknown) =>
      error instanceof UsageError &&
      /rejected the query go_info\{job=api\}: 1:19: parse error/.test(error.message),
  )
  const html = await fakePrometheus((_q, _p, res) => {
    res.setHeader('content-type', 'text/html')
    res.end('<!doctype html><title>Grafana</title>')
  }, t)
  await assert.rejects(
    fetchFleet(html, undefined, WINDOW, { timeoutMs: 1000 }),
    (error: unknown) =>
      error instanceof TargetError &&
      /is not a Prometheus HTTP API \(HTTP 200 .*got HTML/.test(error.message),
  )
  const missing = await fakePrometheus((_q, _p, res) => {
    res.statusCode = 404
    res.end('404 page not found\n')
  }, t)
  await assert.rejects(
    fetchFleet(missing, undefined, WINDOW, { timeoutMs: 1000 }),
    (error: unknown) =>
      error instanceof TargetError && /not a Prometheus HTTP API \(HTTP 404/.test(error.message),
  )
})
