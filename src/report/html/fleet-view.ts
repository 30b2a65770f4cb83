/**
 * The fleet variant of the HTML report's view (view-model.ts): the ranked instance table, one
 * chart of the worst instances' RSS over the window, and per instance with findings the same
 * RSS breakdown and finding cards a single-process report shows. Computed in Node; the browser
 * only draws. Instance names, jobs and labels are untrusted: they travel as JSON data and the
 * client puts them in the page as text.
 *
 * The chart's data holds every instance's RSS, so the page can draw the worst of any filter: in
 * whole MiB, which a fleet's RSS needs no finer: 1,000 instances × 360 points are 1.3 MiB of
 * JSON, where bytes made the page 4.1 MiB (bench/README.md).
 */
import type { Diagnosis } from '../../model/diagnosis.ts'
import type { Gap } from '../../model/finding.ts'
import type { MemorySnapshot } from '../../model/snapshot.ts'
import { formatBytes, formatDuration } from '../../model/units.ts'
import { type FleetRun, fleetVerdict, ownGaps, rankFleet, unexplainedBytes } from '../fleet.ts'
import {
  type FindingView,
  findingViews,
  generatedText,
  type ReportView,
  type RssView,
  rssView,
  utc,
  verdictView,
} from './view-model.ts'

/** Points on the fleet chart's time axis at most. */
export const FLEET_CHART_POINTS = 360

/** Lines drawn on the RSS chart at once: the worst of those the filter keeps. */
export const FLEET_CHART_INSTANCES = 8

/** The unit of the chart's values: bytes = value × bytes, each rounded to a whole one. */
export const FLEET_CHART_UNIT = { name: 'MiB', bytes: 2 ** 20 } as const

/**
 * The fleet page's own version of VIEW_VERSION's rule (bumped when its data changes shape): 2
 * when the chart came to hold every instance's RSS in FLEET_CHART_UNIT, by rank; 3 when the
 * instances without a finding were counted as inconclusive and healthy apart.
 */
export const FLEET_VIEW_VERSION = 3

export interface FleetView {
  kind: 'gomemdoctor-fleet'
  version: typeof FLEET_VIEW_VERSION
  title: string
  /** 'fleet · http://prometheus:9090 · {job="api"} · 12 instances' */
  headline: string
  facts: { label: string; value: string }[]
  window: { startMs: number; endMs: number; text: string }
  /** How many instances have a finding of each severity; of the others, how many were inconclusive. */
  counts: { critical: number; warning: number; info: number; inconclusive: number; healthy: number }
  /** Worst first (rankFleet). */
  instances: FleetInstanceView[]
  chart: FleetChartView
  /** What no instance could be read for (failed queries, what Prometheus never holds). */
  gaps: Gap[]
  /** Detectors that could not judge some instances: 'goroutine-leak (3)'. */
  unjudged: string[]
  notes: string[]
  sources: string[]
  generated: string
}

export interface FleetInstanceView {
  /** 1 is the worst. */
  rank: number
  instance: string
  job: string
  /** Every label of its series but __name__, sorted by name. */
  labels: { name: string; value: string }[]
  goVersion: string | null
  /** 'madv-free-retention', 'inconclusive', 'healthy', 'no data' (fleetVerdict). */
  verdict: string
  severity: ReportView['verdict']['severity']
  /** RSS at the end of the window, for the table. */
  rssText: string | null
  /** The breakdown, for an instance with findings (the others have no card: the page stays small). */
  rss: RssView | null
  unexplained: { bytes: number; text: string } | null
  /** The top finding's title. */
  top: string | null
  findings: FindingView[]
  /** What could not be read for this instance beyond the fleet's gaps (with findings only). */
  gaps: Gap[]
  unjudged: string[]
  /** With findings only. */
  notes: string[]
  samples: number
}

export interface FleetChartView {
  /** Unix seconds. */
  t: number[]
  /** The values' unit: RSS in bytes is value × unit.bytes, within half a unit (rounded). */
  unit: { name: typeof FLEET_CHART_UNIT.name; bytes: number }
  /** Lines drawn at once at most: the worst of those the filter keeps, or of all. */
  drawn: number
  /**
   * Every instance with an RSS series, worst first: its rank (instances[rank - 1]) and its RSS
   * on `t` in `unit`, null where nothing was read.
   */
  lines: { rank: number; values: (number | null)[] }[]
  /** The window's steps, when fewer points are drawn (each the highest RSS of its bucket). */
  thinnedFrom: number | null
}

export interface FleetViewOptions {
  generatedAtMs: number
}

/** An RSS column in the chart's unit, rounded; gaps stay null. */
export function inChartUnit(values: readonly (number | null)[]): (number | null)[] {
  return values.map(v => (v === null ? null : Math.round(v / FLEET_CHART_UNIT.bytes)))
}

