import type { Evidence, Finding, Severity } from '../model/finding.ts'
import type { Mapping, MappingsSnapshot } from '../model/mappings.ts'
import type { MemorySnapshot } from '../model/snapshot.ts'
import { formatBytes, MiB } from '../model/units.ts'
import { confidence, type Detector, type Outcome } from './detector.ts'

/**
 * RSS made of file pages: memory-mapped files (databases such as BoltDB or Badger, mmap'd
 * indexes, large binaries), counted as RssFile in /proc/PID/status.
 *
 * Mechanism: a page of a mapped file that the process has touched is resident and counts in its
 * RSS, but it belongs to the page cache. It is clean, so the kernel can drop it at any time under
 * memory pressure and read it back on the next access. RSS then looks large while the Go heap
 * is small, and `go tool pprof` shows nothing: the runtime never maps files itself.
 * RssShmem (tmpfs, /dev/shm, memfd, shared anonymous memory) is the exception: those pages have
 * no file to fall back on and stay until they are unmapped or deleted (or swapped).
 *
 * Signature: RssFile + RssShmem ≥ 128 MiB and ≥ 25% of RSS. With /proc/PID/smaps, the evidence
 * names the biggest files. Measured: the file-mapped scenario holds RssFile 518 MiB of VmRSS
 * 521 MiB, one 512 MiB shared mapping of a deleted temporary file; its control reads the same
 * file with read(2) and has RssFile 6 MiB (the binary).
 *
 * What can fool it: a huge binary (the text of a Go binary is mapped too; 6 MiB here, rarely over
 * 100 MiB resident); private file mappings written to (their changed pages are anonymous and not
 * in RssFile, so they do not count here).
 *
 * Fix: none is needed for page cache; the Go version changes nothing. Alert on what cannot be
 * reclaimed (RssAnon, or the cgroup working set), and unmap or MADV_DONTNEED/MADV_COLD ranges no
 * longer needed.
 *
 * Reference: Linux Documentation/filesystems/proc.rst (v6.1) "/proc/<pid>/status" (RssFile,
 * RssShmem) and "/proc/<pid>/smaps"; mm/filemap.c.
 */

/** A Go binary's resident text and data stay under this; beyond it, data files are mapped. */
const MIN_FILE_BACKED = 128 * MiB
/** File pages must be this share of RSS before they explain what anyone sees in RSS. */
const MIN_SHARE_OF_RSS = 0.25
/** When shared memory is this share of the file-backed pages, they are not reclaimable. */
const SHMEM_DOMINATES = 0.5
/** Files smaller than this are not named in the evidence (libraries, locale files). */
const MIN_FILE_NAMED = MiB
/** How many files the evidence names. */
const FILES_NAMED = 3

interface Measured {
  snapshot: MemorySnapshot
  rss: number
  rssFile: number
  rssShmem: number
  fileBacked: number
}

function measure(snapshot: MemorySnapshot): Measured | undefined {
  const status = snapshot.status
  if (status?.rssFile === undefined) return undefined
  const rssShmem = status.rssShmem ?? 0
  const fileBacked = status.rssFile + rssShmem
  return { snapshot, rss: status.vmRss, rssFile: status.rssFile, rssShmem, fileBacked }
}

function holds(m: Measured): boolean {
  return m.fileBacked >= MIN_FILE_BACKED && m.fileBacked >= MIN_SHARE_OF_RSS * m.rss
}

/** Resident file pages per file, biggest first: Rss minus the pages written (Anonymous). */
export function biggestFiles(snapshot: MappingsSnapshot): { path: string; bytes: number }[] {
  const byPath = new Map<string, number>()
  for (const m of snapshot.mappings) {
    if (!isFile(m)) continue
    byPath.set(m.path, (byPath.get(m.path) ?? 0) + Math.max(0, m.rss - m.anonymous))
  }
  return [...byPath]
    .map(([path, bytes]) => ({ path, bytes }))
    .filter(f => f.bytes >= MIN_FILE_NAMED)
    .sort((a, b) => b.bytes - a.bytes)
}

/** A file path, not anonymous memory or a kernel-named region ([heap], [stack], [anon: …]). */
function isFile(m: Mapping): boolean {
  return m.path !== '' && !m.path.startsWith('[')
}

