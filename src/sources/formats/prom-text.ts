/**
 * Prometheus text exposition format 0.0.4 (a target's /metrics), and the Go runtime's memory as
 * client_golang's Go collector exports it there.
 *
 *   # HELP go_memstats_heap_idle_bytes Number of heap bytes waiting to be used.
 *   # TYPE go_memstats_heap_idle_bytes gauge
 *   go_memstats_heap_idle_bytes 2.613248e+06
 *   go_gc_duration_seconds{quantile="0.5"} 4.0751e-05
 *
 * Three runtime/metrics gauges (Go ≥ 1.21) are read where a page has them:
 *   go_gc_gogc_percent      /gc/gogc:percent      the GOGC in effect, SetGCPercent included; -1 off
 *   go_gc_gomemlimit_bytes  /gc/gomemlimit:bytes  the limit in effect; math.MaxInt64 (9.22e18) unset
 *   go_gc_heap_live_bytes   /gc/heap/live:bytes   the heap the last GC marked live
 * client_golang ≥ 1.20 serves the first two in its default registry
 * (internal.GoCollectorDefaultRuntimeMetrics: /gc/gogc:percent|/gc/gomemlimit:bytes|
 * /sched/gomaxprocs:threads); heap live only with WithGoCollectorRuntimeMetrics (MetricsGC, All).
 *
 * Reference: prometheus/docs content/docs/instrumenting/exposition_formats.md ("Text format
 * details"); prometheus/common expfmt/text_parse.go; client_golang v1.14.0 prometheus/go_collector.go
 * (go_memstats_* names) and go_collector_latest.go memStatsFromRM (the MemStats ← runtime/metrics
 * identities used below); client_golang v1.25.0 prometheus/internal/go_collector_options.go.
 */
import { InputError } from '../../errors.ts'
import type { GoRuntimeMemory } from '../../model/snapshot.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { looksLikeHtml } from './sniff.ts'

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface PromSample {
  /** The sample's own name: a histogram family `x` has samples x_bucket, x_sum, x_count. */
  name: string
  labels: Record<string, string>
  /** NaN and ±Inf are legal values. */
  value: number
  timestampMs?: number
}

export interface PromFamily {
  name: string
  /** From `# TYPE`; 'untyped' when the page declares none. */
  type: PromType
  help?: string
  samples: PromSample[]
}

/** What a /metrics page says about the Go runtime. */
export interface PromRuntimeView {
  /** Absent when the page lacks a field the model needs; `missing` names them. */
  runtime?: GoRuntimeMemory
  missing?: string[]
  /** go_info{version}. */
  goVersion?: string
  /** process_resident_memory_bytes: the process collector's RSS (stat's rss × page size). */
  rssBytes?: number
  goroutines?: number
}

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n' }

/** Every family on the page, in page order. Throws InputError naming the origin and line. */
export function parsePromText(capture: RawCapture): PromFamily[] {
  const { origin } = capture
  if (capture.bytes[0] === 0x1f && capture.bytes[1] === 0x8b) {
    throw new InputError(
      `${origin}: gzip-compressed, not Prometheus text (undecoded Content-Encoding?)`,
    )
  }
  const text = captureText(capture)
  if (looksLikeHtml(text.slice(0, 512)))
    throw new InputError(`${origin}: got HTML, not Prometheus text`)
  if (text.trim() === '') throw new InputError(`${origin}: empty, not Prometheus text`)
  const families = new Map<string, PromFamily>()
  const declared = new Set<string>()
  const family = (name: string) => {
    const found = families.get(name) ?? { name, type: 'untyped', samples: [] }
    families.set(name, found)
    return found
  }
  let lineNo = 0
  for (const rawLine of text.split('\n')) {
    lineNo++
    const fail = (what: string) => new InputError(`${origin}: line ${lineNo}: ${what}`)
    const line = trimBlanks(rawLine)
    if (line === '') continue
    if (line.startsWith('#')) {
      const [, keyword, name, rest = ''] =
        /^#[ \t]*(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line) ?? []
      if (!keyword || !name) continue // any other comment
      METRIC_NAME.lastIndex = 0
      if (METRIC_NAME.exec(name)?.[0] !== name) throw fail(`bad metric name ${snippet(name)}`)
      if (keyword === 'HELP') {
        family(name).help = rest.replace(/\\([\\n])/g, (_, c: string) => ESCAPES[c] ?? c)
      } else {
        if (!TYPES.has(rest)) throw fail(`unknown type ${snippet(rest)} for ${clip(name)}`)
        if (declared.has(name)) throw fail(`second TYPE line for ${clip(name)}`)
        declared.add(name)
        family(name).type = rest as PromType
      }
      continue
    }
    const sample = parseSample(line, fail)
    family(familyOf(sample.name, families)).samples.push(sample)
  }
  return [...families.values()]
}

