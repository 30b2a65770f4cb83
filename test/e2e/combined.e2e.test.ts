import assert from 'node:assert/strict'
import { test } from 'node:test'
import { procKiB, runJson } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

onEveryGo(go => {
  // Two causes in one real process: goroutines that leak, and a freed 1 GiB spike kept resident as
  // LazyFree under madvdontneed=0. Both must be found, ranked by diagnose(): severity first, then
  // the bytes of RSS each explains.
  test(`${go}: finds a goroutine leak and MADV_FREE retention in one process, ranked, each with a what-if`, async t => {
    const target = await startScenario('goroutine-leak', {
      go,
      env: { GODEBUG: 'madvdontneed=0' },
      args: ['--spike-mib', '1024'],
    })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '5s'])
    assert.equal(result.code, 0, result.err)
    const lazyFree = procKiB(target.pid, 'smaps_rollup', 'LazyFree')
    assert.ok(lazyFree > 900 * 2 ** 20, `the spike is held as LazyFree (${lazyFree} bytes)`)

    const ids = report.findings.map(f => f.id)
    assert.ok(ids.includes('madv-free-retention'), ids.join())
    assert.ok(ids.includes('goroutine-leak'), ids.join())
    assert.equal(report.verdict, 'madv-free-retention')
    const madv = report.findings.find(f => f.id === 'madv-free-retention')
    const leak = report.findings.find(f => f.id === 'goroutine-leak')
    assert.ok(madv && leak)
    assert.equal(madv.severity, 'critical')
    // The leak's stacks are ~2% of an RSS of 1 GiB: a warning, ranked below the critical finding.
    assert.equal(leak.severity, 'warning')
    assert.ok(ids.indexOf('madv-free-retention') < ids.indexOf('goroutine-leak'))
    assert.ok(madv.bytesExplained > leak.bytesExplained)
    assert.equal(
      leak.evidence.find(e => e.label === 'growing stack group')?.value,
      'main.leakyWorker',
    )

    // Each what-if starts from the same RSS and removes only its own cause.
    assert.ok(report.rss && madv.whatIf && leak.whatIf)
    const rss = report.rss.bytes
    assert.ok(rss - madv.whatIf.rssBytes > 900 * 2 ** 20, 'fixing MADV_FREE frees the spike')
    const stacks = rss - leak.whatIf.rssBytes
    assert.ok(stacks > 16 * 2 ** 20 && stacks < 64 * 2 ** 20, `stopping the leak frees ${stacks}`)
  })
})
