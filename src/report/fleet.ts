import pc from 'picocolors'
import type { Diagnosis } from '../model/diagnosis.ts'
import { type Gap, SEVERITY_RANK, type Severity } from '../model/finding.ts'
import { formatBytes, formatDuration } from '../model/units.ts'
import { type JsonReport, SCHEMA_VERSION, toJsonReport } from './json.ts'

/** One instance of the fleet and its diagnosis (without the series, which are not kept). */
export interface FleetEntry {
  instance: string
  job: string
  diagnosis: Diagnosis
  /** The labels of its series (namespace, pod … under Kubernetes), for the HTML report. */
  labels?: Record<string, string>
  /** RSS on the fleet chart's grid (html/fleet-view.ts), kept only when the HTML report is made. */
  rssTrend?: (number | null)[]
}

/** A whole fleet run: where it read, over which window, and every instance. */
export interface FleetRun {
  url: string
  selector: string
  /** The range as the user gave it ("6h"). */
  range: string
  window: { startMs: number; endMs: number; stepMs: number }
  /** HTTP range queries made for the whole fleet. */
  queries: number
  entries: FleetEntry[]
  /** Parts of the fleet's data that could not be read, and what no Prometheus data can tell. */
  gaps: Gap[]
}

/** The fleet --json document (DESIGN.md "Contracts"); fields beyond the contract are additions. */
export interface FleetJson {
  schemaVersion: number
  source: {
    url: string
    selector: string
    range: string
    start: string
    end: string
    step: string
    queries: number
  }
  instances: {
    instance: string
    job: string
    goVersion?: string
    verdict: JsonReport['verdict']
    findings: JsonReport['findings']
    rss?: { bytes: number; unexplained?: number }
    /** Detectors that could not judge this instance. */
    unjudged: JsonReport['unjudged']
    /** What could not be read for this instance beyond the fleet-wide gaps. */
    gaps: Gap[]
    notes: string[]
    samples: number
  }[]
  gaps: Gap[]
}

/** The RSS no slice accounts for: RSS beyond what the Go runtime explains (non-Go, or MADV_FREE). */
export function unexplainedBytes(diagnosis: Diagnosis): number | undefined {
  return diagnosis.rss?.slices.find(slice => slice.key === 'unexplained')?.bytes
}

/** A finding's severity rank (1–3); below any finding, inconclusive (0.5) before healthy (0). */
function severityOf(diagnosis: Diagnosis): number {
  const top = diagnosis.findings[0]
  if (top) return SEVERITY_RANK[top.severity]
  return diagnosis.verdict === 'inconclusive' ? 0.5 : 0
}

/**
 * Worst first: the top finding's severity (an inconclusive instance before a healthy one: what
 * could not be judged may be wrong), then unexplained bytes, then RSS, then the name.
 */
export function rankFleet(entries: readonly FleetEntry[]): FleetEntry[] {
  return [...entries].sort(
    (a, b) =>
      severityOf(b.diagnosis) - severityOf(a.diagnosis) ||
      (unexplainedBytes(b.diagnosis) ?? -1) - (unexplainedBytes(a.diagnosis) ?? -1) ||
      (b.diagnosis.rss?.rssBytes ?? -1) - (a.diagnosis.rss?.rssBytes ?? -1) ||
      a.instance.localeCompare(b.instance) ||
      a.job.localeCompare(b.job),
  )
}

/** Gaps the fleet states once are left out of each instance's list. */
export function ownGaps(diagnosis: Diagnosis, fleetGaps: readonly Gap[]): Gap[] {
  return diagnosis.gaps.filter(gap => !fleetGaps.some(f => f.signal === gap.signal))
}

export function toFleetJson(run: FleetRun): FleetJson {
  return {
    schemaVersion: SCHEMA_VERSION,
    source: {
      url: run.url,
      selector: run.selector,
      range: run.range,
      start: new Date(run.window.startMs).toISOString(),
      end: new Date(run.window.endMs).toISOString(),
      step: `${run.window.stepMs / 1000}s`,
      queries: run.queries,
    },
    instances: rankFleet(run.entries).map(({ instance, job, diagnosis }) => {
      const report = toJsonReport(diagnosis)
      const unexplained = unexplainedBytes(diagnosis)
      return {
        instance,
        job,
        ...(diagnosis.target.goVersion ? { goVersion: diagnosis.target.goVersion } : {}),
        verdict: report.verdict,
        findings: report.findings,
        ...(report.rss
          ? {
              rss: {
                bytes: report.rss.bytes,
                ...(unexplained === undefined ? {} : { unexplained }),
              },
            }
          : {}),
        unjudged: report.unjudged,
        gaps: ownGaps(diagnosis, run.gaps),
        notes: report.notes,
        samples: diagnosis.window.samples,
      }
    }),
    gaps: run.gaps,
  }
}

