import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { runJson } from '../helpers/cli.ts'
import {
  buildClientGolangFixture,
  CLIENT_GOLANGS,
  type ClientGolang,
  clientGolangVersion,
  startFleetMember,
} from '../helpers/prometheus.ts'

/**
 * testprograms/promfixture serves the real client_golang's /metrics: Debian's 1.14 (GOPATH mode,
 * Go 1.19) or today's from the module proxy (module mode, Go 1.26).
 */
async function startPromFixture(
  t: { after(fn: () => unknown): void },
  client: ClientGolang,
): Promise<{ pid: number; url: string }> {
  const binary = await buildClientGolangFixture('promfixture', client)
  const child = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => child.kill())
  for await (const line of createInterface({ input: child.stdout })) {
    const ready = /^READY pid=(\d+) addr=(\S+)$/.exec(line)
    if (ready) return { pid: Number(ready[1]), url: `http://${ready[2]}` }
  }
  throw new Error('promfixture exited before READY')
}

/** The Go that builds each client_golang's fixtures. */
const GO_OF: Record<ClientGolang, string> = { debian: 'go1.19', modern: 'go1.26' }

for (const client of CLIENT_GOLANGS) {
  const name = `client_golang ${clientGolangVersion(client)}`

  test(`${name}: reads the runtime view from /metrics, preferred over expvar, with go_info's version`, async t => {
    const target = await startPromFixture(t, client)
    const byUrl = await runJson(['diagnose', target.url, '--duration', '2s'])
    assert.equal(byUrl.result.code, 0, byUrl.result.err)
    assert.ok(
      byUrl.report.sources.includes(`${target.url}/metrics`),
      byUrl.report.sources.join(' '),
    )
    assert.equal(
      byUrl.report.target.goVersion?.startsWith(GO_OF[client]),
      true,
      `go_info{version} names the Go version: ${byUrl.report.target.goVersion}`,
    )
    // By URL alone there is no /proc: what needs it cannot judge, so no finding is inconclusive.
    assert.equal(byUrl.report.verdict, 'inconclusive')
    assert.deepEqual(byUrl.report.findings, [])
    assert.ok(!byUrl.report.unjudged.includes('heap-growth'), byUrl.report.unjudged.join(' '))

    const byPid = await runJson(['diagnose', String(target.pid), '--duration', '2s'])
    assert.equal(byPid.report.verdict, 'healthy')
    assert.ok(byPid.report.sources.includes(`${target.url}/metrics`))
    const live = byPid.report.rss?.breakdown.find(slice => slice.key === 'live-heap')
    // promfixture keeps 16 MiB live with every page touched.
    assert.ok(live && live.bytes >= 16 * 2 ** 20 && live.bytes < 64 * 2 ** 20, String(live?.bytes))
  })

  // GOGC set in code is invisible in the environment and, by URL, the environment is not read at
  // all: only the runtime's go_gc_gogc_percent (client_golang ≥ 1.20) says what it is.
  test(`${name}: a GOGC of 1000 set in code, by URL: ${client === 'modern' ? 'read from go_gc_gogc_percent' : 'inferred, no gauge on this client'}`, async t => {
    const member = await startFleetMember(
      'gc-heap-goal',
      {},
      ['-live-mib', '64', '-churn-mib-per-sec', '128'],
      client,
    )
    t.after(() => member.stop())
    const url = `http://${member.addr}`
    const { result, report } = await runJson(['diagnose', url, '--duration', '4s'])
    assert.equal(result.code, 0, result.err)
    const finding = report.findings.find(f => f.id === 'gc-heap-goal')
    const gogc = finding?.evidence.find(e => e.label === 'GOGC in effect')
    if (client === 'debian') {
      assert.equal(gogc, undefined, 'client_golang 1.14 serves no go_gc_gogc_percent')
      return
    }
    assert.ok(finding, JSON.stringify(report.findings, null, 2))
    assert.equal(gogc?.value, 1000)
    assert.equal(gogc?.source, `${url}/metrics (go_gc_gogc_percent)`)
    assert.equal(finding.evidence.find(e => e.label === 'GOMEMLIMIT in effect')?.value, 'unset')
    assert.match(finding.summary, /The runtime reports GOGC=1000\. /)
    assert.equal(finding.evidence.find(e => e.label === 'NextGC ÷ heap after GC')?.value, 11)
    assert.ok(finding.confidence >= 0.9)
  })
}
