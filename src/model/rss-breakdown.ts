import { goResidentEstimate, type MemorySnapshot } from './snapshot.ts'

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
  | 'file-backed'
  | 'anonymous'
  | 'go-not-resident'
  | 'unexplained'

export interface RssBreakdown {
  rssBytes: number
  /** The slices sum to rssBytes exactly; 'go-not-resident' is the only one that can be negative. */
  slices: RssSlice[]
  /** Set when some slices cannot be told apart with what was read, and what would separate them. */
  unseparated?: string
}

/**
 * Splits VmRSS into where the bytes are. With the Go runtime's view (MemStats), Go's own memory
 * is split by class and whatever RSS is left is non-Go (cgo, C libraries, mmap). Without it,
 * only the kernel's split is possible: anonymous, MADV_FREE'd and file-backed pages.
 *
 * The identity used: Sys − HeapReleased = HeapAlloc + (HeapInuse − HeapAlloc)
 * + (HeapIdle − HeapReleased) + StackSys + MSpanSys + MCacheSys + BuckHashSys + GCSys + OtherSys,
 * because HeapSys = HeapInuse + HeapIdle. LazyFree pages are released pages (counted in
 * HeapReleased) that stay resident, so they are outside Go's estimate and never counted twice.
 */
export function breakdownRss(snapshot: MemorySnapshot): RssBreakdown | undefined {
  const { status, rollup, runtime } = snapshot
  if (!status) return undefined
  const rss = status.vmRss
  const slices: RssSlice[] = []
  const add = (key: RssSliceKey, label: string, bytes: number, source: string) => {
    slices.push({ key, label, bytes, source })
  }
  // RssFile + RssShmem: mapped files (the binary, shared libraries, mmap'd data) and shared memory.
  const fileBacked =
    status.rssFile === undefined ? undefined : status.rssFile + (status.rssShmem ?? 0)
  const lazyFree = rollup?.lazyFree

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
    const metadata =
      runtime.stackSys -
      runtime.stackInuse +
      runtime.mSpanSys +
      runtime.mCacheSys +
      runtime.buckHashSys +
      runtime.gcSys +
      runtime.otherSys
    add('runtime-metadata', 'runtime metadata', metadata, statsSource)
    if (fileBacked !== undefined) {
      add('file-backed', 'binary and mapped files', fileBacked, status.source)
    }
    const goResident = goResidentEstimate(runtime)
    // Go's figures are mapped memory; pages it mapped but never touched are not resident. When Go
    // claims more than the anonymous RSS can hold, say so instead of inflating "unexplained".
    const anonRoom = (status.rssAnon ?? rss - (fileBacked ?? 0)) - (lazyFree ?? 0)
    if (goResident > anonRoom && status.rssAnon !== undefined) {
      add(
        'go-not-resident',
        'counted by Go, not resident',
        anonRoom - goResident,
        `${statsSource}, ${status.source}`,
      )
    }
    const explained = slices.reduce((sum, slice) => sum + slice.bytes, 0)
    add('unexplained', 'not explained (non-Go?)', rss - explained, status.source)
    return { rssBytes: rss, slices }
  }

  if (lazyFree !== undefined) {
    add('released-resident', 'returned with MADV_FREE, resident', lazyFree, rollup?.source ?? '')
  }
  if (fileBacked !== undefined) {
    add('file-backed', 'binary and mapped files', fileBacked, status.source)
  }
  const explained = slices.reduce((sum, slice) => sum + slice.bytes, 0)
  add('anonymous', 'anonymous (Go and non-Go together)', rss - explained, status.source)
  return {
    rssBytes: rss,
    slices,
    unseparated:
      'without the Go runtime view, live heap, idle heap, goroutine stacks and non-Go memory are one ' +
      'anonymous slice; give --url (or serve /debug/vars, /metrics or /debug/pprof) to separate them',
  }
}
