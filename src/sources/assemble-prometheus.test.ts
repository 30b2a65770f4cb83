import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assembleInstance, groupInstances } from './assemble-prometheus.ts'
import type { GridSeries, PromWindow } from './transports/prometheus.ts'

const MiB = 2 ** 20
const WINDOW: PromWindow = { startMs: 1_700_000_000_000, endMs: 1_700_000_003_000, stepMs: 1000 }
const URL = 'http://prom:9090'

/** A series on WINDOW's 4-point grid; undefined points are absent (NaN). */
function grid(labels: Record<string, string>, values: (number | undefined)[]): GridSeries {
  return { labels, values: Float64Array.from(values, v => v ?? Number.NaN) }
}

const API = { job: 'api', instance: 'a:8080' }

/** client_golang's go_memstats_* for one steady process, with these overrides. */
function memstats(labels: Record<string, string>, over: Record<string, number> = {}) {
  const figures: Record<string, number> = {
    go_memstats_heap_alloc_bytes: 40 * MiB,
    go_memstats_heap_sys_bytes: 60 * MiB,
    go_memstats_heap_idle_bytes: 18 * MiB,
    go_memstats_heap_inuse_bytes: 42 * MiB,
    go_memstats_heap_released_bytes: 16 * MiB,
    go_memstats_stack_inuse_bytes: MiB,
    go_memstats_stack_sys_bytes: MiB,
    go_memstats_mspan_sys_bytes: 655_360,
    go_memstats_mcache_sys_bytes: 15_600,
    go_memstats_buck_hash_sys_bytes: 1_500_000,
    go_memstats_gc_sys_bytes: 8 * MiB,
    go_memstats_other_sys_bytes: MiB,
    go_memstats_sys_bytes: 72 * MiB,
    go_memstats_next_gc_bytes: 80 * MiB,
    go_gc_duration_seconds_count: 10,
    go_goroutines: 12,
    process_resident_memory_bytes: 70 * MiB,
    ...over,
  }
  return new Map<string, GridSeries[]>(
    Object.entries(figures).map(([name, v]) => [name, [grid(labels, [v, v, v, v])]]),
  )
}

test('builds the same runtime view as /metrics: memstats, goroutines, RSS, go_info version', () => {
  const byName = memstats(API)
  byName.set('go_info', [grid({ ...API, version: 'go1.19.8' }, [1, 1, 1, 1])])
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  assert.equal(instance.goVersion, 'go1.19.8')
  const built = assembleInstance(instance, WINDOW, URL)
  assert.equal(built.series.length, 4)
  const last = built.series.at(-1)
  assert.equal(last?.atMs, WINDOW.endMs)
  assert.equal(last?.runtime?.heapReleased, 16 * MiB)
  assert.equal(last?.runtime?.numGC, 10)
  assert.equal(last?.goroutines?.count, 12)
  assert.equal(last?.status?.vmRss, 70 * MiB)
  assert.equal(
    last?.status?.source,
    'http://prom:9090 process_resident_memory_bytes{instance="a:8080",job="api"}',
  )
  assert.equal(built.target.goVersion, 'go1.19.8')
  assert.equal(built.target.godebugUnknown, true, 'GODEBUG is unknown, not unset')
  assert.ok(built.gaps.some(gap => gap.signal === 'cgroup.memory'))
})

test('reads go_memory_classes_* when go_memstats_* is absent, to the same figures', () => {
  const classes: Record<string, number> = {
    heap_objects: 40 * MiB,
    heap_unused: 2 * MiB,
    heap_released: 16 * MiB,
    heap_free: 2 * MiB,
    heap_stacks: MiB,
    os_stacks: 0,
    metadata_mspan_inuse: 600_000,
    metadata_mspan_free: 55_360,
    metadata_mcache_inuse: 14_400,
    metadata_mcache_free: 1_200,
    profiling_buckets: 1_500_000,
    metadata_other: 8 * MiB,
    other: MiB,
    total: 72 * MiB,
  }
  const byName = new Map<string, GridSeries[]>(
    Object.entries(classes).map(([c, v]) => [
      `go_memory_classes_${c}_bytes`,
      [grid(API, [v, v, v, v])],
    ]),
  )
  byName.set('go_gc_heap_goal_bytes', [grid(API, [80 * MiB, 80 * MiB, 80 * MiB, 80 * MiB])])
  byName.set('go_gc_cycles_total_gc_cycles_total', [grid(API, [10, 10, 10, 10])])
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  const runtime = assembleInstance(instance, WINDOW, URL).series[0]?.runtime
  assert.equal(runtime?.heapAlloc, 40 * MiB)
  assert.equal(runtime?.heapInuse, 42 * MiB)
  assert.equal(runtime?.heapIdle, 18 * MiB)
  assert.equal(runtime?.mSpanSys, 655_360)
  assert.match(runtime?.source ?? '', /go_memory_classes_\*\{instance="a:8080",job="api"\}$/)
})

test('a counter going back is a restart, noted; the steps where an instance was absent are skipped', () => {
  const byName = memstats(API)
  byName.set('go_gc_duration_seconds_count', [grid(API, [10, 11, 0, 1])])
  byName.set('process_resident_memory_bytes', [
    grid(API, [undefined, 70 * MiB, 70 * MiB, 70 * MiB]),
  ])
  for (const [name, [series]] of byName) {
    if (series && name !== 'process_resident_memory_bytes') series.values[0] = Number.NaN
  }
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  const built = assembleInstance(instance, WINDOW, URL)
  assert.equal(built.series.length, 3)
  assert.match(built.notes.join(' '), /restarted once during the window/)
})

