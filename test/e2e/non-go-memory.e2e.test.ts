import assert from 'node:assert/strict'
import { test } from 'node:test'
import { numericEvidence, procKiB, runJson, within } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

onEveryGo(go => {
  test(`${go}: diagnoses live C.malloc memory growing 8 MiB/s by PID, with the mappings that hold it`, async t => {
    const target = await startScenario('non-go-memory', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '4s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'non-go-memory', JSON.stringify(report.findings, null, 2))
    const finding = report.findings[0]
    assert.ok(finding)
    assert.equal(finding.severity, 'critical')
    // RssAnon read independently, just after the window; the scenario grows 8 MiB/s meanwhile.
    assert.ok(
      within(
        numericEvidence(finding, 'RssAnon').value,
        procKiB(target.pid, 'status', 'RssAnon'),
        0.1,
      ),
    )
    const vars = (await (await fetch(`${target.url}/debug/vars`)).json()) as {
      memstats: { Sys: number }
    }
    // Sys never shrinks, and the window's own profile requests add a few MiB to it.
    const sys = numericEvidence(finding, 'Sys').value
    assert.ok(
      sys <= vars.memstats.Sys && sys > vars.memstats.Sys / 2,
      `Sys ${sys}, then ${vars.memstats.Sys}`,
    )
    assert.ok(numericEvidence(finding, 'non-Go memory').value > 256 * 2 ** 20)
    const rate = numericEvidence(finding, 'non-Go growth').value
    assert.ok(
      rate > 5 * 2 ** 20 && rate < 11 * 2 ** 20,
      `growth ${rate} B/s, the scenario's 8 MiB/s`,
    )
    assert.ok(numericEvidence(finding, 'gained by them during the window').value > 16 * 2 ** 20)
    assert.ok(
      finding.evidence.some(
        e =>
          e.label.startsWith('anonymous mapping ') &&
          e.source.endsWith(`/proc/${target.pid}/smaps`),
      ),
    )
  })

  test(`${go}: by URL alone says non-Go memory could not be judged, and never guesses`, async t => {
    const target = await startScenario('non-go-memory', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', target.url, '--duration', '2s'])
    assert.equal(result.code, 0, result.err)
    assert.ok(!report.findings.some(f => f.id === 'non-go-memory'))
    assert.ok(report.unjudged.includes('non-go-memory'))
  })

  test(`${go}: stays quiet when the C memory is freed`, async t => {
    const control = await startScenario('non-go-memory', { go, control: true })
    t.after(() => control.stop())
    const { result, report } = await runJson(['diagnose', String(control.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
    assert.ok(!report.unjudged.includes('non-go-memory'))
  })
})

// Go 1.26 from a go 1.24 module (DefaultGODEBUG decoratemappings=0): no mapping names on any
// kernel, a random heap base. Only the arenas' shape tells Go's heap from C's memory.
const UNNAMED = 'go1.26-line1.24'

test(`${UNNAMED}: C.malloc memory is non-Go memory, and the heap arenas are not among its mappings`, async t => {
  const target = await startScenario('non-go-memory', { go: UNNAMED })
  t.after(() => target.stop())
  const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '4s'])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.verdict, 'non-go-memory', JSON.stringify(report.findings, null, 2))
  const split = report.rss?.split
  assert.ok(split && split.method === 'arenas', JSON.stringify(split))
  assert.ok(split.nonGoBytes > 256 * 2 ** 20, `non-Go ${split.nonGoBytes}`)
  assert.ok(split.goBytes < 64 * 2 ** 20, `Go ${split.goBytes}`)
})

test(`${UNNAMED}: a 1 GiB spike returned with MADV_FREE is madv-free-retention, not non-Go memory`, async t => {
  const target = await startScenario('madv-free-retention', {
    go: UNNAMED,
    env: { GODEBUG: 'madvdontneed=0' },
  })
  t.after(() => target.stop())
  const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.verdict, 'madv-free-retention', JSON.stringify(report.findings, null, 2))
  assert.ok(!report.findings.some(f => f.id === 'non-go-memory'))
  assert.ok(!report.unjudged.includes('non-go-memory'))
  // The released spike sits in Go's arenas: Go's, though MemStats counts it as returned.
  const split = report.rss?.split
  assert.ok(split && split.goBytes > 768 * 2 ** 20 && split.nonGoBytes < 64 * 2 ** 20)
})
