/**
 * The fleet page: the fleet's verdict, its instances worst first, the worst instances' RSS over
 * the window, then each instance with findings as the single-process report shows them (the RSS
 * breakdown and the same finding cards), and what could not be read. Instance names, jobs and
 * labels come from the scraped targets: they go in through el()'s textContent like every string.
 *
 * A fleet can be thousands of instances: the table draws the worst FIRST_ROWS rows that match
 * the filter box, and the detail cards only for the rows drawn; "show all" draws the rest of
 * what matches, until the filter changes. Rows and cards are built on first showing and kept.
 * The page's data stays whole, so an archived page still holds every instance. Off-screen cards
 * skip layout (content-visibility, in report.css). The RSS chart draws the worst of what the
 * filter matches: the page holds every instance's RSS (FleetView.chart, in whole MiB). The i-th
 * line drawn takes the i-th colour, and the rows of the lines drawn wear that colour as a swatch.
 *
 * The filter lives in the location hash, so a filtered view can be shared and reloaded:
 * '#filter=namespace%3Dshop', or '#instance-37&filter=shop' once a row's link to its card was
 * followed in a filtered table ('#instance-37' alone is a plain link to the card, as before). The
 * hash is untrusted like the data: it only ever becomes the filter box's value.
 */
import type { FleetChartView, FleetInstanceView, FleetView } from '../fleet-view.ts'
import { createFleetChart, type FleetChart, instanceColor } from './charts.ts'
import { el } from './dom.ts'
import { gapsTable, renderFinding, renderGaps, renderHeader, rssCard } from './sections.ts'

/** Rows drawn at first: enough to triage, few enough that 1,000+ instances open at once. */
const FIRST_ROWS = 100

const COUNT_COLORS = {
  critical: '#b91c1c',
  warning: '#d97706',
  info: '#2563eb',
  inconclusive: '#9ca3af',
  healthy: '#10b981',
} as const

export function renderFleet(app: HTMLElement, view: FleetView): void {
  const header = el('header', { class: 'topbar' })
  renderHeader(header, { headline: view.headline })
  const chartRoot = el('div', { class: 'charts-grid', id: 'charts' })
  const gaps = el('section', { class: 'gaps-section', id: 'gaps' })
  renderGaps(gaps, view)
  // The list filters first (from the hash); the chart, drawn once in the page, follows it, and
  // the rows of the lines it draws take their colours.
  let chart: FleetChart | null = null
  let selection = chartSelection(view.chart, '', [])
  const list = instanceList(view, (query, matching) => {
    selection = chartSelection(view.chart, query, matching)
    chart?.show(selection.ranks, selection.caption)
    return selection.ranks
  })
  const main = el(
    'main',
    { class: 'fleet' },
    el('div', { class: 'summary', id: 'summary' }, fleetCard(view), countsCard(view)),
    el('section', { class: 'charts-section' }, el('h2', {}, 'Over the window'), chartRoot),
    list.table,
    list.details,
    gaps,
  )
  app.replaceChildren(header, main, el('footer', {}, view.generated))
  document.title = view.title
  const fleetChart = createFleetChart(
    chartRoot,
    view.chart,
    rank => `#${rank} ${view.instances[rank - 1]?.instance ?? ''}`,
  )
  fleetChart.show(selection.ranks, selection.caption)
  chart = fleetChart
  list.reveal()
  let pending = 0
  window.addEventListener('resize', () => {
    window.cancelAnimationFrame(pending)
    pending = window.requestAnimationFrame(() => fleetChart.resize())
  })
  document.addEventListener('keydown', event => {
    const target = event.target instanceof Element ? event.target : null
    const typing = target?.closest('input, textarea, select, [contenteditable]')
    if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault()
      list.filter.focus()
    }
  })
  document.body.dataset.instances = String(view.instances.length)
  document.body.dataset.points = String(view.chart.t.length)
  window.requestAnimationFrame(() => {
    document.body.dataset.rendered = 'true'
  })
}

/** 1,000 */
function n(value: number): string {
  return value.toLocaleString('en-US')
}

/** What an instance is found by: its names, label values (and name=value), findings, severity. */
function searchText(i: FleetInstanceView): string {
  return [
    i.instance,
    i.job,
    i.goVersion ?? '',
    i.verdict,
    i.severity,
    ...i.labels.flatMap(l => [l.value, `${l.name}=${l.value}`]),
    ...i.findings.flatMap(f => [f.id, f.severity]),
  ]
    .join('\n')
    .toLowerCase()
}

