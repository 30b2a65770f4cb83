import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  fixture,
  HTML_PAGE,
  hugeLine,
  textCapture,
  textOf,
} from '../../../test/helpers/format-fixtures.ts'
import { type PromFamily, parsePromText, promText, runtimeFromPromText } from './prom-text.ts'

const DEFAULT = fixture('prom-text', 'go1.19.8-client_golang1.14.0-default.txt')
const BOTH = fixture('prom-text', 'go1.19.8-client_golang1.14.0-memstats-and-runtime-metrics.txt')
const RM_ONLY = fixture('prom-text', 'go1.19.8-client_golang1.14.0-runtime-metrics-only.txt')
/** Today's client_golang (module proxy) on Go 1.26: the same program, the same three registries. */
const MODERN = 'go1.26.8-client_golang1.25.0'
const MODERN_DEFAULT = fixture('prom-text', `${MODERN}-default.txt`)
const MODERN_BOTH = fixture('prom-text', `${MODERN}-memstats-and-runtime-metrics.txt`)
const MODERN_RM_ONLY = fixture('prom-text', `${MODERN}-runtime-metrics-only.txt`)
const ALL_PAGES = [DEFAULT, BOTH, RM_ONLY, MODERN_DEFAULT, MODERN_BOTH, MODERN_RM_ONLY]

/** An unlabelled sample's value, read from the page text without the parser. */
function valueIn(text: string, name: string): number {
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]
  assert.ok(value !== undefined, name)
  return Number(value)
}

const parse = (text: string, origin = 'inline') =>
  parsePromText(textCapture('prom-text', text, origin))
const without = (families: PromFamily[], prefix: string) =>
  families.filter(f => !f.name.startsWith(prefix))

test('parses every family of six real client_golang pages (1.14 and 1.25), with its TYPE and HELP', () => {
  for (const capture of ALL_PAGES) {
    const text = textOf(capture)
    const families = parsePromText(capture)
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name, type])
    assert.deepEqual(
      families.map(f => [f.name, f.type]),
      types,
      capture.origin,
    )
    assert.ok(families.every(f => f.help && f.samples.length > 0))
    const samples = text.split('\n').filter(line => line && !line.startsWith('#')).length
    assert.equal(
      families.reduce((n, f) => n + f.samples.length, 0),
      samples,
    )
  }
  assert.equal(parsePromText(DEFAULT).length, 36)
})

test('groups summary and histogram samples under their family', () => {
  const families = parsePromText(RM_ONLY)
  const summary = families.find(f => f.name === 'go_gc_duration_seconds')
  assert.deepEqual(
    summary?.samples.map(s => [s.name, s.labels.quantile]),
    [
      ['go_gc_duration_seconds', '0'],
      ['go_gc_duration_seconds', '0.25'],
      ['go_gc_duration_seconds', '0.5'],
      ['go_gc_duration_seconds', '0.75'],
      ['go_gc_duration_seconds', '1'],
      ['go_gc_duration_seconds_sum', undefined],
      ['go_gc_duration_seconds_count', undefined],
    ],
  )
  const histogram = families.find(f => f.name === 'go_gc_pauses_seconds')
  assert.equal(histogram?.type, 'histogram')
  const names = new Set(histogram?.samples.map(s => s.name))
  assert.deepEqual(
    [...names],
    ['go_gc_pauses_seconds_bucket', 'go_gc_pauses_seconds_sum', 'go_gc_pauses_seconds_count'],
  )
  assert.equal(histogram?.samples.at(-3)?.labels.le, '+Inf')
})

