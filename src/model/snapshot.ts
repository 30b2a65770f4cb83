/**
 * One instant of the target as the kernel, its memory cgroup and the Go runtime saw it.
 * Every part names the place it was read from, so evidence can cite it. Bytes unless noted.
 * Parts are optional: what could not be read is absent, and a Gap says why.
 */
export interface MemorySnapshot {
  /** Unix milliseconds when this tick started. */
  atMs: number
  status?: ProcStatus
  rollup?: SmapsRollup
  cgroup?: CgroupMemory
  runtime?: GoRuntimeMemory
  /**
   * More reads of the runtime view, right after `runtime`, taken when GC cycles are shorter than
   * the interval (collect.ts, followFastGc): for gcCycles({ followUps }), which measures the heap
   * after GC from a cycle read twice.
   */
  runtimeFollowUps?: GoRuntimeMemory[]
  /** Goroutine count: /metrics' go_goroutines, or the /debug/pprof/ index (no stop-the-world). */
  goroutines?: { count: number; source: string }
}

/** /proc/PID/status: cheap to read, no page-table walk. Kernel names, camelCased; kB read as KiB. */
export interface ProcStatus {
  source: string
  vmRss: number
  /** RssAnon, RssFile, RssShmem exist since Linux 4.5; VmRSS is their sum. */
  rssAnon?: number
  rssFile?: number
  rssShmem?: number
  vmHwm?: number
  vmSwap?: number
  threads?: number
  /** The process name (Name:), at most 15 characters. */
  name?: string
}

/** /proc/PID/smaps_rollup (Linux ≥ 4.14): the sum of every mapping's smaps lines. */
export interface SmapsRollup {
  source: string
  rss: number
  pss?: number
  anonymous?: number
  /** Pages freed with MADV_FREE that the kernel has not reclaimed yet; still counted in Rss. */
  lazyFree?: number
  anonHugePages?: number
  swap?: number
}

/** The memory cgroup the process lives in (v1 or v2), at this instant. */
export interface CgroupMemory {
  source: string
  /** Absent when the source does not say (cAdvisor's metrics are the same for both). */
  version?: 1 | 2
  /** memory.usage_in_bytes (v1) or memory.current (v2). */
  usage: number
  /** memory.limit_in_bytes (v1) or memory.max (v2); absent when unlimited. */
  limit?: number
  /** Anonymous memory: total_rss (v1) or anon (v2). */
  anon?: number
  /** Page cache: total_cache (v1) or file (v2). */
  file?: number
  /** Reclaimable first under pressure; MADV_FREE pages are accounted here too. */
  inactiveFile?: number
  activeFile?: number
  /** Times usage hit the limit: memory.failcnt (v1) or events `max` (v2). */
  limitHits?: number
  /** OOM kills in this cgroup: oom_control `oom_kill` (v1, Linux ≥ 4.13) or events `oom_kill` (v2). */
  oomKills?: number
}

/**
 * runtime.MemStats as the target reports it (expvar, /metrics, or the heap profile's trailer),
 * camelCased. All bytes. The Go runtime's own view; it cannot see cgo or mmap'd memory.
 */
export interface GoRuntimeMemory {
  source: string
  /**
   * Unix ms when the target read these figures, as near as is known: midway between the request
   * and its answer, or the request's time where the answer's was not kept. Later than the
   * sample's atMs, which is when /proc was read. Rates within a GC cycle need the runtime's time.
   */
  readAtMs?: number
  heapAlloc: number
  heapSys: number
  heapIdle: number
  heapInuse: number
  heapReleased: number
  heapObjects?: number
  stackInuse: number
  stackSys: number
  mSpanInuse?: number
  mSpanSys: number
  mCacheInuse?: number
  mCacheSys: number
  buckHashSys: number
  gcSys: number
  otherSys: number
  /** All memory the runtime obtained from the OS (virtual); Sys − HeapReleased is what it keeps. */
  sys: number
  /** The heap goal: the next GC starts when HeapAlloc reaches it. */
  nextGC: number
  numGC: number
  numForcedGC?: number
  /**
   * Bytes allocated since the process started (TotalAlloc; client_golang's
   * go_memstats_alloc_bytes_total): with NumGC, what each cycle allocated.
   */
  totalAlloc?: number
  /** Unix ms of the last GC's end; absent before the first GC. */
  lastGCMs?: number
  /** Only /metrics (go_goroutines) carries this; expvar memstats does not. */
  goroutines?: number
  /**
   * runtime/metrics /gc/heap/live:bytes (Go ≥ 1.21): the heap the last GC marked live, the
   * exact post-GC floor. client_golang serves it as go_gc_heap_live_bytes.
   */
  heapLive?: number
  /** /gc/gogc:percent (Go ≥ 1.21) as the runtime holds it; client_golang's go_gc_gogc_percent. */
  gogcPercent?: number
  /**
   * /gc/gomemlimit:bytes (Go ≥ 1.21); client_golang's go_gc_gomemlimit_bytes. math.MaxInt64
   * when no limit is set.
   */
  memoryLimit?: number
}

/**
 * The memory limit the runtime holds (GOMEMLIMIT, debug.SetMemoryLimit included): a number of
 * bytes, 'unset' (math.MaxInt64, which arrives as the float 2^63), or undefined when not read.
 */
export function runtimeMemoryLimit(runtime: GoRuntimeMemory): number | 'unset' | undefined {
  const limit = runtime.memoryLimit
  if (limit === undefined) return undefined
  // MaxInt64 is 2^63 − 1; as a float it rounds to 2^63. Nothing set by hand comes near it.
  return limit >= 2 ** 62 ? 'unset' : limit
}

/**
 * What the Go runtime believes is resident: Sys − HeapReleased (runtime/debug's identity; the
 * value GOMEMLIMIT bounds). An upper bound: mapped pages never touched are counted too.
 */
export function goResidentEstimate(runtime: GoRuntimeMemory): number {
  return runtime.sys - runtime.heapReleased
}

/** Go's resident share of its arenas: the heap it keeps plus stacks (carved from arenas). */
export function arenaExpected(runtime: GoRuntimeMemory): number {
  return runtime.heapSys - runtime.heapReleased + runtime.stackSys
}

/**
 * RSS as /proc reports it; without /proc (a URL-only target, a fleet without
 * process_resident_memory_bytes) the runtime's own resident estimate stands in.
 */
export function rssOrGoResident(snapshot: MemorySnapshot, runtime: GoRuntimeMemory): number {
  return snapshot.status?.vmRss ?? goResidentEstimate(runtime)
}
