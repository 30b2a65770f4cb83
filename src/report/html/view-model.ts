/**
 * Everything the HTML report and the live dashboard show, computed in Node (STYLE.md 5.8): chart
 * columns, the icicle of growing allocation sites, the ranked findings with their values already
 * formatted. The browser code only draws. Arrays are never null; a value that was not read is
 * `null` inside a column, which the charts draw as a gap.
 *
 * Long windows are thinned for drawing: each time bucket keeps its lowest and highest RSS
 * sample, so steps and peaks survive, and the page stays small (86,400 samples become 3,000).
 */
import type { Diagnosis } from '../../model/diagnosis.ts'
import type { Edges } from '../../model/edges.ts'
import type { Evidence, Gap, Severity } from '../../model/finding.ts'
import { diffProfiles } from '../../model/heap-diff.ts'
import { locationNames, type Profile, sampleTypeIndex } from '../../model/heap-profile.ts'
import { heapTop } from '../../model/heap-top.ts'
import { breakdownRss, type RssSliceKey } from '../../model/rss-breakdown.ts'
import type { MemorySnapshot } from '../../model/snapshot.ts'
import { formatBytes, formatDuration } from '../../model/units.ts'

/** Bumped when the page data changes shape. */
export const VIEW_VERSION = 1

/** Points drawn per chart at most; two per time bucket. */
export const MAX_POINTS = 3000

/** Icicle nodes narrower than this share of the total are left out (under a pixel). */
const FLAME_MIN_SHARE = 0.0005
const FLAME_MAX_NODES = 5000
const TOP_ROWS = 15

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

/** An icicle in preorder: node i sits at depth[i], under the nearest earlier node one level up. */
export interface FlameView {
  title: string
  source: string
  total: number
  totalText: string
  /** Full function names (tooltips) and short ones (labels), by index. */
  names: string[]
  shortNames: string[]
  depth: number[]
  name: number[]
  value: number[]
  top: { name: string; flat: string; cum: string; flatShare: number }[]
}

export interface ViewOptions {
  mode: 'report' | 'live'
  /** When the page was made (the report reads no clock). */
  generatedAtMs: number
  heapProfiles?: Edges<Profile>
}

export function toReportView(diagnosis: Diagnosis, options: ViewOptions): ReportView {
  const target = diagnosis.target
  const who =
    target.pid !== undefined
      ? `pid ${target.pid}${target.name ? ` (${target.name})` : ''}`
      : (target.url ?? 'target')
  const first = diagnosis.findings[0]
  const verdict: ReportView['verdict'] = first
    ? { id: first.id, severity: first.severity, text: first.title }
    : diagnosis.unjudged.length > 0
      ? {
          id: 'no finding',
          severity: 'unjudged',
          text: `no finding, but ${diagnosis.unjudged.join(', ')} could not be judged`,
        }
      : { id: 'healthy', severity: 'healthy', text: 'no memory problem found in this window' }
  const { startMs, endMs, samples } = diagnosis.window
  return {
    kind: 'gomemdoctor-report',
    version: VIEW_VERSION,
    mode: options.mode,
    title: `gomemdoctor · ${who}`,
    headline: headline(diagnosis, who),
    facts: facts(diagnosis),
    window: {
      startMs,
      endMs,
      samples,
      text:
        samples === 0
          ? 'no samples yet'
          : `${new Date(startMs).toISOString().replace('T', ' ').slice(0, 19)} UTC · ${formatDuration(endMs - startMs)} · ${samples} sample${samples === 1 ? '' : 's'}`,
    },
    verdict,
    rss: rssView(diagnosis),
    findings: diagnosis.findings.map(f => ({
      id: f.id,
      severity: f.severity,
      confidence: f.confidence,
      title: f.title,
      summary: f.summary,
      evidence: f.evidence.map(e => ({
        label: e.label,
        value: evidenceValue(e),
        source: e.source,
      })),
      fixes: f.fixes,
      whatIf: f.whatIf
        ? `RSS ≈ ${formatBytes(f.whatIf.rssBytes)} after the fix (${f.whatIf.explanation})`
        : null,
      resolved: f.resolvedDuringWindow === true,
    })),
    gaps: diagnosis.gaps,
    unjudged: diagnosis.unjudged,
    notes: diagnosis.notes,
    sources: diagnosis.sources,
    series: seriesView(diagnosis.series),
    flame: options.heapProfiles ? flameView(options.heapProfiles) : null,
    generated: `made by gomemdoctor on ${new Date(options.generatedAtMs).toISOString().replace('T', ' ').slice(0, 19)} UTC`,
  }
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

function rssView(diagnosis: Diagnosis): RssView | null {
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
    unseparated: rss.unseparated ?? null,
  }
}

