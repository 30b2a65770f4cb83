import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import type { FleetJson } from '../../src/report/fleet.ts'
import type { JsonReport } from '../../src/report/json.ts'
import { runCli } from '../helpers/cli.ts'
import {
  type FleetMember,
  type RunningPrometheus,
  startFleetMember,
  startPrometheus,
  waitForScrapes,
} from '../helpers/prometheus.ts'

// A real Prometheus scraping four real Go processes built with the real client_golang, every
// 1 s: a 1 GiB spike freed under GODEBUG=madvdontneed=0, the same workload under
// madvdontneed=1 (its control), a leak, and a steady heap with heavier churn (the leak's control).
let prometheus: RunningPrometheus
let members: Record<'madv' | 'madvControl' | 'leak' | 'steady', FleetMember>
const WINDOW = ['--range', '12s', '--step', '1s']

before(async () => {
  const [madv, madvControl, leak, steady] = await Promise.all([
    startFleetMember('madv-free-retention', { GODEBUG: 'madvdontneed=0' }),
    startFleetMember('madv-free-retention', { GODEBUG: 'madvdontneed=1' }),
    startFleetMember('heap-growth'),
    startFleetMember('healthy', {}, ['-live-mib', '96', '-churn-mib-per-sec', '96']),
  ])
  members = { madv, madvControl, leak, steady }
  prometheus = await startPrometheus({ jobs: { api: Object.values(members).map(m => m.addr) } })
  await waitForScrapes(prometheus, 4, 13)
})

after(async () => {
  for (const member of Object.values(members ?? {})) member.stop()
  await prometheus?.stop()
})

async function fleetJson(...args: string[]): Promise<FleetJson> {
  const run = await runCli('fleet', '--prometheus', prometheus.url, ...args, '--json')
  assert.equal(run.code, 0, run.err)
  return JSON.parse(run.out) as FleetJson
}

test('ranks the MADV_FREE and the leaking instance above the healthy ones, with their finding ids', async () => {
  const fleet = await fleetJson(...WINDOW, '--selector', '{job="api"}')
  const byAddr = (m: FleetMember) => fleet.instances.find(i => i.instance === m.addr)
  const order = fleet.instances.map(i => `${i.instance} ${i.verdict}`)
  assert.equal(fleet.instances.length, 4, order.join('\n'))
  assert.deepEqual(
    fleet.instances.slice(0, 2).map(i => i.instance),
    [members.madv.addr, members.leak.addr],
    order.join('\n'),
  )
  const madv = byAddr(members.madv)
  assert.equal(madv?.verdict, 'madv-free-retention')
  assert.equal(madv?.findings[0]?.severity, 'critical')
  assert.ok(
    (madv?.rss?.unexplained ?? 0) > 768 * 2 ** 20,
    'the freed spike is RSS Go does not count',
  )
  assert.equal(byAddr(members.leak)?.verdict, 'heap-growth')
  assert.equal(
    byAddr(members.madvControl)?.verdict,
    'healthy',
    JSON.stringify(byAddr(members.madvControl)?.findings),
  )
  assert.equal(
    byAddr(members.steady)?.verdict,
    'healthy',
    JSON.stringify(byAddr(members.steady)?.findings),
  )
  for (const instance of fleet.instances) {
    assert.equal(instance.job, 'api')
    assert.match(instance.goVersion ?? '', /^go1\.\d+/)
    assert.ok(instance.samples >= 10, `${instance.instance}: ${instance.samples} samples`)
  }
  // A fixed number of queries for the fleet, whatever its size: one per metric name.
  assert.ok(fleet.source.queries >= 40 && fleet.source.queries <= 50, String(fleet.source.queries))
  assert.deepEqual(fleet.gaps.map(gap => gap.signal).sort(), [
    'os.anonHugePages',
    'os.lazyFree',
    'os.rssSplit',
    'profile.heap',
    'target.godebug',
  ])
})

test('prints the table worst first, and --fail-on critical exits 1', async () => {
  const run = await runCli(
    'fleet',
    '--prometheus',
    prometheus.url,
    ...WINDOW,
    '--fail-on',
    'critical',
  )
  assert.equal(run.code, 1, run.err)
  const rows = run.out.split('\n').filter(line => line.startsWith('127.0.0.1:'))
  assert.equal(rows.length, 4, run.out)
  assert.ok(
    rows[0]?.startsWith(members.madv.addr) && /madv-free-retention .*CRITICAL/.test(rows[0]),
    run.out,
  )
  assert.ok(rows[1]?.startsWith(members.leak.addr) && / heap-growth /.test(rows[1]), run.out)
  assert.match(run.out, /instance +job +go +verdict +RSS +unexplained +top finding/)
})

