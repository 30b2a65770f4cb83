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
import { KiB, MiB } from '../../model/units.ts'
import { parseProcStatus } from './proc-status.ts'
import { parseSmapsRollup, smapsRollup } from './smaps-rollup.ts'

const goProcess = fixture('smaps-rollup', 'go-process-madvdontneed0.txt')

/** A field straight from the text by its own regex: an oracle independent of the parser. */
function kbField(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text)
  return match ? Number(match[1]) * KiB : undefined
}

test('shows the 64 MiB the Go program returned with MADV_FREE as LazyFree (madvdontneed=0)', () => {
  const rollup = parseSmapsRollup(goProcess)
  assert.ok((rollup.lazyFree ?? 0) >= 48 * MiB, `LazyFree ${rollup.lazyFree}`)
  // LazyFree pages are still anonymous and still resident until the kernel reclaims them.
  assert.ok((rollup.anonymous ?? 0) >= (rollup.lazyFree ?? 0))
  assert.ok(rollup.rss >= (rollup.anonymous ?? 0))
})

test('agrees with VmRSS from the same process, captured a moment apart', () => {
  const rollup = parseSmapsRollup(goProcess)
  const status = parseProcStatus(fixture('proc-status', 'go-process.txt'))
  // Two counters (a page-table walk and mm's batched counters), so allow 1 %.
  assert.ok(
    Math.abs(rollup.rss - status.vmRss) <= status.vmRss / 100,
    `${rollup.rss} vs ${status.vmRss}`,
  )
})

test('matches every field of the real Go and Node captures, line by line', () => {
  for (const name of ['go-process-madvdontneed0.txt', 'node-process.txt']) {
    const capture = fixture('smaps-rollup', name)
    const text = textOf(capture)
    assert.deepEqual(
      parseSmapsRollup(capture),
      {
        source: capture.origin,
        rss: kbField(text, 'Rss'),
        pss: kbField(text, 'Pss'),
        anonymous: kbField(text, 'Anonymous'),
        lazyFree: kbField(text, 'LazyFree'),
        anonHugePages: kbField(text, 'AnonHugePages'),
        swap: kbField(text, 'Swap'),
      },
      name,
    )
  }
})

const HEADER = '00400000-7fff72abb000 ---p 00000000 00:00 0                              [rollup]\n'

test('reads kB as KiB', () => {
  const rollup = parseSmapsRollup(
    textCapture('smaps-rollup', `${HEADER}Rss:  5 kB\nLazyFree:  2 kB\n`),
  )
  assert.deepEqual(rollup, { source: 'inline', rss: 5 * KiB, lazyFree: 2 * KiB })
})

test('ignores a line it does not read, even one without a unit', () => {
  const rollup = parseSmapsRollup(
    textCapture('smaps-rollup', `${HEADER}Rss:  5 kB\nTHPeligible:    0\n`),
  )
  assert.equal(rollup.rss, 5 * KiB)
})

const text = textOf(goProcess)
const hostile: { name: string; text: string; error: RegExp }[] = [
  { name: 'an empty file', text: '', error: /^inline: empty, not \/proc\/PID\/smaps_rollup$/ },
  {
    name: 'an HTML page',
    text: HTML_PAGE,
    error: /^inline: got HTML, not \/proc\/PID\/smaps_rollup$/,
  },
  {
    name: '/proc/PID/smaps with a hint',
    text: '00400000-0060c000 r-xp 00000000 fd:01 1234    /usr/bin/procfixture\nRss:  8 kB\n',
    error:
      /^inline:1: not \/proc\/PID\/smaps_rollup: no \[rollup\] header \(a mapping header: is this \/proc\/PID\/smaps\?\)/,
  },
  {
    name: 'an Rss line with no unit',
    text: `${HEADER}Rss:              107580\n`,
    error: /^inline:2: Rss has no unit \(want "<n> kB"\): "107580"$/,
  },
  {
    name: 'a LazyFree line with no unit',
    text: `${HEADER}Rss:  5 kB\nLazyFree:          65512\n`,
    error: /^inline:3: LazyFree has no unit/,
  },
  {
    name: 'a non-numeric Pss',
    text: `${HEADER}Rss:  5 kB\nPss: NaN kB\n`,
    error: /^inline:3: Pss is not "<n> kB": "NaN kB"$/,
  },
  {
    name: 'a 10 MB single line',
    text: hugeLine(),
    error: /^inline:1: not \/proc\/PID\/smaps_rollup: no \[rollup\] header: "A{40}…"$/,
  },
  {
    name: 'a 10 MB line after the header',
    text: `${HEADER}${hugeLine('-')}`,
    error: /^inline:2: not a "Key: <n> kB" line: "-{40}…"$/,
  },
  {
    name: 'a file cut in the middle of Rss',
    text: text.slice(0, text.indexOf(' kB')),
    error: /^inline:2: Rss has no unit \(want "<n> kB"\): "\d+"$/,
  },
  {
    name: 'a file cut after the header',
    text: HEADER,
    error: /^inline: no Rss line in \/proc\/PID\/smaps_rollup \(truncated\?\)$/,
  },
]
for (const { name, text, error } of hostile) {
  test(`rejects ${name} in one line naming the origin`, () => {
    assertInputError(() => parseSmapsRollup(textCapture('smaps-rollup', text)), error)
  })
}

test('sniffs smaps_rollup captures by their [rollup] line and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(smapsRollup)
})
