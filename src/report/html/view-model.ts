/**
 * Everything the HTML report and the live dashboard show, computed in Node (STYLE.md 5.8): chart
 * columns, the icicle of growing allocation sites, the ranked findings with their values already
 * formatted. The browser code only draws. Arrays are never null; a value that was not read is
 * `null` inside a column, which the charts draw as a gap.
 *
 * Long windows are thinned for drawing: each time bucket keeps its lowest and highest RSS
 * sample, so steps and peaks survive, and the page stays small (86,400 samples become 3,000).
 * The allocation-site icicle is built in flame.ts.
 */
import type { Diagnosis } from '../../model/diagnosis.ts'
import type { Edges } from '../../model/edges.ts'
import type { Gap, Severity } from '../../model/finding.ts'
import type { Profile } from '../../model/heap-profile.ts'
import { breakdownRss, type RssSliceKey } from '../../model/rss-breakdown.ts'
import { splitHow } from '../../model/rss-split.ts'
import type { MemorySnapshot } from '../../model/snapshot.ts'
import { formatBytes, formatDuration } from '../../model/units.ts'
import { formatEvidenceValue } from '../evidence-value.ts'
import { type FlameView, flameView } from './flame.ts'
import { appendPoint } from './series-columns.ts'

/** Bumped when the page data changes shape. */
export const VIEW_VERSION = 1

/** Points drawn per chart at most; two per time bucket. */
export const MAX_POINTS = 3000

/**
 * RSS slices stacked bottom-up. MADV_FREE'd pages (LazyFree) go on top, where a plateau that
 * never comes down shows at a glance. 'go-not-resident' is negative by definition and is not
 * stacked: the RSS line drawn over the stack shows it as the space between.
 */
export const RSS_KEYS: readonly { key: RssSliceKey; label: string }[] = [
  { key: 'live-heap', label: 'live heap' },
  { key: 'heap-fragmentation', label: 'heap fragmentation' },
  { key: 'idle-heap', label: 'idle heap, not yet returned' },
  { key: 'goroutine-stacks', label: 'goroutine stacks' },
  { key: 'runtime-metadata', label: 'runtime metadata' },
  { key: 'unexplained', label: 'not explained (non-Go?)' },
  { key: 'anonymous', label: 'anonymous (Go and non-Go)' },
  { key: 'file-backed', label: 'binary and mapped files' },
  { key: 'released-resident', label: 'returned with MADV_FREE, resident (LazyFree)' },
]

export interface ReportView {
  kind: 'gomemdoctor-report'
  version: typeof VIEW_VERSION
  mode: 'report' | 'live'
  title: string
  /** 'pid 4242 (orders-api) · go1.14.15 · GODEBUG unset · Linux 6.1 · cgroup limit 4 GiB' */
  headline: string
  facts: { label: string; value: string }[]
  window: { startMs: number; endMs: number; samples: number; text: string }
  verdict: { id: string; severity: Severity | 'healthy' | 'unjudged'; text: string }
  rss: RssView | null
  findings: FindingView[]
  gaps: Gap[]
  unjudged: string[]
  notes: string[]
  sources: string[]
  series: SeriesView
  flame: FlameView | null
  generated: string
}

export interface RssView {
  bytes: number
  text: string
  slices: {
    key: string
    label: string
    bytes: number
    text: string
    share: number
    source: string
  }[]
  /** 'Go 34.3 MiB · non-Go 16.1 MiB · files 1.89 MiB', exact or estimated, and why. */
  split: { text: string; exact: boolean; how: string; reason: string; source: string } | null
  unseparated: string | null
}

export interface FindingView {
  id: string
  severity: Severity
  confidence: number
  title: string
  summary: string
  evidence: { label: string; value: string; source: string }[]
  fixes: string[]
  whatIf: string | null
  resolved: boolean
}

/** Chart columns, all the same length as `t`. */
export interface SeriesView {
  /** Unix seconds (uPlot's x unit). */
  t: number[]
  /** The RSS slices, bottom of the stack first (RSS_KEYS). */
  rssKeys: { key: string; label: string }[]
  /** One column per rssKeys entry, same order. */
  rss: (number | null)[][]
  rssTotal: (number | null)[]
  /** HeapAlloc, HeapInuse − HeapAlloc, HeapIdle − HeapReleased, HeapReleased, NextGC. */
  heap: {
    live: (number | null)[]
    fragmentation: (number | null)[]
    idle: (number | null)[]
    released: (number | null)[]
    nextGC: (number | null)[]
  }
  goroutines: (number | null)[]
  /** GC cycles per minute since the previous point drawn. */
  gcPerMin: (number | null)[]
  /** How many samples the window had, when fewer are drawn. */
  thinnedFrom: number | null
}