test('diagnose --prometheus --instance gives one instance the same diagnosis document as a live run', async () => {
  const run = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    members.madv.addr,
    ...WINDOW,
    '--json',
  )
  assert.equal(run.code, 0, run.err)
  const report = JSON.parse(run.out) as JsonReport
  assert.equal(report.verdict, 'madv-free-retention')
  assert.ok(report.window.samples >= 10)
  assert.ok(
    report.sources.includes(`${prometheus.url}/api/v1/query_range`),
    report.sources.join(' '),
  )
  const rss = report.findings[0]?.evidence.find(e => e.label === 'RSS')
  assert.match(
    rss?.source ?? '',
    /process_resident_memory_bytes\{instance="127\.0\.0\.1:\d+",job="api"\}/,
  )

  const healthy = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    members.steady.addr,
    ...WINDOW,
  )
  assert.equal(healthy.code, 0, healthy.err)
  assert.match(healthy.out, /verdict: healthy/)
})

test("a bad selector exits 2 with Prometheus's own words; one that matches nothing exits 2 too", async () => {
  const bad = await runCli('fleet', '--prometheus', prometheus.url, '--selector', '{job=api}')
  assert.equal(bad.code, 2)
  assert.match(
    bad.err,
    /^gomemdoctor: Prometheus rejected the query go_info\{job=api\}: .*parse error/,
  )
  assert.equal(bad.err.trim().split('\n').length, 1)
  const none = await runCli(
    'fleet',
    '--prometheus',
    prometheus.url,
    '--selector',
    '{job="nope"}',
    ...WINDOW,
  )
  assert.equal(none.code, 2)
  assert.match(
    none.err,
    /^gomemdoctor: no Go instances: no go_\* series match \{job="nope"\} at http/,
  )
  const unknown = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    '10.9.9.9:1',
    ...WINDOW,
  )
  assert.equal(unknown.code, 2)
  assert.match(unknown.err, /no Go instances/)
})

test('a URL that is not Prometheus (a web page, a 404) or does not answer exits 3 in one line', async t => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/html')) {
      res.setHeader('content-type', 'text/html')
      res.end('<!DOCTYPE html><html><body>Sign in</body></html>')
    } else if (req.url?.startsWith('/slow')) {
      // never answers
    } else {
      res.statusCode = 404
      res.end('404 page not found\n')
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  for (const [path, message] of [
    ['/html', /is not a Prometheus HTTP API \(HTTP 200 .*got HTML/],
    ['/', /is not a Prometheus HTTP API \(HTTP 404 .*404 page not found/],
    ['/slow', /no answer within 1000 ms/],
  ] as const) {
    const run = await runCli('fleet', '--prometheus', `${base}${path}`, '--timeout', '1s')
    assert.equal(run.code, 3, `${path}: ${run.err}`)
    assert.match(run.err, message)
    assert.equal(run.err.trim().split('\n').length, 1, run.err)
  }
})

test('bad flags exit 2 with one line', async () => {
  for (const args of [
    ['fleet', '--prometheus', prometheus.url, '--selector', 'job="api"'],
    ['fleet', '--prometheus', prometheus.url, '--range', 'six hours'],
    ['fleet', '--prometheus', 'ftp://x'],
    ['fleet'],
    ['diagnose', '--prometheus', prometheus.url],
  ]) {
    const run = await runCli(...args)
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.err}`)
    assert.equal(
      run.err
        .trim()
        .split('\n')
        .filter(l => !l.startsWith('(run with')).length,
      1,
      run.err,
    )
  }
})

test('a server error on some queries leaves those metrics as named gaps; the rest is judged', async t => {
  // A proxy in front of the real Prometheus that fails go_goroutines with Prometheus's own error.
  const proxy = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.searchParams.get('query')?.startsWith('go_goroutines')) {
      res.statusCode = 503
      res.end('{"status":"error","errorType":"unavailable","error":"too many queries in flight"}')
      return
    }
    const upstream = await fetch(`${prometheus.url}${req.url}`)
    res.statusCode = upstream.status
    res.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
  t.after(() => proxy.close())
  const run = await runCli(
    'fleet',
    '--prometheus',
    `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    ...WINDOW,
    '--json',
  )
  assert.equal(run.code, 0, run.err)
  const fleet = JSON.parse(run.out) as FleetJson
  const gap = fleet.gaps.find(g => g.signal === 'prometheus:go_goroutines')
  assert.match(gap?.reason ?? '', /unavailable \(HTTP 503\): too many queries in flight/)
  assert.equal(fleet.instances[0]?.instance, members.madv.addr)
  assert.equal(fleet.instances[0]?.verdict, 'madv-free-retention')
  assert.ok(
    fleet.instances.every(i => i.unjudged.includes('goroutine-leak')),
    'no goroutine counts',
  )
})
