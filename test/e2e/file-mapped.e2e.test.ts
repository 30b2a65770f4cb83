import assert from 'node:assert/strict'
import { test } from 'node:test'
import { procKiB, runJson, within } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

onEveryGo(go => {
  test(`${go}: explains a live 512 MiB mapped file by PID, naming the file, RssFile within 5% of /proc`, async t => {
    const target = await startScenario('file-mapped', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'file-mapped', JSON.stringify(report.findings, null, 2))
    const finding = report.findings[0]
    assert.ok(finding)
    assert.equal(finding.severity, 'info')
    const rssFile = finding.evidence.find(e => e.label === 'RssFile')
    assert.ok(rssFile && typeof rssFile.value === 'number')
    assert.equal(rssFile.source, `/proc/${target.pid}/status`)
    assert.ok(within(rssFile.value, procKiB(target.pid, 'status', 'RssFile'), 0.05))
    assert.ok(rssFile.value > 500 * 2 ** 20)
    const file = finding.evidence.find(e => e.label.startsWith('mapped file '))
    assert.match(file?.label ?? '', /\/memsick-file-mapped-\d+ \(deleted\)$/)
    assert.equal(file?.source, `/proc/${target.pid}/smaps`)
    assert.ok(finding.whatIf && finding.whatIf.rssBytes < 64 * 2 ** 20, 'RSS − RssFile is small')
  })

  test(`${go}: by URL alone says file pages could not be judged`, async t => {
    const target = await startScenario('file-mapped', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', target.url, '--duration', '2s'])
    assert.equal(result.code, 0, result.err)
    assert.ok(!report.findings.some(f => f.id === 'file-mapped'))
    assert.ok(report.unjudged.includes('file-mapped'))
  })

  test(`${go}: stays quiet when the same file is read with read(2)`, async t => {
    const control = await startScenario('file-mapped', { go, control: true })
    t.after(() => control.stop())
    const { result, report } = await runJson(['diagnose', String(control.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
    assert.ok(!report.unjudged.includes('file-mapped'))
  })
})