test('maps the go_memstats_* gauges of the default registry to GoRuntimeMemory', () => {
  const text = textOf(DEFAULT)
  const v = (name: string) => valueIn(text, name)
  const view = runtimeFromPromText(parsePromText(DEFAULT), DEFAULT.origin)
  assert.deepEqual(view, {
    runtime: {
      source: DEFAULT.origin,
      heapAlloc: v('go_memstats_heap_alloc_bytes'),
      heapSys: v('go_memstats_heap_sys_bytes'),
      heapIdle: v('go_memstats_heap_idle_bytes'),
      heapInuse: v('go_memstats_heap_inuse_bytes'),
      heapReleased: v('go_memstats_heap_released_bytes'),
      stackInuse: v('go_memstats_stack_inuse_bytes'),
      stackSys: v('go_memstats_stack_sys_bytes'),
      mSpanInuse: v('go_memstats_mspan_inuse_bytes'),
      mSpanSys: v('go_memstats_mspan_sys_bytes'),
      mCacheInuse: v('go_memstats_mcache_inuse_bytes'),
      mCacheSys: v('go_memstats_mcache_sys_bytes'),
      buckHashSys: v('go_memstats_buck_hash_sys_bytes'),
      gcSys: v('go_memstats_gc_sys_bytes'),
      otherSys: v('go_memstats_other_sys_bytes'),
      sys: v('go_memstats_sys_bytes'),
      heapObjects: v('go_memstats_heap_objects'),
      totalAlloc: v('go_memstats_alloc_bytes_total'),
      nextGC: v('go_memstats_next_gc_bytes'),
      numGC: v('go_gc_duration_seconds_count'),
      lastGCMs: Math.round(v('go_memstats_last_gc_time_seconds') * 1000),
      goroutines: v('go_goroutines'),
    },
    goVersion: 'go1.19.8',
    rssBytes: v('process_resident_memory_bytes'),
    goroutines: v('go_goroutines'),
  })
})

test('derives MemStats from go_memory_classes_* exactly as client_golang does on the same scrape', () => {
  // These pages have both views of one runtime/metrics read: dropping the go_memstats_* families
  // must leave the derivation with the very numbers client_golang computed from it.
  for (const page of [BOTH, MODERN_BOTH]) {
    const families = parsePromText(page)
    const full = runtimeFromPromText(families, 'page').runtime
    const derived = runtimeFromPromText(without(families, 'go_memstats_'), 'page').runtime
    assert.ok(full && derived)
    const { lastGCMs, ...fullWithoutLastGC } = full
    assert.ok(lastGCMs !== undefined && lastGCMs > 0)
    // client_golang ≥ 1.20 keeps last_gc_time among its base metrics: dropping it drops lastGCMs.
    const { lastGCMs: _kept, ...derivedWithoutLastGC } = derived
    assert.deepEqual(derivedWithoutLastGC, fullWithoutLastGC, page.origin)
  }
})

test("reads the runtime/metrics gauges of today's client_golang: GOGC and GOMEMLIMIT by default, the live heap when asked", () => {
  const gauges = (page: typeof DEFAULT) => {
    const runtime = runtimeFromPromText(parsePromText(page), page.origin).runtime
    assert.ok(runtime, page.origin)
    return {
      gogcPercent: runtime.gogcPercent,
      memoryLimit: runtime.memoryLimit,
      heapLive: runtime.heapLive,
    }
  }
  const text = textOf(MODERN_BOTH)
  // The default registry: client_golang's default runtime/metrics rule is GOGC, GOMEMLIMIT and
  // GOMAXPROCS. The fixture runs with neither set, so: 100, and math.MaxInt64 as a float.
  assert.deepEqual(gauges(MODERN_DEFAULT), {
    gogcPercent: 100,
    memoryLimit: 2 ** 63,
    heapLive: undefined,
  })
  assert.equal(valueIn(textOf(MODERN_DEFAULT), 'go_gc_gomemlimit_bytes'), 2 ** 63)
  for (const page of [MODERN_BOTH, MODERN_RM_ONLY]) {
    assert.deepEqual(gauges(page), {
      gogcPercent: 100,
      memoryLimit: 2 ** 63,
      heapLive: valueIn(textOf(page), 'go_gc_heap_live_bytes'),
    })
  }
  // The live heap is what the last GC marked: below the goal it set.
  assert.ok(valueIn(text, 'go_gc_heap_live_bytes') < valueIn(text, 'go_gc_heap_goal_bytes'))
  // client_golang 1.14 has none of them.
  for (const page of [DEFAULT, BOTH, RM_ONLY]) {
    assert.deepEqual(gauges(page), {
      gogcPercent: undefined,
      memoryLimit: undefined,
      heapLive: undefined,
    })
  }
})

