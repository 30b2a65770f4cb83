import { messageOf } from '../errors.ts'
import type { Gap } from '../model/finding.ts'
import type { CgroupMemory, MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import { runtimeFromValues } from './formats/prom-text.ts'
import type { GridSeries, PromWindow } from './transports/prometheus.ts'

/**
 * From a Prometheus server's series to the snapshot series the detectors read: the same
 * MemorySnapshot a live run builds, one per step of the window. Pure. client_golang's names go
 * through prom-text's mapping (runtimeFromValues), so /metrics and Prometheus agree by
 * construction; process_resident_memory_bytes becomes VmRSS; cAdvisor's container metrics, where
 * present, become the memory cgroup.
 */

/** One Go process as Prometheus knows it: its job and instance labels, and its metrics. */
export interface PromInstance {
  instance: string
  job: string
  /** The labels of its first go_* series (namespace, pod … under Kubernetes). */
  labels: Record<string, string>
  /** Metric name → values on the window's grid, NaN where there was no point. */
  columns: Map<string, Float64Array>
  /** go_info's version at the last point it was seen. */
  goVersion?: string
  /** Every version go_info showed, oldest first: more than one is a redeploy in the window. */
  goVersions: string[]
  /** The cAdvisor container joined to it, by namespace, pod and container. */
  container?: { namespace: string; pod: string; container: string }
  gaps: Gap[]
}

export interface AssembledInstance {
  target: TargetFacts
  series: MemorySnapshot[]
  gaps: Gap[]
  notes: string[]
  sources: string[]
}

/**
 * What no Prometheus series carries, whatever the fleet: the same for every instance, so the
 * fleet report states them once.
 */
export const PROMETHEUS_GAPS: readonly Gap[] = [
  {
    signal: 'os.lazyFree',
    reason: 'Prometheus has no /proc/PID/smaps_rollup',
    cost: 'MADV_FREE pages are inferred from RSS and HeapReleased, at lower confidence',
  },
  {
    signal: 'os.rssSplit',
    reason:
      'process_resident_memory_bytes is RSS as one figure, without its anonymous and file parts',
    cost: 'file-backed and non-Go memory cannot be told apart',
  },
  {
    signal: 'os.anonHugePages',
    reason: 'Prometheus has no /proc/PID/smaps_rollup',
    cost: 'huge pages backing the heap cannot be seen',
  },
  {
    signal: 'target.godebug',
    reason: "the process's environment is not in Prometheus",
    cost: 'GODEBUG (madvdontneed, …) is unknown',
  },
  {
    signal: 'profile.heap',
    reason: 'Prometheus holds no heap profiles',
    cost: 'heap-growth cannot name the allocation sites',
  },
]

const RUNTIME_PREFIXES = ['go_', 'process_']

/**
 * Groups the fleet's series by (job, instance): one PromInstance per process that exports at
 * least one go_* metric. Several series of one metric for one instance (a relabelling leftover,
 * a restarted container) are merged point by point; if they disagree, the first wins and a gap
 * says so.
 */
export function groupInstances(byName: ReadonlyMap<string, readonly GridSeries[]>): PromInstance[] {
  const instances = new Map<string, PromInstance>()
  const keyOf = (labels: Record<string, string>) =>
    `${labels.job ?? ''}\u0000${labels.instance ?? ''}`
  for (const [name, list] of byName) {
    if (!name.startsWith('go_')) continue
    for (const series of list) {
      const key = keyOf(series.labels)
      if (!instances.has(key)) {
        instances.set(key, {
          instance: series.labels.instance ?? '',
          job: series.labels.job ?? '',
          labels: series.labels,
          columns: new Map(),
          goVersions: [],
          gaps: [],
        })
      }
    }
  }
  for (const [name, list] of byName) {
    if (!RUNTIME_PREFIXES.some(prefix => name.startsWith(prefix))) continue
    for (const series of list) {
      const found = instances.get(keyOf(series.labels))
      if (!found) continue
      if (name === 'go_info') addVersion(found, series)
      merge(found, name, series.values)
    }
  }
  joinContainers([...instances.values()], byName)
  return [...instances.values()]
}

/** go_info{version}: the version of the series seen last wins. */
function addVersion(instance: PromInstance, series: GridSeries): void {
  const version = series.labels.version
  if (!version) return
  const lastIndex = lastPresent(series.values)
  if (lastIndex < 0) return
  if (!instance.goVersions.includes(version)) instance.goVersions.push(version)
  const current = instance.columns.get('go_info')
  if (!current || lastIndex >= lastPresent(current)) instance.goVersion = version
}

function merge(instance: PromInstance, name: string, values: Float64Array): void {
  const current = instance.columns.get(name)
  if (!current) {
    instance.columns.set(name, values)
    return
  }
  let conflicts = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    if (Number.isNaN(v)) continue
    if (Number.isNaN(current[i] as number)) current[i] = v
    else if (current[i] !== v && name !== 'go_info') conflicts++
  }
  if (conflicts > 0) {
    instance.gaps.push({
      signal: `prometheus:${name}`,
      reason: `several series of ${name} for this instance disagree at ${conflicts} points`,
      cost: 'the first series was used; check relabelling (two targets with one instance label?)',
    })
  }
}

