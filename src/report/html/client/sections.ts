/**
 * The page's text sections: the header, the verdict, the RSS breakdown bar, the findings with
 * their evidence and fixes, what could not be read. Every string goes in through el()'s
 * textContent, including the ones that came from the target.
 */
import type { FindingView, ReportView, RssView } from '../view-model.ts'
import { sliceColor } from './colors.ts'
import { el, fill } from './dom.ts'
import { percent } from './format.ts'

export function renderHeader(
  root: Element,
  view: { headline: string; mode?: ReportView['mode'] },
): void {
  fill(
    root,
    el(
      'div',
      { class: 'brand' },
      el('span', { class: 'logo', 'aria-hidden': 'true' }, 'gmd'),
      el('span', {}, 'gomemdoctor'),
    ),
    el('div', { class: 'headline' }, view.headline),
    el('div', { class: 'status', id: 'live-status' }, view.mode === 'live' ? 'connecting…' : ''),
  )
}

export function renderSummary(root: Element, view: ReportView): void {
  const verdict = el(
    'section',
    { class: `verdict sev-${view.verdict.severity}`, id: 'verdict' },
    el('p', { class: 'eyebrow' }, 'verdict'),
    el('h1', {}, view.verdict.id),
    el('p', { class: 'verdict-text' }, view.verdict.text),
    el('p', { class: 'muted window' }, view.window.text),
    el(
      'dl',
      { class: 'facts' },
      ...view.facts.flatMap(f => [el('dt', {}, f.label), el('dd', {}, f.value)]),
    ),
  )
  fill(root, verdict, rssCard(view.rss))
}

/** The RSS breakdown: a bar and a table of slices, or why RSS is unknown. */
export function rssCard(rss: RssView | null, id: string | null = 'rss'): HTMLElement {
  const attrs: Record<string, string> =
    id === null ? { class: 'rss-card' } : { class: 'rss-card', id }
  if (!rss) {
    return el(
      'section',
      attrs,
      el('p', { class: 'eyebrow' }, 'resident memory'),
      el(
        'p',
        { class: 'empty' },
        'RSS unknown: the process memory could not be read (see what was not read, below)',
      ),
    )
  }
  const positive = rss.slices.filter(s => s.bytes > 0)
  const bar = el('div', { class: 'rss-bar', role: 'img', 'aria-label': 'RSS breakdown' })
  for (const slice of positive) {
    const part = el('span', { class: 'rss-part', title: `${slice.label}: ${slice.text}` })
    part.style.flexGrow = String(slice.bytes)
    part.style.background = sliceColor(slice.key)
    bar.appendChild(part)
  }
  const rows = rss.slices.map(slice => {
    const swatch = el('span', { class: 'swatch' })
    swatch.style.background = sliceColor(slice.key)
    return el(
      'tr',
      { class: slice.key === 'released-resident' ? 'lazyfree' : '' },
      el('td', {}, swatch, slice.label),
      el('td', { class: 'num' }, slice.text),
      el('td', { class: 'num muted' }, slice.bytes > 0 ? percent(slice.share) : ''),
    )
  })
  return el(
    'section',
    attrs,
    el('p', { class: 'eyebrow' }, 'resident memory at the end of the window'),
    el('p', { class: 'rss-total' }, rss.text),
    rss.split
      ? el(
          'p',
          { class: 'rss-split', title: rss.split.source },
          `${rss.split.text}, `,
          el('strong', { class: rss.split.exact ? 'exact' : 'estimated' }, rss.split.how),
          `: ${rss.split.reason}`,
        )
      : null,
    bar,
    el('table', { class: 'slices' }, el('tbody', {}, ...rows)),
    rss.unseparated ? el('p', { class: 'muted small' }, rss.unseparated) : null,
  )
}

export function renderFindings(root: Element, view: ReportView): void {
  if (view.findings.length === 0) {
    const text =
      view.unjudged.length > 0
        ? `No finding, but ${view.unjudged.join(', ')} could not be judged: see “Not read” below.`
        : 'No memory problem found in this window.'
    fill(root, el('h2', {}, 'Findings'), el('p', { class: 'empty healthy' }, text))
    return
  }
  fill(
    root,
    el('h2', {}, `Findings (${view.findings.length})`),
    ...view.findings.map(renderFinding),
  )
}

