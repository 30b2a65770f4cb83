import type { Edges } from '../model/edges.ts'
import type { Evidence, Finding, Severity, Signal } from '../model/finding.ts'
import { findGoHeapArenas } from '../model/go-heap-arenas.ts'
import { type Mapping, type MappingsSnapshot, mappingKind, residentIn } from '../model/mappings.ts'
import {
  arenaExpected,
  type GoRuntimeMemory,
  goResidentEstimate,
  type MemorySnapshot,
} from '../model/snapshot.ts'
import { goAtLeast, hasMemoryLimit, parseGoVersion, type TargetFacts } from '../model/target.ts'
import { formatBytes, MiB } from '../model/units.ts'
import { confidence, type Detector, lastWith, type Outcome } from './detector.ts'

/**
 * Anonymous memory the Go runtime does not know about: C allocations through cgo, C libraries
 * (SQLite, librdkafka, image codecs), their threads' stacks and arenas, raw mmap.
 *
 * Mechanism: the runtime counts only what it mapped itself (MemStats Sys). Memory from malloc
 * in C code is invisible to it, to GOMEMLIMIT and to `go tool pprof`, yet counts in RSS as
 * RssAnon. Go's own resident memory is at most Sys − HeapReleased (an upper bound: mapped pages
 * never touched count too), so the anonymous RSS beyond it, after taking out LazyFree (pages Go
 * released with MADV_FREE, counted in HeapReleased but still resident), is not Go's.
 *
 * Signature: RssAnon − LazyFree − (Sys − HeapReleased) ≥ 64 MiB and ≥ 20% of RSS, in two
 * consecutive samples (one sample could be a heap spike released between the /proc read and the
 * runtime read). With /proc/PID/smaps the evidence names the anonymous mappings outside Go's
 * heap arenas that hold or gained the bytes; RSS inside the arenas beyond the heap Go keeps is
 * Go's own address space refilled (huge pages: thp-bloat), and is taken out. Measured: the
 * non-go-memory scenario (C.malloc, 8 MiB/s more) has RssAnon 268 → 301 MiB over 4 s with Go
 * Sys − HeapReleased 11-13 MiB; glibc's mmap'd chunks and arenas at 0x7f… hold it. The control
 * mallocs and frees the same: RssAnon 5 MiB.
 *
 * What can fool it: a runtime view that is not this process (a wrong --url), or one read far
 * from the /proc read; huge pages over released heap when smaps is missing (then the answer is
 * unknown, not a guess); Go's heap arenas taken for something else (model/go-heap-arenas.ts finds
 * them by name on Go ≥ 1.25 where the kernel keeps names, otherwise by their shape, confirmed by
 * HeapSys; never by address, which Go 1.26 randomises).
 *
 * Reference: go/src/runtime/mstats.go (go1.19) Sys, HeapReleased; runtime/malloc.go arenas;
 * Linux Documentation/filesystems/proc.rst (v6.1) RssAnon, smaps.
 */

/** Below this, non-Go memory is a C library's ordinary baseline (arenas, thread stacks). */
const MIN_NON_GO = 64 * MiB
/** Non-Go memory must be this share of RSS to matter to someone reading RSS. */
const MIN_SHARE_OF_RSS = 0.2
/** Growth across the window that counts as growing: at least this much, and 5% of the start. */
const MIN_GROWTH = 8 * MiB
const MIN_GROWTH_SHARE = 0.05
/** A growing non-Go part this large a share of RSS is critical: it will take the process. */
const CRITICAL_SHARE = 0.5
/** Huge pages covering this much of the gap make it ambiguous without smaps. */
const HUGE_PAGES_COVER = 0.8
/** The share of the gap HeapReleased must be able to hold before MADV_FREE could explain it. */
const MADV_FREE_COVERS = 0.8
/** How many mappings the evidence names, for what they hold and for what they gained. */
const MAPPINGS_NAMED = 2