/** "showing 37 of 1,000 instances matching 'madv'": what the table holds, and out of what. */
function countText(shown: number, matching: number, total: number, query: string): string {
  const all = `${n(total)} instance${total === 1 ? '' : 's'}`
  if (query === '') {
    if (shown < total) return `showing the worst ${n(shown)} of ${all}`
    return total === 1 ? 'showing the only instance' : `showing all ${all}`
  }
  const what = `matching '${query}'`
  if (shown === matching) return `showing ${n(shown)} of ${all} ${what}`
  return `showing the worst ${n(shown)} of the ${n(matching)} instances ${what} (${all} in all)`
}

/**
 * What the chart draws for a filter: the worst `chart.drawn` of the matching instances that have
 * a line (the page holds every instance's), and a caption that says which, and which have none.
 * No filter: the chart as titled, with no caption.
 */
function chartSelection(
  chart: FleetChartView,
  query: string,
  matching: readonly FleetInstanceView[],
): { ranks: number[]; caption: string } {
  if (query === '') {
    return { ranks: chart.lines.slice(0, chart.drawn).map(l => l.rank), caption: '' }
  }
  const held = new Set(chart.lines.map(l => l.rank))
  const lined = matching.filter(i => held.has(i.rank)).map(i => i.rank)
  const ranks = lined.slice(0, chart.drawn)
  return {
    ranks,
    caption: chartCaption(query, {
      drawn: ranks.length,
      lined: lined.length,
      matching: matching.length,
    }),
  }
}

/**
 * The chart's caption for a filter: "drawn: the worst 8 of the 10 instances matching 'shop'",
 * and what has no line: "drawn: the 3 instances matching 'api'; the other 1 exports no RSS in
 * this window".
 */
function chartCaption(
  query: string,
  count: { drawn: number; lined: number; matching: number },
): string {
  const { drawn, lined, matching } = count
  const what = `matching '${query}'`
  if (matching === 0) return `no instance matches '${query}'`
  if (drawn === 0) {
    return matching === 1
      ? `the only instance ${what} exports no RSS in this window`
      : `none of the ${n(matching)} instances ${what} exports its RSS in this window`
  }
  const which =
    drawn < lined
      ? `the worst ${n(drawn)} of the ${n(lined)} instances ${what}`
      : drawn === 1 && matching === 1
        ? `the only instance ${what}`
        : `the ${n(drawn)} instance${drawn === 1 ? '' : 's'} ${what}`
  const rest = matching - lined
  if (rest === 0) return `drawn: ${which}`
  return `drawn: ${which}; the other ${n(rest)} export${rest === 1 ? 's' : ''} no RSS in this window`
}

/** What the location hash asks for; null where it says nothing. Never throws. */
function readHash(hash: string): { filter: string | null; instance: number | null } {
  let filter: string | null = null
  let instance: number | null = null
  for (const part of hash.replace(/^#/, '').split('&')) {
    const linked = /^instance-(\d+)$/.exec(part)
    if (linked) instance = Number(linked[1])
    else if (part.startsWith('filter=')) filter = decodeLeniently(part.slice('filter='.length))
  }
  return { filter, instance }
}

/**
 * %-decodes what decodes and keeps the rest as typed: '%E0%A4%A' (a cut UTF-8 sequence) stays
 * those characters, where decodeURIComponent would throw.
 */
function decodeLeniently(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, run => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })
}

/** Puts the filter (and a followed link's instance) in the URL without a history entry. */
function writeHash(query: string, instance: number | null): void {
  const parts = [
    instance === null ? '' : `instance-${instance}`,
    query === '' ? '' : `filter=${encodeURIComponent(query)}`,
  ].filter(Boolean)
  const hash = parts.length === 0 ? '' : `#${parts.join('&')}`
  if (hash === window.location.hash) return
  const { pathname, search } = window.location
  window.history.replaceState(window.history.state, '', hash || `${pathname}${search}`)
}

/**
 * The ranked table with its filter box and "show all" button, and the detail cards of the rows
 * it shows. Every word typed must appear in the instance, job, Go version, a label, a finding id
 * or a severity (case ignored); typing redraws at once, and tells `onFilter` what matches, which
 * answers the ranks the chart draws, in order: their rows wear the line's colour.
 */
