import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FleetJson } from '../../src/report/fleet.ts'
import { RUNTIME_METRIC_NAMES } from '../../src/sources/formats/prom-text.ts'
import { CADVISOR_METRIC_NAMES } from '../../src/sources/transports/prometheus.ts'
import { runCli } from '../helpers/cli.ts'
import { type RunningPrometheus, startPrometheus } from '../helpers/prometheus.ts'
import {
  instanceName,
  type Planted,
  plantedAt,
  SYNTHETIC_END_S,
  syntheticFleetBlocks,
} from '../helpers/synthetic-fleet.ts'

// 1,000 instances × 30 min at 30 s, backfilled with promtool into a real Prometheus.
const INSTANCES = 1000
const ARGS = ['--range', '30m', '--step', '30s', '--end', String(SYNTHETIC_END_S), '--json']
let blocks: string
let prometheus: RunningPrometheus

before(async () => {
  blocks = await syntheticFleetBlocks({ instances: INSTANCES, points: 61, stepS: 30 })
  prometheus = await startPrometheus({ blocksFrom: blocks })
})
after(() => prometheus?.stop())

async function fleet(url: string): Promise<FleetJson> {
  const run = await runCli('fleet', '--prometheus', url, ...ARGS)
  assert.equal(run.code, 0, run.err)
  return JSON.parse(run.out) as FleetJson
}

const planted = new Map(
  Array.from({ length: INSTANCES }, (_, i) => [instanceName(i), plantedAt(i)] as const),
)
const kind = (instance: string): Planted => planted.get(instance) ?? 'healthy'

test('ranks 1,000 backfilled instances with one query per metric: the planted causes first', async () => {
  const report = await fleet(prometheus.url)
  assert.equal(report.instances.length, INSTANCES)
  assert.equal(
    report.source.queries,
    1 + RUNTIME_METRIC_NAMES.length + CADVISOR_METRIC_NAMES.length,
  )
  assert.deepEqual(
    report.gaps.map(g => g.signal).filter(s => s.startsWith('prometheus:')),
    [],
  )

  // The 10 MADV_FREE instances (go1.15: MADV_FREE by default) are critical and come first.
  const first = report.instances.slice(0, 10)
  assert.deepEqual(
    first.map(i => [kind(i.instance), i.verdict, i.findings[0]?.severity, i.goVersion]),
    Array(10).fill(['madv', 'madv-free-retention', 'critical', 'go1.15.15']),
  )
  const verdicts = new Map<Planted, Set<string>>()
  for (const instance of report.instances) {
    const set = verdicts.get(kind(instance.instance)) ?? new Set()
    set.add(instance.verdict)
    verdicts.set(kind(instance.instance), set)
  }
  assert.deepEqual([...(verdicts.get('leak') ?? [])], ['heap-growth'])
  assert.deepEqual([...(verdicts.get('healthy') ?? [])], ['healthy'])
  assert.deepEqual([...(verdicts.get('restart') ?? [])], ['healthy'])
  // The leaks rank right after the MADV_FREE instances.
  assert.deepEqual(
    new Set(report.instances.slice(10, 20).map(i => kind(i.instance))),
    new Set(['leak']),
  )

  for (const instance of report.instances) {
    const what = kind(instance.instance)
    if (what === 'restart') {
      assert.match(instance.notes.join(' '), /restarted once during the window/)
    }
    if (what === 'partial') {
      // Only go_info, go_goroutines and RSS: kept, its RSS shown, the runtime's detectors unjudged.
      assert.ok(instance.rss?.bytes, instance.instance)
      assert.ok(instance.unjudged.includes('heap-growth'))
      assert.ok(instance.gaps.some(g => g.signal === 'runtime.memstats'))
    }
    // cAdvisor's series joined by namespace and pod give a cgroup view to those only.
    assert.equal(instance.unjudged.includes('cgroup-limit-risk'), what !== 'k8s', instance.instance)
  }
})

test('answers over the server sample limit are split in time and give the same ranking', async () => {
  const limited = await startPrometheus({
    blocksFrom: blocks,
    args: ['--query.max-samples=20000'],
  })
  try {
    const [split, whole] = await Promise.all([fleet(limited.url), fleet(prometheus.url)])
    assert.ok(split.source.queries > whole.source.queries, `${split.source.queries} queries`)
    assert.deepEqual(split.gaps, whole.gaps)
    assert.deepEqual(
      split.instances.map(i => [i.instance, i.verdict, i.rss?.bytes]),
      whole.instances.map(i => [i.instance, i.verdict, i.rss?.bytes]),
    )
  } finally {
    await limited.stop()
  }
})