/**
 * cAdvisor labels containers by namespace, pod and container. A Go process scraped in
 * Kubernetes has namespace and pod labels, and container when the scrape config adds it;
 * without it, the pod must have exactly one container, or which one is the Go process is unknown.
 */
function joinContainers(
  instances: PromInstance[],
  byName: ReadonlyMap<string, readonly GridSeries[]>,
): void {
  const pods = new Map<string, Map<string, Map<string, Float64Array>>>()
  for (const [name, list] of byName) {
    if (!name.startsWith('container_')) continue
    for (const series of list) {
      const { namespace, pod, container } = series.labels
      if (!namespace || !pod || !container) continue
      const podKey = `${namespace}/${pod}`
      const containers = pods.get(podKey) ?? new Map<string, Map<string, Float64Array>>()
      pods.set(podKey, containers)
      const columns = containers.get(container) ?? new Map<string, Float64Array>()
      containers.set(container, columns)
      const current = columns.get(name)
      if (!current) columns.set(name, Float64Array.from(series.values))
      else {
        // A restarted container is a new series (new id and name labels): fill its points in.
        for (let i = 0; i < series.values.length; i++) {
          if (Number.isNaN(current[i] as number)) current[i] = series.values[i] as number
        }
      }
    }
  }
  for (const instance of instances) {
    const { namespace, pod, container } = instance.labels
    if (!namespace || !pod) continue
    const containers = pods.get(`${namespace}/${pod}`)
    if (!containers) continue
    const names = [...containers.keys()]
    const chosen = container ?? (names.length === 1 ? names[0] : undefined)
    const columns = chosen === undefined ? undefined : containers.get(chosen)
    if (chosen === undefined || !columns) {
      instance.gaps.push({
        signal: 'cgroup.memory',
        reason: `pod ${namespace}/${pod} has containers ${names.sort().join(', ')} and this process's series carry no container label`,
        cost: "the container's memory and limit were not joined",
      })
      continue
    }
    instance.container = { namespace, pod, container: chosen }
    for (const [name, values] of columns) instance.columns.set(name, values)
  }
}

function lastPresent(values: Float64Array): number {
  for (let i = values.length - 1; i >= 0; i--) if (!Number.isNaN(values[i] as number)) return i
  return -1
}

/** A limit this large is cgroup v1's "unlimited" (PAGE_COUNTER_MAX pages) as cAdvisor reports it. */
const UNLIMITED = 2 ** 62

/**
 * One instance's snapshots, oldest first: a snapshot for every step where any of its metrics
 * had a point. `url` is the Prometheus server, named in every source.
 */
