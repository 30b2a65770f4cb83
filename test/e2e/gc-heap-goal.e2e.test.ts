import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { JsonReport } from '../../src/report/json.ts'
import { runJson } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

const MiB = 2 ** 20

/** What a failed verdict needs to be understood from CI's log alone. */
function explain(report: JsonReport): string {
  const { findings, unjudged, gaps, window, notes } = report
  return JSON.stringify({ findings, unjudged, gaps, window, notes }, null, 2)
}

onEveryGo(go => {
  // memsick sets GOGC 1000 with debug.SetGCPercent: /proc/PID/environ shows no GOGC, so the
  // multiple must be measured from the runtime. A cycle lasts ~2.6 s; four seconds of 1 s samples
  // always hold one cycle sampled twice, which the measurement needs. The measured multiple errs
  // low by the allocation rate × how late the target reads its memstats after the request: on
  // 2026-12-04, 10.7-11.4 for the true 11 idle and 10.8-11.2 beside six busy loops (8.5-9.6
  // before samples carried their read time); the bounds below leave room for heavier load, and
  // the finding itself needs only 3. Delays that differ between two samples skew the allocation
  // rate either way: 11.7 was seen once.
  test(`${go}: diagnoses a heap goal ten times the live heap set in code, by PID and by URL`, async t => {
    const target = await startScenario('gc-heap-goal', { go })
    t.after(() => target.stop())
    const byPid = await runJson(['diagnose', String(target.pid), '--duration', '4s'])
    assert.equal(byPid.result.code, 0, byPid.result.err)
    const findings = JSON.stringify(byPid.report.findings, null, 2)
    assert.equal(byPid.report.verdict, 'gc-heap-goal', explain(byPid.report))
    assert.equal(byPid.report.target.gogc, undefined, 'nothing in the environment')
    const finding = byPid.report.findings[0]
    assert.ok(finding)
    const ratio = finding.evidence.find(e => e.label === 'NextGC ÷ heap after GC')
    assert.ok(
      ratio && typeof ratio.value === 'number' && ratio.value > 4 && ratio.value < 14,
      findings,
    )
    assert.equal(ratio.source, `${target.url}/debug/vars`)
    assert.match(finding.summary, /debug\.SetGCPercent/)
    assert.ok(
      finding.fixes.some(fix => /GOMEMLIMIT/.test(fix)),
      'go1.19 gets GOMEMLIMIT',
    )
    assert.ok(
      finding.whatIf && finding.whatIf.rssBytes < 400 * MiB,
      `peak with GOGC=100: ${findings}`,
    )

    const byUrl = await runJson(['diagnose', target.url, '--duration', '4s'])
    assert.equal(byUrl.report.verdict, 'gc-heap-goal', explain(byUrl.report))
  })

  // GOGC 400 and 1 GiB/s of garbage: a cycle lasts ~0.25 s, so no cycle is sampled twice and
  // HeapAlloc gives only a lower bound (3.1-4.4 in 4 runs on go1.26.8 before TotalAlloc was read;
  // GOGC 300 so measured was once called healthy). Measured from what each cycle allocated, it
  // is an estimate: 3.6-5.4 on the three Go builds (bench/gc-multiple.bench.ts; the heap after
  // GC includes what was allocated while marking).
  test(`${go}: measures a GOGC of 400 set in code when collections come faster than the samples`, async t => {
    const target = await startScenario('gc-heap-goal', {
      go,
      args: ['--gogc', '400', '--churn-mib-per-sec', '1024'],
    })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '4s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'gc-heap-goal', explain(report))
    const finding = report.findings[0]
    const ratio = finding?.evidence.find(e => e.label === 'NextGC ÷ heap after GC')?.value
    assert.ok(typeof ratio === 'number' && ratio > 3 && ratio < 6, explain(report))
    assert.doesNotMatch(finding?.summary ?? '', /at least/, 'a measurement, not a lower bound')
  })

  test(`${go}: stays quiet on the same workload with GOGC 100`, async t => {
    const control = await startScenario('gc-heap-goal', { go, control: true })
    t.after(() => control.stop())
    const { report } = await runJson(['diagnose', String(control.pid), '--duration', '4s'])
    assert.equal(report.verdict, 'healthy', explain(report))
  })
})
