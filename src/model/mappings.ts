/**
 * One mapping of /proc/PID/smaps with the fields detectors use. Addresses are numbers: user
 * space ends below 2^47 on x86-64 and 2^48/2^52 elsewhere, all exact in a double.
 */
export interface Mapping {
  start: number
  end: number
  /** 'rw-p', 'r-xp', … */
  perms: string
  /** The file, '[heap]', '[stack]', '[anon: Go: heap]' (Go ≥ 1.25), or '' for anonymous memory. */
  path: string
  rss: number
  anonymous: number
  lazyFree: number
  anonHugePages: number
  swap: number
}

/** All mappings of a process at one instant. */
export interface MappingsSnapshot {
  source: string
  atMs: number
  mappings: Mapping[]
}

/** The machine's transparent huge page settings (/sys/kernel/mm/transparent_hugepage). */
export interface ThpSettings {
  source: string
  /** The bracketed choice of `enabled`: always, madvise or never. */
  enabled?: string
  /** The bracketed choice of `defrag`: always, defer, defer+madvise, madvise or never. */
  defrag?: string
  /** khugepaged/max_ptes_none: how many empty pages khugepaged may fill to make a huge page. */
  maxPtesNone?: number
}

/** Resident bytes of mappings matching `pick`, LazyFree taken out. */
export function residentIn(snapshot: MappingsSnapshot, pick: (m: Mapping) => boolean): number {
  return snapshot.mappings.filter(pick).reduce((sum, m) => sum + m.rss - m.lazyFree, 0)
}

/**
 * What a mapping holds, by its path. 'go': memory the Go runtime named ([anon: Go: heap], …;
 * Go ≥ 1.25 where the kernel keeps names). 'file': a mapped file, shared memory ('/dev/zero
 * (deleted)', '/memfd:…', '[anon_shmem:…]'), or the kernel's own pages ([vdso], [vvar]…), the
 * kernel's RssFile + RssShmem. 'anonymous': everything else: unnamed anonymous memory (''), glibc's
 * brk heap ([heap]), the main thread's stack ([stack]), names others gave ([anon:glibc: …]).
 */
export type MappingKind = 'go' | 'file' | 'anonymous'

const KERNEL_PAGES = /^\[(vdso|vvar|vvar_vclock|vsyscall|anon_shmem:.*)\]$/

export function mappingKind(m: Mapping): MappingKind {
  if (m.path.startsWith('[anon: Go: ')) return 'go'
  if (m.path.startsWith('/') || KERNEL_PAGES.test(m.path)) return 'file'
  return 'anonymous'
}

/** Rss of the mappings matching `pick`, LazyFree included (those pages are resident too). */
export function rssIn(snapshot: MappingsSnapshot, pick: (m: Mapping) => boolean): number {
  return snapshot.mappings.filter(pick).reduce((sum, m) => sum + m.rss, 0)
}
