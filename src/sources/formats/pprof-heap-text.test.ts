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
import { parsePprofHeapText, pprofHeapText } from './pprof-heap-text.ts'

const REAL = fixture('pprof-heap-text', 'go1.19.8.txt')
const TEXT = textOf(REAL)

/** `# Name = value` of the real trailer, read independently of the parser. */
function trailer(name: string): string {
  const value = new RegExp(`^# ${name} = (.*)$`, 'm').exec(TEXT)?.[1]
  assert.ok(value !== undefined, name)
  return value
}
const count = (name: string) => Number(trailer(name))
const pair = (name: string) => trailer(name).split(' / ').map(Number)

test('reads the header and every MemStats line of a real go1.19 heap profile', () => {
  const { sampled, runtime, maxRssBytes } = parsePprofHeapText(REAL)
  const header = /^heap profile: (\d+): (\d+) \[(\d+): (\d+)\] @ heap\/(\d+)$/m.exec(TEXT)
  assert.deepEqual(Object.values(sampled), header?.slice(1).map(Number))
  assert.equal(sampled.rateField, 2 * 512 * 1024)
  assert.deepEqual(runtime, {
    source: REAL.origin,
    heapAlloc: count('HeapAlloc'),
    heapSys: count('HeapSys'),
    heapIdle: count('HeapIdle'),
    heapInuse: count('HeapInuse'),
    heapReleased: count('HeapReleased'),
    heapObjects: count('HeapObjects'),
    stackInuse: pair('Stack')[0],
    stackSys: pair('Stack')[1],
    mSpanInuse: pair('MSpan')[0],
    mSpanSys: pair('MSpan')[1],
    mCacheInuse: pair('MCache')[0],
    mCacheSys: pair('MCache')[1],
    buckHashSys: count('BuckHashSys'),
    gcSys: count('GCSys'),
    otherSys: count('OtherSys'),
    sys: count('Sys'),
    nextGC: count('NextGC'),
    numGC: count('NumGC'),
    numForcedGC: count('NumForcedGC'),
    totalAlloc: count('TotalAlloc'),
    lastGCMs: Math.floor(count('LastGC') / 1e6),
  })
  assert.equal(maxRssBytes, count('MaxRSS'))
  // The fixture program keeps 16 MiB live and touched every page of it before the capture.
  assert.ok(runtime.heapAlloc > 16 * 1024 * 1024 && (maxRssBytes ?? 0) > 16 * 1024 * 1024)
})

test('reads a profile without MaxRSS, as Go writes where getrusage is missing', () => {
  const parsed = parsePprofHeapText(
    textCapture('pprof-heap-text', TEXT.replace(/^# MaxRSS = .*\n/m, '')),
  )
  assert.equal(parsed.maxRssBytes, undefined)
  assert.equal(parsed.runtime.heapAlloc, count('HeapAlloc'))
})

test('rejects hostile inputs with one line naming the origin', () => {
  const cases: [string, string, RegExp][] = [
    ['empty', '', /empty, not a heap profile/],
    ['html login page', HTML_PAGE, /got HTML, not a heap profile/],
    [
      'goroutine dump',
      'goroutine 1 [running]:\nmain.main()\n',
      /not a \?debug=1 heap profile: first line is "goroutine 1/,
    ],
    [
      'cut before the trailer',
      TEXT.slice(0, TEXT.indexOf('# runtime.MemStats')),
      /no # runtime.MemStats trailer/,
    ],
    [
      'cut inside the trailer',
      TEXT.slice(0, TEXT.indexOf('# HeapIdle')),
      /no HeapIdle in the heap profile's # runtime.MemStats/,
    ],
    ['cut inside a number', TEXT.slice(0, -3), /ends mid-line \(truncated\?\)/],
    [
      'NaN',
      TEXT.replace(/^# HeapReleased = \d+/m, '# HeapReleased = NaN'),
      /# HeapReleased = "NaN", not a count/,
    ],
    ['negative', TEXT.replace(/^# Sys = \d+/m, '# Sys = -1'), /# Sys = "-1", not a count/],
    [
      'bad pair',
      TEXT.replace(/^# Stack = .*/m, '# Stack = 327680'),
      /# Stack = "327680", not a count/,
    ],
    ['10 MB single line', hugeLine(), /first line is "AAAA/],
    [
      '10 MB value',
      TEXT.replace(/^# HeapAlloc = \d+/m, `# HeapAlloc = ${hugeLine('9')}x`),
      /# HeapAlloc = "9999/,
    ],
    ['binary blob', '\0\x1f\x8b\x08\xff\xfe\x00\x01\n', /not a \?debug=1 heap profile/],
  ]
  for (const [name, text, pattern] of cases) {
    const capture = textCapture('pprof-heap-text', text, name)
    assertInputError(() => parsePprofHeapText(capture), new RegExp(`^${name}: .*${pattern.source}`))
  }
})

test('sniffs the debug=1 heap profile and no other format fixture', () => {
  assertSniffsOnlyItsOwn(pprofHeapText)
})
