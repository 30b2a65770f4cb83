import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FleetJson } from '../../src/report/fleet.ts'
import { assertHonestVerdict, runCli } from '../helpers/cli.ts'
import {
  type FleetMember,
  freePort,
  type RunningPrometheus,
  startFleetMember,
  startPrometheus,
  waitForScrapes,
} from '../helpers/prometheus.ts'

// A real Prometheus scraping real client_golang processes every 1 s, and fleet over only the
// last 30 s: a fast leak (20 MiB/s over an 80 MiB heap: under GOGC=100 its goal doubles each
// cycle, so 30 s hold few collections) must rank above the heaps that merely saw, each judged
// on its own series by the same heap-growth detector a live run uses. The quiet instances are
// scraped for 30 s before the leak starts: a freshly started client_golang process's live heap
// grows for its first few dozen scrapes (measured: the MADV_FREE control's 32.8 → 34.6 MiB over
// five cycles, p = 0.008, in 3 runs of 8), which is real growth, but a warm-up, not what a fleet
// in steady state shows.
let prometheus: RunningPrometheus
let members: Record<'leak' | 'steady' | 'sawtooth' | 'madvControl', FleetMember>
const MiB = 2 ** 20

before(async () => {
  const [steady, sawtooth, madvControl] = await Promise.all([
    startFleetMember('healthy', {}, ['-live-mib', '256', '-churn-mib-per-sec', '128']),
    startFleetMember('healthy', { GOGC: '400' }, ['-live-mib', '64', '-churn-mib-per-sec', '64']),
    startFleetMember('madv-free-retention', { GODEBUG: 'madvdontneed=1' }),
  ])
  // The leak's address is known before it starts, so Prometheus scrapes it from its first second.
  const leakAddr = `127.0.0.1:${await freePort()}`
  prometheus = await startPrometheus({
    jobs: { api: [steady.addr, sawtooth.addr, madvControl.addr, leakAddr] },
  })
  await waitForScrapes(prometheus, 3, 30)
  const leak = await startFleetMember('heap-growth', {}, [
    '-addr',
    leakAddr,
    '-live-mib',
    '80',
    '-leak-mib-per-sec',
    '20',
    '-leak-cap-mib',
    '2048',
  ])
  members = { leak, steady, sawtooth, madvControl }
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
  const nameOf = (instance: string) =>
    Object.entries(members).find(([, m]) => m.addr === instance)?.[0] ?? instance
  const order = fleet.instances
    .map(i => `${nameOf(i.instance)} ${i.verdict} [${i.unjudged}]`)
    .join('\n')
  assert.equal(fleet.instances.length, 4, order)
  const leakRank = fleet.instances.findIndex(i => i.instance === members.leak.addr)
  const leak = fleet.instances[leakRank]
  assert.equal(leak?.verdict, 'heap-growth', order)
  const rate = leak?.findings[0]?.evidence.find(e => e.label === 'live heap growth rate')
  assert.ok(typeof rate?.value === 'number', JSON.stringify(leak?.findings))
  assert.ok(rate.value > 12 * MiB && rate.value < 32 * MiB, `${rate.value / MiB} MiB/s`)
  assert.match(rate.source, /go_memstats_\*\{instance=/)
  // Above every instance without a finding (GOGC=400 is gc-heap-goal's, and may rank beside it).
  const quiet = fleet.instances.filter(i => i.findings.length === 0)
  assert.ok(quiet.length >= 1, order)
  for (const instance of quiet) assert.ok(leakRank < fleet.instances.indexOf(instance), order)
  for (const instance of fleet.instances) {
    assertHonestVerdict(instance, instance.instance)
    if (instance === leak) continue
    const what = `${nameOf(instance.instance)}: ${JSON.stringify(instance.findings, null, 2)}`
    assert.ok(!instance.findings.some(f => f.id === 'heap-growth'), what)
    assert.ok(!instance.unjudged.includes('heap-growth'), `${what}\n${order}`)
  }
})