export function renderFleetJson(run: FleetRun): string {
  return `${JSON.stringify(toFleetJson(run), null, 2)}\n`
}

/**
 * The verdict as the fleet's table and page show it: the JSON's, except 'no data' for an
 * instance without a single sample (whose JSON verdict is 'inconclusive').
 */
export function fleetVerdict(diagnosis: Diagnosis): string {
  if (diagnosis.findings.length === 0 && diagnosis.window.samples === 0) return 'no data'
  return diagnosis.verdict
}

export interface FleetTableOptions {
  color: boolean
  width: number
}

/** The fleet as a table, worst first, then what could not be read. */
export function renderFleetTable(run: FleetRun, options: FleetTableOptions): string {
  const c = pc.createColors(options.color)
  const ranked = rankFleet(run.entries)
  const lines: string[] = []
  const span = formatDuration(run.window.endMs - run.window.startMs)
  lines.push(
    c.bold(
      `gomemdoctor fleet · ${run.url}${run.selector ? ` · ${run.selector}` : ''} · ${ranked.length} instance${ranked.length === 1 ? '' : 's'}`,
    ),
  )
  lines.push(
    `${span} to ${new Date(run.window.endMs).toISOString()}, ${formatDuration(run.window.stepMs)} steps, ${run.queries} range queries`,
  )
  lines.push('')
  const rows = ranked.map(({ instance, job, diagnosis }) => {
    const top = diagnosis.findings[0]
    const unexplained = unexplainedBytes(diagnosis)
    const verdict = fleetVerdict(diagnosis)
    return {
      cells: [
        instance,
        job,
        diagnosis.target.goVersion ?? '?',
        verdict,
        diagnosis.rss ? formatBytes(diagnosis.rss.rssBytes) : '?',
        unexplained === undefined ? '?' : formatBytes(unexplained),
        top ? `${top.severity.toUpperCase()} ${top.title}` : '',
      ],
      severity: top?.severity,
    }
  })
  const header = ['instance', 'job', 'go', 'verdict', 'RSS', 'unexplained', 'top finding']
  const right = new Set([4, 5])
  const widths = header.map((h, i) =>
    Math.min(i === 0 ? 28 : 24, Math.max(h.length, ...rows.map(r => (r.cells[i] ?? '').length))),
  )
  const line = (cells: string[], severity?: Severity) => {
    const fixed = cells.slice(0, 6).map((cell, i) => {
      const w = widths[i] ?? 0
      const cut = cell.length > w ? `${cell.slice(0, w - 1)}…` : cell
      return right.has(i) ? cut.padStart(w) : cut.padEnd(w)
    })
    const used = fixed.reduce((sum, cell) => sum + cell.length + 2, 0)
    const last = cells[6] ?? ''
    const room = Math.max(10, options.width - used)
    const tail = last.length > room ? `${last.slice(0, room - 1)}…` : last
    const text = [...fixed, tail].join('  ').trimEnd()
    if (severity === 'critical') return c.red(text)
    if (severity === 'warning') return c.yellow(text)
    return text
  }
  lines.push(c.bold(line(header)))
  for (const row of rows) lines.push(line(row.cells, row.severity))
  lines.push('')
  const unjudged = new Map<string, number>()
  for (const { diagnosis } of ranked) {
    for (const id of diagnosis.unjudged) unjudged.set(id, (unjudged.get(id) ?? 0) + 1)
  }
  if (unjudged.size > 0) {
    const list = [...unjudged].map(([id, n]) => `${id} (${n})`).join(', ')
    lines.push(c.dim(`not judged, instances: ${list}; --json lists each instance's reasons`))
  }
  for (const gap of run.gaps)
    lines.push(c.dim(`not read: ${gap.signal}: ${gap.reason}; ${gap.cost}`))
  return `${lines.join('\n')}\n`
}
