/**
 * The page's entry: reads the view from the inert JSON element and draws it. In a report that
 * is all; on the live dashboard the same drawing is fed by server-sent events: one `view`, then a
 * `sample` per tick and `findings` whenever the diagnosis is redone. EventSource reconnects by
 * itself, and the next `view` redraws everything.
 */
import '../report.css'
import type { FleetView } from '../fleet-view.ts'
import { appendPoint } from '../series-columns.ts'
import type { ReportView, SamplePoint } from '../view-model.ts'
import { type ChartSet, createCharts } from './charts.ts'
import { el } from './dom.ts'
import { createFlamegraph } from './flamegraph.ts'
import { renderFleet } from './fleet.ts'
import { clock } from './format.ts'
import {
  renderFindings,
  renderGaps,
  renderHeader,
  renderSummary,
  renderTopTable,
} from './sections.ts'

/** Samples kept on the live dashboard (an hour at one per second). */
const LIVE_POINTS = 3600

interface PageConfig {
  eventsUrl?: string
}

const parts = {
  header: el('header', { class: 'topbar' }),
  summary: el('div', { class: 'summary', id: 'summary' }),
  findings: el('section', { class: 'findings', id: 'findings' }),
  charts: el('div', { class: 'charts-grid', id: 'charts' }),
  flame: el('section', { class: 'flame', id: 'flame' }),
  gaps: el('section', { class: 'gaps-section', id: 'gaps' }),
  footer: el('footer', {}),
}

const data = readJson<ReportView | FleetView>('report-data')
// A fleet page never uses `view`; the single-process page starts from its data.
let view = data as ReportView
let charts: ChartSet | null = null

function readJson<T>(id: string): T {
  return JSON.parse(document.getElementById(id)?.textContent ?? 'null') as T
}

function renderAll(): void {
  renderHeader(parts.header, view)
  renderText()
  charts = createCharts(parts.charts, view.series)
  parts.flame.replaceChildren()
  if (view.flame) {
    const body = el('div', { class: 'flame-body' })
    parts.flame.append(
      el('h2', {}, 'Allocation sites'),
      el('p', { class: 'muted' }, `${view.flame.title} · ${view.flame.source}`),
      body,
    )
    createFlamegraph(body, view.flame)
    renderTopTable(parts.flame, view)
  } else if (view.mode === 'report') {
    const gap = view.gaps.find(g => g.signal === 'profile.heap')
    parts.flame.append(
      el('h2', {}, 'Allocation sites'),
      el(
        'p',
        { class: 'empty' },
        gap
          ? `No heap profile: ${gap.reason}, so ${gap.cost}.`
          : 'No heap profile in this window: serve net/http/pprof on the target to see which allocation sites grow.',
      ),
    )
  }
  parts.footer.textContent = view.generated
  document.body.dataset.points = String(view.series.t.length)
  window.requestAnimationFrame(() => {
    document.body.dataset.rendered = 'true'
  })
}

/** The sections that change when the diagnosis is redone; charts keep their state. */
function renderText(): void {
  renderSummary(parts.summary, view)
  renderFindings(parts.findings, view)
  renderGaps(parts.gaps, view)
  document.title = view.title
  document.body.dataset.samples = String(view.window.samples)
}

function appendSample(point: SamplePoint): void {
  const s = view.series
  appendPoint(s, point)
  // Trim in batches so a long session does not shift the arrays on every sample.
  const extra = s.t.length - LIVE_POINTS
  if (extra > LIVE_POINTS / 10) {
    const columns = [
      s.t,
      ...s.rss,
      s.rssTotal,
      s.heap.live,
      s.heap.fragmentation,
      s.heap.idle,
      s.heap.released,
      s.heap.nextGC,
      s.goroutines,
      s.gcPerMin,
    ]
    for (const column of columns) column.splice(0, extra)
  }
  charts?.update(s)
  document.body.dataset.points = String(s.t.length)
}

function connect(url: string): void {
  const status = () => document.getElementById('live-status')
  const show = (text: string, state: string) => {
    const node = status()
    if (!node) return
    node.textContent = text
    node.dataset.state = state
  }
  const source = new EventSource(url)
  source.addEventListener('open', () => show('● live', 'live'))
  source.addEventListener('error', () => show('reconnecting…', 'retry'))
  source.addEventListener('view', event => {
    view = JSON.parse((event as MessageEvent<string>).data) as ReportView
    renderAll()
    show('● live', 'live')
  })
  source.addEventListener('sample', event => {
    const point = JSON.parse((event as MessageEvent<string>).data) as SamplePoint
    appendSample(point)
    show(`● live · ${clock(point.t)}`, 'live')
  })
  source.addEventListener('findings', event => {
    const update = JSON.parse((event as MessageEvent<string>).data) as Partial<ReportView>
    view = { ...view, ...update, series: view.series, flame: view.flame }
    renderText()
  })
}

function start(): void {
  const app = document.getElementById('app')
  if (!app) return
  if (data.kind === 'gomemdoctor-fleet') {
    renderFleet(app, data)
    return
  }
  const main = el(
    'main',
    {},
    parts.summary,
    parts.findings,
    el(
      'section',
      { class: 'charts-section' },
      el('h2', {}, view.mode === 'live' ? 'Live' : 'Over the window'),
      parts.charts,
    ),
    parts.flame,
    parts.gaps,
  )
  app.replaceChildren(parts.header, main, parts.footer)
  renderAll()
  let pending = 0
  window.addEventListener('resize', () => {
    window.cancelAnimationFrame(pending)
    pending = window.requestAnimationFrame(() => charts?.resize())
  })
  const config = readJson<PageConfig>('page-config')
  if (config.eventsUrl) connect(config.eventsUrl)
}

start()
