import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import type { JsonReport } from '../../src/report/json.ts'
import { evidenceOf, runJson } from '../helpers/cli.ts'
import { type GoBuildName, onEveryGo, startScenario } from '../helpers/memsick.ts'

/** The count net/http/pprof announces, read independently of gomemdoctor's parsers. */
async function goroutineTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/debug/pprof/goroutine?debug=1`)).text()
  return Number(/^goroutine profile: total (\d+)/.exec(text)?.[1])
}

/** The count the goroutine leak profile announces (one more leak detection GC in the target). */
async function leakedTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/debug/pprof/goroutineleak?debug=1`)).text()
  return Number(/^goroutineleak profile: total (\d+)/.exec(text)?.[1])
}

/** The line where main.leakyWorker parks (`<-reply`), read from the scenario's source. */
const PARKED_AT =
  readFileSync(new URL('../../testprograms/memsick/goroutines.go', import.meta.url), 'utf8')
    .split('\n')
    .findIndex(line => line.trim() === '<-reply') + 1

/** The report's notes that say the target ran a leak detection GC for us. */
const leakNotes = (report: JsonReport) => report.notes.filter(n => n.startsWith('--leak-profile:'))
const leakGaps = (report: JsonReport) =>
  report.gaps.filter(g => g.signal === 'profile.goroutineLeak')

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
      assert.equal(evidenceOf(finding, 'growing stack group').value, 'main.leakyWorker')
      assert.equal(
        evidenceOf(finding, 'growing stack group').source,
        `${target.url}/debug/pprof/goroutine`,
      )
      // The proto profile keeps runtime.chanrecv, which names the wait.
      assert.equal(evidenceOf(finding, 'wait reason').value, 'chan receive')
      assert.ok(
        String(evidenceOf(finding, 'at').value).endsWith(`memsick/goroutines.go:${PARKED_AT}`),
      )
      const start = evidenceOf(finding, 'goroutines in the group at start').value as number
      const end = evidenceOf(finding, 'goroutines in the group at end').value as number
      assert.ok(start >= 10_000 && end - start >= 800, `the group went ${start} → ${end}`)
      // The scenario adds 200 a second.
      const rate = evidenceOf(finding, 'goroutines added per second (Theil–Sen)').value as number
      assert.ok(rate > 150 && rate < 250, `${rate}/s`)
      const last = evidenceOf(finding, 'goroutines at end')
      assert.equal(last.source, `${target.url}/debug/pprof/`)
      assert.ok((last.value as number) <= after && (last.value as number) > after - 1000)
      assert.ok(finding.whatIf && finding.whatIf.rssBytes > 0, 'a what-if')
    }
    // By PID the what-if is RSS less the leaked workers' stacks, about 2 KiB each.
    const finding = byPid.report.findings[0]
    const end = finding && (evidenceOf(finding, 'goroutines in the group at end').value as number)
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
    // By PID nothing else is found either. The pool allocates little, so a 5 s window may hold no
    // GC cycle: heap-growth alone may then not judge, and the verdict says inconclusive.
    assert.deepEqual(runs[0].report.findings, [])
    assert.deepEqual(
      runs[0].report.unjudged.filter(id => id !== 'heap-growth'),
      [],
      runs[0].report.unjudged.join(' '),
    )
    assert.ok((await goroutineTotal(control.url)) >= 10_000, 'the pool really is large')
  })
})

/**
 * --leak-profile on a build that serves /debug/pprof/goroutineleak: the runtime's own count of
 * goroutines that can never wake is the evidence, even for a leak that stopped growing.
 */
