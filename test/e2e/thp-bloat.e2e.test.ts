import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { procKiB, runJson, within } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

// The scenario collapses a released go1.19 heap into huge pages itself (MADV_HUGEPAGE +
// MADV_COLLAPSE, Linux ≥ 6.1), as Go 1.21.1-1.21.5 with khugepaged would: Go 1.19 and this
// machine's THP "madvise" mode do not bloat on their own (see src/detectors/thp-bloat.ts).

onEveryGo((go, version) => {
  test(`${go}: diagnoses huge pages refilling a live released heap by PID, with the THP settings`, async t => {
    const target = await startScenario('thp-bloat', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'thp-bloat', JSON.stringify(report.findings, null, 2))
    const finding = report.findings[0]
    assert.ok(finding)
    assert.equal(finding.severity, 'critical')
    const evidence = (label: string) => finding.evidence.find(e => e.label === label)
    const hugePages = evidence('AnonHugePages')
    assert.ok(typeof hugePages?.value === 'number')
    assert.ok(within(hugePages.value, procKiB(target.pid, 'smaps_rollup', 'AnonHugePages'), 0.05))
    const bloat = evidence('held by huge pages, not used by the heap')
    assert.ok(typeof bloat?.value === 'number' && bloat.value > 900 * 2 ** 20)
    const mode = /\[(\w+)\]/.exec(
      readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'),
    )?.[1]
    assert.equal(evidence('THP enabled')?.value, mode)
    assert.equal(evidence('THP enabled')?.source, '/sys/kernel/mm/transparent_hugepage/enabled')
    assert.ok(finding.whatIf && finding.whatIf.rssBytes < 128 * 2 ** 20)
    // The same bytes are Go's address space, not C's.
    assert.ok(!report.findings.some(f => f.id === 'non-go-memory'))
    // The remedy the running Go has: disablethp exists from Go 1.21.6 on.
    const fixes = finding.fixes.join('\n')
    if (go === 'go1.19') assert.doesNotMatch(fixes, /disablethp/)
    else assert.match(fixes, new RegExp(`run with GODEBUG=disablethp=1 \\(${version} has it`))
  })

  test(`${go}: by URL alone says huge pages could not be judged`, async t => {
    const target = await startScenario('thp-bloat', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', target.url, '--duration', '2s'])
    assert.equal(result.code, 0, result.err)
    assert.ok(!report.findings.some(f => f.id === 'thp-bloat'))
    assert.ok(report.unjudged.includes('thp-bloat'))
  })

  test(`${go}: stays quiet on a 1 GiB heap in use and backed by huge pages`, async t => {
    const control = await startScenario('thp-bloat', { go, control: true })
    t.after(() => control.stop())
    assert.ok(procKiB(control.pid, 'smaps_rollup', 'AnonHugePages') > 1000 * 2 ** 20)
    const { result, report } = await runJson(['diagnose', String(control.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
    assert.ok(!report.unjudged.includes('thp-bloat'))
  })
})

// Go 1.26 from a go 1.24 module: no mapping names on any kernel, a random heap base. The huge
// pages sit in arenas found by their shape alone; taken for C's, they would be non-go-memory.
const UNNAMED = 'go1.26-line1.24'

test(`${UNNAMED}: huge pages refilling its unnamed released heap are thp-bloat, not non-Go memory`, async t => {
  const target = await startScenario('thp-bloat', { go: UNNAMED })
  t.after(() => target.stop())
  const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.verdict, 'thp-bloat', JSON.stringify(report.findings, null, 2))
  assert.ok(!report.findings.some(f => f.id === 'non-go-memory'))
  assert.ok(!report.unjudged.includes('non-go-memory'))
  const split = report.rss?.split
  assert.ok(split && split.method === 'arenas', JSON.stringify(split))
  assert.ok(split.nonGoBytes < 64 * 2 ** 20, `non-Go ${split.nonGoBytes}`)
  const uncounted = report.rss?.breakdown.find(s => s.key === 'go-uncounted')
  assert.ok(uncounted && uncounted.bytes > 512 * 2 ** 20, 'resident in Go, beyond its count')
})
