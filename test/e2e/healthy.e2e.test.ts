import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runJson } from '../helpers/cli.ts'
import { onEveryGo, startScenario } from '../helpers/memsick.ts'

onEveryGo((go, version) => {
  test(`${go}: calls a small steady process with allocation churn healthy`, async t => {
    const target = await startScenario('healthy', { go })
    t.after(() => target.stop())
    const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
    assert.equal(result.code, 0, result.err)
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
    assert.deepEqual(report.findings, [])
    assert.deepEqual(report.unjudged, [])
    assert.ok(report.rss)
    const sum = report.rss.breakdown.reduce((total, slice) => total + slice.bytes, 0)
    assert.equal(sum, report.rss.bytes)
    // The split says whether it is exact, and why: Go 1.19 names nothing; Go ≥ 1.25 names its
    // mappings where the kernel keeps names (this machine's does not).
    const split = report.rss.split
    assert.ok(split, 'smaps and the runtime view were read: the split is there')
    if (go === 'go1.19') {
      assert.equal(split.exact, false)
      assert.equal(split.reason, `${version} does not name its mappings (Go ≥ 1.25 does)`)
    } else if (split.exact) {
      assert.equal(split.method, 'named')
    } else {
      assert.equal(split.method, 'arenas')
      assert.match(split.reason, /keeps no names for anonymous memory/)
    }
    assert.ok(split.goBytes > 40 * 2 ** 20, 'the 50 MiB live heap is Go')
    assert.ok(split.nonGoBytes < 32 * 2 ** 20, 'and little else is anonymous')
  })

  test(`${go}: calls a 1 GiB steady heap with heavy churn healthy`, async t => {
    const target = await startScenario('healthy', { go, args: ['--large'] })
    t.after(() => target.stop())
    const { report } = await runJson(['diagnose', String(target.pid), '--duration', '4s'])
    assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
    assert.ok(report.rss && report.rss.bytes > 768 * 2 ** 20, 'the heap really is large')
  })
})

// Go 1.26 built from a module whose go line is 1.24: DefaultGODEBUG has decoratemappings=0, so no
// mapping is named on any kernel, and the heap's base is random (Go 1.26): the heap is found by
// its arenas' shape, or it would be taken for non-Go memory.
const UNNAMED = 'go1.26-line1.24'

test(`${UNNAMED}: a healthy process with unnamed mappings has no finding, and the split says why it is estimated`, async t => {
  const target = await startScenario('healthy', { go: UNNAMED })
  t.after(() => target.stop())
  const { result, report } = await runJson(['diagnose', String(target.pid), '--duration', '3s'])
  assert.equal(result.code, 0, result.err)
  assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
  assert.deepEqual(report.unjudged, [])
  const split = report.rss?.split
  assert.ok(split)
  assert.equal(split.method, 'arenas')
  assert.equal(
    split.reason,
    "the binary's DefaultGODEBUG has decoratemappings=0 (its module's go line is ≤ 1.24)",
  )
  assert.ok(split.nonGoBytes < 32 * 2 ** 20, `non-Go ${split.nonGoBytes}`)
})

test(`${UNNAMED}: a 1 GiB steady heap with unnamed mappings is healthy, and Go's`, async t => {
  const target = await startScenario('healthy', { go: UNNAMED, args: ['--large'] })
  t.after(() => target.stop())
  const { report } = await runJson(['diagnose', String(target.pid), '--duration', '4s'])
  assert.equal(report.verdict, 'healthy', JSON.stringify(report.findings, null, 2))
  assert.ok(report.rss && report.rss.bytes > 768 * 2 ** 20, 'the heap really is large')
  assert.ok(report.rss.split && report.rss.split.goBytes > 768 * 2 ** 20)
  assert.ok(report.rss.split.nonGoBytes < 64 * 2 ** 20)
})