test('reads GOGC=off as -1 and a set limit as bytes, and rejects gauges that are not a setting', () => {
  const text = textOf(MODERN_DEFAULT)
  const page = (gogc: string, limit = '9.223372036854776e+18') =>
    text
      .replace(/^go_gc_gogc_percent .*$/m, `go_gc_gogc_percent ${gogc}`)
      .replace(/^go_gc_gomemlimit_bytes .*$/m, `go_gc_gomemlimit_bytes ${limit}`)
  const runtime = runtimeFromPromText(parse(page('-1', '5.36870912e+08')), 'x').runtime
  assert.equal(runtime?.gogcPercent, -1)
  assert.equal(runtime?.memoryLimit, 512 * 2 ** 20)
  const cases: [string, string, RegExp][] = [
    ['gogc -2', page('-2'), /go_gc_gogc_percent is -2, not a GOGC percentage/],
    ['gogc 1.5', page('1.5'), /go_gc_gogc_percent is 1.5/],
    ['gogc NaN', page('NaN'), /go_gc_gogc_percent is NaN/],
    ['limit -1', page('100', '-1'), /go_gc_gomemlimit_bytes is -1, not a count/],
    ['limit Inf', page('100', '+Inf'), /go_gc_gomemlimit_bytes is Infinity/],
  ]
  for (const [name, body, pattern] of cases) {
    assertInputError(
      () => runtimeFromPromText(parse(body), name),
      new RegExp(`^${name}: .*${pattern.source}`),
    )
  }
})

test('reads a runtime/metrics-only page through the memory-class identities', () => {
  const text = textOf(RM_ONLY)
  // client_golang 1.14 keeps go_memstats_last_gc_time_seconds among its base metrics.
  assert.deepEqual(
    [...new Set(text.match(/^go_memstats_\w+/gm))],
    ['go_memstats_last_gc_time_seconds'],
  )
  const { runtime } = runtimeFromPromText(parsePromText(RM_ONLY), RM_ONLY.origin)
  const c = (name: string) => valueIn(text, `go_memory_classes_${name}_bytes`)
  assert.ok(runtime)
  assert.equal(runtime.heapAlloc, c('heap_objects'))
  assert.equal(runtime.heapIdle, c('heap_released') + c('heap_free'))
  assert.equal(
    runtime.heapSys,
    c('heap_objects') + c('heap_unused') + c('heap_released') + c('heap_free'),
  )
  assert.equal(runtime.sys, c('total'))
  assert.equal(runtime.heapObjects, valueIn(text, 'go_gc_heap_objects_objects'))
  assert.equal(runtime.nextGC, valueIn(text, 'go_gc_heap_goal_bytes'))
  assert.equal(runtime.numForcedGC, valueIn(text, 'go_gc_cycles_forced_gc_cycles_total'))
  assert.equal(
    runtime.lastGCMs,
    Math.round(valueIn(text, 'go_memstats_last_gc_time_seconds') * 1000),
  )
})

test('answers no runtime, naming what is missing, when the page has too little', () => {
  const view = runtimeFromPromText(without(parsePromText(DEFAULT), 'go_'), 'page')
  assert.equal(view.runtime, undefined)
  assert.ok(view.missing?.includes('go_memstats_heap_released_bytes'))
  assert.equal(view.rssBytes, valueIn(textOf(DEFAULT), 'process_resident_memory_bytes'))
  assert.deepEqual(runtimeFromPromText([], 'page').runtime, undefined)
})

test('reads label escapes, timestamps, NaN, ±Inf and blank-tolerant lines', () => {
  const families = parse(
    [
      '# HELP x_total A \\\\ help\\nline.',
      '# TYPE x_total counter',
      'x_total{path="C:\\\\tmp",quote="say \\"hi\\"",nl="a\\nb",} 3 1700000000000',
      '  x_total { path = "b" } +Inf  ',
      'x_total{path="c"} NaN',
      'x_total{path="d"} -inf -5',
      '# a comment that is not HELP or TYPE',
      'untyped_thing 1.5e-3\r',
    ].join('\n'),
  )
  const [x, untyped] = families
  assert.equal(x?.help, 'A \\ help\nline.')
  assert.deepEqual(x?.samples[0], {
    name: 'x_total',
    labels: { path: 'C:\\tmp', quote: 'say "hi"', nl: 'a\nb' },
    value: 3,
    timestampMs: 1700000000000,
  })
  assert.equal(x?.samples[1]?.value, Number.POSITIVE_INFINITY)
  assert.ok(Number.isNaN(x?.samples[2]?.value))
  assert.deepEqual(
    [x?.samples[3]?.value, x?.samples[3]?.timestampMs],
    [Number.NEGATIVE_INFINITY, -5],
  )
  assert.deepEqual(untyped, {
    name: 'untyped_thing',
    type: 'untyped',
    samples: [{ name: 'untyped_thing', labels: {}, value: 0.0015 }],
  })
})

