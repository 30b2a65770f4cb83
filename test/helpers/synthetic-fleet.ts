// A synthetic fleet for the scale test and the benchmark: N Go instances as client_golang's
// default registry exports them (go_memstats_*, go_gc_duration_seconds, go_goroutines, go_info,
// process_resident_memory_bytes), written as OpenMetrics and backfilled into TSDB blocks with
// `promtool tsdb create-blocks-from openmetrics`. The real-process tests prove the detectors;
// this proves the fleet path at scale, so the numbers only need MemStats' identities to hold
// (HeapSys = HeapInuse + HeapIdle, Sys = the sum of the *Sys) and a few planted instances:
//
//   index % 100 == 0  madv-free-retention: go1.15.15, 1 GiB released and still resident
//   index % 100 == 1  heap-growth: the live heap 48 → 144 MiB over the window
//   index % 100 == 2  restarted halfway: every counter starts again at 0
//   index % 100 == 3  only go_info, go_goroutines and process_resident_memory_bytes
//   index % 100 == 4  in Kubernetes, with cAdvisor's container_* series (limit 256 MiB)
//   the rest          healthy: a steady live heap of 24-88 MiB and its GC sawtooth
//
// Blocks are cached in build/synthetic-fleet/<parameters>/ (promtool takes about a minute for
// 1,000 instances × 6 h); Prometheus copies them into its own data directory.
import { execFile } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { PROMTOOL } from './prometheus.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MiB = 2 ** 20
/** Bump when the generated series change, so cached blocks are rebuilt. */
const GENERATOR_VERSION = 1
/** The fleet's data ends here (2026-01-01T00:00:00Z): fixed, so cached blocks stay valid. */
export const SYNTHETIC_END_S = 1_767_225_600

export interface SyntheticFleet {
  instances: number
  /** Points per series, stepS apart, the last at SYNTHETIC_END_S. */
  points: number
  stepS: number
}

export type Planted = 'madv' | 'leak' | 'restart' | 'partial' | 'k8s' | 'healthy'

export function plantedAt(index: number): Planted {
  return (['madv', 'leak', 'restart', 'partial', 'k8s'] as const)[index % 100] ?? 'healthy'
}

export function instanceName(index: number): string {
  return `10.1.${index >> 8}.${index & 255}:8080`
}

/** The blocks directory for this fleet, generated (and cached) on first use. */
export async function syntheticFleetBlocks(fleet: SyntheticFleet): Promise<string> {
  const dir = join(
    ROOT,
    'build',
    'synthetic-fleet',
    `v${GENERATOR_VERSION}-${fleet.instances}x${fleet.points}x${fleet.stepS}s`,
  )
  if (await stat(join(dir, 'done')).catch(() => undefined)) return join(dir, 'blocks')
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const text = join(dir, 'fleet.om')
  await writeOpenMetrics(fleet, text)
  const tmp = join(dir, 'blocks.tmp')
  await promisify(execFile)(
    PROMTOOL,
    ['tsdb', 'create-blocks-from', 'openmetrics', '-q', text, tmp],
    {
      maxBuffer: 16 * MiB,
    },
  )
  await rename(tmp, join(dir, 'blocks'))
  await rm(text)
  await promisify(execFile)('touch', [join(dir, 'done')])
  return join(dir, 'blocks')
}

interface Values {
  [name: string]: number
}

