import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CAPTURE_KINDS } from '../../src/sources/capture.ts'
import { openStore } from '../../src/store/db.ts'
import { listRecordings } from '../../src/store/recordings.ts'
import { runCli, runJson } from '../helpers/cli.ts'
import { startScenario } from '../helpers/memsick.ts'

const BIN = fileURLToPath(new URL('../../bin/gomemdoctor.js', import.meta.url))

async function tempFile(name: string): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'gomemdoctor-record-')), name)
}

test('report of a recording of a real Go process prints the diagnosis the live run printed', async t => {
  const target = await startScenario('heap-growth', { go: 'go1.26' })
  t.after(() => target.stop())
  const db = await tempFile('heap.db')
  const live = await runJson([
    'record',
    String(target.pid),
    '--out',
    db,
    '--duration',
    '2s',
    '--interval',
    '250ms',
  ])
  assert.equal(live.result.code, 0, live.result.err)
  assert.match(live.result.err, /recorded \d+ samples into .*heap\.db \(session 1\)/)
  assert.ok(live.report.window.samples >= 8, String(live.report.window.samples))
  assert.ok(
    live.report.sources.some(s => s.includes('/debug/pprof')),
    'profiles were read',
  )

  const replay = await runJson(['report', db])
  assert.equal(replay.result.code, 0, replay.result.err)
  assert.deepEqual(replay.report, live.report)
})

test('kill -9 of a recording gomemdoctor leaves every committed sample readable, and later sessions append', async t => {
  const target = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => target.stop())
  const db = await tempFile('killed.db')
  const child = spawn(
    process.execPath,
    [BIN, 'record', String(target.pid), '--out', db, '--interval', '200ms'],
    { stdio: 'ignore' },
  )
  t.after(() => child.kill('SIGKILL'))
  const committed = async () => {
    try {
      const store = openStore(db, { mode: 'read' })
      try {
        return listRecordings(store, db)[0]?.ticks ?? 0
      } finally {
        store.close()
      }
    } catch {
      return 0 // Not created yet.
    }
  }
  const deadline = Date.now() + 30_000
  while ((await committed()) < 6) {
    assert.ok(Date.now() < deadline, 'the recorder committed no samples in 30 s')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  await new Promise(resolve => child.once('close', resolve))
  const ticks = await committed()

  const { result, report } = await runJson(['report', db])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.window.samples, ticks)
  assert.equal(report.target.pid, target.pid)
  // Every committed capture still parses: no gap names a capture kind.
  const broken = report.gaps.filter(g => (CAPTURE_KINDS as readonly string[]).includes(g.signal))
  assert.deepEqual(broken, [])
  assert.ok(report.rss && report.rss.bytes > 0)
  assert.ok(
    report.notes.some(n =>
      n.startsWith(
        `session 1 never finished (the recorder was killed, or is still recording): this covers the ${ticks} samples committed, the last at 20`,
      ),
    ),
    report.notes.join('\n'),
  )

  // A second recording into the same file is a new session; the killed one is untouched.
  const second = await runJson([
    'record',
    String(target.pid),
    '--out',
    db,
    '--duration',
    '600ms',
    '--interval',
    '200ms',
  ])
  assert.equal(second.result.code, 0, second.result.err)
  assert.match(second.result.err, /\(session 2\)/)
  const first = await runJson(['report', db, '--session', '1'])
  assert.deepEqual(first.report, report)
  const latest = await runJson(['report', db])
  assert.deepEqual(latest.report, second.report)
})

test('bad recordings and bad --out files are refused in one line with exit 2', async () => {
  const text = await tempFile('notes.txt')
  await writeFile(text, 'shopping list: milk, eggs, more RAM\n')
  const cases: [string[], RegExp][] = [
    [['report', text], /notes\.txt: not a gomemdoctor recording/],
    [['report', `${text}.missing`], /no such file/],
    [['record', '1', '--out', text, '--duration', '1s'], /notes\.txt: not a gomemdoctor recording/],
    [['report', text, '--session', 'x'], /--session: "x" is not a session number/],
  ]
  for (const [args, pattern] of cases) {
    const run = await runCli(...args)
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.err}`)
    assert.equal(run.err.trim().split('\n').length, 1, run.err)
    assert.match(run.err, pattern)
  }
  assert.equal(await readFile(text, 'utf8'), 'shopping list: milk, eggs, more RAM\n')
})
