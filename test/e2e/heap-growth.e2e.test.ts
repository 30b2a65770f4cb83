import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { JsonReport } from '../../src/report/json.ts'
import { runJson } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

const MiB = 2 ** 20

/** The heap-growth finding of a report, with its evidence by label. */
function growth(report: JsonReport) {
  const finding = report.findings.find(f => f.id === 'heap-growth')
  assert.ok(finding, `no heap-growth finding: ${JSON.stringify(report.findings, null, 2)}`)
  const value = (label: string) => finding.evidence.find(e => e.label === label)
  return { finding, value }
}

onEveryGo(go => {
  // memsick retains 2 MiB/s in main.leakyCache and collects about once a second: six seconds give
  // six or seven GC cycles, enough for the rank test (four rising cycles at the least).
  test(`${go}: diagnoses a live heap leak by PID and by URL, rate and allocation site included`, async t => {
    const target = await startScenario('heap-growth', { go })
    t.after(() => target.stop())
    const byPid = await runJson(['diagnose', String(target.pid), '--duration', '6s'])
    assert.equal(byPid.result.code, 0, byPid.result.err)
    assert.equal(byPid.report.verdict, 'heap-growth')
    const { finding, value } = growth(byPid.report)
    const rate = value('live heap growth rate')
    assert.ok(rate && typeof rate.value === 'number', 'a rate in bytes/s')
    assert.equal(rate.unit, 'bytes/s')
    assert.ok(rate.value > 1.3 * MiB && rate.value < 3 * MiB, `${rate.value / MiB} MiB/s`)
    assert.equal(rate.source, `${target.url}/debug/vars`)
    const site = value('growing: main.leakyCache')
    assert.ok(site, 'the heap profile diff names main.leakyCache')
    assert.equal(site.source, `${target.url}/debug/pprof/heap`)
    assert.ok(finding.confidence >= 0.85)

    const byUrl = await runJson(['diagnose', target.url, '--duration', '6s'])
    assert.equal(byUrl.report.verdict, 'heap-growth')
    assert.ok(growth(byUrl.report).value('growing: main.leakyCache'))
  })

  test(`${go}: stays quiet on a large steady heap with a bigger sawtooth`, async t => {
    const control = await startScenario('heap-growth', { go, control: true })
    t.after(() => control.stop())
    const { report } = await runJson(['diagnose', String(control.pid), '--duration', '5s'])
    assert.deepEqual(
      report.findings.map(f => f.id),
      [],
    )
    assert.equal(report.verdict, 'healthy')
  })
})
