import { findGoHeapArenas, hasGoHeapName, whyGoHeapUnnamed } from './go-heap-arenas.ts'
import { type Mapping, type MappingsSnapshot, mappingKind, rssIn } from './mappings.ts'
import { type GoRuntimeMemory, goResidentEstimate, type MemorySnapshot } from './snapshot.ts'
import { goAtLeast, parseGoVersion, type TargetFacts } from './target.ts'

/**
 * RSS split three ways: Go's memory, other anonymous memory (cgo, C libraries, raw mmap), and
 * files. Exact where the runtime names its mappings, estimated otherwise; `reason` says why.
 */
export interface RssSplit {
  /** True only when every byte was measured: the runtime's own names say which mappings are Go's. */
  exact: boolean
  /**
   * 'named': the Rss of the [anon: Go: …] mappings in /proc/PID/smaps (Go ≥ 1.25 where the kernel
   * keeps names; exact from 1.25.2, before which start-up's mappings are unnamed). 'arenas': the heap arenas' Rss measured in smaps (found by their shape,
   * confirmed by HeapSys + StackInuse), Go's other memory estimated from MemStats. 'runtime': no
   * usable smaps: Go's own count (Sys − HeapReleased, plus LazyFree) against RssAnon.
   */
  method: 'named' | 'arenas' | 'runtime'
  goBytes: number
  nonGoBytes: number
  /** Mapped files, shared memory and the kernel's pages (vdso): RssFile + RssShmem. */
  fileBytes: number
  /**
   * Why the split is exact, or why only estimated, in one clause: 'the Go runtime names its
   * mappings ([anon: Go: …])', 'go1.19.8 does not name its mappings (Go ≥ 1.25 does)', 'Linux
   * 6.18.44 keeps no names for anonymous memory (no CONFIG_ANON_VMA_NAME)', 'smaps was not read'.
   */
  reason: string
  /** The places the figures were read. */
  source: string
}

export interface SplitInput {
  /** The smaps read nearest the snapshot (the window's last, for the last sample). */
  mappings?: MappingsSnapshot
  target?: TargetFacts
}

/** An smaps read further than this from the snapshot describes another moment of the process. */
const MAX_APART_MS = 10_000

/**
 * The runtime's memory outside its heap arenas, as MemStats counts it: span and cache structures,
 * profiling buckets, GC metadata, other runtime structures, and stack memory not in heap spans.
 * Mapped bytes, an upper bound on what is resident.
 */
export function runtimeMetadata(runtime: GoRuntimeMemory): number {
  return (
    runtime.stackSys -
    runtime.stackInuse +
    runtime.mSpanSys +
    runtime.mCacheSys +
    runtime.buckHashSys +
    runtime.gcSys +
    runtime.otherSys
  )
}

/**
 * Go 1.25.0 and 1.25.1 read GODEBUG after mallocinit (golang/go#75324, fixed in 1.25.2), so what
 * the runtime maps while it starts carries no name. Captured (go1.25.1, Linux 6.12 with
 * CONFIG_ANON_VMA_NAME): the heap (but for the arena chunk mapped at start-up, which
 * findGoHeapArenas finds beside it), its reservation, gc bits and immortal metadata are named;
 * the page summaries, the page alloc, scavenge and heap indexes, the allspans array and profiler
 * hash buckets are not, and count as non-Go: a few hundred KiB.
 */
function namesOnlyLateMappings(target: TargetFacts): string | undefined {
  const version = parseGoVersion(target.goVersion)
  if (version?.major !== 1 || version.minor !== 25 || goAtLeast(version, 25, 2)) {
    return undefined
  }
  return `${target.goVersion} names only what it maps after start-up (golang/go#75324, fixed in 1.25.2): its early metadata counts as non-Go`
}

export function splitRss(snapshot: MemorySnapshot, input: SplitInput = {}): RssSplit | undefined {
  const { status, runtime } = snapshot
  if (!status) return undefined
  const target: TargetFacts = input.target ?? { sources: [] }
  const smaps = input.mappings
  const apart = smaps ? Math.abs(smaps.atMs - snapshot.atMs) : 0
  const mappings = smaps && apart <= MAX_APART_MS ? smaps : undefined

  if (mappings && hasGoHeapName(mappings)) {
    // Go's names, and the heap arena parts Go 1.25.0–1.25.1 mapped before naming anything.
    const heap = findGoHeapArenas(mappings, runtime)
    const isGo = (m: Mapping) => mappingKind(m) === 'go' || heap.contains(m)
    const partly = namesOnlyLateMappings(target)
    return {
      exact: partly === undefined,
      method: 'named',
      goBytes: rssIn(mappings, isGo),
      nonGoBytes: rssIn(mappings, m => mappingKind(m) === 'anonymous' && !isGo(m)),
      fileBytes: rssIn(mappings, m => mappingKind(m) === 'file'),
      reason: partly ?? 'Go names its mappings ([anon: Go: …])',
      source: mappings.source,
    }
  }
  if (!runtime) return undefined

  let why: string
  if (!smaps) why = 'smaps was not read'
  else if (!mappings) {
    why = `smaps was read ${Math.round(apart / 1000)} s away from this sample`
  } else {
    const unnamed = whyGoHeapUnnamed(target, mappings)
    const arenas = findGoHeapArenas(mappings, runtime)
    if (arenas.confirmed) {
      const arenaRss = rssIn(mappings, arenas.contains)
      const outside = rssIn(mappings, m => mappingKind(m) !== 'file' && !arenas.contains(m))
      const goOutside = Math.min(runtimeMetadata(runtime), outside)
      return {
        exact: false,
        method: 'arenas',
        goBytes: arenaRss + goOutside,
        nonGoBytes: outside - goOutside,
        fileBytes: rssIn(mappings, m => mappingKind(m) === 'file'),
        reason: unnamed,
        source: `${mappings.source}, ${runtime.source}`,
      }
    }
    why = `${unnamed}, and no heap arenas found add up to HeapSys + StackInuse`
  }
  if (status.rssAnon === undefined) return undefined
  const lazyFree = snapshot.rollup?.lazyFree ?? 0
  // LazyFree pages are released (out of Sys − HeapReleased) but resident: Go's all the same.
  const goBytes = Math.min(goResidentEstimate(runtime) + lazyFree, status.rssAnon)
  return {
    exact: false,
    method: 'runtime',
    goBytes,
    nonGoBytes: status.rssAnon - goBytes,
    fileBytes: (status.rssFile ?? 0) + (status.rssShmem ?? 0),
    reason: why,
    source: [
      status.source,
      runtime.source,
      snapshot.rollup?.lazyFree === undefined ? '' : snapshot.rollup.source,
    ]
      .filter(Boolean)
      .join(', '),
  }
}

/** How the split was had, in a few words for reports: 'exact', 'estimated (heap arenas measured)'. */
export function splitHow(split: RssSplit): string {
  if (split.method === 'named') return split.exact ? 'exact' : 'estimated (most mappings named)'
  if (split.method === 'arenas') return 'estimated (heap arenas measured)'
  return 'estimated (MemStats only)'
}