function instanceList(
  view: FleetView,
  onFilter: (query: string, matching: FleetInstanceView[]) => readonly number[],
): {
  table: HTMLElement
  details: HTMLElement
  filter: HTMLInputElement
  /** Scrolls to the card the hash names when the browser could not (a hash with a filter). */
  reveal(): void
} {
  const listed = view.instances.map(instance => ({ instance, text: searchText(instance) }))
  const troubled = view.instances.filter(i => i.findings.length > 0).length
  const rows = new Map<number, HTMLElement>()
  const cards = new Map<number, HTMLElement>()
  /** The rows' swatches: the chart's colour of each rank drawn, by the line's position. */
  const colors = new Map<number, string>()
  const swatches = new Map<number, HTMLElement>()
  const paint = (rank: number) => {
    const row = rows.get(rank)
    if (!row) return
    const color = colors.get(rank)
    let swatch = swatches.get(rank)
    if (color === undefined) {
      swatch?.remove()
      swatches.delete(rank)
      return
    }
    if (!swatch) {
      swatch = el('span', { class: 'swatch', title: 'drawn on the RSS chart above' })
      swatches.set(rank, swatch)
      row.querySelector('td.instance')?.prepend(swatch)
    }
    swatch.style.background = color
  }
  const build = (i: FleetInstanceView) => {
    const row = instanceRow(i)
    rows.set(i.rank, row)
    paint(i.rank)
    return row
  }
  // Opened with a filter, or at a card below the first rows (a link kept from an earlier look):
  // filter, and draw down to the card.
  const opened = readHash(window.location.hash)
  let limit = Math.max(FIRST_ROWS, opened.instance ?? 0)
  let whole = false
  /** The query onFilter was last told of: "show all" and a space typed do not change it. */
  let filtered: string | null = null
  /** The ranks drawn, so a keystroke that changes nothing redraws nothing. */
  let drawn: string | null = null

  const filter = el('input', {
    type: 'search',
    id: 'fleet-filter',
    placeholder: 'instance, job, label, finding id or severity (press /)',
    'aria-keyshortcuts': '/',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'fleet-count',
    'aria-controls': 'fleet-rows',
  })
  const count = el('p', { class: 'muted', id: 'fleet-count', role: 'status' })
  // The same toggle above and below the table: whoever scrolled to row 100 finds it there.
  const toggles = ['fleet-show-all', 'fleet-show-all-below'].map(id => {
    return el('button', { type: 'button', id, 'aria-controls': 'fleet-rows' })
  }) as [HTMLButtonElement, HTMLButtonElement]
  const rest = el('span', {})
  const more = el('p', { class: 'muted', id: 'fleet-more' }, rest, toggles[1])
  const tbody = el('tbody', { id: 'fleet-rows' })
  const bar = el(
    'div',
    { class: 'fleet-filter' },
    el('label', { for: 'fleet-filter' }, 'filter'),
    filter,
    count,
    toggles[0],
  )
  const heading = el('h2', {})
  const cardRoot = el('div', {})

  const update = () => {
    const query = filter.value.trim()
    const terms = query.toLowerCase().split(/\s+/).filter(Boolean)
    const matching =
      terms.length === 0 ? listed : listed.filter(l => terms.every(t => l.text.includes(t)))
    if (query !== filtered) {
      filtered = query
      const ranks = onFilter(
        query,
        matching.map(l => l.instance),
      )
      const before = [...colors.keys()]
      colors.clear()
      for (const [i, rank] of ranks.entries()) colors.set(rank, instanceColor(i))
      for (const rank of new Set([...before, ...ranks])) paint(rank)
    }
    const shown = matching.slice(0, limit).map(l => l.instance)
    whole = shown.length === matching.length
    count.textContent = countText(shown.length, matching.length, listed.length, query)
    more.hidden = matching.length <= FIRST_ROWS
    rest.textContent = whole ? '' : `${n(matching.length - shown.length)} more not shown`
    for (const toggle of toggles) {
      toggle.hidden = matching.length <= FIRST_ROWS
      toggle.textContent = whole
        ? `show the worst ${FIRST_ROWS} only`
        : `show all ${n(matching.length)}`
      toggle.setAttribute('aria-expanded', String(whole))
    }
    document.body.dataset.shown = String(shown.length)
    const key = shown.map(i => i.rank).join(',')
    if (key === drawn) return
    drawn = key
    tbody.replaceChildren(...shown.map(i => rows.get(i.rank) ?? build(i)))
    const withFindings = shown.filter(i => i.findings.length > 0)
    heading.textContent =
      withFindings.length === troubled
        ? `Instances with findings (${n(troubled)})`
        : `Instances with findings (${n(withFindings.length)} of ${n(troubled)}: those in the table above)`
    if (troubled === 0) {
      cardRoot.replaceChildren(
        el('p', { class: 'empty healthy' }, 'No instance has a memory problem in this window.'),
      )
    } else if (withFindings.length === 0) {
      cardRoot.replaceChildren(
        el('p', { class: 'empty' }, 'No instance in the table has a finding.'),
      )
    } else {
      cardRoot.replaceChildren(...withFindings.map(i => cached(cards, i, instanceCard)))
    }
  }
  // "show all" is for what the filter matches now: a new filter shows its worst rows first, so
  // typing never redraws a thousand rows and cards a keystroke.
  const refilter = () => {
    limit = FIRST_ROWS
    update()
    writeHash(filter.value.trim(), null)
  }
  filter.addEventListener('input', refilter)
  filter.addEventListener('keydown', event => {
    if (event.key === 'Escape' && filter.value !== '') {
      event.preventDefault()
      filter.value = ''
      refilter()
    }
  })
  const scrollToCard = (instance: number | null) => {
    if (instance !== null) document.getElementById(`instance-${instance}`)?.scrollIntoView()
  }
  // Back, forward, or a hash typed in the address bar: the table follows the URL. A row's link
  // to its card followed in a filtered table ('#instance-37') keeps the filter in the URL.
  window.addEventListener('hashchange', () => {
    const asked = readHash(window.location.hash)
    const query = filter.value.trim()
    if (asked.filter === null && asked.instance !== null && query !== '') {
      writeHash(query, asked.instance)
    } else if ((asked.filter ?? '') !== query) {
      filter.value = asked.filter ?? ''
      limit = FIRST_ROWS
    }
    limit = Math.max(limit, asked.instance ?? 0)
    update()
    scrollToCard(asked.instance)
  })
  for (const toggle of toggles) {
    toggle.addEventListener('click', () => {
      limit = whole ? FIRST_ROWS : Number.POSITIVE_INFINITY
      update()
    })
  }
  filter.value = opened.filter ?? ''
  update()

  const table = el(
    'section',
    { class: 'fleet-table-section', id: 'instances' },
    el('h2', {}, `Instances, worst first (${n(view.instances.length)})`),
    bar,
    instanceTable(tbody),
    more,
  )
  const details = el('section', { class: 'instances', id: 'details' }, heading, cardRoot)
  return {
    table,
    details,
    filter,
    reveal() {
      if (opened.filter !== null) scrollToCard(opened.instance)
    },
  }
}

