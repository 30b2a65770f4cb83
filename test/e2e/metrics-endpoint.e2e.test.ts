import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { goCommand } from '../../src/demo/go-toolchains.ts'
import { runJson } from '../helpers/cli.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * testprograms/promfixture serves the real client_golang's /metrics: Debian's package in GOPATH
 * mode, built by Debian's Go 1.19.
 */
async function startPromFixture(t: {
  after(fn: () => unknown): void
}): Promise<{ pid: number; url: string }> {
  mkdirSync(`${ROOT}build`, { recursive: true })
  const binary = `${ROOT}build/promfixture`
  const go = goCommand('1.19')
  execFileSync(go.command, ['build', '-o', binary, './testprograms/promfixture'], {
    cwd: ROOT,
    env: { ...process.env, ...go.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const child = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => child.kill())
  for await (const line of createInterface({ input: child.stdout })) {
    const ready = /^READY pid=(\d+) addr=(\S+)$/.exec(line)
    if (ready) return { pid: Number(ready[1]), url: `http://${ready[2]}` }
  }
  throw new Error('promfixture exited before READY')
}

test("reads the runtime view from client_golang's /metrics, preferred over expvar, with go_info's version", async t => {
  const target = await startPromFixture(t)
  const byUrl = await runJson(['diagnose', target.url, '--duration', '2s'])
  assert.equal(byUrl.result.code, 0, byUrl.result.err)
  assert.ok(byUrl.report.sources.includes(`${target.url}/metrics`), byUrl.report.sources.join(' '))
  assert.equal(
    byUrl.report.target.goVersion?.startsWith('go1.19'),
    true,
    'go_info{version} names the Go version',
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
