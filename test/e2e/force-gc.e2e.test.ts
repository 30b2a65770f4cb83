import assert from 'node:assert/strict'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import type { CaptureManifest } from '../../src/sources/transports/capture-dir.ts'
import { openStore } from '../../src/store/db.ts'
import { loadRecording } from '../../src/store/recordings.ts'
import { runCli, runJson } from '../helpers/cli.ts'
import { startScenario } from '../helpers/memsick.ts'

/** The target's GC counters, read straight from its /debug/vars (no GC is forced by reading). */
async function gcCounts(url: string): Promise<{ numGC: number; numForcedGC: number }> {
  const vars = (await (await fetch(`${url}/debug/vars`)).json()) as {
    memstats: { NumGC: number; NumForcedGC: number }
  }
  return { numGC: vars.memstats.NumGC, numForcedGC: vars.memstats.NumForcedGC }
}

/** The origin of every heap profile a saved run holds, in tick order. */
async function heapOrigins(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'capture.json'), 'utf8')) as CaptureManifest
  return manifest.ticks.flatMap(tick =>
    tick.files.filter(f => f.kind === 'pprof-heap').map(f => f.origin),
  )
}

/** A 1 s diagnose of a fresh healthy memsick with --save, and its GC counters either side. */
async function diagnoseSaved(t: TestContext, flags: string[]) {
  const target = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => target.stop())
  const dir = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-force-gc-')), 'run')
  const before = await gcCounts(target.url)
  const { result, report } = await runJson([
    'diagnose',
    String(target.pid),
    '--duration',
    '1s',
    '--interval',
    '500ms',
    ...flags,
    '--save',
    dir,
  ])
  const after = await gcCounts(target.url)
  assert.equal(result.code, 0, result.err)
  return { target, dir, before, after, report }
}

// memsick's healthy scenario calls runtime.GC() once before READY and never after, so every
// forced GC counted while gomemdoctor runs is one gomemdoctor asked for. Its own GCs (churn)
// are not forced ones: they raise NumGC only.

test('diagnose --force-gc makes the target run a full GC before the start and end heap profiles, and says so', async t => {
  const { target, dir, before, after, report } = await diagnoseSaved(t, ['--force-gc'])
  t.diagnostic(
    `NumGC ${before.numGC} → ${after.numGC}, NumForcedGC ${before.numForcedGC} → ${after.numForcedGC}`,
  )
  assert.equal(after.numForcedGC - before.numForcedGC, 2, 'one forced GC per edge')
  assert.ok(after.numGC - before.numGC >= 2)
  const heap = `${target.url}/debug/pprof/heap?gc=1`
  assert.deepEqual(await heapOrigins(dir), [heap, heap])
  const notes = report.notes.filter(n => n.startsWith('--force-gc:'))
  assert.equal(notes.length, 2, report.notes.join('\n'))
  assert.match(notes[0] ?? '', /ran a full GC at the window's start \(after the first sample/)
  assert.match(notes[1] ?? '', /ran a full GC at the window's end \(after the last sample\)/)
  for (const note of notes) assert.ok(note.includes(heap), note)
})

test('diagnose without --force-gc asks for no GC: no gc=1, no forced GC in the target', async t => {
  const { target, dir, before, after, report } = await diagnoseSaved(t, [])
  assert.equal(after.numForcedGC, before.numForcedGC)
  const heap = `${target.url}/debug/pprof/heap`
  assert.deepEqual(await heapOrigins(dir), [heap, heap])
  assert.equal(report.notes.filter(n => n.includes('force-gc')).length, 0, report.notes.join('\n'))
})

test('record --force-gc keeps the gc=1 URL and the notes in the recording, so a report says the same', async t => {
  const target = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => target.stop())
  const db = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-force-gc-')), 'run.db')
  const before = await gcCounts(target.url)
  const live = await runJson([
    'record',
    String(target.pid),
    '--out',
    db,
    '--duration',
    '1s',
    '--interval',
    '500ms',
    '--force-gc',
  ])
  const after = await gcCounts(target.url)
  assert.equal(live.result.code, 0, live.result.err)
  assert.equal(after.numForcedGC - before.numForcedGC, 2, 'one forced GC per edge')
  const store = openStore(db, { mode: 'read' })
  try {
    const recording = loadRecording(store, db, 1)
    const origins = recording.captures.ticks.flatMap(tick =>
      tick.captures.filter(c => c.kind === 'pprof-heap').map(c => c.origin),
    )
    const heap = `${target.url}/debug/pprof/heap?gc=1`
    assert.deepEqual(origins, [heap, heap])
    assert.equal(recording.notes.filter(n => n.startsWith('--force-gc:')).length, 2)
  } finally {
    store.close()
  }
  const replay = await runJson(['report', db])
  assert.deepEqual(replay.report.notes, live.report.notes)
})

test('--force-gc on a saved run is refused: nothing can be collected in it any more', async () => {
  const run = await runCli('diagnose', 'testdata/captures', '--force-gc')
  assert.equal(run.code, 2, run.err)
  assert.match(run.err, /--force-gc needs a live target/)
})
