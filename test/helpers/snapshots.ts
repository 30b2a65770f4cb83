import type { GoRuntimeMemory, MemorySnapshot } from '../../src/model/snapshot.ts'
import { MiB } from '../../src/model/units.ts'

/**
 * Synthetic snapshots, for threshold-edge cases only: every detector is also tested on real
 * captures (test/helpers/capture.ts). Values are MiB to keep tables readable.
 */
export interface SnapshotSpec {
  atMs?: number
  rss: number
  rssFile?: number
  lazyFree?: number
  runtime?: Partial<Record<keyof Omit<GoRuntimeMemory, 'source'>, number>>
}

export function snapshot(spec: SnapshotSpec): MemorySnapshot {
  const rssFile = (spec.rssFile ?? 10) * MiB
  const result: MemorySnapshot = {
    atMs: spec.atMs ?? 0,
    status: {
      source: '/proc/1/status',
      vmRss: spec.rss * MiB,
      rssAnon: spec.rss * MiB - rssFile,
      rssFile,
      rssShmem: 0,
    },
  }
  if (spec.lazyFree !== undefined) {
    result.rollup = {
      source: '/proc/1/smaps_rollup',
      rss: spec.rss * MiB,
      lazyFree: spec.lazyFree * MiB,
    }
  }
  if (spec.runtime) {
    const r = spec.runtime
    const mib = (v: number | undefined, fallback: number) => (v ?? fallback) * MiB
    const heapAlloc = mib(r.heapAlloc, 40)
    const heapInuse = mib(r.heapInuse, 48)
    const heapIdle = mib(r.heapIdle, 20)
    const heapReleased = mib(r.heapReleased, 10)
    const runtime: GoRuntimeMemory = {
      source: 'http://127.0.0.1:1/debug/vars',
      heapAlloc,
      heapInuse,
      heapIdle,
      heapReleased,
      heapSys: heapInuse + heapIdle,
      stackInuse: mib(r.stackInuse, 1),
      stackSys: mib(r.stackSys, 1),
      mSpanSys: mib(r.mSpanSys, 1),
      mCacheSys: mib(r.mCacheSys, 0),
      buckHashSys: mib(r.buckHashSys, 0),
      gcSys: mib(r.gcSys, 4),
      otherSys: mib(r.otherSys, 1),
      sys: 0,
      nextGC: mib(r.nextGC, 80),
      numGC: r.numGC ?? 10,
    }
    runtime.sys =
      runtime.heapSys +
      runtime.stackSys +
      runtime.mSpanSys +
      runtime.mCacheSys +
      runtime.buckHashSys +
      runtime.gcSys +
      runtime.otherSys
    result.runtime = runtime
  }
  return result
}
