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
import { expvarFormat, parseExpvar } from './expvar.ts'

const REAL = fixture('expvar', 'go1.19.8.json')

/** The fixture's memstats as Go wrote them, to check the mapping field by field. */
const memstats = (JSON.parse(textOf(REAL)) as { memstats: Record<string, number> }).memstats

/** The real capture with memstats edited, as text: the hostile variants stay realistic. */
function edited(change: (stats: Record<string, unknown>) => void): string {
  const json = JSON.parse(textOf(REAL)) as { memstats: Record<string, unknown> }
  change(json.memstats)
  return JSON.stringify(json)
}

test('maps every MemStats field of a real go1.19 /debug/vars to its camelCased name', () => {
  const { memstats: runtime, cmdline } = parseExpvar(REAL)
  assert.deepEqual(runtime, {
    source: REAL.origin,
    heapAlloc: memstats.HeapAlloc,
    heapSys: memstats.HeapSys,
    heapIdle: memstats.HeapIdle,
    heapInuse: memstats.HeapInuse,
    heapReleased: memstats.HeapReleased,
    heapObjects: memstats.HeapObjects,
    stackInuse: memstats.StackInuse,
    stackSys: memstats.StackSys,
    mSpanInuse: memstats.MSpanInuse,
    mSpanSys: memstats.MSpanSys,
    mCacheInuse: memstats.MCacheInuse,
    mCacheSys: memstats.MCacheSys,
    buckHashSys: memstats.BuckHashSys,
    gcSys: memstats.GCSys,
    otherSys: memstats.OtherSys,
    sys: memstats.Sys,
    nextGC: memstats.NextGC,
    numGC: memstats.NumGC,
    numForcedGC: memstats.NumForcedGC,
    totalAlloc: memstats.TotalAlloc,
    lastGCMs: Math.floor((memstats.LastGC ?? 0) / 1e6),
  })
  assert.deepEqual(cmdline, ['./promfixture'])
  // The fixture program holds 16 MiB live and ran two forced GCs before it was captured.
  assert.ok(runtime.heapAlloc > 16 * 1024 * 1024)
  assert.ok(runtime.numGC >= 2 && runtime.numForcedGC === 2)
})

test('reads lastGC in Unix nanoseconds as milliseconds, and 0 as no GC yet', () => {
  // Go prints the exact uint64; JSON.parse rounds it to a double, which still holds the ms.
  const lastGC = (ns: string) => textOf(REAL).replace(/"LastGC":\d+/, `"LastGC":${ns}`)
  const recent = parseExpvar(textCapture('expvar', lastGC('1795963187693877641')))
  assert.equal(recent.memstats.lastGCMs, 1_795_963_187_693)
  const never = parseExpvar(textCapture('expvar', lastGC('0')))
  assert.equal('lastGCMs' in never.memstats, false)
})

test('reads memstats without the optional fields older Go versions lack', () => {
  const old = parseExpvar(
    textCapture(
      'expvar',
      edited(s => delete s.NumForcedGC),
    ),
  )
  assert.equal('numForcedGC' in old.memstats, false)
  assert.equal(old.memstats.heapAlloc, memstats.HeapAlloc)
})

test('leaves out a cmdline that is not a list of strings', () => {
  const json = JSON.parse(textOf(REAL)) as Record<string, unknown>
  json.cmdline = 'not a list'
  assert.equal(parseExpvar(textCapture('expvar', JSON.stringify(json))).cmdline, undefined)
})

test('rejects hostile inputs with one line naming the origin', () => {
  const cases: [string, string, RegExp][] = [
    ['empty', '', /empty, not expvar JSON/],
    ['html login page', HTML_PAGE, /got HTML, not expvar JSON/],
    ['truncated', textOf(REAL).slice(0, 900), /not expvar JSON: /],
    [
      'json without memstats',
      '{"cmdline":["x"],"requests":3}',
      /expvar has no memstats \(keys: cmdline, requests\)/,
    ],
    ['a json array', '[1,2]', /expvar JSON is an array, not an object/],
    ['memstats as a string', '{"memstats":"lots"}', /expvar memstats is "lots", not an object/],
    [
      'a string where bytes belong',
      edited(s => (s.HeapAlloc = '17585184')),
      /memstats.HeapAlloc is "17585184", not a byte count/,
    ],
    [
      'null bytes',
      edited(s => (s.HeapReleased = null)),
      /memstats.HeapReleased is null, not a byte count/,
    ],
    ['negative bytes', edited(s => (s.Sys = -1)), /memstats.Sys is -1, not a byte count/],
    ['fractional bytes', edited(s => (s.NextGC = 1.5)), /memstats.NextGC is 1.5, not a byte count/],
    ['a missing field', edited(s => delete s.HeapIdle), /expvar memstats has no HeapIdle/],
    ['NaN', textOf(REAL).replace(/"HeapAlloc":\d+/, '"HeapAlloc":NaN'), /not expvar JSON: /],
    [
      '10 MB single line',
      `{"memstats":{"HeapAlloc":"${hugeLine()}"}}`,
      /memstats.HeapAlloc is "AAAA/,
    ],
    ['10 MB of garbage', hugeLine(), /not expvar JSON: /],
    ['binary blob', '\0\x1f\x8b\x08\xff\xfe\x00\x01', /not expvar JSON: /],
  ]
  for (const [name, text, pattern] of cases) {
    assertInputError(
      () => parseExpvar(textCapture('expvar', text, name)),
      new RegExp(`^${name}: .*${pattern.source}`),
    )
  }
})

test('sniffs /debug/vars and no other format fixture', () => {
  assertSniffsOnlyItsOwn(expvarFormat)
  assert.equal(expvarFormat.sniff('{"status":"success","data":{"resultType":"matrix"}}'), false)
})