/** x_bucket, x_sum, x_count belong to family x when x is a declared histogram or summary. */
function familyOf(name: string, families: Map<string, PromFamily>): string {
  const suffix = /_(bucket|sum|count)$/.exec(name)
  if (!suffix || families.has(name)) return name
  const base = families.get(name.slice(0, suffix.index))
  const fits = base?.type === 'histogram' || (base?.type === 'summary' && suffix[1] !== 'bucket')
  return fits && base ? base.name : name
}

function parseSample(line: string, fail: (what: string) => Error): PromSample {
  METRIC_NAME.lastIndex = 0
  const name = METRIC_NAME.exec(line)?.[0]
  if (!name) throw fail(`expected a metric name, got ${snippet(line)}`)
  let pos = skipBlanks(line, name.length)
  const labels: Record<string, string> = {}
  if (line[pos] === '{') {
    pos = skipBlanks(line, pos + 1)
    while (line[pos] !== '}') {
      LABEL_NAME.lastIndex = pos
      const label = LABEL_NAME.exec(line)?.[0]
      if (!label) throw fail(`bad label name at ${snippet(line.slice(pos))}`)
      pos = skipBlanks(line, pos + label.length)
      if (line[pos] !== '=') throw fail(`expected = after label ${clip(label)}`)
      pos = skipBlanks(line, pos + 1)
      if (line[pos] !== '"') throw fail(`expected " to open the value of label ${clip(label)}`)
      // One pass, copying runs between escapes: linear even for 10 MB of backslashes.
      let value = ''
      let run = ++pos
      for (; line[pos] !== '"'; pos++) {
        if (pos >= line.length) throw fail(`unterminated value of label ${clip(label)}`)
        if (line[pos] !== '\\') continue
        const escaped = ESCAPES[line[pos + 1] ?? '']
        if (escaped === undefined) throw fail(`bad escape in the value of label ${clip(label)}`)
        value += line.slice(run, pos) + escaped
        run = ++pos + 1
      }
      value += line.slice(run, pos)
      if (Object.hasOwn(labels, label)) throw fail(`label ${clip(label)} given twice`)
      // defineProperty: a label named __proto__ stays data instead of reaching the prototype.
      Object.defineProperty(labels, label, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      })
      pos = skipBlanks(line, pos + 1)
      if (line[pos] === ',') pos = skipBlanks(line, pos + 1)
      else if (line[pos] !== '}') throw fail(`expected , or } after label ${clip(label)}`)
    }
    pos = skipBlanks(line, pos + 1)
  }
  // Value, optional integer timestamp (ms), and an OpenMetrics exemplar (`# {…} v`) we ignore.
  const [valueText = '', timestamp, ...rest] = line.slice(pos).split(/[ \t]+/)
  if (rest.length > 0 && rest[0] !== '#')
    throw fail(`unexpected ${snippet(rest.join(' '))} after the value`)
  const value = parseValue(valueText)
  if (valueText === '') throw fail(`${clip(name)} has no value`)
  if (value === undefined) throw fail(`${clip(name)} has value ${snippet(valueText)}, not a number`)
  const sample: PromSample = { name, labels, value }
  if (timestamp !== undefined && timestamp !== '#') {
    if (!/^-?\d+$/.test(timestamp)) throw fail(`bad timestamp ${snippet(timestamp)}`)
    sample.timestampMs = Number(timestamp)
  }
  return sample
}

/** Go's strconv.ParseFloat as the text format uses it: decimal, NaN and Inf in any case. */
function parseValue(text: string): number | undefined {
  const lower = text.toLowerCase()
  if (lower === 'nan') return Number.NaN
  if (/^[+]?inf(inity)?$/.test(lower)) return Number.POSITIVE_INFINITY
  if (/^-inf(inity)?$/.test(lower)) return Number.NEGATIVE_INFINITY
  return FLOAT.test(text) ? Number(text) : undefined
}

/** Without a regex: /[ \t]+$/ is quadratic on a long run of blanks followed by text. */
function trimBlanks(line: string): string {
  let start = 0
  let end = line.length
  while (line[start] === ' ' || line[start] === '\t') start++
  while (end > start && (line[end - 1] === ' ' || line[end - 1] === '\t' || line[end - 1] === '\r'))
    end--
  return line.slice(start, end)
}

function skipBlanks(line: string, pos: number): number {
  while (line[pos] === ' ' || line[pos] === '\t') pos++
  return pos
}

