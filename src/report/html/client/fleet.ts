/**
 * The fleet page: the fleet's verdict, its instances worst first, the worst instances' RSS over
 * the window, then each instance with findings as the single-process report shows them (the RSS
 * breakdown and the same finding cards), and what could not be read. Instance names, jobs and
 * labels come from the scraped targets: they go in through el()'s textContent like every string.
 */
import type { FleetInstanceView, FleetView } from '../fleet-view.ts'
import { createFleetChart, instanceColor } from './charts.ts'
import { el } from './dom.ts'
import { gapsTable, renderFinding, renderGaps, renderHeader, rssCard } from './sections.ts'

const COUNT_COLORS = {
  critical: '#b91c1c',
  warning: '#d97706',
  info: '#2563eb',
  none: '#10b981',
} as const

export function renderFleet(app: HTMLElement, view: FleetView): void {
  const header = el('header', { class: 'topbar' })
  renderHeader(header, { headline: view.headline })
  const chartRoot = el('div', { class: 'charts-grid', id: 'charts' })
  const gaps = el('section', { class: 'gaps-section', id: 'gaps' })
  renderGaps(gaps, view)
  const troubled = view.instances.filter(i => i.findings.length > 0)
  const main = el(
    'main',
    { class: 'fleet' },
    el('div', { class: 'summary', id: 'summary' }, fleetCard(view), countsCard(view)),
    el('section', { class: 'charts-section' }, el('h2', {}, 'Over the window'), chartRoot),
    el(
      'section',
      { class: 'fleet-table-section', id: 'instances' },
      el('h2', {}, `Instances, worst first (${view.instances.length})`),
      instanceTable(view),
    ),
    el(
      'section',
      { class: 'instances', id: 'details' },
      el('h2', {}, `Instances with findings (${troubled.length})`),
      troubled.length === 0
        ? el('p', { class: 'empty healthy' }, 'No instance has a memory problem in this window.')
        : null,
      ...troubled.map(instanceCard),
    ),
    gaps,
  )
  app.replaceChildren(header, main, el('footer', {}, view.generated))
  document.title = view.title
  const chart = createFleetChart(chartRoot, view.chart)
  let pending = 0
  window.addEventListener('resize', () => {
    window.cancelAnimationFrame(pending)
    pending = window.requestAnimationFrame(() => chart.resize())
  })
  document.body.dataset.instances = String(view.instances.length)
  document.body.dataset.points = String(view.chart.t.length)
  window.requestAnimationFrame(() => {
    document.body.dataset.rendered = 'true'
  })
}

function worstSeverity(view: FleetView): string {
  const { critical, warning, info } = view.counts
  return critical > 0 ? 'critical' : warning > 0 ? 'warning' : info > 0 ? 'info' : 'healthy'
}

function fleetCard(view: FleetView): HTMLElement {
  const n = view.instances.length
  const troubled = n - view.counts.none
  return el(
    'section',
    { class: `verdict sev-${worstSeverity(view)}`, id: 'verdict' },
    el('p', { class: 'eyebrow' }, 'fleet'),
    el('h1', {}, troubled === 0 ? 'healthy' : `${troubled} of ${n} in trouble`),
    el(
      'p',
      { class: 'verdict-text' },
      view.instances[0] && view.instances[0].findings.length > 0
        ? `worst: ${view.instances[0].instance} · ${view.instances[0].verdict}`
        : `no memory problem found on ${n} instance${n === 1 ? '' : 's'}`,
    ),
    el('p', { class: 'muted window' }, view.window.text),
    el(
      'dl',
      { class: 'facts' },
      ...view.facts.flatMap(f => [el('dt', {}, f.label), el('dd', {}, f.value)]),
    ),
  )
}

