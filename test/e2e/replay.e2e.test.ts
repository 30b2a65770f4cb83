import assert from 'node:assert/strict'
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { capturePath, GO119 } from '../helpers/capture.ts'
import { runCli, runJson } from '../helpers/cli.ts'
import { startScenario } from '../helpers/memsick.ts'

test('a run saved with --save replays to the same diagnosis as the live run', async t => {
  const target = await startScenario('madv-free-retention', {
    go: 'go1.26',
    env: { GODEBUG: 'madvdontneed=0' },
  })
  t.after(() => target.stop())
  const dir = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-replay-')), 'run')
  const live = await runJson(['diagnose', String(target.pid), '--duration', '2s', '--save', dir])
  assert.equal(live.report.verdict, 'madv-free-retention')
  const replay = await runJson(['diagnose', dir])
  assert.deepEqual(replay.report, live.report)
})

/** A copy of a committed capture to break in one place. */
async function copyOfCapture(name: string): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-hostile-')), 'capture')
  await cp(capturePath(name), dir, { recursive: true })
  return dir
}

test('a capture whose smaps_rollup is garbage is still diagnosed, with a gap naming the file', async () => {
  const dir = await copyOfCapture(`${GO119}/madv-free-retention`)
  for (const tick of ['t000', 't001', 't002', 't003', 't004', 't005']) {
    await writeFile(join(dir, tick, 'smaps-rollup'), 'Rss: lots\n')
  }
  const { result, report } = await runJson(['diagnose', dir])
  assert.equal(result.code, 0, result.err)
  const gap = report.gaps.find(g => g.signal === 'smaps-rollup')
  assert.ok(gap, JSON.stringify(report.gaps))
  assert.match(gap.reason, /smaps_rollup/)
  assert.ok(report.rss && report.rss.bytes > 0, 'the rest of each sample still counts')
  // Without LazyFree, MADV_FREE pages are only inferred from RSS and HeapReleased, and it says so;
  // the same bytes are not also blamed on non-Go memory.
  const madv = report.findings.find(f => f.id === 'madv-free-retention')
  assert.ok(madv, JSON.stringify(report.findings.map(f => f.id)))
  assert.match(madv.summary, /LazyFree was not measured/)
  assert.ok(madv.confidence < 0.8)
  assert.equal(
    report.findings.find(f => f.id === 'non-go-memory'),
    undefined,
  )
})

test('a hostile capture manifest is refused in one line with exit 2', async () => {
  const cases: [(m: Record<string, unknown>) => void, RegExp][] = [
    [m => (m.version = 99), /capture format version 99 is newer/],
    [
      m => (((m.once as { file: string }[])[0] as { file: string }).file = '../../etc/passwd'),
      /bad file name/,
    ],
    [
      m => (((m.once as { kind: string }[])[0] as { kind: string }).kind = 'core-dump'),
      /unknown kind core-dump/,
    ],
    [m => (m.format = 'something-else'), /not a gomemdoctor capture manifest/],
  ]
  for (const [mutate, pattern] of cases) {
    const dir = await copyOfCapture(`${GO119}/healthy`)
    const manifest = JSON.parse(await readFile(join(dir, 'capture.json'), 'utf8')) as Record<
      string,
      unknown
    >
    mutate(manifest)
    await writeFile(join(dir, 'capture.json'), JSON.stringify(manifest))
    const run = await runCli('diagnose', dir)
    assert.equal(run.code, 2, run.err)
    assert.equal(run.err.trim().split('\n').length, 1)
    assert.match(run.err, pattern)
  }
})
