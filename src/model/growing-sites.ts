import { diffProfiles, IncompatibleProfiles } from './heap-diff.ts'
import type { Profile } from './heap-profile.ts'
import { heapTop } from './heap-top.ts'

/**
 * Where a growing heap grows: the heap profiles at the window's edges diffed as
 * `go tool pprof -base first last` does, ranked as `-top -sample_index=inuse_space` ranks them.
 * Heap profiles show the heap as of the last completed GC, and sample allocations (one every
 * MemProfileRate bytes, 512 KiB by default) scaled up: small differences are sampling noise.
 */

/**
 * Growing sites named as evidence: at most three, each at least a tenth of the profile's growth
 * and two sampling periods (MemProfileRate, 512 KiB by default): one sample is scaled up to about
 * a period, so a site seen once or twice is sampling noise (measured: a one-off
 * strings.(*Replacer).build showed 0.5 MiB next to a 10 MiB leak).
 */
const MAX_SITES = 3
const MIN_SITE_SHARE = 0.1
const MIN_SITE_PERIODS = 2

/** The sites whose in-use bytes grew between the two profiles, largest first. */
export function growingSites(
  first: Profile | undefined,
  last: Profile,
): { name: string; bytes: number }[] {
  if (!first) return []
  let diff: Profile
  try {
    diff = diffProfiles(first, last)
  } catch (error) {
    // Profiles of different kinds cannot be subtracted: no site evidence, the trend still stands.
    if (error instanceof IncompatibleProfiles) return []
    throw error
  }
  const top = heapTop(diff, { sampleType: 'inuse_space', limit: Number.POSITIVE_INFINITY })
  const rows = top.rows.filter(row => row.flat > 0)
  const grown = rows.reduce((sum, row) => sum + row.flat, 0)
  return rows
    .filter(row => row.flat >= MIN_SITE_SHARE * grown && row.flat >= MIN_SITE_PERIODS * diff.period)
    .slice(0, MAX_SITES)
    .map(row => ({ name: row.name, bytes: row.flat }))
}
