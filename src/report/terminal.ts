import pc from 'picocolors'
import type { Diagnosis } from '../model/diagnosis.ts'
import { type Evidence, FINDING_IDS, type Severity } from '../model/finding.ts'
import type { RssBreakdown } from '../model/rss-breakdown.ts'
import { splitHow } from '../model/rss-split.ts'
import { formatBytes, formatDuration } from '../model/units.ts'
import { formatEvidenceValue } from './evidence-value.ts'

export interface TerminalOptions {
  /** Colour only on a TTY; the caller decides. */
  color: boolean
  width: number
}

const BAR_WIDTH = 32
const LABEL_WIDTH = 36

/** The human report: header, the RSS breakdown as bars, findings with evidence and fixes, gaps. */
export function renderTerminal(diagnosis: Diagnosis, options: TerminalOptions): string {
  const c = pc.createColors(options.color)
  const lines: string[] = []
  lines.push(c.bold(headerLine(diagnosis)))
  const seconds = formatDuration(diagnosis.window.endMs - diagnosis.window.startMs)
  lines.push(
    `sampled ${seconds}, ${diagnosis.window.samples} sample${diagnosis.window.samples === 1 ? '' : 's'}, via ${diagnosis.sources.join(' + ') || 'nothing'}`,
  )
  for (const note of diagnosis.notes) lines.push(c.yellow(`note: ${note}`))
  lines.push('')

  lines.push(...rssLines(diagnosis.rss, c, options.width))
  lines.push('')

  if (diagnosis.verdict === 'healthy') {
    lines.push(`${c.green(c.bold('HEALTHY'))}  every detector judged; no memory problem found`, '')
  } else if (diagnosis.verdict === 'inconclusive') {
    lines.push(
      ...wrap(
        `${c.bold('INCONCLUSIVE')}  no finding, but ${diagnosis.unjudged.join(', ')} could not be judged: see "not read" below`,
        options.width,
        '',
      ),
      '',
    )
  }
  for (const finding of diagnosis.findings) {
    const head = `${severityLabel(finding.severity, c)}  ${c.bold(finding.id)}  (confidence ${finding.confidence.toFixed(2)})`
    lines.push(head)
    lines.push(...wrap(`${finding.title}. ${finding.summary}`, options.width, '  '))
    lines.push(...evidenceLines(finding.evidence, c))
    finding.fixes.forEach((fix, i) => {
      lines.push(
        ...wrap(fix, options.width, i === 0 ? '  fix       ' : '            ', '            '),
      )
    })
    if (finding.whatIf) {
      lines.push(
        ...wrap(
          `RSS ≈ ${formatBytes(finding.whatIf.rssBytes)} after the fix (${finding.whatIf.explanation})`,
          options.width,
          '  what if   ',
          '            ',
        ),
      )
    }
    lines.push('')
  }

  if (diagnosis.gaps.length > 0) {
    lines.push(c.bold('not read'))
    for (const gap of diagnosis.gaps) {
      lines.push(...wrap(`${gap.signal}: ${gap.reason}; ${gap.cost}`, options.width, '  ', '    '))
    }
    lines.push('')
  }
  lines.push(`verdict: ${verdictText(diagnosis)}`)
  return `${lines.join('\n')}\n`
}

/**
 * RSS, the Go/non-Go split under it (exact or estimated, and why), then one bar per slice.
 *   RSS 52.4 MiB
 *     Go 34.3 MiB · non-Go 16.1 MiB · files 1.89 MiB, exact: Go names its mappings ([anon: Go: …])
 */
function rssLines(rss: RssBreakdown | undefined, c: Colors, width: number): string[] {
  if (!rss) return ['RSS unknown: the process memory could not be read from /proc']
  const lines = [c.bold(`RSS ${formatBytes(rss.rssBytes)}`)]
  const { split } = rss
  if (split) {
    const how = splitHow(split)
    lines.push(
      ...wrap(
        `Go ${formatBytes(split.goBytes)} · non-Go ${formatBytes(split.nonGoBytes)} · files ${formatBytes(split.fileBytes)}, ${split.exact ? c.green(how) : c.yellow(how)}: ${split.reason}`,
        width,
        '  ',
        '    ',
      ),
    )
  }
  for (const slice of rss.slices) {
    const share = rss.rssBytes > 0 ? slice.bytes / rss.rssBytes : 0
    const cells = Math.max(0, share * BAR_WIDTH)
    const bar = '█'.repeat(Math.floor(cells)) + (cells % 1 >= 0.5 ? '▌' : '')
    const pct = share >= 0.1 ? `  ${Math.round(share * 100)}%` : ''
    lines.push(
      `  ${slice.label.padEnd(LABEL_WIDTH)} ${formatBytes(slice.bytes).padStart(10)}  ${c.cyan(bar)}${pct}`,
    )
  }
  if (rss.unseparated) lines.push(...wrap(c.dim(rss.unseparated), width, '  '))
  return lines
}

function headerLine(diagnosis: Diagnosis): string {
  const t = diagnosis.target
  const parts = ['gomemdoctor']
  if (t.pid !== undefined) parts.push(`pid ${t.pid}${t.name ? ` (${t.name})` : ''}`)
  else if (t.url) parts.push(t.url)
  parts.push(t.goVersion ?? 'Go version unknown')
  parts.push(
    t.godebug ? `GODEBUG=${t.godebug}` : t.godebugUnknown ? 'GODEBUG unknown' : 'GODEBUG unset',
  )
  if (t.kernel) parts.push(`Linux ${t.kernel}`)
  const limit = diagnosis.series.at(-1)?.cgroup?.limit
  if (limit !== undefined) parts.push(`cgroup limit ${formatBytes(limit)}`)
  return parts.join(' · ')
}

type Colors = ReturnType<typeof pc.createColors>

function severityLabel(severity: Severity, c: Colors): string {
  const text = severity.toUpperCase().padEnd(8)
  if (severity === 'critical') return c.bold(c.red(text))
  if (severity === 'warning') return c.bold(c.yellow(text))
  return c.bold(c.blue(text))
}

function evidenceLines(evidence: readonly Evidence[], c: Colors): string[] {
  const texts = evidence.map(e => `${e.label} ${formatEvidenceValue(e)}`)
  const width = Math.min(44, Math.max(...texts.map(t => t.length)))
  return texts.map(
    (text, i) =>
      `  ${i === 0 ? 'evidence' : '        '}  ${text.padEnd(width)}  ${c.dim(evidence[i]?.source ?? '')}`,
  )
}

/** Word-wraps text to width, with a first-line prefix and a prefix for the lines after it. */
function wrap(text: string, width: number, first: string, rest = first): string[] {
  const out: string[] = []
  let line = first
  let empty = true
  for (const word of text.split(/\s+/)) {
    if (!empty && line.length + 1 + word.length > width) {
      out.push(line)
      line = rest + word
    } else {
      line += (empty ? '' : ' ') + word
    }
    empty = false
  }
  out.push(line)
  return out
}

/**
 * The last line: the JSON's verdict, and when it is inconclusive how many detectors could not
 * judge, so that a person reading only this line never takes "nothing could be read" for health.
 */
function verdictText(diagnosis: Diagnosis): string {
  if (diagnosis.verdict !== 'inconclusive') return diagnosis.verdict
  return `inconclusive (${diagnosis.unjudged.length} of ${FINDING_IDS.length} detectors could not judge)`
}
