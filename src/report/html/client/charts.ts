/**
 * The time-series charts, drawn with uPlot: RSS stacked by where the bytes are (MADV_FREE'd
 * pages on top, in orange), the Go heap by class against its goal, goroutines, GC cycles. The
 * same charts serve the report (drawn once) and the live dashboard (redrawn per sample).
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { FleetChartView } from '../fleet-view.ts'
import type { SeriesView } from '../view-model.ts'
import { sliceColor } from './colors.ts'
import { el } from './dom.ts'
import { bytes, clock, count } from './format.ts'

type Column = (number | null)[]

/** The x series: its legend entry shows the sample's UTC time under the cursor. */
const TIME: uPlot.Series = { label: 'UTC', value: (_u, v) => (v === null ? '–' : clock(v)) }

interface Layer {
  label: string
  color: string
  values: Column
}

export interface ChartSet {
  update(series: SeriesView): void
  resize(): void
}

interface ChartSpec {
  id: string
  title: string
  note: string
  wide?: boolean
  build(series: SeriesView): { data: uPlot.AlignedData; series: uPlot.Series[] } | null
  format: (v: number | null | undefined) => string
}

const SPECS: ChartSpec[] = [
  {
    id: 'chart-rss',
    title: 'Resident memory (RSS) by where it is',
    note: 'Stacked; the line is VmRSS. Orange: pages Go returned with MADV_FREE that the kernel has not taken back (LazyFree).',
    wide: true,
    format: bytes,
    build(series) {
      const layers: Layer[] = series.rss
        .map((values, i) => {
          const key = series.rssKeys[i]
          return { label: key?.label ?? '', color: sliceColor(key?.key ?? ''), values }
        })
        .filter(layer => layer.values.some(v => v !== null && v > 0))
      return stacked(series.t, layers, {
        label: 'RSS (VmRSS)',
        color: '#111827',
        values: series.rssTotal,
      })
    },
  },
  {
    id: 'chart-heap',
    title: 'Go heap by class',
    note: 'HeapSys split into live objects, fragmentation, idle pages not yet returned and pages returned to the OS; dashed: the GC heap goal (NextGC).',
    format: bytes,
    build(series) {
      const h = series.heap
      if (!h.live.some(v => v !== null)) return null
      return stacked(
        series.t,
        [
          { label: 'live (HeapAlloc)', color: '#2563eb', values: h.live },
          { label: 'fragmentation', color: '#60a5fa', values: h.fragmentation },
          { label: 'idle, not returned', color: '#a5c8fd', values: h.idle },
          { label: 'returned (HeapReleased)', color: '#fdba74', values: h.released },
        ],
        { label: 'heap goal (NextGC)', color: '#dc2626', values: h.nextGC, dash: [6, 4] },
      )
    },
  },
  {
    id: 'chart-goroutines',
    title: 'Goroutines',
    note: 'From /metrics go_goroutines or the /debug/pprof/ index.',
    format: count,
    build(series) {
      if (!series.goroutines.some(v => v !== null)) return null
      return {
        data: [series.t, series.goroutines],
        series: [TIME, line('goroutines', '#7c3aed', series.goroutines, count)],
      }
    },
  },
  {
    id: 'chart-gc',
    title: 'GC cycles per minute',
    note: 'From NumGC, between consecutive samples drawn.',
    format: count,
    build(series) {
      if (!series.gcPerMin.some(v => v !== null)) return null
      const s = line('GC cycles/min', '#059669', series.gcPerMin, count)
      const stepped = uPlot.paths.stepped?.({ align: 1 })
      if (stepped) s.paths = stepped
      s.fill = 'rgba(5,150,105,0.12)'
      return { data: [series.t, series.gcPerMin], series: [TIME, s] }
    },
  },
]

