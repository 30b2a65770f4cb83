import { type RssSplit, runtimeMetadata, type SplitInput, splitRss } from './rss-split.ts'
import type { MemorySnapshot } from './snapshot.ts'

/** One slice of RSS: where a share of the resident bytes is, and where that figure came from. */
export interface RssSlice {
  key: RssSliceKey
  label: string
  bytes: number
  /** The places the figure was computed from. */
  source: string
}

export type RssSliceKey =
  | 'live-heap'
  | 'heap-fragmentation'
  | 'idle-heap'
  | 'released-resident'
  | 'goroutine-stacks'
  | 'runtime-metadata'
  | 'go-uncounted'
  | 'go-not-resident'
  | 'file-backed'
  | 'non-go'
  | 'anonymous'
  | 'unexplained'

export interface RssBreakdown {
  rssBytes: number
  /**
   * The slices sum to rssBytes exactly. 'go-not-resident' is negative by definition;
   * 'unexplained' is negative only beside a measured split, when RSS changed between two reads.
   */
  slices: RssSlice[]
  /** Go, non-Go and files, exact or estimated, and why; absent when nothing could tell them apart. */
  split?: RssSplit
  /** Set when some slices cannot be told apart with what was read, and what would separate them. */
  unseparated?: string
}

/**
 * Splits VmRSS into where the bytes are. With the Go runtime's view (MemStats), Go's own memory
 * is split by class; the split (rss-split.ts) then says how much of RSS is Go's, non-Go and
 * files, measured from /proc/PID/smaps where it can be. Without the runtime view, only the
 * kernel's split is possible: anonymous, MADV_FREE'd and file-backed pages.
 *
 * The identity used: Sys − HeapReleased = HeapAlloc + (HeapInuse − HeapAlloc)
 * + (HeapIdle − HeapReleased) + StackSys + MSpanSys + MCacheSys + BuckHashSys + GCSys + OtherSys,
 * because HeapSys = HeapInuse + HeapIdle. LazyFree pages are released pages (counted in
 * HeapReleased) that stay resident, so they are outside Go's count and never counted twice.
 * Go's classes are mapped memory; where the split measured Go's resident bytes, the difference
 * is its own slice: negative where Go counts pages never touched ('counted by Go, not
 * resident'), positive where Go's mappings hold more than it counts (huge pages refilled, the
 * heap index, which no MemStats field counts).
 */
export function breakdownRss(
  snapshot: MemorySnapshot,
  input: SplitInput = {},
): RssBreakdown | undefined {
  const { status, rollup, runtime } = snapshot
  if (!status) return undefined
  const rss = status.vmRss
  const slices: RssSlice[] = []
  const add = (key: RssSliceKey, label: string, bytes: number, source: string) => {
    slices.push({ key, label, bytes, source })
  }
  const lazyFree = rollup?.lazyFree
  const split = splitRss(snapshot, input)
  const rest = (key: RssSliceKey, label: string, source: string) =>
    add(key, label, rss - slices.reduce((sum, slice) => sum + slice.bytes, 0), source)

  if (runtime) {
    const statsSource = runtime.source
    add('live-heap', 'live heap', runtime.heapAlloc, statsSource)
    add(
      'heap-fragmentation',
      'heap fragmentation',
      runtime.heapInuse - runtime.heapAlloc,
      statsSource,
    )
    add(
      'idle-heap',
      'idle heap, not yet returned',
      runtime.heapIdle - runtime.heapReleased,
      statsSource,
    )
    if (lazyFree !== undefined) {
      add('released-resident', 'returned with MADV_FREE, resident', lazyFree, rollup?.source ?? '')
    }
    add('goroutine-stacks', 'goroutine stacks', runtime.stackInuse, statsSource)
    add('runtime-metadata', 'runtime metadata', runtimeMetadata(runtime), statsSource)
    const counted = slices.reduce((sum, slice) => sum + slice.bytes, 0)
    // Go's figures are mapped memory; where the split says how much of it is resident, the
    // difference is named instead of inflating (or hiding in) the non-Go slice.
    const uncounted = split ? split.goBytes - counted : 0
    if (uncounted > 0) {
      add(
        'go-uncounted',
        "resident in Go's memory, not counted by Go",
        uncounted,
        split?.source ?? '',
      )
    } else if (uncounted < 0) {
      add('go-not-resident', 'counted by Go, not resident', uncounted, split?.source ?? '')
    }
    if (split && split.method !== 'runtime') {
      add('file-backed', 'binary and mapped files', split.fileBytes, split.source)
      add('non-go', 'non-Go (cgo, C libraries, mmap)', split.nonGoBytes, split.source)
      // The smaps read and VmRSS are moments apart; what RSS did in between has its own slice.
      const drift = rss - slices.reduce((sum, slice) => sum + slice.bytes, 0)
      if (drift !== 0) {
        add('unexplained', 'changed between reads', drift, status.source)
      }
    } else {
      const fileBacked = fileBackedOf(snapshot)
      if (fileBacked !== undefined) {
        add('file-backed', 'binary and mapped files', fileBacked, status.source)
      }
      rest('unexplained', 'not explained (non-Go?)', status.source)
    }
    const breakdown: RssBreakdown = { rssBytes: rss, slices }
    if (split) breakdown.split = split
    return breakdown
  }

  if (lazyFree !== undefined) {
    add('released-resident', 'returned with MADV_FREE, resident', lazyFree, rollup?.source ?? '')
  }
  if (split) {
    // Named mappings need no runtime view: Go's, non-Go and files are measured all the same.
    add(
      'go-uncounted',
      "Go's memory (named mappings), not MADV_FREE'd",
      split.goBytes - (lazyFree ?? 0),
      split.source,
    )
    add('file-backed', 'binary and mapped files', split.fileBytes, split.source)
    add('non-go', 'non-Go (cgo, C libraries, mmap)', split.nonGoBytes, split.source)
    const drift = rss - slices.reduce((sum, slice) => sum + slice.bytes, 0)
    if (drift !== 0) {
      add('unexplained', 'changed between reads', drift, status.source)
    }
    return {
      rssBytes: rss,
      slices,
      split,
      unseparated:
        "without the Go runtime view, Go's memory is one slice; give --url (or serve /debug/vars, /metrics or /debug/pprof) to split it by class",
    }
  }
  const fileBacked = fileBackedOf(snapshot)
  if (fileBacked !== undefined) {
    add('file-backed', 'binary and mapped files', fileBacked, status.source)
  }
  rest('anonymous', 'anonymous (Go and non-Go together)', status.source)
  return {
    rssBytes: rss,
    slices,
    unseparated:
      'without the Go runtime view, live heap, idle heap, goroutine stacks and non-Go memory are one ' +
      'anonymous slice; give --url (or serve /debug/vars, /metrics or /debug/pprof) to separate them',
  }
}

/** RssFile + RssShmem: mapped files (the binary, shared libraries, mmap'd data) and shared memory. */
function fileBackedOf(snapshot: MemorySnapshot): number | undefined {
  const status = snapshot.status
  if (status?.rssFile === undefined) return undefined
  return status.rssFile + (status.rssShmem ?? 0)
}
