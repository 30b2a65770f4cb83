import assert from 'node:assert/strict'
import { test } from 'node:test'
import { numericEvidence, procKiB, runCli, runJson, within } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

onEveryGo((go, version) => {
  test(`${go}: diagnoses a live process holding 1 GiB as LazyFree by PID, numbers within 5% of /proc and the runtime`, async t => {
    const target = await startScenario('madv-free-retention', {
      go,
      env: { GODEBUG: 'madvdontneed=0' },
    })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '5s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'madv-free-retention')
    assert.equal(report.target.goVersion, version)
    assert.equal(report.target.godebug, 'madvdontneed=0')

    // What the kernel and the runtime say now, read independently of gomemdoctor's parsers.
    const rss = procKiB(target.pid, 'status', 'VmRSS')
    const lazyFree = procKiB(target.pid, 'smaps_rollup', 'LazyFree')
    const vars = (await (await fetch(`${target.url}/debug/vars`)).json()) as {
      memstats: { HeapReleased: number }
    }
    assert.ok(lazyFree > 900 * 2 ** 20, `the scenario holds ${lazyFree} bytes as LazyFree`)

    const finding = report.findings[0]
    assert.ok(finding)
    assert.equal(finding.severity, 'critical')
    assert.ok(within(numericEvidence(finding, 'RSS').value, rss, 0.05), 'RSS within 5%')
    assert.ok(
      within(numericEvidence(finding, 'LazyFree').value, lazyFree, 0.05),
      'LazyFree within 5%',
    )
    assert.ok(
      within(numericEvidence(finding, 'HeapReleased').value, vars.memstats.HeapReleased, 0.05),
      'HeapReleased within 5%',
    )
    assert.equal(numericEvidence(finding, 'LazyFree').source, `/proc/${target.pid}/smaps_rollup`)
    assert.equal(numericEvidence(finding, 'HeapReleased').source, `${target.url}/debug/vars`)

    assert.ok(report.rss)
    const sum = report.rss.breakdown.reduce((total, slice) => total + slice.bytes, 0)
    assert.ok(within(sum, report.rss.bytes, 0.05), 'the breakdown sums to RSS within 5%')
    assert.ok(within(report.rss.bytes, rss, 0.05))
    const released = report.rss.breakdown.find(s => s.key === 'released-resident')
    assert.ok(released && released.bytes > 0.8 * report.rss.bytes)
  })

  test(`${go}: exits 1 with --fail-on warning and prints the finding with its what-if`, async t => {
    const target = await startScenario('madv-free-retention', {
      go,
      env: { GODEBUG: 'madvdontneed=0' },
    })
    t.after(() => target.stop())
    const failing = await runCli(
      'diagnose',
      String(target.pid),
      '--duration',
      '1s',
      '--fail-on',
      'warning',
    )
    assert.equal(failing.code, 1, failing.err)
    assert.match(failing.out, /CRITICAL\s+madv-free-retention/)
    assert.match(failing.out, /what if\s+RSS ≈/)
  })

  test(`${go}: combines --pid and --url, and by URL alone says LazyFree could not be judged`, async t => {
    const target = await startScenario('madv-free-retention', {
      go,
      env: { GODEBUG: 'madvdontneed=0' },
    })
    t.after(() => target.stop())
    const both = await runJson([
      'diagnose',
      '--pid',
      String(target.pid),
      '--url',
      target.url,
      '--duration',
      '2s',
    ])
    assert.equal(both.report.verdict, 'madv-free-retention')
    assert.deepEqual(
      both.report.sources.filter(s => s.startsWith('http')),
      [`${target.url}/debug/vars`, `${target.url}/debug/pprof/`],
    )

    const urlOnly = await runJson(['diagnose', target.url, '--duration', '2s'])
    assert.equal(urlOnly.result.code, 0, urlOnly.result.err)
    assert.notEqual(urlOnly.report.verdict, 'madv-free-retention')
    assert.ok(urlOnly.report.unjudged.includes('madv-free-retention'))
    assert.ok(urlOnly.report.gaps.some(gap => gap.signal === 'os.lazyFree'))
    assert.equal(urlOnly.report.rss, null)
  })

  test(`${go}: stays quiet on the same workload under madvdontneed=1`, async t => {
    const control = await startScenario('madv-free-retention', {
      go,
      control: true,
      env: { GODEBUG: 'madvdontneed=1' },
    })
    t.after(() => control.stop())
    const { result, report } = await runJson(['diagnose', String(control.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'healthy')
    assert.deepEqual(report.unjudged, [])
    assert.ok(report.rss && report.rss.bytes < 256 * 2 ** 20)
  })
})
