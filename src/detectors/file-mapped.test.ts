import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { type SnapshotSpec, snapshot } from '../../test/helpers/snapshots.ts'
import type { Mapping } from '../model/mappings.ts'
import type { TargetFacts } from '../model/target.ts'
import { MiB } from '../model/units.ts'
import { biggestFiles, fileMapped } from './file-mapped.ts'

// Threshold edges on synthetic numbers (MiB); the real captures are at the end.
const target: TargetFacts = { sources: [], pid: 1, goVersion: 'go1.19.8', kernel: '6.18.0' }

function tick(spec: SnapshotSpec & { rssShmem?: number }) {
  const s = snapshot(spec)
  if (s.status && spec.rssShmem !== undefined) {
    s.status.rssShmem = spec.rssShmem * MiB
    s.status.vmRss += spec.rssShmem * MiB
  }
  return s
}
const severity = (...specs: (SnapshotSpec & { rssShmem?: number })[]) => {
  const outcome = fileMapped.detect({ target, series: specs.map(tick), gaps: [] })
  return outcome.kind === 'finding' ? outcome.finding.severity : outcome.kind
}

test('answers unknown, not clear, when /proc/PID/status has no RssFile', () => {
  const s = snapshot({ rss: 900, rssFile: 800 })
  if (s.status) delete s.status.rssFile
  assert.deepEqual(fileMapped.detect({ target, series: [s], gaps: [] }), {
    kind: 'unknown',
    missing: ['os.rssSplit'],
  })
})

test('needs 128 MiB of file pages and a quarter of RSS', () => {
  assert.equal(severity({ rss: 200, rssFile: 127 }), 'clear')
  assert.equal(severity({ rss: 200, rssFile: 128 }), 'info')
  assert.equal(severity({ rss: 2000, rssFile: 499 }), 'clear')
  assert.equal(severity({ rss: 2000, rssFile: 500 }), 'info')
})

test('calls mapped files information, with RSS − RssFile as the what-if', () => {
  const outcome = fileMapped.detect({
    target,
    series: [tick({ rss: 1000, rssFile: 800 })],
    gaps: [],
  })
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'info')
  assert.equal(outcome.finding.whatIf?.rssBytes, 200 * MiB)
  assert.equal(outcome.finding.bytesExplained, 800 * MiB)
  assert.match(outcome.finding.summary, /page cache/)
})

test('warns when shared memory, which cannot be dropped, makes up the file-backed pages', () => {
  const outcome = fileMapped.detect({
    target,
    series: [tick({ rss: 300, rssFile: 10, rssShmem: 400 })],
    gaps: [],
  })
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'warning')
  assert.equal(outcome.finding.whatIf, undefined)
  assert.match(outcome.finding.summary, /cannot drop without swap/)
})

test('reports file pages dropped during the window as resolved', () => {
  const outcome = fileMapped.detect({
    target,
    series: [tick({ atMs: 0, rss: 600, rssFile: 550 }), tick({ atMs: 5000, rss: 60, rssFile: 10 })],
    gaps: [],
  })
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.resolvedDuringWindow, true)
  assert.equal(outcome.finding.severity, 'info')
})

test('names files by their resident file pages, not the pages written privately', () => {
  const m = (path: string, rss: number, anonymous = 0): Mapping => ({
    start: 0,
    end: 0,
    perms: 'r--p',
    path,
    rss: rss * MiB,
    anonymous: anonymous * MiB,
    lazyFree: 0,
    anonHugePages: 0,
    swap: 0,
  })
  const files = biggestFiles({
    source: '/proc/1/smaps',
    atMs: 0,
    mappings: [
      m('/data/index.db', 300),
      m('/data/index.db', 100),
      m('/data/cow.bin', 500, 450),
      m('', 900, 900),
      m('[heap]', 50, 50),
      m('/usr/lib/libc.so.6', 0.5),
    ],
  })
  assert.deepEqual(files, [
    { path: '/data/index.db', bytes: 400 * MiB },
    { path: '/data/cow.bin', bytes: 50 * MiB },
  ])
})

test('explains a real 512 MiB mapped file and names it (go1.19 capture)', async () => {
  const input = await loadCapture(`${GO119}/file-mapped`)
  const outcome = fileMapped.detect(input)
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'info')
  assert.ok(outcome.finding.confidence >= 0.95)
  const file = outcome.finding.evidence.find(e => e.label.startsWith('mapped file '))
  assert.match(file?.label ?? '', /^mapped file \/tmp\/memsick-file-mapped-\d+ \(deleted\)$/)
  assert.ok(typeof file?.value === 'number' && file.value >= 500 * MiB)
  assert.match(file.source, /^\/proc\/\d+\/smaps$/)
  const rssFile = outcome.finding.evidence.find(e => e.label === 'RssFile')
  assert.match(rssFile?.source ?? '', /^\/proc\/\d+\/status$/)
})

test('stays quiet when the same file is read with read(2) (go1.19 control capture)', async () => {
  const input = await loadCapture(`${GO119}/file-mapped-control`)
  assert.equal(fileMapped.detect(input).kind, 'clear')
})

test('without smaps still explains the real capture, less surely and naming no file', async () => {
  const { mappings: _dropped, ...input } = await loadCapture(`${GO119}/file-mapped`)
  const outcome = fileMapped.detect(input)
  assert.ok(outcome.kind === 'finding')
  assert.ok(outcome.finding.confidence < 0.95)
  assert.ok(!outcome.finding.evidence.some(e => e.label.startsWith('mapped file ')))
})

test('answers unknown on a real capture whose /proc/PID/status is removed', async () => {
  const input = withoutPart(await loadCapture(`${GO119}/file-mapped`), 'status')
  assert.deepEqual(fileMapped.detect(input), { kind: 'unknown', missing: ['os.rssSplit'] })
})