/** One instance's metrics at point k (of n): MemStats-consistent figures. */
function valuesAt(index: number, k: number, n: number, stepS: number): Values | undefined {
  const planted = plantedAt(index)
  const t = SYNTHETIC_END_S - (n - 1 - k) * stepS
  const half = Math.floor(n / 2)
  const live =
    planted === 'leak'
      ? Math.round(48 * MiB + (96 * MiB * k) / Math.max(1, n - 1))
      : (24 + (index % 65)) * MiB
  // HeapAlloc climbs from the live heap towards the goal between collections: a sawtooth.
  const garbage = Math.round(live * ((k * 0.37 + index * 0.11) % 1))
  const heapAlloc = live + garbage
  const heapInuse = heapAlloc + 2 * MiB
  const heapReleased = planted === 'madv' ? 1024 * MiB : 4 * MiB
  const heapIdle = heapReleased + 3 * MiB
  const heapSys = heapInuse + heapIdle
  const other = {
    go_memstats_stack_inuse_bytes: MiB,
    go_memstats_stack_sys_bytes: MiB,
    go_memstats_mspan_inuse_bytes: 600_000,
    go_memstats_mspan_sys_bytes: 655_360,
    go_memstats_mcache_inuse_bytes: 14_400,
    go_memstats_mcache_sys_bytes: 15_600,
    go_memstats_buck_hash_sys_bytes: 1_500_000,
    go_memstats_gc_sys_bytes: 8 * MiB,
    go_memstats_other_sys_bytes: MiB,
  }
  const sys = heapSys + Object.values(other).reduce((a, b) => a + b, 0)
  // A GC every step; a restart halfway sets every counter back.
  const sinceStart = planted === 'restart' && k >= half ? k - half : k + 1000
  const rss = sys - heapReleased + 10 * MiB + (planted === 'madv' ? 1000 * MiB : 0)
  const base: Values = {
    go_info: 1,
    go_goroutines: 40 + (index % 7),
    process_resident_memory_bytes: rss,
  }
  if (planted === 'partial') return base
  return {
    ...base,
    go_memstats_heap_alloc_bytes: heapAlloc,
    go_memstats_heap_sys_bytes: heapSys,
    go_memstats_heap_idle_bytes: heapIdle,
    go_memstats_heap_inuse_bytes: heapInuse,
    go_memstats_heap_released_bytes: heapReleased,
    go_memstats_heap_objects: Math.round(heapAlloc / 64),
    ...other,
    go_memstats_sys_bytes: sys,
    go_memstats_next_gc_bytes: 2 * live,
    go_memstats_last_gc_time_seconds: t - stepS / 2,
    go_gc_duration_seconds_count: sinceStart,
    ...(planted === 'k8s'
      ? {
          container_memory_usage_bytes: rss + 40 * MiB,
          container_memory_working_set_bytes: rss + 10 * MiB,
          container_memory_rss: rss,
          container_spec_memory_limit_bytes: 256 * MiB,
        }
      : {}),
  }
}

const TYPES: Record<string, string> = {
  go_gc_duration_seconds_count: '# TYPE go_gc_duration_seconds summary',
}

/** Writes the fleet as OpenMetrics, one family at a time (promtool wants families contiguous). */
async function writeOpenMetrics(fleet: SyntheticFleet, path: string): Promise<void> {
  const { instances, points, stepS } = fleet
  // Every value once, by metric name, then written family by family: NaN where absent.
  const names = Object.keys(valuesAt(4, 0, points, stepS) ?? {})
  const table = new Map(
    names.map(name => [name, new Float64Array(instances * points).fill(Number.NaN)]),
  )
  for (let i = 0; i < instances; i++) {
    for (let k = 0; k < points; k++) {
      const values = valuesAt(i, k, points, stepS) ?? {}
      for (const name in values) {
        const column = table.get(name)
        if (column) column[i * points + k] = values[name] as number
      }
    }
  }
  const out = createWriteStream(path)
  const write = (text: string) =>
    out.write(text) ? Promise.resolve() : new Promise<void>(resolve => out.once('drain', resolve))
  for (const [name, column] of table) {
    await write(`${TYPES[name] ?? `# TYPE ${name} gauge`}\n`)
    for (let i = 0; i < instances; i++) {
      const planted = plantedAt(i)
      const k8s = planted === 'k8s' ? `,namespace="shop",pod="api-${i}"` : ''
      const version = planted === 'madv' ? 'go1.15.15' : 'go1.20.14'
      const labels = name.startsWith('container_')
        ? `{job="kubelet",instance="node-${i % 8}",namespace="shop",pod="api-${i}",container="api",id="/kubepods/pod${i}/api"}`
        : `{job="api",instance="${instanceName(i)}"${k8s}${name === 'go_info' ? `,version="${version}"` : ''}}`
      const lines: string[] = []
      for (let k = 0; k < points; k++) {
        const value = column[i * points + k] as number
        if (Number.isNaN(value)) continue
        lines.push(`${name}${labels} ${value} ${SYNTHETIC_END_S - (points - 1 - k) * stepS}\n`)
      }
      await write(lines.join(''))
    }
  }
  await write('# EOF\n')
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  )
}