/** One row of SeriesView: what the live dashboard appends per sample. */
export interface SamplePoint {
  t: number
  rss: (number | null)[]
  rssTotal: number | null
  heap: [
    live: number | null,
    fragmentation: number | null,
    idle: number | null,
    released: number | null,
    nextGC: number | null,
  ]
  goroutines: number | null
  gcPerMin: number | null
}

export interface ViewOptions {
  mode: 'report' | 'live'
  /** When the page was made (the report reads no clock). */
  generatedAtMs: number
  heapProfiles?: Edges<Profile>
  /**
   * Who the target is when it is neither a PID nor a URL (an instance read from Prometheus), and
   * the facts that name it, shown first.
   */
  subject?: { who: string; facts: { label: string; value: string }[] }
}

export function toReportView(diagnosis: Diagnosis, options: ViewOptions): ReportView {
  const target = diagnosis.target
  const who =
    options.subject?.who ??
    (target.pid !== undefined
      ? `pid ${target.pid}${target.name ? ` (${target.name})` : ''}`
      : (target.url ?? 'target'))
  const { startMs, endMs, samples } = diagnosis.window
  return {
    kind: 'gomemdoctor-report',
    version: VIEW_VERSION,
    mode: options.mode,
    title: `gomemdoctor · ${who}`,
    headline: headline(diagnosis, who),
    facts: [...(options.subject?.facts ?? []), ...facts(diagnosis)],
    window: {
      startMs,
      endMs,
      samples,
      text:
        samples === 0
          ? 'no samples yet'
          : `${utc(startMs)} UTC · ${formatDuration(endMs - startMs)} · ${samples} sample${samples === 1 ? '' : 's'}`,
    },
    verdict: verdictView(diagnosis),
    rss: rssView(diagnosis),
    findings: findingViews(diagnosis),
    gaps: diagnosis.gaps,
    unjudged: diagnosis.unjudged,
    notes: diagnosis.notes,
    sources: diagnosis.sources,
    series: seriesView(diagnosis.series),
    flame: options.heapProfiles ? flameView(options.heapProfiles) : null,
    generated: generatedText(options.generatedAtMs),
  }
}

/** 'YYYY-MM-DD hh:mm:ss' in UTC. */
export function utc(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}

export function generatedText(atMs: number): string {
  return `made by gomemdoctor on ${utc(atMs)} UTC`
}

/** The top finding, or why there is none. */
export function verdictView(diagnosis: Diagnosis): ReportView['verdict'] {
  const first = diagnosis.findings[0]
  if (first) return { id: first.id, severity: first.severity, text: first.title }
  if (diagnosis.verdict === 'inconclusive') {
    return {
      id: 'inconclusive',
      severity: 'unjudged',
      text: `no finding, but ${diagnosis.unjudged.join(', ')} could not be judged`,
    }
  }
  return { id: 'healthy', severity: 'healthy', text: 'no memory problem found in this window' }
}

/** The findings, most important first, with their values formatted for people. */
export function findingViews(diagnosis: Diagnosis): FindingView[] {
  return diagnosis.findings.map(f => ({
    id: f.id,
    severity: f.severity,
    confidence: f.confidence,
    title: f.title,
    summary: f.summary,
    evidence: f.evidence.map(e => ({
      label: e.label,
      value: formatEvidenceValue(e),
      source: e.source,
    })),
    fixes: f.fixes,
    whatIf: f.whatIf
      ? `RSS ≈ ${formatBytes(f.whatIf.rssBytes)} after the fix (${f.whatIf.explanation})`
      : null,
    resolved: f.resolvedDuringWindow === true,
  }))
}

function headline(diagnosis: Diagnosis, who: string): string {
  const t = diagnosis.target
  const parts = [who, t.goVersion ?? 'Go version unknown']
  parts.push(
    t.godebug ? `GODEBUG=${t.godebug}` : t.godebugUnknown ? 'GODEBUG unknown' : 'GODEBUG unset',
  )
  if (t.kernel) parts.push(`Linux ${t.kernel}`)
  const limit = diagnosis.series.at(-1)?.cgroup?.limit
  if (limit !== undefined) parts.push(`cgroup limit ${formatBytes(limit)}`)
  return parts.join(' · ')
}

function facts(diagnosis: Diagnosis): { label: string; value: string }[] {
  const t = diagnosis.target
  const rows: [string, string | undefined][] = [
    ['PID', t.pid === undefined ? undefined : String(t.pid)],
    ['process', t.name],
    ['URL', t.url],
    ['Go', t.goVersion],
    ['module', t.mainModule],
    ['GODEBUG', t.godebug ?? (t.godebugUnknown ? 'unknown' : 'unset')],
    ['GOGC', t.gogc],
    ['GOMEMLIMIT', t.gomemlimit],
    ['kernel', t.kernel],
    ['cgroup', t.cgroupPath],
  ]
  return rows.flatMap(([label, value]) => (value === undefined ? [] : [{ label, value }]))
}

