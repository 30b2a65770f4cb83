import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatBytes, formatDuration, GiB, KiB, MiB, parseBytes, parseDuration } from './units.ts'

test('formats bytes in IEC units with three significant digits', () => {
  assert.equal(formatBytes(512), '512 B')
  assert.equal(formatBytes(38 * KiB), '38.0 KiB')
  assert.equal(formatBytes(412 * MiB), '412 MiB')
  assert.equal(formatBytes(2.61 * GiB), '2.61 GiB')
  assert.equal(formatBytes(-12 * MiB), '-12.0 MiB')
})

test('reads durations as people type them', () => {
  assert.equal(parseDuration('30s'), 30_000)
  assert.equal(parseDuration('1m30s'), 90_000)
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('2h'), 7_200_000)
  for (const bad of ['', '30', 's', '5x', '1m 30s', '-5s'])
    assert.equal(parseDuration(bad), undefined, bad)
})

test('reads sizes with or without the i', () => {
  assert.equal(parseBytes('16GiB'), 16 * GiB)
  assert.equal(parseBytes('8G'), 8 * GiB)
  assert.equal(parseBytes('512MB'), 512 * MiB)
  assert.equal(parseBytes('1073741824'), GiB)
  assert.equal(parseBytes('lots'), undefined)
})

test('formats durations for humans', () => {
  assert.equal(formatDuration(500), '500 ms')
  assert.equal(formatDuration(30_000), '30 s')
  assert.equal(formatDuration(125_000), '2 min 5 s')
})
