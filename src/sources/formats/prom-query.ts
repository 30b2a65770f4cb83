/**
 * The Prometheus HTTP API's answer to a range query (/api/v1/query_range), as Prometheus,
 * Thanos, Mimir and VictoriaMetrics all write it:
 *
 *   {"status":"success","data":{"resultType":"matrix","result":[
 *     {"metric":{"__name__":"go_memstats_heap_idle_bytes","instance":"10.0.0.5:8080","job":"api"},
 *      "values":[[1700000000,"2613248"],[1700000030,"2.613248e+06"]]}]}}
 *   {"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""}
 *
 * Timestamps are Unix seconds (a float), values are strings ("NaN", "+Inf" and "-Inf" included).
 * Errors come with HTTP 400 (bad_data), 422 (execution), 503 (timeout, unavailable) or 500; the
 * body is the same JSON, so the answer is parsed whatever the status, and anything that is not
 * this JSON (an HTML page, a proxy's "404 page not found") is named as not Prometheus.
 *
 * Reference: prometheus/prometheus docs/querying/api.md ("Format overview", "Range queries",
 * "Range vectors") and web/api/v1/api.go (v2.42.0) returnAPIError.
 */
import { InputError } from '../../errors.ts'
import { captureText, type RawCapture } from '../capture.ts'
import { looksLikeHtml } from './sniff.ts'

/** One series of a matrix: its labels and its points, oldest first. */
export interface PromRangeSeries {
  /** Label names to values, `__name__` included when the query kept it. */
  metric: Record<string, string>
  /** Unix milliseconds, rounded (the API gives seconds with up to 3 decimals). */
  timesMs: Float64Array
  values: Float64Array
}

export type PromQueryAnswer =
  | { status: 'success'; series: PromRangeSeries[]; warnings: string[] }
  /** errorType: bad_data, execution, timeout, canceled, internal, unavailable, not_found. */
  | { status: 'error'; errorType: string; error: string }

/**
 * Parses one answer of the API. Throws InputError naming the origin when the body is not the
 * API's JSON: that is a URL which is not a Prometheus server (or a proxy in front of one).
 */
export function parsePromQuery(capture: RawCapture): PromQueryAnswer {
  const { origin } = capture
  const text = captureText(capture)
  const head = text.slice(0, 512)
  if (looksLikeHtml(head)) throw new InputError(`${origin}: got HTML, not a Prometheus API answer`)
  if (text.trim() === '') throw new InputError(`${origin}: empty, not a Prometheus API answer`)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    // Not JSON at all: the one place a parse failure is the answer (a sniff), not an error.
    throw new InputError(`${origin}: not JSON, so not a Prometheus API answer: ${snippet(head)}`)
  }
  if (!isObject(body) || (body.status !== 'success' && body.status !== 'error')) {
    throw new InputError(
      `${origin}: JSON without "status": success or error, not a Prometheus API answer`,
    )
  }
  if (body.status === 'error') {
    return {
      status: 'error',
      errorType: typeof body.errorType === 'string' ? body.errorType : 'unknown',
      error: typeof body.error === 'string' ? body.error : 'no error message',
    }
  }
  const data = body.data
  if (!isObject(data)) throw new InputError(`${origin}: a success without "data"`)
  if (data.resultType !== 'matrix') {
    throw new InputError(
      `${origin}: resultType ${snippet(String(data.resultType))}, expected a matrix (a range query)`,
    )
  }
  if (!Array.isArray(data.result)) throw new InputError(`${origin}: "result" is not a list`)
  const series = data.result.map((item: unknown, i: number) => parseSeries(item, i, origin))
  const warnings = Array.isArray(body.warnings)
    ? body.warnings.filter((w: unknown): w is string => typeof w === 'string')
    : []
  return { status: 'success', series, warnings }
}

function parseSeries(item: unknown, index: number, origin: string): PromRangeSeries {
  const fail = (what: string) => new InputError(`${origin}: series ${index}: ${what}`)
  if (!isObject(item) || !isObject(item.metric)) throw fail('no "metric" labels')
  const metric: Record<string, string> = {}
  for (const [name, value] of Object.entries(item.metric)) {
    if (typeof value !== 'string') throw fail(`label ${snippet(name)} is not a string`)
    // defineProperty: a label named __proto__ stays data instead of reaching the prototype.
    Object.defineProperty(metric, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  // Native histograms come as "histograms"; no metric read here is one, so they are left out.
  const points = item.values ?? []
  if (!Array.isArray(points)) throw fail('"values" is not a list')
  const timesMs = new Float64Array(points.length)
  const values = new Float64Array(points.length)
  for (let i = 0; i < points.length; i++) {
    const point: unknown = points[i]
    if (!Array.isArray(point) || point.length !== 2 || typeof point[0] !== 'number') {
      throw fail(`point ${i} is not [unix seconds, "value"]`)
    }
    const value = parseValue(point[1])
    if (value === undefined) throw fail(`point ${i} has value ${snippet(String(point[1]))}`)
    timesMs[i] = Math.round(point[0] * 1000)
    values[i] = value
  }
  return { metric, timesMs, values }
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64) output, and the API's NaN, +Inf, -Inf. */
function parseValue(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined
  if (raw === 'NaN') return Number.NaN
  if (raw === '+Inf') return Number.POSITIVE_INFINITY
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(raw)) return undefined
  return Number(raw)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function snippet(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)
}
