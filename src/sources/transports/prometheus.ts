import { InputError, messageOf, TargetError, UsageError } from '../../errors.ts'
import type { Gap } from '../../model/finding.ts'
import { formatDuration } from '../../model/units.ts'
import { parsePromQuery } from '../formats/prom-query.ts'
import { RUNTIME_METRIC_NAMES } from '../formats/prom-text.ts'
import { httpGet } from './http.ts'

/** A range on a fixed grid: points at startMs, startMs + stepMs, …, endMs. */
export interface PromWindow {
  startMs: number
  endMs: number
  stepMs: number
}

/** Prometheus refuses a range query with more points per series than this (api.go, v2.42). */
export const MAX_POINTS_PER_SERIES = 11_000

/** cAdvisor's view of the container, where Prometheus scrapes the kubelet too. */
export const CADVISOR_METRIC_NAMES = [
  'container_memory_working_set_bytes',
  'container_memory_rss',
  'container_memory_usage_bytes',
  'container_spec_memory_limit_bytes',
  'container_oom_events_total',
] as const

export interface PromFetchOptions {
  /** Per HTTP request; also sent to the server as `timeout`, so it gives up too. */
  timeoutMs: number
  /**
   * Points (series × steps) one answer may carry. It bounds our memory per answer (≈ 30 bytes of
   * JSON a point) and stays far below the server's --query.max-samples (50 M by default).
   */
  maxPointsPerQuery?: number
  /** Range queries in flight at once. */
  concurrency?: number
  /** The largest body accepted; a larger one is split in time and asked again. */
  maxBytes?: number
  onQuery?: (done: QueryLog) => void
}

export interface QueryLog {
  query: string
  startMs: number
  endMs: number
  ms: number
  bytes: number
  outcome: 'ok' | 'split' | 'gap'
}

/** One series on the window's grid: NaN where the server had no point. */
export interface GridSeries {
  labels: Record<string, string>
  values: Float64Array
}

export interface FleetFetch {
  window: PromWindow
  /** The query each metric was read with, by metric name: evidence names it. */
  queries: Map<string, string>
  /** Series by metric name; a name nobody exports has none. */
  byName: Map<string, GridSeries[]>
  /** Parts that could not be read: a metric over a stretch of time, and why. */
  gaps: Gap[]
  /** HTTP requests made, and bytes received. */
  requests: number
  bytes: number
}

const DEFAULT_MAX_POINTS = 1_000_000
/** How many times a chunk is halved before its failure becomes a gap. */
const MAX_SPLITS = 6

/** `{job="api"}` → the matchers inside, or '' for none. Prometheus judges the matchers. */
export function selectorMatchers(selector: string | undefined): string {
  const text = (selector ?? '').trim()
  if (text === '') return ''
  if (!text.startsWith('{') || !text.endsWith('}')) {
    throw new UsageError(
      `--selector must be label matchers in braces, like '{job="api"}' (got ${JSON.stringify(text)})`,
    )
  }
  return text.slice(1, -1).trim()
}

/** The range query for one metric name over the fleet. */
export function queryFor(name: string, matchers: string): string {
  const own = matchers === '' ? name : `${name}{${matchers}}`
  if (!name.startsWith('container_')) return own
  // cAdvisor's series belong to the kubelet's job and instance, not the Go process's: keep the
  // containers of pods where a selected Go process runs (nothing outside Kubernetes).
  return `${name}{container!="",container!="POD"} and on (namespace, pod) go_info${matchers === '' ? '' : `{${matchers}}`}`
}

/**
 * The window's grid split into chunks of at most `maxSteps` points each, contiguous and without
 * overlap: [{startMs, endMs}] with both ends on the grid.
 */
export function planChunks(
  window: PromWindow,
  maxSteps: number,
): { startMs: number; endMs: number }[] {
  const points = Math.round((window.endMs - window.startMs) / window.stepMs) + 1
  const per = Math.max(1, Math.min(MAX_POINTS_PER_SERIES, Math.floor(maxSteps)))
  const chunks: { startMs: number; endMs: number }[] = []
  for (let first = 0; first < points; first += per) {
    const last = Math.min(points, first + per) - 1
    chunks.push({
      startMs: window.startMs + first * window.stepMs,
      endMs: window.startMs + last * window.stepMs,
    })
  }
  return chunks
}