/** The fleet chart's grid: the window's steps, bucketed down to FLEET_CHART_POINTS. */
export function fleetGrid(window: { startMs: number; endMs: number; stepMs: number }): {
  steps: number
  buckets: number
  t: number[]
} {
  const steps = Math.max(1, Math.round((window.endMs - window.startMs) / window.stepMs) + 1)
  const buckets = Math.min(steps, FLEET_CHART_POINTS)
  const t = Array.from(
    { length: buckets },
    (_, b) => (window.startMs + Math.floor((b * steps) / buckets) * window.stepMs) / 1000,
  )
  return { steps, buckets, t }
}

/**
 * One instance's RSS on the fleet grid: per bucket the highest VmRSS seen in it, so spikes and
 * steps survive thinning; null where nothing was read.
 */
export function rssTrend(
  series: readonly MemorySnapshot[],
  window: { startMs: number; endMs: number; stepMs: number },
): (number | null)[] {
  const { steps, buckets } = fleetGrid(window)
  const column: (number | null)[] = new Array(buckets).fill(null)
  for (const snapshot of series) {
    const rss = snapshot.status?.vmRss
    if (rss === undefined) continue
    const step = Math.round((snapshot.atMs - window.startMs) / window.stepMs)
    if (step < 0 || step >= steps) continue
    const bucket = Math.floor((step * buckets) / steps)
    const current = column[bucket]
    if (current === null || current === undefined || rss > current) column[bucket] = rss
  }
  return column
}

export function toFleetView(run: FleetRun, options: FleetViewOptions): FleetView {
  const ranked = rankFleet(run.entries)
  const grid = fleetGrid(run.window)
  const lines: FleetChartView['lines'] = []
  const counts = { critical: 0, warning: 0, info: 0, inconclusive: 0, healthy: 0 }
  const instances = ranked.map((entry, i): FleetInstanceView => {
    const { diagnosis } = entry
    const top = diagnosis.findings[0]
    if (top) counts[top.severity]++
    else counts[diagnosis.verdict === 'inconclusive' ? 'inconclusive' : 'healthy']++
    const trend = entry.rssTrend
    if (trend?.some(v => v !== null)) lines.push({ rank: i + 1, values: inChartUnit(trend) })
    const unexplained = unexplainedBytes(diagnosis)
    const card = top !== undefined
    return {
      rank: i + 1,
      instance: entry.instance,
      job: entry.job,
      labels: Object.entries(entry.labels ?? {})
        .filter(([name]) => name !== '__name__')
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => ({ name, value })),
      goVersion: diagnosis.target.goVersion ?? null,
      verdict: fleetVerdict(diagnosis),
      severity: severityOf(diagnosis),
      rssText: diagnosis.rss ? formatBytes(diagnosis.rss.rssBytes) : null,
      rss: card ? rssView(diagnosis) : null,
      unexplained:
        unexplained === undefined ? null : { bytes: unexplained, text: formatBytes(unexplained) },
      top: top ? top.title : null,
      findings: findingViews(diagnosis),
      gaps: card ? ownGaps(diagnosis, run.gaps) : [],
      unjudged: diagnosis.unjudged,
      notes: card ? diagnosis.notes : [],
      samples: diagnosis.window.samples,
    }
  })
  const unjudged = new Map<string, number>()
  for (const { diagnosis } of ranked) {
    for (const id of diagnosis.unjudged) unjudged.set(id, (unjudged.get(id) ?? 0) + 1)
  }
  const { startMs, endMs, stepMs } = run.window
  const n = ranked.length
  const howMany = `${n.toLocaleString('en-US')} instance${n === 1 ? '' : 's'}`
  return {
    kind: 'gomemdoctor-fleet',
    version: FLEET_VIEW_VERSION,
    title: `gomemdoctor fleet · ${howMany}`,
    headline: ['fleet', run.url, run.selector, howMany].filter(Boolean).join(' · '),
    facts: [
      { label: 'Prometheus', value: run.url },
      { label: 'selector', value: run.selector || '(every go_* series)' },
      { label: 'range', value: `${run.range}, ${formatDuration(stepMs)} steps` },
      { label: 'queries', value: `${run.queries} range queries for the whole fleet` },
    ],
    window: {
      startMs,
      endMs,
      text: `${utc(startMs)} UTC · ${formatDuration(endMs - startMs)} · to ${utc(endMs)} UTC`,
    },
    counts,
    instances,
    chart: {
      t: grid.t,
      unit: { ...FLEET_CHART_UNIT },
      drawn: FLEET_CHART_INSTANCES,
      lines,
      thinnedFrom: grid.buckets < grid.steps ? grid.steps : null,
    },
    gaps: run.gaps,
    unjudged: [...unjudged].map(([id, count]) => `${id} (${count})`),
    notes: [],
    sources: [`${run.url}/api/v1/query_range`],
    generated: generatedText(options.generatedAtMs),
  }
}

/** The severity the single report gives the same diagnosis: 'unjudged' when inconclusive. */
function severityOf(diagnosis: Diagnosis): FleetInstanceView['severity'] {
  return verdictView(diagnosis).severity
}