export function assembleInstance(
  instance: PromInstance,
  window: PromWindow,
  url: string,
): AssembledInstance {
  const who = `instance=${JSON.stringify(instance.instance)},job=${JSON.stringify(instance.job)}`
  const has = (name: string) => instance.columns.has(name)
  const runtimeFamily = has('go_memstats_heap_alloc_bytes')
    ? 'go_memstats_*'
    : 'go_memory_classes_*'
  const runtimeSource = `${url} ${runtimeFamily}{${who}}`
  const rssSource = `${url} process_resident_memory_bytes{${who}}`
  const c = instance.container
  const cgroupSource = c
    ? `${url} container_memory_*{namespace=${JSON.stringify(c.namespace)},pod=${JSON.stringify(c.pod)},container=${JSON.stringify(c.container)}}`
    : ''
  const gaps: Gap[] = [...instance.gaps]
  const notes: string[] = []
  const series: MemorySnapshot[] = []
  const columns = [...instance.columns.entries()]
  const points = Math.round((window.endMs - window.startMs) / window.stepMs) + 1
  let badValue: string | undefined
  let incomplete: string[] | undefined
  let withRuntime = 0
  let restarts = 0
  let lastNumGC: number | undefined
  for (let i = 0; i < points; i++) {
    if (!columns.some(([name, values]) => name !== 'go_info' && !Number.isNaN(values[i] as number)))
      continue
    const at = (name: string) => {
      const v = instance.columns.get(name)?.[i]
      return v === undefined || Number.isNaN(v) ? undefined : v
    }
    const snapshot: MemorySnapshot = { atMs: window.startMs + i * window.stepMs }
    try {
      const view = runtimeFromValues(at, runtimeSource)
      if (view.runtime) {
        snapshot.runtime = view.runtime
        withRuntime++
        // A counter going back is a restart: client_golang's counters start again at 0.
        if (lastNumGC !== undefined && view.runtime.numGC < lastNumGC) restarts++
        lastNumGC = view.runtime.numGC
      } else if (view.missing) incomplete = view.missing
      if (view.goroutines !== undefined)
        snapshot.goroutines = { count: view.goroutines, source: runtimeSource }
      if (view.rssBytes !== undefined) snapshot.status = { source: rssSource, vmRss: view.rssBytes }
    } catch (error) {
      badValue ??= messageOf(error)
    }
    const cgroup = cgroupAt(at, cgroupSource)
    if (cgroup) snapshot.cgroup = cgroup
    series.push(snapshot)
  }
  if (badValue) {
    gaps.push({ signal: 'runtime.memstats', reason: badValue, cost: 'those steps were left out' })
  }
  const exportsRuntime = columns.some(
    ([name]) => name.startsWith('go_memstats_') || name.startsWith('go_memory_classes_'),
  )
  if (withRuntime === 0) {
    gaps.push({
      signal: 'runtime.memstats',
      reason: exportsRuntime
        ? `no step had all of the runtime's figures (missing ${listOf(incomplete ?? [])})`
        : 'this instance exports no go_memstats_* or go_memory_classes_* metrics',
      cost: "the Go runtime's view is absent",
    })
  }
  if (!has('process_resident_memory_bytes')) {
    gaps.push({
      signal: 'os.rss',
      reason: 'this instance exports no process_resident_memory_bytes',
      cost: 'RSS is unknown, so nothing can be said about memory outside the Go heap',
    })
  }
  if (!c && !gaps.some(gap => gap.signal === 'cgroup.memory')) {
    gaps.push({
      signal: 'cgroup.memory',
      reason:
        "no cAdvisor container_memory_* series for this instance's pod (outside Kubernetes, or its series have no namespace and pod labels)",
      cost: 'the container limit is unknown',
    })
  }
  if (restarts > 0) {
    notes.push(
      `restarted ${restarts === 1 ? 'once' : `${restarts} times`} during the window (the GC count went back): growth is judged since the last start`,
    )
  }
  if (instance.goVersions.length > 1) {
    notes.push(`Go version changed during the window: ${instance.goVersions.join(' → ')}`)
  }
  const target: TargetFacts = { sources: [`${url} go_info{${who}}`], godebugUnknown: true }
  if (instance.goVersion) {
    target.goVersion = instance.goVersion
    target.goVersionSource = `${url} go_info{${who}}`
  }
  const sources = [`${url}/api/v1/query_range`]
  return { target, series, gaps, notes, sources }
}

function listOf(names: readonly string[]): string {
  if (names.length <= 4) return names.join(', ')
  return `${names.slice(0, 4).join(', ')} and ${names.length - 4} more`
}

/** cAdvisor's figures at one step; cAdvisor does not say which cgroup version it read. */
function cgroupAt(
  at: (name: string) => number | undefined,
  source: string,
): CgroupMemory | undefined {
  if (source === '') return undefined
  const usage = at('container_memory_usage_bytes')
  if (usage === undefined) return undefined
  const cgroup: CgroupMemory = { source, usage }
  const limit = at('container_spec_memory_limit_bytes')
  if (limit !== undefined && limit > 0 && limit < UNLIMITED) cgroup.limit = limit
  const anon = at('container_memory_rss')
  if (anon !== undefined) cgroup.anon = anon
  // cAdvisor's working set is usage − inactive_file (clamped at 0).
  const workingSet = at('container_memory_working_set_bytes')
  if (workingSet !== undefined) cgroup.inactiveFile = Math.max(0, usage - workingSet)
  const ooms = at('container_oom_events_total')
  if (ooms !== undefined) cgroup.oomKills = ooms
  return cgroup
}
