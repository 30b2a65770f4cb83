import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FleetJson } from '../../src/report/fleet.ts'
import { assertHonestVerdict, runCli } from '../helpers/cli.ts'
import {
  type FleetMember,
  type RunningPrometheus,
  startFleetMember,
  startPrometheus,
  waitForScrapes,
} from '../helpers/prometheus.ts'

// A real Prometheus scraping real client_golang processes every 1 s, and fleet over only the
// last 30 s: a fast leak (20 MiB/s over an 80 MiB heap: under GOGC=100 its goal doubles each
// cycle, so 30 s hold few collections) must rank above the heaps that merely saw, each judged
// on its own series by the same heap-growth detector a live run uses.
let prometheus: RunningPrometheus
let members: Record<'leak' | 'steady' | 'sawtooth' | 'madvControl', FleetMember>
const MiB = 2 ** 20

before(async () => {
  const [leak, steady, sawtooth, madvControl] = await Promise.all([
    startFleetMember('heap-growth', {}, [
      '-live-mib',
      '80',
      '-leak-mib-per-sec',
      '20',
      '-leak-cap-mib',
      '2048',
    ]),
    startFleetMember('healthy', {}, ['-live-mib', '256', '-churn-mib-per-sec', '128']),
    startFleetMember('healthy', { GOGC: '400' }, ['-live-mib', '64', '-churn-mib-per-sec', '64']),
    startFleetMember('madv-free-retention', { GODEBUG: 'madvdontneed=1' }),
  ])
  members = { leak, steady, sawtooth, madvControl }
  prometheus = await startPrometheus({ jobs: { api: Object.values(members).map(m => m.addr) } })
  await waitForScrapes(prometheus, 4, 31)
})

after(async () => {
  for (const member of Object.values(members ?? {})) member.stop()
  await prometheus?.stop()
})

test('over 30 s at a 1 s scrape, the leaking instance ranks first with heap-growth; the others are judged and quiet', async () => {
  // No --step: the default follows a short range down to 1 s, so every scrape counts.
  const run = await runCli('fleet', '--prometheus', prometheus.url, '--range', '30s', '--json')
  assert.equal(run.code, 0, run.err)
  const fleet = JSON.parse(run.out) as FleetJson
  assert.equal(fleet.source.step, '1s')
  const order = fleet.instances.map(i => `${i.instance} ${i.verdict} [${i.unjudged}]`).join('\n')
  assert.equal(fleet.instances.length, 4, order)
  const rank = (m: FleetMember) => fleet.instances.findIndex(i => i.instance === m.addr)
  const leak = fleet.instances[rank(members.leak)]
  assert.equal(leak?.verdict, 'heap-growth', order)
  const rate = leak?.findings[0]?.evidence.find(e => e.label === 'live heap growth rate')
  assert.ok(typeof rate?.value === 'number', JSON.stringify(leak?.findings))
  assert.ok(rate.value > 12 * MiB && rate.value < 32 * MiB, `${rate.value / MiB} MiB/s`)
  assert.match(rate.source, /go_memstats_\*\{instance=/)
  // Above every instance without a finding (GOGC=400 may rank beside it: gc-heap-goal's finding).
  for (const quiet of [members.steady, members.madvControl]) {
    assert.ok(rank(members.leak) < rank(quiet), order)
    assert.deepEqual(fleet.instances[rank(quiet)]?.findings, [], order)
  }
  for (const instance of fleet.instances) {
    assertHonestVerdict(instance, instance.instance)
    if (instance === leak) continue
    assert.ok(!instance.findings.some(f => f.id === 'heap-growth'), instance.instance)
    assert.ok(!instance.unjudged.includes('heap-growth'), `${instance.instance}: ${order}`)
  }
})
