import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { numericEvidence, runJson, within } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

// A real cgroup v1 memory controller, made for the test. cgroup v2's memory controller is not
// enabled on these machines (/sys/fs/cgroup/unified/cgroup.controllers lacks `memory`), so v2 is
// covered by the format tests and a synthetic detector case only.
const LIMIT = 256 * 2 ** 20

/**
 * Makes a child of this process's v1 memory cgroup with a 256 MiB limit. Fails, saying why,
 * when that is impossible: a silent pass would claim a proof that was never run.
 */
async function limitedCgroup(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const uid = process.getuid?.()
  assert.equal(
    uid,
    0,
    `cgroup-limit-risk needs root to create a memory cgroup (running as uid ${uid}); run this test as root, as CI does`,
  )
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find(l => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l))
  assert.ok(
    line,
    'no cgroup v1 memory controller for this process (/proc/self/cgroup has no memory line), so no limited cgroup can be made here',
  )
  const dir = join(
    '/sys/fs/cgroup/memory',
    line.split(':')[2] ?? '/',
    `gomemdoctor-e2e-${randomUUID()}`,
  )
  await mkdir(dir)
  await writeFile(join(dir, 'memory.limit_in_bytes'), String(LIMIT))
  return {
    dir,
    // Runs before or after the scenario's stop(): whatever is still inside moves to the parent
    // first, since a cgroup with processes cannot be removed; the kernel may then take a moment.
    remove: async () => {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
        if (pid) await writeFile(join(dir, '..', 'cgroup.procs'), pid)
      }
      for (let i = 0; ; i++) {
        try {
          return await rmdir(dir)
        } catch (error) {
          if (i >= 20) throw error
          await new Promise(resolve => setTimeout(resolve, 100))
        }
      }
    },
  }
}

const read = (dir: string, file: string) => Number(readFileSync(join(dir, file), 'utf8'))

onEveryGo(go => {
  test(`${go}: flags a live process holding 90% of a real 256 MiB cgroup limit, by PID, with the cgroup figures`, async t => {
    const cgroup = await limitedCgroup()
    t.after(() => cgroup.remove())
    const target = await startScenario('cgroup-limit-risk', { go, args: ['--cgroup', cgroup.dir] })
    t.after(() => target.stop())
    const hitsBefore = read(cgroup.dir, 'memory.failcnt')
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'cgroup-limit-risk', JSON.stringify(report.findings, null, 2))
    const finding = report.findings[0]
    assert.ok(finding)
    assert.equal(finding.severity, 'critical')
    assert.equal(numericEvidence(finding, 'cgroup limit').value, LIMIT)
    assert.equal(numericEvidence(finding, 'cgroup limit').source, cgroup.dir)
    // Read independently of gomemdoctor's parsers, just after its window.
    assert.ok(
      within(
        numericEvidence(finding, 'cgroup usage').value,
        read(cgroup.dir, 'memory.usage_in_bytes'),
        0.05,
      ),
    )
    const share = numericEvidence(finding, 'not reclaimable / limit').value
    assert.ok(share > 0.85 && share < 0.97, `not reclaimable / limit is ${share}`)
    assert.ok(numericEvidence(finding, 'limit hits during the window').value > 0)
    assert.ok(read(cgroup.dir, 'memory.failcnt') > hitsBefore, 'the cgroup really hits its limit')
  })

  test(`${go}: by URL alone says the cgroup could not be judged`, async t => {
    const cgroup = await limitedCgroup()
    t.after(() => cgroup.remove())
    const target = await startScenario('cgroup-limit-risk', { go, args: ['--cgroup', cgroup.dir] })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', target.url, '--duration', '2s'])
    assert.equal(result.code, 0, result.err)
    assert.ok(!report.findings.some(f => f.id === 'cgroup-limit-risk'))
    assert.ok(report.unjudged.includes('cgroup-limit-risk'))
    assert.ok(report.gaps.some(gap => gap.signal === 'cgroup.memory'))
  })

  test(`${go}: stays quiet on the control: the same cgroup at its limit with page cache`, async t => {
    const cgroup = await limitedCgroup()
    t.after(() => cgroup.remove())
    const control = await startScenario('cgroup-limit-risk', {
      go,
      control: true,
      args: ['--cgroup', cgroup.dir],
    })
    t.after(() => control.stop())
    const { result, report } = await runJson(['diagnose', String(control.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.ok(
      read(cgroup.dir, 'memory.usage_in_bytes') > 0.9 * LIMIT,
      'the control is at its limit',
    )
    assert.ok(!report.findings.some(f => f.id === 'cgroup-limit-risk'))
    assert.ok(!report.unjudged.includes('cgroup-limit-risk'))
    // Once, under load, a detector could not judge: the message says which, and why.
    const { findings, unjudged, gaps } = report
    assert.equal(report.verdict, 'healthy', JSON.stringify({ findings, unjudged, gaps }, null, 2))
  })
})
