import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Diagnosis } from '../../model/diagnosis.ts'
import type { Finding, Severity } from '../../model/finding.ts'
import type { MemorySnapshot } from '../../model/snapshot.ts'
import type { FleetEntry, FleetRun } from '../fleet.ts'
import {
  FLEET_CHART_INSTANCES,
  FLEET_CHART_POINTS,
  FLEET_CHART_UNIT,
  FLEET_VIEW_VERSION,
  fleetGrid,
  rssTrend,
  toFleetView,
} from './fleet-view.ts'

const MiB = 2 ** 20
const WINDOW = { startMs: 0, endMs: 6 * 3600_000, stepMs: 30_000 }

function entry(instance: string, severity: Severity | undefined, rssMiB: number): FleetEntry {
  const findings: Finding[] = severity
    ? [
        {
          id: 'heap-growth',
          severity,
          confidence: 0.8,
          title: 'The live heap is growing',
          summary: 's',
          evidence: [{ label: 'HeapAlloc', value: 3 * MiB, unit: 'bytes', source: 'q' }],
          fixes: ['f'],
          bytesExplained: 0,
        },
      ]
    : []
  const diagnosis: Diagnosis = {
    target: { sources: [], goVersion: 'go1.21.0' },
    window: { startMs: 0, endMs: WINDOW.endMs, samples: 10 },
    rss: {
      rssBytes: rssMiB * MiB,
      slices: [{ key: 'unexplained', label: 'not explained', bytes: MiB, source: 'q' }],
    },
    findings,
    gaps: [],
    unjudged: [],
    verdict: findings[0]?.id ?? 'healthy',
    sources: [],
    notes: [],
    series: [],
  }
  return {
    instance,
    job: 'api',
    diagnosis,
    labels: { __name__: 'go_info', instance, job: 'api', pod: 'p-1' },
    rssTrend: [rssMiB * MiB, null],
  }
}

test('the fleet grid buckets a long window; each bucket keeps its highest RSS', () => {
  const grid = fleetGrid(WINDOW)
  assert.equal(grid.steps, 721)
  assert.equal(grid.buckets, FLEET_CHART_POINTS)
  assert.equal(grid.t[0], 0)
  const series: MemorySnapshot[] = Array.from({ length: 721 }, (_, i) => ({
    atMs: i * 30_000,
    status: { source: 's', vmRss: i === 400 ? 10 * 2 ** 30 : 100 * MiB },
  }))
  const trend = rssTrend(series, WINDOW)
  assert.equal(trend.length, FLEET_CHART_POINTS)
  assert.equal(Math.max(...trend.map(v => v ?? 0)), 10 * 2 ** 30, 'the spike survives')
  assert.ok(trend.every(v => v !== null))
  // Steps without a sample are gaps, not zeros.
  assert.deepEqual(
    rssTrend([], WINDOW).filter(v => v !== null),
    [],
  )
})

test('the fleet view is ranked worst first, with labels as data', () => {
  const run: FleetRun = {
    url: 'http://prom:9090',
    selector: '',
    range: '6h',
    window: WINDOW,
    queries: 46,
    entries: [
      entry('ok-1', undefined, 50),
      entry('<img src=x onerror=alert(1)>', 'critical', 10),
      entry('warn', 'warning', 500),
    ],
    gaps: [],
  }
  const view = toFleetView(run, { generatedAtMs: 0 })
  assert.deepEqual(
    view.instances.map(i => [i.rank, i.instance, i.verdict, i.severity]),
    [
      [1, '<img src=x onerror=alert(1)>', 'heap-growth', 'critical'],
      [2, 'warn', 'heap-growth', 'warning'],
      [3, 'ok-1', 'healthy', 'healthy'],
    ],
  )
  assert.deepEqual(view.counts, { critical: 1, warning: 1, info: 0, inconclusive: 0, healthy: 1 })
  assert.deepEqual(
    view.chart.lines.map(l => l.rank),
    [1, 2, 3],
  )
  assert.deepEqual(view.instances[0]?.labels, [
    { name: 'instance', value: '<img src=x onerror=alert(1)>' },
    { name: 'job', value: 'api' },
    { name: 'pod', value: 'p-1' },
  ])
  assert.equal(view.instances[0]?.findings[0]?.evidence[0]?.value, '3.00 MiB')
})

test('the chart holds every instance with an RSS series, by rank, in whole MiB that round-trip to bytes within half a MiB', () => {
  const { steps, buckets } = fleetGrid(WINDOW)
  // A deterministic spread of RSS values, from a few MiB to tens of GiB, with gaps.
  let seed = 12345
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const trends = Array.from({ length: 30 }, (_, k) =>
    Array.from({ length: buckets }, (_, b) =>
      b % 17 === k % 17 ? null : Math.floor(4 * MiB + next() * (k + 1) * 2 ** 30),
    ),
  )
  const entries = trends.map((trend, k) => ({
    ...entry(`i-${k}`, k < 10 ? 'warning' : undefined, 100 + k),
    rssTrend: trend,
  }))
  // One instance exports no RSS: it has no line.
  entries.push({ ...entry('no-rss', undefined, 1), rssTrend: Array(buckets).fill(null) })
  const run: FleetRun = {
    url: 'http://prom:9090',
    selector: '',
    range: '6h',
    window: WINDOW,
    queries: 46,
    entries,
    gaps: [],
  }
  const view = toFleetView(run, { generatedAtMs: 0 })
  assert.equal(view.version, FLEET_VIEW_VERSION)
  assert.deepEqual(view.chart.unit, { name: 'MiB', bytes: MiB })
  assert.equal(FLEET_CHART_UNIT.bytes, MiB)
  assert.equal(view.chart.drawn, FLEET_CHART_INSTANCES)
  assert.equal(view.chart.thinnedFrom, steps)
  // Every instance but the one without RSS, worst first, far more than the lines drawn at once.
  const noRss = view.instances.find(i => i.instance === 'no-rss')?.rank
  assert.deepEqual(
    view.chart.lines.map(l => l.rank),
    view.instances.map(i => i.rank).filter(rank => rank !== noRss),
  )
  assert.ok(view.chart.lines.length > FLEET_CHART_INSTANCES)
  for (const line of view.chart.lines) {
    const name = view.instances[line.rank - 1]?.instance ?? ''
    const trend = trends[Number(name.slice('i-'.length))]
    assert.ok(trend, name)
    assert.equal(line.values.length, view.chart.t.length)
    for (const [b, v] of line.values.entries()) {
      const bytes = trend[b] ?? null
      if (bytes === null) {
        assert.equal(v, null, `${name}[${b}]: a gap stays a gap`)
        continue
      }
      assert.ok(Number.isInteger(v), `${name}[${b}]: ${v} is a whole number of MiB`)
      assert.ok(Math.abs((v ?? 0) * view.chart.unit.bytes - bytes) <= MiB / 2, `${name}[${b}]`)
    }
  }
})
