import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runJson } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

onEveryGo(go => {
  test(`${go}: diagnoses idle heap held after repeated spikes, by PID and by URL alone`, async t => {
    const target = await startScenario('scavenger-lag', { go })
    t.after(() => target.stop())
    const byPid = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
    assert.equal(byPid.result.code, 0, byPid.result.err)
    assert.equal(byPid.report.verdict, 'scavenger-lag')
    const finding = byPid.report.findings[0]
    assert.ok(
      finding?.fixes.some(fix => /GOMEMLIMIT/.test(fix)),
      'go1.19 gets the GOMEMLIMIT fix',
    )
    assert.ok(
      finding?.evidence.some(e => e.label === 'NextGC' && e.source === `${target.url}/debug/vars`),
    )

    const byUrl = await runJson(['diagnose', target.url, '--duration', '3s'])
    assert.equal(byUrl.report.verdict, 'scavenger-lag')
  })

  test(`${go}: stays quiet when every spike is followed by FreeOSMemory`, async t => {
    const control = await startScenario('scavenger-lag', { go, control: true })
    t.after(() => control.stop())
    const { report } = await runJson(['diagnose', String(control.pid), '--duration', '3s'])
    assert.equal(report.verdict, 'healthy')
  })
})