function countsCard(view: FleetView): HTMLElement {
  const n = view.instances.length
  const rows: { key: keyof FleetView['counts']; label: string }[] = [
    { key: 'critical', label: 'critical finding' },
    { key: 'warning', label: 'warning' },
    { key: 'info', label: 'info only' },
    { key: 'none', label: 'no finding' },
  ]
  const bar = el('div', { class: 'rss-bar', role: 'img', 'aria-label': 'instances by severity' })
  for (const row of rows) {
    const count = view.counts[row.key]
    if (count === 0) continue
    const part = el('span', { class: 'rss-part', title: `${row.label}: ${count}` })
    part.style.flexGrow = String(count)
    part.style.background = COUNT_COLORS[row.key]
    bar.appendChild(part)
  }
  return el(
    'section',
    { class: 'rss-card', id: 'counts' },
    el('p', { class: 'eyebrow' }, 'instances by their worst finding'),
    el('p', { class: 'rss-total' }, `${n} instance${n === 1 ? '' : 's'}`),
    bar,
    el(
      'table',
      { class: 'slices' },
      el(
        'tbody',
        {},
        ...rows.map(row => {
          const swatch = el('span', { class: 'swatch' })
          swatch.style.background = COUNT_COLORS[row.key]
          return el(
            'tr',
            {},
            el('td', {}, swatch, row.label),
            el('td', { class: 'num' }, String(view.counts[row.key])),
          )
        }),
      ),
    ),
    view.unjudged.length > 0
      ? el(
          'p',
          { class: 'muted small' },
          `not judged on some instances: ${view.unjudged.join(', ')}`,
        )
      : null,
  )
}

function instanceTable(view: FleetView): HTMLElement {
  const head = [
    '#',
    'instance',
    'job',
    'Go',
    'verdict',
    'severity',
    'RSS',
    'unexplained',
    'top finding',
  ]
  return el(
    'table',
    { class: 'fleet-table' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...head.map((h, i) => el('th', i === 0 || i === 6 || i === 7 ? { class: 'num' } : {}, h)),
      ),
    ),
    el('tbody', {}, ...view.instances.map(instanceRow)),
  )
}

function instanceRow(i: FleetInstanceView): HTMLElement {
  const name =
    i.findings.length > 0
      ? el('a', { href: `#instance-${i.rank}` }, i.instance)
      : el('span', {}, i.instance)
  const swatch =
    i.chartIndex === null
      ? null
      : el('span', { class: 'swatch', title: 'drawn on the RSS chart below' })
  if (swatch && i.chartIndex !== null) swatch.style.background = instanceColor(i.chartIndex)
  const severity = i.findings[0]?.severity
  return el(
    'tr',
    { class: `sev-${i.severity}`, 'data-rank': String(i.rank) },
    el('td', { class: 'num muted' }, String(i.rank)),
    el('td', { class: 'instance' }, swatch, name),
    el('td', { class: 'job' }, i.job),
    el('td', { class: 'mono' }, i.goVersion ?? '?'),
    el('td', { class: 'verdict-cell' }, i.verdict),
    el('td', {}, severity ? el('span', { class: 'badge' }, severity) : null),
    el('td', { class: 'num' }, i.rssText ?? '?'),
    el('td', { class: 'num' }, i.unexplained?.text ?? '?'),
    el('td', { class: 'top-finding' }, i.top ?? ''),
  )
}

function instanceCard(i: FleetInstanceView): HTMLElement {
  const facts: { label: string; value: string }[] = [
    { label: 'job', value: i.job },
    { label: 'Go', value: i.goVersion ?? 'unknown' },
    { label: 'samples', value: String(i.samples) },
    ...i.labels
      .filter(l => !['instance', 'job', 'version'].includes(l.name))
      .map(l => ({ label: l.name, value: l.value })),
  ]
  const extra: HTMLElement[] = []
  if (i.notes.length > 0) {
    extra.push(el('ul', { class: 'notes' }, ...i.notes.map(n => el('li', {}, n))))
  }
  if (i.gaps.length > 0) {
    extra.push(gapsTable(i.gaps, 'not read for this instance'))
  }
  return el(
    'article',
    {
      class: `instance-card sev-${i.severity}`,
      id: `instance-${i.rank}`,
      'data-rank': String(i.rank),
    },
    el(
      'header',
      {},
      el('span', { class: 'rank' }, `#${i.rank}`),
      el('h3', { class: 'instance-name' }, i.instance),
      el('span', { class: 'verdict-id' }, i.verdict),
    ),
    el(
      'div',
      { class: 'instance-body' },
      el(
        'dl',
        { class: 'facts' },
        ...facts.flatMap(f => [el('dt', {}, f.label), el('dd', {}, f.value)]),
      ),
      rssCard(i.rss, null),
    ),
    el('div', { class: 'instance-findings' }, ...i.findings.map(renderFinding)),
    ...extra,
  )
}
