import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runJson, within } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

onEveryGo(go => {
  test(`${go}: calls a small steady process with allocation churn healthy`, async t => {
    const target = await startScenario('healthy', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
    assert.deepEqual(report.findings, [])
    assert.deepEqual(report.unjudged, [])
    assert.ok(report.rss)
    const sum = report.rss.breakdown.reduce((total, slice) => total + slice.bytes, 0)
    assert.ok(within(sum, report.rss.bytes, 0.05))
  })

  test(`${go}: calls a 1 GiB steady heap with heavy churn healthy`, async t => {
    const target = await startScenario('healthy', { go, args: ['--large'] })
    t.after(() => target.stop())
    const { report } = await runJson(['diagnose', String(target.pid), '--duration', '4s'])
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
    assert.ok(report.rss && report.rss.bytes > 768 * 2 ** 20, 'the heap really is large')
  })
})