function leakProfileTests(go: GoBuildName) {
  test(`${go}: --leak-profile names the leaked main.leakyWorker goroutines from the runtime's leak detection, at both edges`, async t => {
    const target = await startScenario('goroutine-leak', { go })
    t.after(() => target.stop())
    const saved = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-leak-')), 'run')
    t.after(() => rm(dirname(saved), { recursive: true, force: true }))
    const { result, report } = await runJson([
      'diagnose',
      String(target.pid),
      '--duration',
      '5s',
      '--leak-profile',
      '--save',
      saved,
    ])
    assert.equal(result.code, 0, result.err)
    const after = await leakedTotal(target.url)
    // The raw profiles are kept, so the saved run replays to the same finding.
    const replay = await runJson(['diagnose', saved])
    assert.deepEqual(
      replay.report.findings.find(f => f.id === 'goroutine-leak'),
      report.findings.find(f => f.id === 'goroutine-leak'),
    )
    const finding = report.findings.find(f => f.id === 'goroutine-leak')
    assert.ok(finding, JSON.stringify(report.findings, null, 2))
    const source = `${target.url}/debug/pprof/goroutineleak`
    const start = evidenceOf(finding, 'goroutines leaked at start (runtime leak detection)')
    const end = evidenceOf(finding, 'goroutines leaked at end (runtime leak detection)')
    assert.equal(end.source, source)
    // 10k parked before READY, 200 more a second; our own fetch after the run saw more still.
    assert.ok((start.value as number) >= 10_000, `${start.value} at start`)
    assert.ok(
      (end.value as number) - (start.value as number) >= 500,
      `${start.value} → ${end.value}`,
    )
    assert.ok((end.value as number) <= after, `${end.value} then ${after}`)
    assert.equal(evidenceOf(finding, 'leaked stack group').value, 'main.leakyWorker')
    assert.equal(evidenceOf(finding, 'leaked, waiting in').value, 'chan receive')
    assert.ok(String(evidenceOf(finding, 'leaked at').value).endsWith(`goroutines.go:${PARKED_AT}`))
    assert.ok(finding.confidence >= 0.95, `confidence ${finding.confidence}`)
    assert.match(finding.summary, /leak detection found \d+ goroutines that can never wake/)
    // The cost is said: one leak detection GC at each edge, and nothing was missing.
    assert.equal(leakNotes(report).length, 2, report.notes.join('\n'))
    assert.deepEqual(leakGaps(report), [])
    assert.ok(!finding.fixes.some(f => f.includes('--leak-profile')), finding.fixes.join('\n'))
  })

  test(`${go}: --leak-profile finds a leak that stopped growing, which the count alone calls healthy`, async t => {
    const target = await startScenario('goroutine-leak', {
      go,
      args: ['--goroutines-per-sec', '0'],
    })
    t.after(() => target.stop())
    const [withProfile, countOnly] = await Promise.all([
      runJson(['diagnose', String(target.pid), '--duration', '3s', '--leak-profile']),
      runJson(['diagnose', String(target.pid), '--duration', '3s']),
    ])
    assert.ok(!countOnly.report.findings.some(f => f.id === 'goroutine-leak'))
    const finding = withProfile.report.findings.find(f => f.id === 'goroutine-leak')
    assert.ok(finding, JSON.stringify(withProfile.report.findings, null, 2))
    assert.equal(finding.title, 'Goroutine leak in main.leakyWorker')
    assert.match(finding.summary, /count did not rise in the window/)
    const leaked = evidenceOf(finding, 'goroutines leaked at end (runtime leak detection)')
    assert.ok((leaked.value as number) >= 10_000, `${leaked.value}`)
    assert.ok(finding.bytesExplained >= 10_000 * 2048, `${finding.bytesExplained} bytes`)
  })

  test(`${go}: --leak-profile finds no leak in the control's pool, and says what it cost`, async t => {
    const control = await startScenario('goroutine-leak', { go, control: true })
    t.after(() => control.stop())
    const { result, report } = await runJson([
      'diagnose',
      String(control.pid),
      '--duration',
      '3s',
      '--leak-profile',
      '--fail-on',
      'warning',
    ])
    assert.equal(result.code, 0, result.err)
    // The pool allocates little: heap-growth may see no GC cycle in 3 s (the leak profile's own
    // GCs are forced, not the heap's), so only it may go unjudged.
    assert.deepEqual(report.findings, [])
    assert.deepEqual(
      report.unjudged.filter(id => id !== 'heap-growth'),
      [],
      report.unjudged.join(' '),
    )
    assert.equal(leakNotes(report).length, 2, report.notes.join('\n'))
    assert.deepEqual(leakGaps(report), [])
    assert.equal(await leakedTotal(control.url), 0)
  })
}

onEveryGo((go, version) => {
  if (go === 'go1.27') {
    test(`${go}: record --leak-profile keeps the raw leak profiles, so the report from the recording says the same`, async t => {
      const target = await startScenario('goroutine-leak', { go })
      t.after(() => target.stop())
      const db = join(await mkdtemp(join(tmpdir(), 'gomemdoctor-leak-')), 'run.db')
      t.after(() => rm(dirname(db), { recursive: true, force: true }))
      const live = await runJson([
        'record',
        String(target.pid),
        '--out',
        db,
        '--duration',
        '5s',
        '--leak-profile',
      ])
      assert.equal(live.result.code, 0, live.result.err)
      const replay = await runJson(['report', db])
      const leakOf = (report: JsonReport) => report.findings.find(f => f.id === 'goroutine-leak')
      const recorded = leakOf(replay.report)
      assert.ok(recorded?.evidence.some(e => e.label.includes('runtime leak detection')))
      assert.deepEqual(recorded, leakOf(live.report))
      assert.deepEqual(leakNotes(replay.report), leakNotes(live.report))
    })
    return leakProfileTests(go)
  }
  // Go 1.26 with the experiment is the other build that serves it; it runs beside go1.26.
  if (go === 'go1.26') leakProfileTests('go1.26-leakprofile')
  test(`${go}: --leak-profile on ${version}, which serves no leak profile: a gap with its cost, the leak found as before`, async t => {
    const target = await startScenario('goroutine-leak', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson([
      'diagnose',
      String(target.pid),
      '--duration',
      '5s',
      '--leak-profile',
    ])
    assert.equal(result.code, 0, result.err)
    const [gap, ...more] = leakGaps(report)
    assert.equal(more.length, 0)
    assert.match(
      gap?.reason ?? '',
      /goroutineleak answered HTTP 404: this Go serves no goroutine leak profile/,
    )
    assert.match(gap?.cost ?? '', /not proved by the runtime/)
    assert.deepEqual(leakNotes(report), [])
    const finding = report.findings.find(f => f.id === 'goroutine-leak')
    assert.ok(finding, JSON.stringify(report.findings, null, 2))
    assert.equal(evidenceOf(finding, 'growing stack group').value, 'main.leakyWorker')
    assert.ok(!finding.evidence.some(e => e.label.includes('runtime leak detection')))
    // The fix says how this Go gets the profile.
    const how =
      go === 'go1.19'
        ? /Go ≥ 1\.27 \(running go1\.19/
        : /rebuild with GOEXPERIMENT=goroutineleakprofile/
    assert.ok(
      finding.fixes.some(f => how.test(f)),
      finding.fixes.join('\n'),
    )
  })
})
