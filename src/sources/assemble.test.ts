import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { assemble } from './assemble.ts'
import type { RawCapture } from './capture.ts'
import { readCaptureDir, writeCaptureDir } from './transports/capture-dir.ts'

const memstats = readFileSync(
  new URL('../../testdata/formats/expvar/go1.19.8.json', import.meta.url),
)
const expvar = (atMs: number, answeredAtMs?: number): RawCapture => ({
  kind: 'expvar',
  origin: 'http://127.0.0.1:6060/debug/vars',
  atMs,
  ...(answeredAtMs === undefined ? {} : { answeredAtMs }),
  bytes: memstats,
})

test('a runtime view was read midway between its request and its answer, if the answer time is known', () => {
  const { series } = assemble({
    once: [],
    ticks: [
      { atMs: 900, captures: [expvar(1000, 1040)] },
      { atMs: 1900, captures: [expvar(2000)] },
    ],
  })
  assert.equal(series[0]?.runtime?.readAtMs, 1020)
  assert.equal(series[1]?.runtime?.readAtMs, 2000, 'a capture saved without it')
})

test("a tick's later runtime views are its follow-up reads, in order", () => {
  const { series } = assemble({
    once: [],
    ticks: [{ atMs: 900, captures: [expvar(1000), expvar(1060), expvar(1120)] }],
  })
  assert.equal(series.length, 1)
  assert.equal(series[0]?.runtime?.readAtMs, 1000)
  assert.deepEqual(
    series[0]?.runtimeFollowUps?.map(r => r.readAtMs),
    [1060, 1120],
  )
})

test('a capture directory keeps the answer time and the follow-up reads, and refuses a bad one', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-assemble-')), 'run')
  const captures = {
    once: [],
    ticks: [{ atMs: 900, captures: [expvar(1000, 1040), expvar(1060)] }],
  }
  await writeCaptureDir(dir, { captures, gaps: [], notes: [], sources: [], about: {} })
  const back = await readCaptureDir(dir)
  const files = back.captures.ticks[0]?.captures ?? []
  assert.deepEqual(
    files.map(c => [c.atMs, c.answeredAtMs]),
    [
      [1000, 1040],
      [1060, undefined],
    ],
  )
  const manifestPath = join(dir, 'capture.json')
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'))
  manifest.ticks[0].files[0].answeredAtMs = 'soon'
  await writeFile(manifestPath, JSON.stringify(manifest))
  await assert.rejects(readCaptureDir(dir), /ticks\[0\]\.files\[0\]: answeredAtMs is not a number/)
})