/** Builds the chart grid into `root`; charts without data show why instead. */
export function createCharts(root: HTMLElement, series: SeriesView): ChartSet {
  const charts = new Map<string, { plot: uPlot | null; box: HTMLElement; spec: ChartSpec }>()
  root.replaceChildren()
  for (const spec of SPECS) {
    const box = el('div', { class: 'chart-body' })
    root.appendChild(
      el(
        'figure',
        { class: spec.wide ? 'chart wide' : 'chart', id: spec.id },
        el('figcaption', {}, el('h3', {}, spec.title), el('p', { class: 'muted' }, spec.note)),
        box,
      ),
    )
    charts.set(spec.id, { plot: null, box, spec })
  }
  const draw = (data: SeriesView) => {
    for (const chart of charts.values()) {
      const built = chart.spec.build(data)
      if (!built) {
        chart.plot?.destroy()
        chart.plot = null
        chart.box.replaceChildren(el('p', { class: 'empty' }, 'not read in this window'))
        continue
      }
      const width = Math.max(280, chart.box.clientWidth)
      const height = chart.spec.wide ? 300 : 220
      // A new set of series (a slice appeared) needs a new plot; otherwise only new data.
      if (chart.plot && chart.plot.series.length === built.series.length) {
        chart.plot.setData(built.data)
        continue
      }
      chart.plot?.destroy()
      chart.plot = newPlot(chart.box, built, { width, height, format: chart.spec.format })
    }
  }
  draw(series)
  return {
    update: draw,
    resize() {
      for (const chart of charts.values()) {
        chart.plot?.setSize({
          width: Math.max(280, chart.box.clientWidth),
          height: chart.spec.wide ? 300 : 220,
        })
      }
    },
  }
}