export const fileMapped: Detector = {
  id: 'file-mapped',
  needs: ['os.rssSplit'],
  detect({ series, mappings }): Outcome {
    const measured = series.map(measure).filter(m => m !== undefined)
    const last = measured.at(-1)
    if (!last) return { kind: 'unknown', missing: ['os.rssSplit'] }
    const worst = measured.reduce((a, b) => (b.fileBacked > a.fileBacked ? b : a))
    if (!holds(worst)) return { kind: 'clear' }

    const current = holds(last)
    const shown = current ? last : worst
    const status = shown.snapshot.status
    const statusSource = status?.source ?? ''
    const shmemDominates = shown.rssShmem >= SHMEM_DOMINATES * shown.fileBacked
    const evidence: Evidence[] = [
      { label: 'RSS', value: shown.rss, unit: 'bytes', source: statusSource },
      { label: 'RssFile', value: shown.rssFile, unit: 'bytes', source: statusSource },
      { label: 'RssShmem', value: shown.rssShmem, unit: 'bytes', source: statusSource },
    ]
    if (status?.rssAnon !== undefined) {
      evidence.push({
        label: 'RssAnon',
        value: status.rssAnon,
        unit: 'bytes',
        source: statusSource,
      })
    }
    const files = mappings ? biggestFiles(mappings.last).slice(0, FILES_NAMED) : []
    for (const file of files) {
      evidence.push({
        label: `mapped file ${file.path}`,
        value: file.bytes,
        unit: 'bytes',
        source: mappings?.last.source ?? '',
      })
    }
    const named = files.reduce((sum, f) => sum + f.bytes, 0)

    const pct = Math.round((shown.fileBacked / shown.rss) * 100)
    let summary = `${formatBytes(shown.fileBacked)} of RSS (${pct}%) is file-backed`
    summary +=
      files.length > 0
        ? `, mostly ${files.map(f => `${f.path} (${formatBytes(f.bytes)})`).join(', ')}.`
        : '.'
    summary += shmemDominates
      ? ` ${formatBytes(shown.rssShmem)} of it is shared memory (tmpfs, /dev/shm, memfd), which the kernel cannot drop without swap: it stays until unmapped or deleted.`
      : ' These are page cache pages of mapped files: the kernel drops them under memory pressure and reads them back on access, so this is not a leak and not Go heap.'
    if (!current) {
      summary += ` That was at the window's peak; at its end ${formatBytes(last.fileBacked)} was file-backed.`
    }

    const fixes = shmemDominates
      ? [
          'shared memory is not reclaimable: find the tmpfs or /dev/shm files and memfds the process maps (/proc/PID/maps) and delete or unmap what is no longer needed',
        ]
      : [
          'nothing to fix if these are your data files: the pages are reclaimable page cache, and the Go version changes nothing (the runtime never maps files)',
        ]
    fixes.push(
      'alert on what cannot be reclaimed (RssAnon, or the cgroup working set) rather than on RSS',
      'if a mapping is larger than needed, map less, or give back ranges you are done with: madvise(MADV_DONTNEED) or MADV_COLD (Linux ≥ 5.4) via golang.org/x/sys/unix.Madvise',
    )

    const severity: Severity = current && shmemDominates ? 'warning' : 'info'
    // The numbers come straight from the kernel; naming the files closes the case.
    let score = 0.9
    if (named >= 0.8 * shown.rssFile) score += 0.05
    if (shmemDominates) score -= 0.1
    const finding: Finding = {
      id: 'file-mapped',
      severity,
      confidence: confidence(score),
      title: current
        ? 'RSS is mostly file-backed pages (memory-mapped files)'
        : 'File-backed pages filled RSS during the window, since dropped',
      summary,
      evidence,
      fixes,
      bytesExplained: current ? last.fileBacked : 0,
    }
    if (current && !shmemDominates) {
      finding.whatIf = {
        rssBytes: last.rss - last.rssFile,
        explanation:
          'RSS once the kernel drops the file pages (under memory pressure, or after MADV_DONTNEED): RSS − RssFile',
      }
    }
    if (!current) finding.resolvedDuringWindow = true
    return { kind: 'finding', finding }
  },
}