test('keeps a label named __proto__ as data', () => {
  const labels = parse('m{__proto__="x"} 1')[0]?.samples[0]?.labels
  assert.equal(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, 'x')
  assert.equal(Object.getPrototypeOf(labels), Object.prototype)
})

test('rejects hostile pages with one line naming the origin', () => {
  const text = textOf(DEFAULT)
  const cases: [string, string, RegExp][] = [
    ['empty', '\n \n', /empty, not Prometheus text/],
    ['html login page', HTML_PAGE, /got HTML, not Prometheus text/],
    [
      'truncated inside a label',
      text.slice(0, text.indexOf('go1.19.8')),
      /line \d+: unterminated value of label version/,
    ],
    [
      'wrong type',
      text.replace(/^go_goroutines .*$/m, 'go_goroutines many'),
      /go_goroutines has value "many", not a number/,
    ],
    ['unknown TYPE', '# TYPE m gauges\nm 1', /line 1: unknown type "gauges" for m/],
    ['second TYPE', '# TYPE m gauge\n# TYPE m counter\n', /line 2: second TYPE line for m/],
    ['bad escape', 'm{a="\\t"} 1', /bad escape in the value of label a/],
    ['label twice', 'm{a="1",a="2"} 1', /label a given twice/],
    ['junk after value', 'm 1 2 3', /unexpected "3" after the value/],
    ['bad timestamp', 'm 1 1.5', /bad timestamp "1.5"/],
    ['10 MB single line', hugeLine(), /line 1: A{60}… has no value/],
    ['10 MB label value', `m{a="${hugeLine()}`, /unterminated value of label a/],
    ['10 MB of escapes', `m{a="${'\\\\'.repeat(5 * 1024 * 1024)}`, /unterminated value of label a/],
    ['10 MB of blanks then text', `${' '.repeat(10 * 1024 * 1024)}x`, /line 1: x has no value/],
    ['binary blob', '\0\x01\x02garbage', /line 1: expected a metric name, got "\\u0000/],
  ]
  // No time limit here (a busy CI machine would trip it): the 10 MB cases pass in well under a
  // second because the scans are linear; a quadratic one would show as a test taking minutes.
  for (const [name, page, pattern] of cases) {
    assertInputError(() => parse(page, name), new RegExp(`^${name}: .*${pattern.source}`))
  }
  const gzip = {
    kind: 'prom-text' as const,
    origin: 'gz',
    atMs: 0,
    bytes: Uint8Array.from([0x1f, 0x8b, 8, 0]),
  }
  assertInputError(() => parsePromText(gzip), /^gz: gzip-compressed, not Prometheus text/)
})

test('rejects pages whose Go numbers are not byte counts, or are several targets at once', () => {
  const text = textOf(DEFAULT)
  const cases: [string, string, RegExp][] = [
    [
      'NaN',
      text.replace(/^go_memstats_heap_idle_bytes .*$/m, 'go_memstats_heap_idle_bytes NaN'),
      /go_memstats_heap_idle_bytes is NaN, not a count/,
    ],
    [
      'negative',
      text.replace(/^go_memstats_sys_bytes .*$/m, 'go_memstats_sys_bytes -1'),
      /go_memstats_sys_bytes is -1/,
    ],
    ['fraction', text.replace(/^go_goroutines .*$/m, 'go_goroutines 1.5'), /go_goroutines is 1.5/],
    [
      'infinite time',
      text.replace(
        /^go_memstats_last_gc_time_seconds .*$/m,
        'go_memstats_last_gc_time_seconds +Inf',
      ),
      /last_gc_time_seconds is Infinity, not a time/,
    ],
    [
      'federated',
      `${text}go_memstats_heap_alloc_bytes{instance="b"} 1\n`,
      /2 samples of go_memstats_heap_alloc_bytes; expected one target's/,
    ],
  ]
  for (const [name, page, pattern] of cases) {
    assertInputError(
      () => runtimeFromPromText(parse(page), name),
      new RegExp(`^${name}: .*${pattern.source}`),
    )
  }
})

test('sniffs Prometheus text and no other format fixture', () => {
  assertSniffsOnlyItsOwn(promText)
  assert.ok(promText.sniff('up{job="x"} 1\n'))
  assert.equal(promText.sniff('cache 12345\nrss 6789\n'), false)
})