/** A uPlot chart in `box` (emptied first), styled alike for every chart of every page. */
function newPlot(
  box: HTMLElement,
  built: { data: uPlot.AlignedData; series: uPlot.Series[] },
  options: { width: number; height: number; format: (v: number | null | undefined) => string },
): uPlot {
  box.replaceChildren()
  return new uPlot(
    {
      width: options.width,
      height: options.height,
      series: built.series,
      axes: [
        { stroke: '#4b5563', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#d1d5db' } },
        {
          stroke: '#4b5563',
          size: 70,
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#d1d5db' },
          values: (_u, splits) => splits.map(v => options.format(v)),
        },
      ],
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    },
    built.data,
    box,
  )
}

/** The fleet page's lines: the i-th line drawn takes the i-th colour. */
const INSTANCE_COLORS = [
  '#dc2626',
  '#f97316',
  '#2563eb',
  '#7c3aed',
  '#059669',
  '#db2777',
  '#0891b2',
  '#65a30d',
]

export function instanceColor(index: number): string {
  return INSTANCE_COLORS[index % INSTANCE_COLORS.length] as string
}

export interface FleetChart {
  /**
   * Draws the lines of these instances, in this order (by rank; ranks without a line in the page
   * are skipped), and says in the caption which they are ('' for no word: the chart then shows
   * the worst, as titled). The i-th line drawn takes instanceColor(i), as the table's swatches
   * do. Redraws only when the lines change; a zoom on the time axis is kept.
   */
  show(ranks: readonly number[], drawn: string): void
  resize(): void
}

/**
 * The fleet page's chart: RSS over the window of its worst instances, or of those the filter
 * keeps; it draws on the first show(). `label` names a rank's line in the legend, which uPlot
 * sets with textContent. The page holds every instance's RSS in the view's unit (whole MiB):
 * only the lines drawn are turned back into bytes, once each.
 */
export function createFleetChart(
  root: HTMLElement,
  chart: FleetChartView,
  label: (rank: number) => string,
): FleetChart {
  const box = el('div', { class: 'chart-body' })
  const each =
    chart.thinnedFrom === null
      ? ''
      : `; each point is the highest of ${Math.round(chart.thinnedFrom / chart.t.length)} steps`
  const note = `process_resident_memory_bytes of the worst instances that export it, in rank order, rounded to whole ${chart.unit.name}${each}.`
  const held = new Map(chart.lines.map(l => [l.rank, l.values]))
  const inBytes = new Map<number, Column>()
  const bytesOf = (rank: number, values: Column): Column => {
    let column = inBytes.get(rank)
    if (!column) {
      column = values.map(v => (v === null ? null : v * chart.unit.bytes))
      inBytes.set(rank, column)
    }
    return column
  }
  const caption = el('p', { class: 'muted', id: 'fleet-chart-drawn', hidden: '' })
  root.replaceChildren(
    el(
      'figure',
      { class: 'chart wide', id: 'chart-fleet-rss' },
      el(
        'figcaption',
        {},
        el('h3', {}, 'Resident memory (RSS) of the worst instances'),
        el('p', { class: 'muted' }, note),
        caption,
      ),
      box,
    ),
  )
  const size = () => ({ width: Math.max(280, box.clientWidth), height: 300 })
  let plot: uPlot | null = null
  let key: string | null = null
  const show = (ranks: readonly number[], drawn: string) => {
    caption.textContent = drawn
    caption.hidden = drawn === ''
    const lines = ranks.flatMap(rank => {
      const values = held.get(rank)
      return values ? [{ rank, values: bytesOf(rank, values) }] : []
    })
    const next = lines.map(l => l.rank).join(',')
    if (next === key) return
    key = next
    // A plot not yet ranged (made and replaced in one task) has null limits, whatever its type.
    const x = plot?.scales.x
    const zoom =
      typeof x?.min === 'number' && typeof x.max === 'number' ? { min: x.min, max: x.max } : null
    plot?.destroy()
    plot = null
    if (lines.length === 0) {
      box.replaceChildren(
        el(
          'p',
          { class: 'empty' },
          chart.lines.length === 0
            ? 'no instance exports its RSS in this window'
            : 'no line to draw for this filter',
        ),
      )
      return
    }
    plot = newPlot(
      box,
      {
        data: [chart.t, ...lines.map(l => l.values)] as uPlot.AlignedData,
        series: [
          TIME,
          ...lines.map((l, i) => line(label(l.rank), instanceColor(i), l.values, bytes)),
        ],
      },
      { ...size(), format: bytes },
    )
    // A new plot ranges x over the whole window: put back a zoom the user made.
    const [first, last] = [chart.t[0], chart.t[chart.t.length - 1]]
    if (zoom && first !== undefined && last !== undefined) {
      if (zoom.min > first || zoom.max < last) plot.setScale('x', zoom)
    }
  }
  return {
    show,
    resize() {
      plot?.setSize(size())
    },
  }
}

function line(
  label: string,
  color: string,
  raw: Column,
  format: (v: number | null | undefined) => string,
): uPlot.Series {
  return {
    label,
    stroke: color,
    width: 1.5,
    points: { show: false },
    value: (_u, _v, _s, idx) => format(idx === null ? null : raw[idx]),
  }
}

/**
 * Stacked areas: each layer is drawn as the running sum up to it, filled down to zero, top layer
 * first so the lower ones paint over it. Legends show each layer's own value, not the sum.
 */
function stacked(
  t: number[],
  layers: Layer[],
  overlay: Layer & { dash?: number[] },
): { data: uPlot.AlignedData; series: uPlot.Series[] } {
  const sums: Column[] = []
  let running: Column = t.map(() => null)
  for (const layer of layers) {
    running = running.map((below, i) => {
      const v = layer.values[i]
      if (v === null || v === undefined) return below
      return (below ?? 0) + v
    })
    sums.push(running)
  }
  const series: uPlot.Series[] = [TIME]
  const data: Column[] = []
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as Layer
    series.push({
      label: layer.label,
      stroke: layer.color,
      fill: layer.color,
      width: 0,
      points: { show: false },
      value: (_u, _v, _s, idx) => bytes(idx === null ? null : layer.values[idx]),
    })
    data.push(sums[i] as Column)
  }
  if (overlay.values.some(v => v !== null)) {
    const s = line(overlay.label, overlay.color, overlay.values, bytes)
    if (overlay.dash) s.dash = overlay.dash
    series.push(s)
    data.push(overlay.values)
  }
  return { data: [t, ...data] as uPlot.AlignedData, series }
}
