import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { JsonReport } from '../../src/report/json.ts'
import { runJson } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

type JsonFinding = JsonReport['findings'][number]

function evidence(finding: JsonFinding, label: string) {
  const item = finding.evidence.find(e => e.label === label)
  assert.ok(item, `evidence ${label}`)
  return item
}

/** The count net/http/pprof announces, read independently of gomemdoctor's parsers. */
async function goroutineTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/debug/pprof/goroutine?debug=1`)).text()
  return Number(/^goroutine profile: total (\d+)/.exec(text)?.[1])
}

/** The line where main.leakyWorker parks (`<-forgotten`), read from the scenario's source. */
const PARKED_AT =
  readFileSync(new URL('../../testprograms/memsick/goroutines.go', import.meta.url), 'utf8')
    .split('\n')
    .findIndex(line => line.trim() === '<-forgotten') + 1

onEveryGo(go => {
  // Five-second windows give 6 samples: Mann–Kendall needs 5 to reach p ≤ 0.01.
  test(`${go}: diagnoses a live goroutine leak by PID and URL and exits 1 with --fail-on warning`, async t => {
    const target = await startScenario('goroutine-leak', { go })
    t.after(() => target.stop())
    const [byPid, byUrl] = await Promise.all([
      runJson(['diagnose', String(target.pid), '--duration', '5s', '--fail-on', 'warning']),
      runJson(['diagnose', target.url, '--duration', '5s']),
    ])
    const after = await goroutineTotal(target.url)

    assert.equal(byPid.result.code, 1, byPid.result.err)
    assert.equal(byUrl.result.code, 0, byUrl.result.err)
    for (const { report } of [byPid, byUrl]) {
      assert.equal(report.verdict, 'goroutine-leak', JSON.stringify(report.findings, null, 2))
      const finding = report.findings[0]
      assert.ok(finding)
      assert.equal(evidence(finding, 'growing stack group').value, 'main.leakyWorker')
      assert.equal(
        evidence(finding, 'growing stack group').source,
        `${target.url}/debug/pprof/goroutine`,
      )
      // The proto profile keeps runtime.chanrecv, which names the wait.
      assert.equal(evidence(finding, 'wait reason').value, 'chan receive')
      assert.ok(
        String(evidence(finding, 'at').value).endsWith(`memsick/goroutines.go:${PARKED_AT}`),
      )
      const start = evidence(finding, 'goroutines in the group at start').value as number
      const end = evidence(finding, 'goroutines in the group at end').value as number
      assert.ok(start >= 10_000 && end - start >= 800, `the group went ${start} → ${end}`)
      // The scenario adds 200 a second.
      const rate = evidence(finding, 'goroutines added per second (Theil–Sen)').value as number
      assert.ok(rate > 150 && rate < 250, `${rate}/s`)
      const last = evidence(finding, 'goroutines at end')
      assert.equal(last.source, `${target.url}/debug/pprof/`)
      assert.ok((last.value as number) <= after && (last.value as number) > after - 1000)
      assert.ok(finding.whatIf && finding.whatIf.rssBytes > 0, 'a what-if')
    }
    // By PID the what-if is RSS less the leaked workers' stacks, about 2 KiB each.
    const finding = byPid.report.findings[0]
    const end = finding && (evidence(finding, 'goroutines in the group at end').value as number)
    assert.ok(finding?.whatIf && byPid.report.rss && end)
    const freed = byPid.report.rss.bytes - finding.whatIf.rssBytes
    assert.ok(freed > end * 2048 * 0.9 && freed < end * 4096, `${freed} bytes freed`)
  })

  test(`${go}: stays quiet on a steady pool of 10k goroutines, by PID and by URL (control)`, async t => {
    const control = await startScenario('goroutine-leak', { go, control: true })
    t.after(() => control.stop())
    const runs = await Promise.all([
      runJson(['diagnose', String(control.pid), '--duration', '5s', '--fail-on', 'warning']),
      runJson(['diagnose', control.url, '--duration', '5s']),
    ])
    for (const { result, report } of runs) {
      assert.equal(result.code, 0, result.err)
      assert.ok(!report.findings.some(f => f.id === 'goroutine-leak'), report.verdict)
      assert.ok(!report.unjudged.includes('goroutine-leak'))
    }
    assert.equal(runs[0].report.verdict, 'healthy', JSON.stringify(runs[0].report.findings))
    assert.ok((await goroutineTotal(control.url)) >= 10_000, 'the pool really is large')
  })
})
