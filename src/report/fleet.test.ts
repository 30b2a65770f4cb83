import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Diagnosis } from '../model/diagnosis.ts'
import type { Finding, Severity } from '../model/finding.ts'
import {
  type FleetEntry,
  type FleetRun,
  rankFleet,
  renderFleetTable,
  toFleetJson,
} from './fleet.ts'

const MiB = 2 ** 20

function entry(
  instance: string,
  severity: Severity | undefined,
  unexplained?: number,
  rss = 100 * MiB,
  unjudged: Diagnosis['unjudged'] = [],
): FleetEntry {
  const findings: Finding[] = severity
    ? [
        {
          id: 'heap-growth',
          severity,
          confidence: 0.8,
          title: 'The live heap is growing',
          summary: '',
          evidence: [],
          fixes: [],
          bytesExplained: 0,
        },
      ]
    : []
  const diagnosis: Diagnosis = {
    target: { sources: [], goVersion: 'go1.19.8' },
    window: { startMs: 0, endMs: 1000, samples: 2 },
    findings,
    gaps: [{ signal: 'os.lazyFree', reason: 'r', cost: 'c' }],
    unjudged,
    verdict: findings[0]?.id ?? (unjudged.length > 0 ? 'inconclusive' : 'healthy'),
    sources: [],
    notes: [],
    series: [],
  }
  if (unexplained !== undefined) {
    diagnosis.rss = {
      rssBytes: rss,
      slices: [{ key: 'unexplained', label: 'not explained', bytes: unexplained, source: '' }],
    }
  }
  return { instance, job: 'api', diagnosis }
}

test('ranks by severity, then unexplained bytes, then RSS; unknown RSS last within its severity', () => {
  const ranked = rankFleet([
    entry('healthy-big', undefined, 500 * MiB),
    entry('warning-small', 'warning', 1 * MiB),
    entry('critical', 'critical', 0),
    entry('warning-big', 'warning', 300 * MiB),
    entry('warning-unknown', 'warning'),
    entry('healthy-small', undefined, 1 * MiB),
  ])
  assert.deepEqual(
    ranked.map(e => e.instance),
    ['critical', 'warning-big', 'warning-small', 'warning-unknown', 'healthy-big', 'healthy-small'],
  )
})

test('an inconclusive instance ranks below every finding and above the healthy ones', () => {
  const ranked = rankFleet([
    entry('healthy', undefined, 900 * MiB),
    entry('unjudged', undefined, 1 * MiB, 100 * MiB, ['heap-growth']),
    entry('info', 'info', 0),
  ])
  assert.deepEqual(
    ranked.map(e => [e.instance, e.diagnosis.verdict]),
    [
      ['info', 'heap-growth'],
      ['unjudged', 'inconclusive'],
      ['healthy', 'healthy'],
    ],
  )
  const json = toFleetJson({
    url: 'http://prom:9090',
    selector: '',
    range: '30s',
    window: { startMs: 0, endMs: 30_000, stepMs: 1000 },
    queries: 46,
    entries: ranked,
    gaps: [],
  })
  assert.deepEqual(json.instances[1]?.unjudged, ['heap-growth'])
  assert.equal(json.instances[1]?.verdict, 'inconclusive')
})

test('the JSON document follows the contract; fleet-wide gaps are not repeated per instance', () => {
  const run: FleetRun = {
    url: 'http://prom:9090',
    selector: '{job="api"}',
    range: '6h',
    window: { startMs: 0, endMs: 21_600_000, stepMs: 30_000 },
    queries: 46,
    entries: [entry('a', undefined, MiB), entry('b', 'critical', 2 * MiB)],
    gaps: [{ signal: 'os.lazyFree', reason: 'r', cost: 'c' }],
  }
  const json = toFleetJson(run)
  assert.deepEqual(json.source, {
    url: 'http://prom:9090',
    selector: '{job="api"}',
    range: '6h',
    start: '1970-01-01T00:00:00.000Z',
    end: '1970-01-01T06:00:00.000Z',
    step: '30s',
    queries: 46,
  })
  assert.deepEqual(
    json.instances.map(i => [i.instance, i.verdict, i.rss, i.gaps.length]),
    [
      ['b', 'heap-growth', { bytes: 100 * MiB, unexplained: 2 * MiB }, 0],
      ['a', 'healthy', { bytes: 100 * MiB, unexplained: MiB }, 0],
    ],
  )
  const table = renderFleetTable(run, { color: false, width: 100 }).split('\n')
  assert.match(
    table[4] ?? '',
    /^b +api +go1\.19\.8 +heap-growth +100 MiB +2\.00 MiB +CRITICAL The live heap/,
  )
  assert.match(table[5] ?? '', /^a +api +go1\.19\.8 +healthy +100 MiB +1\.00 MiB$/)
})