/**
 * Reads every metric the diagnosis uses, for every instance the selector matches, with a fixed
 * number of range queries: one per metric name over the whole fleet, each chunked in time so an
 * answer stays within the server's 11,000 points per series and our points-per-answer budget.
 * go_info goes first: its series count sizes the chunks of the rest. A part that fails
 * (timeout, server error, an answer too large even when split) becomes a gap naming the metric
 * and the stretch of time; the rest is still read.
 *
 * Throws UsageError when the server rejects the query (bad_data: the selector), TargetError
 * when the URL is not a Prometheus API or nothing at all could be read.
 */
export async function fetchFleet(
  baseUrl: string,
  selector: string | undefined,
  window: PromWindow,
  options: PromFetchOptions,
): Promise<FleetFetch> {
  const matchers = selectorMatchers(selector)
  const maxPoints = options.maxPointsPerQuery ?? DEFAULT_MAX_POINTS
  const result: FleetFetch = {
    window,
    queries: new Map(),
    byName: new Map(),
    gaps: [],
    requests: 0,
    bytes: 0,
  }
  const read = async (name: string, seriesHint: number) => {
    const query = queryFor(name, matchers)
    result.queries.set(name, query)
    const chunks = planChunks(window, maxPoints / Math.max(1, seriesHint))
    const series = new Map<string, GridSeries>()
    for (const chunk of chunks) {
      await readChunk(baseUrl, query, name, chunk, window, options, result, series, 0)
    }
    result.byName.set(name, [...series.values()])
  }
  await read('go_info', 1)
  const instances = result.byName.get('go_info')?.length ?? 0
  const rest = [...RUNTIME_METRIC_NAMES, ...CADVISOR_METRIC_NAMES]
  let next = 0
  const worker = async () => {
    while (next < rest.length) {
      const name = rest[next++] as string
      await read(name, instances)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker))
  // Nothing read and something failed: the server is the problem, not the selector.
  const gotAny = [...result.byName.values()].some(list => list.length > 0)
  const firstGap = result.gaps[0]
  if (!gotAny && firstGap) {
    throw new TargetError(`${baseUrl}: nothing could be read: ${firstGap.reason}`)
  }
  return result
}

