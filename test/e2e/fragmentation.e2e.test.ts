import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runJson, within } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

const MiB = 2 ** 20

onEveryGo(go => {
  test(`${go}: diagnoses spans pinned by one live object in eight, by PID and by URL`, async t => {
    const target = await startScenario('fragmentation', { go })
    t.after(() => target.stop())
    const byPid = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
    assert.equal(byPid.result.code, 0, byPid.result.err)
    assert.equal(byPid.report.verdict, 'fragmentation')
    const finding = byPid.report.findings[0]
    assert.ok(finding)
    const waste = finding.evidence.find(e => e.label === 'HeapInuse − HeapAlloc')
    assert.ok(waste && typeof waste.value === 'number')
    // memsick: 1 GiB of 1 KiB objects, one in eight kept: 7/8 of 1 GiB empty.
    assert.ok(within(waste.value, 896 * MiB, 0.05), `${waste.value / MiB} MiB`)
    assert.equal(waste.source, `${target.url}/debug/vars`)
    const rss = finding.evidence.find(e => e.label === 'RSS')
    assert.ok(rss && typeof rss.value === 'number' && finding.whatIf)
    assert.ok(within(finding.whatIf.rssBytes, rss.value - waste.value, 0.01))

    const byUrl = await runJson(['diagnose', target.url, '--duration', '3s'])
    assert.equal(byUrl.report.verdict, 'fragmentation')
  })

  test(`${go}: stays quiet when the kept objects were allocated together`, async t => {
    const control = await startScenario('fragmentation', { go, control: true })
    t.after(() => control.stop())
    // Its 8 MiB/s of churn over a 130 MiB heap collects every 15 s or so: 3 s may hold no
    // collection, and heap growth is judged at collections, so diagnose may wait for one.
    const { report } = await runJson([
      'diagnose',
      String(control.pid),
      '--duration',
      '3s',
      '--max-duration',
      '40s',
    ])
    assert.equal(report.verdict, 'healthy', JSON.stringify(report, null, 2))
  })
})
