import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { assertInputError, textCapture } from '../../../test/helpers/format-fixtures.ts'
import type { RawCapture } from '../capture.ts'
import { parseThpSetting, sysfsThp, thpFromCaptures } from './sysfs-thp.ts'

const THP = '/sys/kernel/mm/transparent_hugepage'
const real = (name: string, origin: string): RawCapture => ({
  kind: 'sysfs-thp',
  origin,
  atMs: 0,
  bytes: readFileSync(new URL(`../../../testdata/sysfs-thp/${name}`, import.meta.url)),
})

test("reads this machine's THP settings: the bracketed choices and max_ptes_none", () => {
  const settings = thpFromCaptures([
    real('enabled', `${THP}/enabled`),
    real('defrag', `${THP}/defrag`),
    real('max_ptes_none', `${THP}/khugepaged/max_ptes_none`),
  ])
  assert.deepEqual(settings, {
    source: THP,
    enabled: 'madvise',
    defrag: 'madvise',
    maxPtesNone: 511,
  })
})

test('sniffs a bracketed choice list', () => {
  assert.equal(sysfsThp.sniff('always [madvise] never\n'), true)
  assert.equal(sysfsThp.sniff('always defer defer+madvise [madvise] never\n'), true)
  assert.equal(sysfsThp.sniff('<html>'), false)
})

test('rejects a settings file without a choice, or a count that is not a number', () => {
  assertInputError(
    () => parseThpSetting(textCapture('sysfs-thp', 'always madvise never', `${THP}/enabled`)),
    /no \[bracketed\] choice/,
  )
  assertInputError(
    () => parseThpSetting(textCapture('sysfs-thp', 'lots', `${THP}/khugepaged/max_ptes_none`)),
    /not a number/,
  )
})
