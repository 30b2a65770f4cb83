import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import { runCli, runJson } from '../helpers/cli.ts'

test('demo replays a recorded go1.19 process and names madv-free-retention', async () => {
  const run = await runCli('demo')
  assert.equal(run.code, 0, run.err)
  assert.match(run.out, /note: replaying a recording of a real Go process/)
  assert.match(run.out, /CRITICAL\s+madv-free-retention/)
  assert.match(run.out, /returned with MADV_FREE, resident\s+\d+(\.\d+)? (MiB|GiB)/)
  assert.match(run.out, /verdict: madv-free-retention/)
})

test('demo --live starts a real process, diagnoses it by PID and stops it again', async () => {
  const { result, report } = await runJson(['demo', '--live'])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.verdict, 'madv-free-retention')
  assert.equal(report.window.samples, 6)
  assert.ok(report.target.pid)
  assert.equal(existsSync(`/proc/${report.target.pid}`), false, 'the demo process was stopped')
})