const MEMORY_CLASS = 'go_memory_classes_'

/**
 * GoRuntimeMemory field ← the go_memstats_* gauge, else its runtime/metrics identity. The
 * identities are client_golang's own (memStatsFromRM), so on a page that has both, both agree:
 *   heapAlloc    = heap/objects                heapInuse = heap/objects + heap/unused
 *   heapReleased = heap/released               heapIdle  = heap/released + heap/free
 *   heapSys      = heapInuse + heapIdle        stackSys  = heap/stacks + os-stacks
 *   mSpanSys     = mspan/inuse + mspan/free    mCacheSys = mcache/inuse + mcache/free
 *   gcSys = metadata/other   otherSys = other   buckHashSys = profiling/buckets   sys = total
 */
const FIELDS: readonly [keyof GoRuntimeMemory, string, string[], boolean][] = [
  ['heapAlloc', 'go_memstats_heap_alloc_bytes', ['heap_objects'], true],
  [
    'heapSys',
    'go_memstats_heap_sys_bytes',
    ['heap_objects', 'heap_unused', 'heap_released', 'heap_free'],
    true,
  ],
  ['heapIdle', 'go_memstats_heap_idle_bytes', ['heap_released', 'heap_free'], true],
  ['heapInuse', 'go_memstats_heap_inuse_bytes', ['heap_objects', 'heap_unused'], true],
  ['heapReleased', 'go_memstats_heap_released_bytes', ['heap_released'], true],
  ['stackInuse', 'go_memstats_stack_inuse_bytes', ['heap_stacks'], true],
  ['stackSys', 'go_memstats_stack_sys_bytes', ['heap_stacks', 'os_stacks'], true],
  ['mSpanInuse', 'go_memstats_mspan_inuse_bytes', ['metadata_mspan_inuse'], false],
  [
    'mSpanSys',
    'go_memstats_mspan_sys_bytes',
    ['metadata_mspan_inuse', 'metadata_mspan_free'],
    true,
  ],
  ['mCacheInuse', 'go_memstats_mcache_inuse_bytes', ['metadata_mcache_inuse'], false],
  [
    'mCacheSys',
    'go_memstats_mcache_sys_bytes',
    ['metadata_mcache_inuse', 'metadata_mcache_free'],
    true,
  ],
  ['buckHashSys', 'go_memstats_buck_hash_sys_bytes', ['profiling_buckets'], true],
  ['gcSys', 'go_memstats_gc_sys_bytes', ['metadata_other'], true],
  ['otherSys', 'go_memstats_other_sys_bytes', ['other'], true],
  ['sys', 'go_memstats_sys_bytes', ['total'], true],
]
/** Fields with one fallback name, not a sum of memory classes. */
const SINGLE: readonly [keyof GoRuntimeMemory, string[], boolean][] = [
  ['heapObjects', ['go_memstats_heap_objects', 'go_gc_heap_objects_objects'], false],
  ['totalAlloc', ['go_memstats_alloc_bytes_total', 'go_gc_heap_allocs_bytes_total'], false],
  ['nextGC', ['go_memstats_next_gc_bytes', 'go_gc_heap_goal_bytes'], true],
  // The Go collector's GC summary counts every GC (NumGC), not only the last 256 pauses.
  ['numGC', ['go_gc_duration_seconds_count', 'go_gc_cycles_total_gc_cycles_total'], true],
  ['numForcedGC', ['go_gc_cycles_forced_gc_cycles_total'], false],
]

/** The Go runtime's memory, version, RSS and goroutines from a parsed /metrics page. */
export function runtimeFromPromText(
  families: readonly PromFamily[],
  origin: string,
): PromRuntimeView {
  const samples = new Map<string, PromSample[]>()
  for (const f of families) {
    for (const s of f.samples) {
      const list = samples.get(s.name)
      if (list) list.push(s)
      else samples.set(s.name, [s])
    }
  }
  const value = (name: string) => {
    const found = samples.get(name)
    if (!found) return undefined
    // A federated or aggregated page has one sample per instance: which one is meant is unknowable.
    if (found.length > 1)
      throw new InputError(`${origin}: ${found.length} samples of ${name}; expected one target's`)
    return found[0]?.value ?? Number.NaN
  }
  return runtimeFromValues(value, origin, samples.get('go_info')?.[0]?.labels.version)
}

/**
 * The same mapping over any source of one value per metric name: a /metrics page above, or one
 * instant of a Prometheus server's range query (sources/assemble-prometheus.ts). Throws
 * InputError naming `origin` when a value is not a count of bytes or objects.
 */