export function rssView(diagnosis: Diagnosis): RssView | null {
  const rss = diagnosis.rss
  if (!rss) return null
  return {
    bytes: rss.rssBytes,
    text: formatBytes(rss.rssBytes),
    slices: rss.slices.map(s => ({
      key: s.key,
      label: s.label,
      bytes: s.bytes,
      text: formatBytes(s.bytes),
      share: rss.rssBytes > 0 ? s.bytes / rss.rssBytes : 0,
      source: s.source,
    })),
    split: rss.split
      ? {
          text: `Go ${formatBytes(rss.split.goBytes)} · non-Go ${formatBytes(rss.split.nonGoBytes)} · files ${formatBytes(rss.split.fileBytes)}`,
          exact: rss.split.exact,
          how: splitHow(rss.split),
          reason: rss.split.reason,
          source: rss.split.source,
        }
      : null,
    unseparated: rss.unseparated ?? null,
  }
}

/** The chart row of one sample; `previous` is the sample drawn before it (for GC rates). */
export function samplePoint(
  snapshot: MemorySnapshot,
  previous: MemorySnapshot | undefined,
): SamplePoint {
  const breakdown = breakdownRss(snapshot)
  const rss = RSS_KEYS.map(({ key }) => {
    const slice = breakdown?.slices.find(s => s.key === key)
    return slice ? Math.max(0, slice.bytes) : null
  })
  const r = snapshot.runtime
  let gcPerMin: number | null = null
  const before = previous?.runtime
  if (r && before && previous && snapshot.atMs > previous.atMs) {
    gcPerMin = Math.max(0, r.numGC - before.numGC) / ((snapshot.atMs - previous.atMs) / 60_000)
  }
  return {
    t: snapshot.atMs / 1000,
    rss,
    rssTotal: snapshot.status?.vmRss ?? null,
    heap: r
      ? [
          r.heapAlloc,
          Math.max(0, r.heapInuse - r.heapAlloc),
          Math.max(0, r.heapIdle - r.heapReleased),
          r.heapReleased,
          r.nextGC,
        ]
      : [null, null, null, null, null],
    goroutines: snapshot.goroutines?.count ?? r?.goroutines ?? null,
    gcPerMin,
  }
}

export function emptySeries(): SeriesView {
  return {
    t: [],
    rssKeys: RSS_KEYS.map(k => ({ ...k })),
    rss: RSS_KEYS.map(() => []),
    rssTotal: [],
    heap: { live: [], fragmentation: [], idle: [], released: [], nextGC: [] },
    goroutines: [],
    gcPerMin: [],
    thinnedFrom: null,
  }
}

export function seriesView(snapshots: readonly MemorySnapshot[]): SeriesView {
  const series = emptySeries()
  const kept = thin(snapshots, MAX_POINTS)
  let previous: MemorySnapshot | undefined
  for (const index of kept) {
    const snapshot = snapshots[index] as MemorySnapshot
    appendPoint(series, samplePoint(snapshot, previous))
    previous = snapshot
  }
  if (kept.length < snapshots.length) series.thinnedFrom = snapshots.length
  return series
}

/**
 * Indexes of the samples to draw: all of them up to `max`, else per time bucket the lowest and
 * the highest RSS (or live heap, for a target seen without /proc), in time order.
 */
export function thin(snapshots: readonly MemorySnapshot[], max: number): number[] {
  const n = snapshots.length
  if (n <= max) return Array.from({ length: n }, (_, i) => i)
  const buckets = Math.floor(max / 2)
  const size = n / buckets
  const level = (s: MemorySnapshot) => s.status?.vmRss ?? s.runtime?.heapAlloc ?? 0
  const kept: number[] = []
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size)
    const to = Math.min(n, Math.floor((b + 1) * size))
    let low = from
    let high = from
    for (let i = from + 1; i < to; i++) {
      const v = level(snapshots[i] as MemorySnapshot)
      if (v < level(snapshots[low] as MemorySnapshot)) low = i
      if (v > level(snapshots[high] as MemorySnapshot)) high = i
    }
    if (low === high) kept.push(low)
    else kept.push(Math.min(low, high), Math.max(low, high))
  }
  // The window's last sample is the one the breakdown and findings describe: always drawn.
  if (kept.at(-1) !== n - 1) kept.push(n - 1)
  return kept
}

export type { FlameView }