interface Measured {
  snapshot: MemorySnapshot
  runtime: GoRuntimeMemory
  rss: number
  rssAnon: number
  lazyFree: number
  goResident: number
  nonGo: number
  share: number
}

function measure(snapshot: MemorySnapshot, arenaExcess: number): Measured | undefined {
  const { status, runtime } = snapshot
  if (status?.rssAnon === undefined || !runtime) return undefined
  const goResident = goResidentEstimate(runtime)
  const lazyFree = snapshot.rollup?.lazyFree
  // Without LazyFree, pages Go released with MADV_FREE look exactly like non-Go memory. When the
  // released bytes could hold the gap, this detector cannot tell, and madv-free-retention infers it.
  if (
    lazyFree === undefined &&
    runtime.heapReleased >= MADV_FREE_COVERS * (status.rssAnon - goResident)
  ) {
    return undefined
  }
  const nonGo = Math.max(0, status.rssAnon - (lazyFree ?? 0) - goResident - arenaExcess)
  return {
    snapshot,
    runtime,
    rss: status.vmRss,
    rssAnon: status.rssAnon,
    lazyFree: lazyFree ?? 0,
    goResident,
    nonGo,
    share: nonGo / status.vmRss,
  }
}

const holds = (m: Measured) => m.nonGo >= MIN_NON_GO && m.share >= MIN_SHARE_OF_RSS

/** Anonymous mappings outside Go's heap arenas. */
function outsideArenas(snapshot: MappingsSnapshot, runtime?: GoRuntimeMemory): Mapping[] {
  const arenas = findGoHeapArenas(snapshot, runtime)
  return snapshot.mappings.filter(m => mappingKind(m) === 'anonymous' && !arenas.contains(m))
}

/** Mappings outside Go's arenas, with what each gained since the first smaps read. */
function outsideMappings(
  edges: Edges<MappingsSnapshot>,
  runtime?: GoRuntimeMemory,
): (Mapping & { gained: number })[] {
  const before = edges.first ? outsideArenas(edges.first, runtime) : []
  return outsideArenas(edges.last, runtime).map(m => {
    const earlier = before
      .filter(b => b.start < m.end && b.end > m.start)
      .reduce((sum, b) => sum + b.rss, 0)
    return { ...m, gained: edges.first ? Math.max(0, m.rss - earlier) : 0 }
  })
}

/**
 * What smaps adds: the anonymous memory outside Go's arenas, the mappings that hold most of it and
 * those that grew most, and Go's arena RSS beyond its heap that the figure leaves out. `named`
 * lists the mappings' start addresses for the summary.
 */
function mappingsEvidence(
  mappings: Edges<MappingsSnapshot>,
  arenaExcess: number,
  runtime?: GoRuntimeMemory,
): { evidence: Evidence[]; named: string } {
  const outside = outsideMappings(mappings, runtime)
  const source = mappings.last.source
  const evidence: Evidence[] = [
    {
      label: "anonymous mappings outside Go's heap arenas",
      value: outside.reduce((sum, m) => sum + m.rss, 0),
      unit: 'bytes',
      source,
    },
  ]
  if (mappings.first) {
    evidence.push({
      label: 'gained by them during the window',
      value: outside.reduce((sum, m) => sum + m.gained, 0),
      unit: 'bytes',
      source: `${mappings.first.source} → ${source}`,
    })
  }
  // The mappings that hold the most, then those that grew most during the window.
  const holders = [...outside].sort((a, b) => b.rss - a.rss).slice(0, MAPPINGS_NAMED)
  const gainers = [...outside]
    .filter(m => m.gained > 0 && !holders.includes(m))
    .sort((a, b) => b.gained - a.gained)
    .slice(0, MAPPINGS_NAMED)
  const name = (m: Mapping) =>
    `anonymous mapping ${m.start.toString(16)}-${m.end.toString(16)}${m.path ? ` ${m.path}` : ''}`
  for (const m of holders) {
    evidence.push({ label: name(m), value: m.rss, unit: 'bytes', source })
  }
  for (const m of gainers) {
    evidence.push({
      label: `${name(m)}, gained`,
      value: m.gained,
      unit: 'bytes',
      source: `${mappings.first?.source ?? source} → ${source}`,
    })
  }
  let named = holders.map(m => m.start.toString(16)).join(', ')
  if (gainers.length > 0) {
    named += `; the ones that grew most start at ${gainers.map(m => m.start.toString(16)).join(', ')}`
  }
  if (arenaExcess > 0) {
    evidence.push({
      label: "resident in Go's arenas beyond its heap (not counted here)",
      value: arenaExcess,
      unit: 'bytes',
      source,
    })
  }
  return { evidence, named }
}