/** An instance's row or card, built the first time it is shown. */
function cached(
  built: Map<number, HTMLElement>,
  instance: FleetInstanceView,
  build: (i: FleetInstanceView) => HTMLElement,
): HTMLElement {
  let node = built.get(instance.rank)
  if (!node) {
    node = build(instance)
    built.set(instance.rank, node)
  }
  return node
}

function worstSeverity(view: FleetView): string {
  const { critical, warning, info, inconclusive } = view.counts
  if (critical > 0) return 'critical'
  if (warning > 0) return 'warning'
  if (info > 0) return 'info'
  return inconclusive > 0 ? 'unjudged' : 'healthy'
}

/** The fleet's verdict: healthy only when every instance was judged and none has a finding. */
function fleetHeadline(view: FleetView): { title: string; text: string } {
  const n = view.instances.length
  const { inconclusive, healthy } = view.counts
  const troubled = n - inconclusive - healthy
  const instances = `${n} instance${n === 1 ? '' : 's'}`
  const worst = view.instances[0]
  if (troubled > 0 && worst)
    return {
      title: `${troubled} of ${n} in trouble`,
      text: `worst: ${worst.instance} · ${worst.verdict}`,
    }
  if (inconclusive > 0)
    return {
      title: 'inconclusive',
      text: `no finding on ${instances}, but ${inconclusive} could not be judged in full`,
    }
  return { title: 'healthy', text: `no memory problem found on ${instances}` }
}

function fleetCard(view: FleetView): HTMLElement {
  const headline = fleetHeadline(view)
  return el(
    'section',
    { class: `verdict sev-${worstSeverity(view)}`, id: 'verdict' },
    el('p', { class: 'eyebrow' }, 'fleet'),
    el('h1', {}, headline.title),
    el('p', { class: 'verdict-text' }, headline.text),
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
    { key: 'inconclusive', label: 'no finding, inconclusive' },
    { key: 'healthy', label: 'healthy' },
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

function instanceTable(body: HTMLElement): HTMLElement {
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
    body,
  )
}

function instanceRow(i: FleetInstanceView): HTMLElement {
  const name =
    i.findings.length > 0
      ? el('a', { href: `#instance-${i.rank}` }, i.instance)
      : el('span', {}, i.instance)
  const severity = i.findings[0]?.severity
  return el(
    'tr',
    { class: `sev-${i.severity}`, 'data-rank': String(i.rank) },
    el('td', { class: 'num muted' }, String(i.rank)),
    el('td', { class: 'instance' }, name),
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
  const card = el(
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
  return card
}
