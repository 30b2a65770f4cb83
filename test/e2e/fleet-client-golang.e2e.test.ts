import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FleetJson } from '../../src/report/fleet.ts'
import type { JsonReport } from '../../src/report/json.ts'
import { runCli } from '../helpers/cli.ts'
import {
  clientGolangVersion,
  type FleetMember,
  type RunningPrometheus,
  startFleetMember,
  startPrometheus,
  waitForScrapes,
} from '../helpers/prometheus.ts'

// fleet.e2e.test.ts's fleet again, on today's client_golang from the Go module proxy (module
// mode, Go 1.26) instead of Debian's 1.14: the same scenarios must rank the same, and the
// runtime/metrics gauges it serves by default (go_gc_gogc_percent, go_gc_gomemlimit_bytes) must
// reach the detectors through Prometheus. A fifth member sets GOGC 1000 in code.
let prometheus: RunningPrometheus
let members: Record<'madv' | 'madvControl' | 'leak' | 'steady' | 'gcGoal', FleetMember>
const WINDOW = ['--range', '12s', '--step', '1s']
const CLIENT = `client_golang ${clientGolangVersion('modern')}`

before(async () => {
  const start = (scenario: string, env: Record<string, string> = {}, args: string[] = []) =>
    startFleetMember(scenario, env, args, 'modern')
  const [madv, madvControl, leak, steady, gcGoal] = await Promise.all([
    start('madv-free-retention', { GODEBUG: 'madvdontneed=0' }),
    start('madv-free-retention', { GODEBUG: 'madvdontneed=1' }),
    start('heap-growth'),
    start('healthy', {}, ['-live-mib', '96', '-churn-mib-per-sec', '96']),
    start('gc-heap-goal', {}, ['-live-mib', '64', '-churn-mib-per-sec', '128']),
  ])
  members = { madv, madvControl, leak, steady, gcGoal }
  prometheus = await startPrometheus({ jobs: { api: Object.values(members).map(m => m.addr) } })
  await waitForScrapes(prometheus, 5, 13)
})

after(async () => {
  for (const member of Object.values(members ?? {})) member.stop()
  await prometheus?.stop()
})

test(`${CLIENT}: ranks the MADV_FREE, the GOGC and the leaking instance above the quiet ones`, async () => {
  const run = await runCli('fleet', '--prometheus', prometheus.url, ...WINDOW, '--json')
  assert.equal(run.code, 0, run.err)
  const fleet = JSON.parse(run.out) as FleetJson
  const byAddr = (m: FleetMember) => fleet.instances.find(i => i.instance === m.addr)
  const order = fleet.instances.map(i => `${i.instance} ${i.verdict}`).join('\n')
  assert.equal(fleet.instances.length, 5, order)
  assert.equal(fleet.instances[0]?.instance, members.madv.addr, order)
  assert.equal(byAddr(members.madv)?.verdict, 'madv-free-retention', order)
  assert.equal(byAddr(members.madv)?.findings[0]?.severity, 'critical')
  assert.equal(byAddr(members.leak)?.verdict, 'heap-growth', order)
  assert.equal(byAddr(members.gcGoal)?.verdict, 'gc-heap-goal', order)
  // Prometheus has no /proc: the detectors that need it cannot judge, so an instance without a
  // finding is inconclusive, never healthy.
  for (const quiet of [members.madvControl, members.steady]) {
    const instance = byAddr(quiet)
    assert.equal(instance?.verdict, 'inconclusive', JSON.stringify(instance?.findings))
    assert.deepEqual(instance?.findings, [])
    for (const id of ['file-mapped', 'non-go-memory', 'thp-bloat'] as const)
      assert.ok(instance?.unjudged.includes(id), `${id}: ${instance?.unjudged}`)
  }
  for (const instance of fleet.instances) assert.match(instance.goVersion ?? '', /^go1\.26\./)
})

test(`${CLIENT}: diagnose --prometheus --instance reads GOGC set in code from go_gc_gogc_percent`, async () => {
  const run = await runCli(
    'diagnose',
    '--prometheus',
    prometheus.url,
    '--instance',
    members.gcGoal.addr,
    ...WINDOW,
    '--json',
  )
  assert.equal(run.code, 0, run.err)
  const report = JSON.parse(run.out) as JsonReport
  const finding = report.findings.find(f => f.id === 'gc-heap-goal')
  assert.ok(finding, JSON.stringify(report.findings, null, 2))
  const gogc = finding.evidence.find(e => e.label === 'GOGC in effect')
  assert.equal(gogc?.value, 1000)
  assert.match(gogc?.source ?? '', /^http:\/\/127\.0\.0\.1:\d+ .*\(go_gc_gogc_percent\)$/)
  assert.equal(finding.evidence.find(e => e.label === 'GOMEMLIMIT in effect')?.value, 'unset')
  assert.match(finding.summary, /The runtime reports GOGC=1000\. /)
})