function fixesFor(target: TargetFacts): string[] {
  const version = parseGoVersion(target.goVersion)
  const fixes = [
    'find the C allocations: every C.CString, C.CBytes and C.malloc needs a C.free; for a C library, check its own free/close calls',
    'measure them: run under heaptrack or valgrind --tool=massif, or with jemalloc (LD_PRELOAD) and MALLOC_CONF=prof:true',
    'many Go threads calling into C get glibc arenas of up to 64 MiB each: MALLOC_ARENA_MAX=2 bounds them',
  ]
  if (hasMemoryLimit(version)) {
    fixes.push(
      'GOMEMLIMIT does not count this memory: set it to the memory you can give the process minus the non-Go part',
    )
  }
  if (version && !goAtLeast(version, 25)) {
    fixes.push(
      `Go ≥ 1.25 names its mappings ([anon: Go: heap] in /proc/PID/smaps, Linux ≥ 5.17), which tells Go's memory from C's at a glance (running ${target.goVersion})`,
    )
  }
  return fixes
}

export const nonGoMemory: Detector = {
  id: 'non-go-memory',
  needs: ['os.rssSplit', 'runtime.memstats'],
  detect({ target, series, mappings }): Outcome {
    const missing: Signal[] = []
    if (!series.some(s => s.status?.rssAnon !== undefined)) missing.push('os.rssSplit')
    if (!series.some(s => s.runtime)) missing.push('runtime.memstats')
    if (missing.length > 0) return { kind: 'unknown', missing }

    // RSS inside Go's arenas beyond the heap it keeps is Go's address space, refilled.
    const lastRuntime = lastWith(series, 'runtime')?.runtime
    const arenaExcess =
      mappings && lastRuntime
        ? Math.max(
            0,
            residentIn(mappings.last, findGoHeapArenas(mappings.last, lastRuntime).contains) -
              arenaExpected(lastRuntime),
          )
        : 0
    const measured = series.map(s => measure(s, arenaExcess)).filter(m => m !== undefined)
    const last = measured.at(-1)
    const first = measured[0]
    if (!last || !first) {
      const lazyFreeMissing = series.every(s => s.rollup?.lazyFree === undefined)
      return {
        kind: 'unknown',
        missing: lazyFreeMissing ? ['os.lazyFree'] : ['os.rssSplit', 'runtime.memstats'],
      }
    }

    // Two consecutive samples, or the only one: a single sample may straddle a released spike.
    const runs = measured.map((m, i) => {
      const previous = measured[i - 1]
      return holds(m) && (measured.length === 1 || (previous !== undefined && holds(previous)))
    })
    const current = runs.at(-1) === true
    if (!runs.some(Boolean)) return { kind: 'clear' }
    const shown = current ? last : (measured[runs.lastIndexOf(true)] as Measured)

    // Without smaps, huge pages over Go's released heap look exactly like non-Go memory.
    const hugePages = shown.snapshot.rollup?.anonHugePages ?? 0
    if (!mappings && hugePages >= HUGE_PAGES_COVER * shown.nonGo) {
      return { kind: 'unknown', missing: ['os.mappings'] }
    }

    const elapsedS = (last.snapshot.atMs - first.snapshot.atMs) / 1000
    const growth = last.nonGo - first.nonGo
    const growing = elapsedS > 0 && growth >= Math.max(MIN_GROWTH, MIN_GROWTH_SHARE * first.nonGo)
    let severity: Severity = growing ? 'warning' : 'info'
    if (growing && shown.share >= CRITICAL_SHARE) severity = 'critical'
    if (!current) severity = 'info'

    const { runtime, snapshot } = shown
    const statusSource = snapshot.status?.source ?? ''
    const derived = `${statusSource} − ${runtime.source}`
    const evidence: Evidence[] = [
      { label: 'RSS', value: shown.rss, unit: 'bytes', source: statusSource },
      { label: 'RssAnon', value: shown.rssAnon, unit: 'bytes', source: statusSource },
      { label: 'Sys', value: runtime.sys, unit: 'bytes', source: runtime.source },
      { label: 'HeapReleased', value: runtime.heapReleased, unit: 'bytes', source: runtime.source },
      {
        label: "Go's resident estimate (Sys − HeapReleased)",
        value: shown.goResident,
        unit: 'bytes',
        source: runtime.source,
      },
    ]
    if (snapshot.rollup?.lazyFree !== undefined) {
      evidence.push({
        label: 'LazyFree',
        value: shown.lazyFree,
        unit: 'bytes',
        source: snapshot.rollup.source,
      })
    }
    evidence.push({ label: 'non-Go memory', value: shown.nonGo, unit: 'bytes', source: derived })
    if (growing) {
      evidence.push({
        label: 'non-Go growth',
        value: growth / elapsedS,
        unit: 'bytes/s',
        source: derived,
      })
    }
    const located = mappings ? mappingsEvidence(mappings, arenaExcess, lastRuntime) : undefined
    if (located) evidence.push(...located.evidence)

    const pct = Math.round(shown.share * 100)
    let summary =
      `${formatBytes(shown.nonGo)} of RSS (${pct}%) is anonymous memory the Go runtime did not allocate: ` +
      `RssAnon ${formatBytes(shown.rssAnon)} against Go's resident estimate ${formatBytes(shown.goResident)}` +
      `${shown.lazyFree > 0 ? ` and ${formatBytes(shown.lazyFree)} LazyFree` : ''}. ` +
      'It is memory from C code (cgo, C libraries) or raw mmap, invisible to pprof and GOMEMLIMIT.'
    if (growing) summary += ` It grew by ${formatBytes(growth / elapsedS)}/s during the window.`
    if (located?.named) {
      summary += ` The largest anonymous mappings outside Go's heap start at ${located.named}.`
    }
    if (!mappings) summary += ' /proc/PID/smaps was not read, so no mapping is named.'
    if (!current) {
      summary += ` That was during the window; at its end ${formatBytes(last.nonGo)} remained.`
    }

    // Arithmetic on two independent views; smaps pointing at non-Go mappings corroborates it.
    let score = 0.8
    if (mappings) score += 0.1
    if (growing) score += 0.05
    const finding: Finding = {
      id: 'non-go-memory',
      severity,
      confidence: confidence(score),
      title: current
        ? growing
          ? 'Non-Go memory is growing'
          : 'RSS holds memory the Go runtime did not allocate'
        : 'Non-Go memory was held during the window, since freed',
      summary,
      evidence,
      fixes: fixesFor(target),
      bytesExplained: current ? last.nonGo : 0,
    }
    if (current) {
      finding.whatIf = {
        rssBytes: last.rss - last.nonGo,
        explanation: 'RSS if the non-Go allocations were freed: RSS − non-Go memory',
      }
    } else finding.resolvedDuringWindow = true
    return { kind: 'finding', finding }
  },
}