/** One finding card: severity, title, summary, evidence with sources, fixes, what-if. */
export function renderFinding(f: FindingView): HTMLElement {
  return el(
    'article',
    { class: `finding sev-${f.severity}`, 'data-id': f.id },
    el(
      'header',
      {},
      el('span', { class: 'badge' }, f.severity),
      el('h3', {}, f.id),
      el('span', { class: 'confidence', title: 'how sure the detector is' }, conf(f.confidence)),
      f.resolved ? el('span', { class: 'resolved' }, 'resolved during the window') : null,
    ),
    el('p', { class: 'finding-title' }, f.title),
    el('p', { class: 'finding-summary' }, f.summary),
    el(
      'table',
      { class: 'evidence' },
      el(
        'thead',
        {},
        el('tr', {}, el('th', {}, 'evidence'), el('th', {}, 'value'), el('th', {}, 'read from')),
      ),
      el(
        'tbody',
        {},
        ...f.evidence.map(e =>
          el(
            'tr',
            {},
            el('td', {}, e.label),
            el('td', { class: 'num' }, e.value),
            el('td', { class: 'src' }, e.source),
          ),
        ),
      ),
    ),
    f.fixes.length > 0
      ? el(
          'div',
          { class: 'fixes' },
          el('h4', {}, 'fix'),
          el('ul', {}, ...f.fixes.map(fix => el('li', {}, fix))),
        )
      : null,
    f.whatIf ? el('p', { class: 'whatif' }, el('strong', {}, 'what if  '), f.whatIf) : null,
  )
}

function conf(value: number): string {
  return `confidence ${value.toFixed(2)}`
}

/** What could not be read, why, and what it costs: one row a gap. */
export function gapsTable(
  gaps: readonly { signal: string; reason: string; cost: string }[],
  heading: string,
): HTMLElement {
  return el(
    'table',
    { class: 'gaps' },
    el(
      'thead',
      {},
      el('tr', {}, el('th', {}, heading), el('th', {}, 'why'), el('th', {}, 'what it costs')),
    ),
    el(
      'tbody',
      {},
      ...gaps.map(g =>
        el('tr', {}, el('td', {}, g.signal), el('td', {}, g.reason), el('td', {}, g.cost)),
      ),
    ),
  )
}

export function renderGaps(
  root: Element,
  view: Pick<ReportView, 'notes' | 'gaps' | 'unjudged' | 'sources'>,
): void {
  const parts: (HTMLElement | null)[] = [el('h2', {}, 'What was read, and what was not')]
  if (view.notes.length > 0) {
    parts.push(el('ul', { class: 'notes' }, ...view.notes.map(n => el('li', {}, n))))
  }
  if (view.gaps.length > 0) {
    parts.push(gapsTable(view.gaps, 'not read'))
  } else if (view.unjudged.length > 0) {
    parts.push(
      el(
        'p',
        { class: 'muted' },
        `Nothing failed to read, but ${view.unjudged.join(', ')} could not be judged with what this window holds (too few samples or GC cycles, or no profile at its end).`,
      ),
    )
  } else {
    parts.push(el('p', { class: 'muted' }, 'Every signal the detectors use was read.'))
  }
  parts.push(
    el(
      'p',
      { class: 'muted small' },
      'sources: ',
      view.sources.length > 0 ? view.sources.join(' · ') : 'none',
    ),
  )
  fill(root, ...parts)
}

export function renderTopTable(root: Element, view: ReportView): void {
  const flame = view.flame
  if (!flame) return
  root.appendChild(
    el(
      'table',
      { class: 'top' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'allocation site (innermost function)'),
          el('th', {}, 'flat'),
          el('th', {}, 'cum'),
          el('th', {}, ''),
        ),
      ),
      el(
        'tbody',
        {},
        ...flame.top.map(row => {
          const meter = el('span', { class: 'meter' })
          meter.style.width = `${Math.max(0, Math.min(100, row.flatShare * 100))}%`
          return el(
            'tr',
            {},
            el('td', { class: 'fn' }, row.name),
            el('td', { class: 'num' }, row.flat),
            el('td', { class: 'num' }, row.cum),
            el('td', { class: 'meter-cell' }, meter),
          )
        }),
      ),
    ),
  )
}
