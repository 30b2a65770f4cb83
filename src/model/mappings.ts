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