async function readChunk(
  baseUrl: string,
  query: string,
  name: string,
  chunk: { startMs: number; endMs: number },
  window: PromWindow,
  options: PromFetchOptions,
  result: FleetFetch,
  series: Map<string, GridSeries>,
  depth: number,
): Promise<void> {
  const params = new URLSearchParams({
    query,
    start: String(chunk.startMs / 1000),
    end: String(chunk.endMs / 1000),
    step: String(window.stepMs / 1000),
    timeout: `${Math.max(1, Math.floor(options.timeoutMs / 1000))}s`,
  })
  const url = `${baseUrl}/api/v1/query_range?${params}`
  const began = Date.now()
  const log = (outcome: QueryLog['outcome'], bytes: number) =>
    options.onQuery?.({ query, ...chunk, ms: Date.now() - began, bytes, outcome })
  const gap = (reason: string, bytes = 0) => {
    log('gap', bytes)
    const span =
      chunk.startMs === window.startMs && chunk.endMs === window.endMs
        ? 'the whole window'
        : `${new Date(chunk.startMs).toISOString()} to ${new Date(chunk.endMs).toISOString()}`
    result.gaps.push({
      signal: `prometheus:${name}`,
      reason,
      cost: `${name} is missing over ${span}`,
    })
  }
  // Halves the chunk and reads both halves: for answers over the server's or our limits.
  const split = async (bytes: number, why: string) => {
    const steps = Math.round((chunk.endMs - chunk.startMs) / window.stepMs)
    if (steps < 1 || depth >= MAX_SPLITS) return gap(why, bytes)
    log('split', bytes)
    const midMs = chunk.startMs + Math.floor(steps / 2) * window.stepMs
    await readChunk(
      baseUrl,
      query,
      name,
      { startMs: chunk.startMs, endMs: midMs },
      window,
      options,
      result,
      series,
      depth + 1,
    )
    await readChunk(
      baseUrl,
      query,
      name,
      { startMs: midMs + window.stepMs, endMs: chunk.endMs },
      window,
      options,
      result,
      series,
      depth + 1,
    )
  }

  result.requests++
  let answer: Awaited<ReturnType<typeof httpGet>>
  try {
    answer = await httpGet('prom-query', url, {
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes ?? 256 * 1024 * 1024,
    })
  } catch (error) {
    // Refused or unanswered: the first query decides whether the server is there at all.
    if (result.requests === 1) throw new TargetError(`${baseUrl}: ${reasonOf(error, url)}`)
    return gap(reasonOf(error, url))
  }
  const bytes = answer.capture.bytes.byteLength
  result.bytes += bytes
  if (answer.truncated) return split(bytes, `the answer exceeded ${bytes} bytes`)
  let parsed: ReturnType<typeof parsePromQuery>
  try {
    parsed = parsePromQuery(answer.capture)
  } catch (error) {
    // Not the API's JSON: a wrong URL (a web page, a 404 from another server), never a gap.
    if (!(error instanceof InputError)) throw error
    throw new TargetError(
      `${baseUrl} is not a Prometheus HTTP API (HTTP ${answer.status} for /api/v1/query_range: ${messageOf(error).replace(`${url}: `, '')})`,
    )
  }
  if (parsed.status === 'error') {
    if (parsed.errorType === 'bad_data' && !/maximum resolution/.test(parsed.error)) {
      throw new UsageError(`Prometheus rejected the query ${query}: ${parsed.error}`)
    }
    // Limits: --query.max-samples, the 11,000 points per series, a body we would not take.
    if (/too many samples|maximum resolution/i.test(parsed.error)) {
      return split(bytes, `${parsed.errorType}: ${parsed.error}`)
    }
    return gap(
      `Prometheus answered ${parsed.errorType} (HTTP ${answer.status}): ${parsed.error}`,
      bytes,
    )
  }
  log('ok', bytes)
  const offset = Math.round((chunk.startMs - window.startMs) / window.stepMs)
  const length = Math.round((window.endMs - window.startMs) / window.stepMs) + 1
  for (const found of parsed.series) {
    const labels = { ...found.metric }
    delete labels.__name__
    const key = labelKey(labels)
    let grid = series.get(key)
    if (!grid) {
      grid = { labels, values: new Float64Array(length).fill(Number.NaN) }
      series.set(key, grid)
    }
    for (let i = 0; i < found.timesMs.length; i++) {
      const index = Math.round(((found.timesMs[i] as number) - window.startMs) / window.stepMs)
      if (index >= offset && index < length) grid.values[index] = found.values[i] as number
    }
  }
}

function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map(k => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')
}

function reasonOf(error: unknown, url: string): string {
  return messageOf(error).replace(`${url}: `, '')
}

/**
 * The window ending at `endMs` (now by default) that covers `rangeMs`, on a grid of `stepMs`
 * aligned to multiples of the step, so two runs over the same hours ask for the same points.
 */
export function windowFor(rangeMs: number, stepMs: number, endMs = Date.now()): PromWindow {
  const end = Math.floor(endMs / stepMs) * stepMs
  const steps = Math.max(1, Math.round(rangeMs / stepMs))
  return { startMs: end - steps * stepMs, endMs: end, stepMs }
}

/** "6h at 30 s steps (721 points)". */
export function describeWindow(window: PromWindow): string {
  const points = Math.round((window.endMs - window.startMs) / window.stepMs) + 1
  return `${formatDuration(window.endMs - window.startMs)} at ${formatDuration(window.stepMs)} steps (${points} points)`
}