test('an instance with only some metrics is kept, and its gaps say what is missing', () => {
  const byName = new Map<string, GridSeries[]>([
    ['go_info', [grid({ ...API, version: 'go1.21.0' }, [1, 1, 1, 1])]],
    ['go_goroutines', [grid(API, [5, 5, 5, 5])]],
    ['go_memstats_heap_alloc_bytes', [grid(API, [MiB, MiB, MiB, MiB])]],
  ])
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  const built = assembleInstance(instance, WINDOW, URL)
  assert.equal(built.series.length, 4)
  assert.equal(built.series[0]?.runtime, undefined)
  assert.equal(built.series[0]?.goroutines?.count, 5)
  const runtimeGap = built.gaps.find(gap => gap.signal === 'runtime.memstats')
  assert.match(runtimeGap?.reason ?? '', /missing go_memstats_heap_sys_bytes/)
  assert.ok(built.gaps.some(gap => gap.signal === 'os.rss'))
})

test('process_* series of a process without go_* metrics are not an instance', () => {
  const byName = memstats(API)
  byName.set('process_resident_memory_bytes', [
    grid(API, [1, 1, 1, 1]),
    grid({ job: 'python', instance: 'p:9000' }, [MiB, MiB, MiB, MiB]),
  ])
  assert.deepEqual(
    groupInstances(byName).map(i => i.instance),
    ['a:8080'],
  )
})

test('two series of one metric for one instance are merged; disagreement is a gap', () => {
  const byName = memstats(API)
  byName.set('go_goroutines', [
    grid({ ...API, pod: 'x' }, [1, 2, undefined, undefined]),
    grid({ ...API, pod: 'y' }, [9, undefined, 3, 4]),
  ])
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  assert.deepEqual([...(instance.columns.get('go_goroutines') ?? [])], [1, 2, 3, 4])
  assert.match(
    instance.gaps[0]?.reason ?? '',
    /several series of go_goroutines .* disagree at 1 points/,
  )
})

test("joins cAdvisor's container to the pod's Go process: usage, limit, anon, inactive file", () => {
  const pod = { ...API, namespace: 'shop', pod: 'api-0' }
  const byName = memstats(pod)
  const container = {
    job: 'kubelet',
    instance: 'node-1',
    namespace: 'shop',
    pod: 'api-0',
    container: 'api',
  }
  byName.set('container_memory_usage_bytes', [
    grid(container, [200 * MiB, 200 * MiB, 200 * MiB, 200 * MiB]),
  ])
  byName.set('container_memory_working_set_bytes', [
    grid(container, [150 * MiB, 150 * MiB, 150 * MiB, 150 * MiB]),
  ])
  byName.set('container_memory_rss', [
    grid(container, [100 * MiB, 100 * MiB, 100 * MiB, 100 * MiB]),
  ])
  byName.set('container_spec_memory_limit_bytes', [
    grid(container, [256 * MiB, 256 * MiB, 256 * MiB, 256 * MiB]),
  ])
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  const cgroup = assembleInstance(instance, WINDOW, URL).series[0]?.cgroup
  assert.deepEqual(
    { ...cgroup, source: undefined },
    {
      source: undefined,
      usage: 200 * MiB,
      limit: 256 * MiB,
      anon: 100 * MiB,
      inactiveFile: 50 * MiB,
    },
  )
  assert.match(
    cgroup?.source ?? '',
    /container_memory_\*\{namespace="shop",pod="api-0",container="api"\}/,
  )

  // A second container in the pod, and the Go series carry no container label: not joined.
  byName.set('container_memory_usage_bytes', [
    grid(container, [200 * MiB, 200 * MiB, 200 * MiB, 200 * MiB]),
    grid({ ...container, container: 'sidecar' }, [MiB, MiB, MiB, MiB]),
  ])
  const [ambiguous] = groupInstances(byName)
  assert.ok(ambiguous)
  assert.equal(assembleInstance(ambiguous, WINDOW, URL).series[0]?.cgroup, undefined)
  assert.match(ambiguous.gaps[0]?.reason ?? '', /has containers api, sidecar/)
})

test('an impossible value (negative bytes) leaves its steps out and says so', () => {
  const byName = memstats(API)
  byName.set('go_memstats_heap_alloc_bytes', [grid(API, [MiB, -1, MiB, MiB])])
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  const built = assembleInstance(instance, WINDOW, URL)
  assert.equal(built.series.filter(s => s.runtime).length, 3)
  assert.match(
    built.gaps.find(g => g.signal === 'runtime.memstats')?.reason ?? '',
    /heap_alloc_bytes is -1/,
  )
})

test("today's client_golang gauges reach the snapshots: GOGC and GOMEMLIMIT in effect, the live heap", () => {
  const byName = memstats(API, {
    go_gc_gogc_percent: 400,
    go_gc_gomemlimit_bytes: 2 ** 63,
    go_gc_heap_live_bytes: 30 * MiB,
  })
  const [instance] = groupInstances(byName)
  assert.ok(instance)
  const last = assembleInstance(instance, WINDOW, URL).series.at(-1)?.runtime
  assert.equal(last?.gogcPercent, 400)
  assert.equal(last?.memoryLimit, 2 ** 63)
  assert.equal(last?.heapLive, 30 * MiB)
  // Older client_golang exports none of them: absent, not zero.
  const [old] = groupInstances(memstats(API))
  assert.ok(old)
  const runtime = assembleInstance(old, WINDOW, URL).series.at(-1)?.runtime
  assert.deepEqual(
    [runtime?.gogcPercent, runtime?.memoryLimit, runtime?.heapLive],
    [undefined, undefined, undefined],
  )
})
