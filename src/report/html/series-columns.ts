import type { SamplePoint, SeriesView } from './view-model.ts'

/**
 * Appends one sample to the chart columns. Shared by the Node-side view model and the browser's
 * live dashboard, so it imports types only and bundles into the client as it is.
 */
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