/** Evidence values for people: bytes in IEC units, ratios as percentages. */
function evidenceValue(evidence: Evidence): string {
  if (typeof evidence.value === 'string') return evidence.value
  switch (evidence.unit) {
    case 'bytes':
      return formatBytes(evidence.value)
    case 'bytes/s':
      return `${formatBytes(evidence.value)}/s`
    case 'ratio':
      return `${Math.round(evidence.value * 100)}%`
    case 'seconds':
      return formatDuration(evidence.value * 1000)
    default:
      return String(evidence.value)
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

/** Appends one point to the columns (the live dashboard does the same in the browser). */
export function appendPoint(series: SeriesView, point: SamplePoint): void {
  series.t.push(point.t)
  point.rss.forEach((v, i) => {
    series.rss[i]?.push(v)
  })
  series.rssTotal.push(point.rssTotal)
  const [live, fragmentation, idle, released, nextGC] = point.heap
  series.heap.live.push(live)
  series.heap.fragmentation.push(fragmentation)
  series.heap.idle.push(idle)
  series.heap.released.push(released)
  series.heap.nextGC.push(nextGC)
  series.goroutines.push(point.goroutines)
  series.gcPerMin.push(point.gcPerMin)
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

/**
 * The icicle of allocation sites: growth of in-use bytes from the first heap profile to the last
 * when both were read (only the sites that grew), else the in-use bytes of the one profile.
 */
export function flameView(profiles: Edges<Profile>): FlameView | null {
  let diff: Profile | undefined
  try {
    diff = profiles.first ? diffProfiles(profiles.first, profiles.last) : undefined
  } catch {
    // Profiles of different sample types cannot be subtracted: the last one is still shown.
    diff = undefined
  }
  const grown = diff ? allocationTree(diff) : undefined
  // Nothing grew (or one profile only): the sites holding the heap at the end are still worth seeing.
  if (!grown || grown.root.value <= 0) diff = undefined
  const tree = diff ? grown : allocationTree(profiles.last)
  if (!tree || tree.root.value <= 0) return null
  const profile = diff ?? profiles.last
  const { root, names } = tree

  const view: FlameView = {
    title: diff
      ? 'growth of in-use heap bytes by allocation site, from the first heap profile to the last'
      : 'in-use heap bytes by allocation site',
    source: diff ? `${profiles.source} (last − first)` : profiles.source,
    total: root.value,
    totalText: `${diff ? '+' : ''}${formatBytes(root.value)}`,
    names: [],
    shortNames: [],
    depth: [],
    name: [],
    value: [],
    top: [],
  }
  const used = new Map<number, number>()
  const minValue = root.value * FLAME_MIN_SHARE
  const stack: [FlameNode, number][] = [[root, 0]]
  while (stack.length > 0 && view.depth.length < FLAME_MAX_NODES) {
    const [node, depth] = stack.pop() as [FlameNode, number]
    let id = used.get(node.name)
    if (id === undefined) {
      id = view.names.length
      used.set(node.name, id)
      const full = names[node.name] as string
      view.names.push(full)
      view.shortNames.push(shortName(full))
    }
    view.depth.push(depth)
    view.name.push(id)
    view.value.push(node.value)
    // Largest child first (leftmost); pushed in reverse so it pops first.
    const children = [...node.children.values()]
      .filter(c => c.value >= minValue)
      .sort((a, b) => b.value - a.value)
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i] as FlameNode, depth + 1])
  }
  const top = heapTop(profile, { sampleType: 'inuse_space', limit: TOP_ROWS * 2 })
  const sign = (v: number) => (diff && v > 0 ? '+' : '')
  view.top = top.rows
    .filter(row => row.flat > 0)
    .slice(0, TOP_ROWS)
    .map(row => ({
      name: row.name,
      flat: `${sign(row.flat)}${formatBytes(row.flat)}`,
      cum: `${sign(row.cum)}${formatBytes(row.cum)}`,
      flatShare: root.value > 0 ? row.flat / root.value : 0,
    }))
  return view
}

interface FlameNode {
  name: number
  value: number
  children: Map<number, FlameNode>
}

/** The positive in-use bytes of a profile as a call tree from the root, names interned. */
function allocationTree(profile: Profile): { root: FlameNode; names: string[] } | undefined {
  const type = sampleTypeIndex(profile, 'inuse_space')
  if (type < 0) return undefined
  const width = profile.sampleTypes.length
  const { count, values, location, locationStart } = profile.samples

  const names: string[] = []
  const nameIds = new Map<string, number>()
  const nameId = (text: string) => {
    let id = nameIds.get(text)
    if (id === undefined) {
      id = names.length
      names.push(text)
      nameIds.set(text, id)
    }
    return id
  }
  const root: FlameNode = { name: nameId('all'), value: 0, children: new Map() }
  const locationCache = new Map<number, number[]>()
  for (let s = 0; s < count; s++) {
    const v = values[s * width + type] as number
    if (v <= 0) continue
    root.value += v
    let node = root
    // Stacks are stored leaf first; an icicle hangs from the root.
    for (let i = (locationStart[s + 1] as number) - 1; i >= (locationStart[s] as number); i--) {
      const loc = location[i] as number
      let frames = locationCache.get(loc)
      if (!frames) {
        const inner = locationNames(profile, loc)
        frames = (inner.length > 0 ? inner : ['?']).reverse().map(nameId)
        locationCache.set(loc, frames)
      }
      for (const frame of frames) {
        let child = node.children.get(frame)
        if (!child) {
          child = { name: frame, value: 0, children: new Map() }
          node.children.set(frame, child)
        }
        child.value += v
        node = child
      }
    }
  }
  return { root, names }
}

/** 'github.com/acme/orders/cache.(*LRU).Add' → 'cache.(*LRU).Add': the package's last element. */
export function shortName(name: string): string {
  const paren = name.indexOf('(')
  const head = paren < 0 ? name : name.slice(0, paren)
  const slash = head.lastIndexOf('/')
  return slash < 0 ? name : name.slice(slash + 1)
}