export function runtimeFromValues(
  lookup: (name: string) => number | undefined,
  origin: string,
  goVersion?: string,
): PromRuntimeView {
  const read = (name: string, kind: 'count' | 'seconds' = 'count') => {
    const found = lookup(name)
    if (found === undefined) return undefined
    if (
      !(found >= 0 && found < Number.POSITIVE_INFINITY) ||
      (kind === 'count' && !Number.isInteger(found))
    ) {
      throw new InputError(
        `${origin}: ${name} is ${found}, not a ${kind === 'count' ? 'count of bytes or objects' : 'time'}`,
      )
    }
    return found
  }
  const sum = (classes: string[]) => {
    const values = classes.map(c => read(`${MEMORY_CLASS}${c}_bytes`))
    return values.every(v => v !== undefined) ? values.reduce((a, b) => a + b, 0) : undefined
  }

  const runtime: Partial<Record<keyof GoRuntimeMemory, number>> = {}
  const missing: string[] = []
  for (const [key, memstats, classes, required] of FIELDS) {
    const value = read(memstats) ?? sum(classes)
    if (value !== undefined) runtime[key] = value
    else if (required) missing.push(memstats)
  }
  for (const [key, names, required] of SINGLE) {
    const value = names.map(name => read(name)).find(v => v !== undefined)
    if (value !== undefined) runtime[key] = value
    else if (required) missing.push(names[0] ?? '')
  }
  const heapLive = read(HEAP_LIVE)
  if (heapLive !== undefined) runtime.heapLive = heapLive
  const memoryLimit = read(GOMEMLIMIT)
  if (memoryLimit !== undefined) runtime.memoryLimit = memoryLimit
  // GOGC=off reads -1, the one negative value a gauge here may have.
  const gogc = lookup(GOGC)
  if (gogc !== undefined) {
    if (!Number.isInteger(gogc) || gogc < -1)
      throw new InputError(`${origin}: ${GOGC} is ${gogc}, not a GOGC percentage (-1 for off)`)
    runtime.gogcPercent = gogc
  }
  const view: PromRuntimeView = {}
  const goroutines = read(GOROUTINES[0]) ?? read(GOROUTINES[1])
  if (goroutines !== undefined) view.goroutines = goroutines
  if (missing.length > 0) view.missing = missing
  else {
    const lastGC = read(LAST_GC, 'seconds')
    view.runtime = {
      ...(runtime as Omit<GoRuntimeMemory, 'source'>),
      source: origin,
      // 0 means no GC has run yet.
      ...(lastGC ? { lastGCMs: Math.round(lastGC * 1000) } : {}),
      ...(goroutines !== undefined ? { goroutines } : {}),
    }
  }
  if (goVersion) view.goVersion = goVersion
  const rss = read(RSS)
  if (rss !== undefined) view.rssBytes = rss
  return view
}

const GOROUTINES = ['go_goroutines', 'go_sched_goroutines_goroutines'] as const
const HEAP_LIVE = 'go_gc_heap_live_bytes'
const GOGC = 'go_gc_gogc_percent'
const GOMEMLIMIT = 'go_gc_gomemlimit_bytes'
const LAST_GC = 'go_memstats_last_gc_time_seconds'
const RSS = 'process_resident_memory_bytes'

/** Every metric name runtimeFromValues reads: what a Prometheus server must be asked for. */
export const RUNTIME_METRIC_NAMES: readonly string[] = [
  ...new Set([
    ...FIELDS.flatMap(([, memstats, classes]) => [
      memstats,
      ...classes.map(c => `${MEMORY_CLASS}${c}_bytes`),
    ]),
    ...SINGLE.flatMap(([, names]) => names),
    ...GOROUTINES,
    HEAP_LIVE,
    GOGC,
    GOMEMLIMIT,
    LAST_GC,
    RSS,
  ]),
]

export const promText: Format<PromFamily[]> = {
  kind: 'prom-text',
  // HELP/TYPE lines, or a first sample with labels: a bare `name value` page looks like
  // cgroup memory.stat, and client_golang always writes HELP and TYPE.
  sniff: head =>
    /^[ \t]*#[ \t]*(?:HELP|TYPE)[ \t]+[a-zA-Z_:][a-zA-Z0-9_:]*[ \t]/m.test(head) ||
    /^[a-zA-Z_:][a-zA-Z0-9_:]*\{[a-zA-Z_][a-zA-Z0-9_]*="/.test(head.trimStart()),
  parse: parsePromText,
}

/** A name from the page, cut so that an error stays one short line. */
function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

/** A value from the page, quoted and cut. */
function snippet(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
}
