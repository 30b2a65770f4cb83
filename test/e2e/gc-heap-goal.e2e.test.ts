import assert from 'node:assert/strict'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { JsonReport } from '../../src/report/json.ts'
import { runJson } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

const MiB = 2 ** 20

/** `diagnose PID --duration 4s`, saved, and how often each of its ticks read /debug/vars. */
async function diagnoseSaved(pid: number) {
  const dir = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-gc-heap-goal-')), 'run')
  const run = await runJson(['diagnose', String(pid), '--duration', '4s', '--save', dir])
  // A failed run saved nothing: its exit code and stderr, asserted next, say why.
  return { ...run, readsPerTick: run.result.code === 0 ? await runtimeReadsPerTick(dir) : [] }
}

/**
 * How many times each tick of a saved run read /debug/vars: 1 plus its follow-up reads. Each
 * read keeps when its answer came, which dates the figures (assemble.ts readAt).
 */
async function runtimeReadsPerTick(dir: string): Promise<number[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'capture.json'), 'utf8')) as {
    ticks: { files: { kind: string; atMs: number; answeredAtMs?: number }[] }[]
  }
  return manifest.ticks.map(tick => {
    const reads = tick.files.filter(file => file.kind === 'expvar')
    for (const read of reads)
      assert.ok(
        read.answeredAtMs !== undefined && read.answeredAtMs >= read.atMs,
        JSON.stringify(read),
      )
    return reads.length
  })
}

/** What a failed verdict needs to be understood from CI's log alone. */
function explain(report: JsonReport): string {
  const { findings, unjudged, gaps, window, notes } = report
  return JSON.stringify({ findings, unjudged, gaps, window, notes }, null, 2)
}

onEveryGo(go => {
  // memsick sets GOGC 1000 with debug.SetGCPercent: /proc/PID/environ shows no GOGC, so the
  // multiple must be measured from the runtime. A cycle lasts ~2.6 s; four seconds of 1 s samples
  // always hold one cycle sampled twice, which the measurement needs. Dated at their request,
  // the reads made it err low (by the allocation rate × how late the target read its memstats):
  // 10.7-11.4 for the true 11 on 2026-12-04. Dated midway to their answer: 10.47-11.85 in 36 runs
  // of bench/gc-multiple.bench.ts on 2026-12-08 (idle and beside three busy loops). The bounds
  // below leave room for heavier load; the finding itself needs only 3.
  test(`${go}: diagnoses a heap goal ten times the live heap set in code, by PID and by URL`, async t => {
    const target = await startScenario('gc-heap-goal', { go })
    t.after(() => target.stop())
    const byPid = await diagnoseSaved(target.pid)
    assert.equal(byPid.result.code, 0, byPid.result.err)
    // ~2.6 s cycles: the ticks read each twice themselves, and nothing more is asked of the target.
    // (diagnose may sample past 4 s to see a cycle end: --max-duration.)
    const reads = byPid.readsPerTick
    assert.ok(reads.length >= 5 && reads.every(n => n === 1), reads.join(' '))
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

  // GOGC 400 and 1 GiB/s of garbage: a cycle lasts ~0.25 s, so no tick reads one twice. From the
  // ticks alone, what the cycles between them allocated gave 3.0-4.9 in 12 runs on go1.19.8 beside
  // three busy loops (CI read "healthy" once). With the follow-up reads, and each read dated
  // midway to its answer: 4.31-5.99 in 36 runs of bench/gc-multiple.bench.ts (the three Gos, idle
  // and beside three busy loops, 2026-12-08). The bounds leave room for heavier load.
  test(`${go}: measures a GOGC of 400 set in code when collections come faster than the samples`, async t => {
    const target = await startScenario('gc-heap-goal', {
      go,
      args: ['--gogc', '400', '--churn-mib-per-sec', '1024'],
    })
    t.after(() => target.stop())
    const { result, report, readsPerTick: reads } = await diagnoseSaved(target.pid)
    assert.equal(result.code, 0, result.err)
    // Four or so collections between ticks: each tick after the first reads the view again, a
    // quarter cycle apart, up to six times within half the interval (gc-follow-ups.ts).
    assert.equal(reads[0], 1, reads.join(' '))
    assert.ok(
      reads.slice(1).every(n => n >= 3 && n <= 7),
      reads.join(' '),
    )
    assert.equal(report.verdict, 'gc-heap-goal', explain(report))
    const finding = report.findings[0]
    const ratio = finding?.evidence.find(e => e.label === 'NextGC ÷ heap after GC')?.value
    assert.ok(typeof ratio === 'number' && ratio > 3.5 && ratio < 7, explain(report))
    assert.doesNotMatch(finding?.summary ?? '', /at least/, 'a measurement, not a lower bound')
  })

  test(`${go}: stays quiet on the same workload with GOGC 100`, async t => {
    const control = await startScenario('gc-heap-goal', { go, control: true })
    t.after(() => control.stop())
    const { report } = await runJson(['diagnose', String(control.pid), '--duration', '4s'])
    assert.equal(report.verdict, 'healthy', explain(report))
  })
})
