/**
 * A Go process as a container runs it: PID 1 of its own PID, network, mount and cgroup
 * namespaces, in a memory cgroup of its own with a 512 MiB limit, its HTTP server on its own
 * loopback. Diagnosed for real, by the CLI, from the host by its host PID, and from inside its
 * PID namespace as PID 1 the way `kubectl debug --target` sees it (the pod's PID and network
 * namespaces, a mount and cgroup namespace of the debug container's own, in a sibling cgroup).
 * Needs root, unshare and nsenter (util-linux), ip (iproute2) and a cgroup v1 memory controller.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { CaptureManifest } from '../../src/sources/transports/capture-dir.ts'
import { parseJsonOut, runProcess, within } from '../helpers/cli.ts'
import {
  cgroupNumber,
  MOUNT_CONTAINER_CGROUPFS,
  makeTestCgroups,
  ownMemoryCgroup,
  type RunningFixture,
  startInNamespaces,
} from '../helpers/pkgfixture.ts'

const BIN = fileURLToPath(new URL('../../bin/gomemdoctor.js', import.meta.url))
const LIMIT = 512 * 2 ** 20
const HOLD_MIB = 64

const parent = ownMemoryCgroup()
// Fails, saying why, rather than skipping: a silent pass would claim a proof never run.
assert.equal(
  process.getuid?.(),
  0,
  'the namespace tests need root (unshare, nsenter, cgroups), as CI runs them',
)
assert.ok(parent, 'the namespace tests need a cgroup v1 memory controller for this process')

const run = (command: string, args: readonly string[]) => runProcess(command, args)

/** The cgroup captures of a saved run's last tick: origin and value of each file. */
async function cgroupCaptures(dir: string): Promise<Map<string, { origin: string; text: string }>> {
  const manifest = JSON.parse(await readFile(join(dir, 'capture.json'), 'utf8')) as CaptureManifest
  const tick = manifest.ticks.at(-1)
  assert.ok(tick, 'the saved run has ticks')
  const found = new Map<string, { origin: string; text: string }>()
  for (const file of tick.files.filter(f => f.kind.startsWith('cgroup-memory'))) {
    found.set(file.kind, {
      origin: file.origin,
      text: (await readFile(join(dir, tick.dir, file.file), 'utf8')).trim(),
    })
  }
  return found
}

async function setUp(t: { after: (fn: () => Promise<void>) => void }) {
  const cgroups = await makeTestCgroups(parent ?? '', LIMIT)
  let target: (RunningFixture & { unsharePid: number }) | undefined
  t.after(async () => {
    await target?.stop()
    await cgroups.remove()
  })
  target = await startInNamespaces(cgroups.target, ['--hold-mib', String(HOLD_MIB)])
  const save = await mkdtemp(join(tmpdir(), 'gomemdoctor-ns-'))
  t.after(() => rm(save, { recursive: true, force: true }))
  return { cgroups, target, save }
}

test('diagnosed from the host by its host PID: its cgroup, and its HTTP server reached inside its network namespace', async t => {
  const { cgroups, target, save } = await setUp(t)
  const result = await run(process.execPath, [
    BIN,
    'diagnose',
    String(target.pid),
    '--duration',
    '2s',
    '--json',
    '--save',
    save,
  ])
  const report = parseJsonOut(result)
  assert.equal(result.code, 0, result.err)
  assert.equal(report.target.pid, target.pid)
  assert.match(report.target.goVersion ?? '', /^go1\./)
  // Its loopback is not ours: reached through the relay, yet named by its own address.
  assert.ok(report.sources.includes(`http://${target.addr}/debug/vars`), report.sources.join(', '))
  assert.ok(report.notes.some(n => n.includes(`nsenter --net=/proc/${target.pid}/ns/net`)))
  assert.ok(!report.gaps.some(g => g.signal === 'runtime.memstats' || g.signal === 'cgroup.memory'))
  // The right cgroup, by its host path, with its real figures.
  assert.ok(report.sources.includes(cgroups.target), report.sources.join(', '))
  const files = await cgroupCaptures(save)
  assert.equal(files.get('cgroup-memory-limit')?.text, String(LIMIT))
  assert.equal(
    files.get('cgroup-memory-usage')?.origin,
    join(cgroups.target, 'memory.usage_in_bytes'),
  )
  const usage = Number(files.get('cgroup-memory-usage')?.text)
  assert.ok(usage >= HOLD_MIB * 2 ** 20, `usage ${usage} holds the fixture's ${HOLD_MIB} MiB`)
  assert.ok(within(usage, cgroupNumber(cgroups.target, 'memory.usage_in_bytes'), 0.1))
})

test('diagnosed from inside its PID namespace as PID 1, as kubectl debug --target sees it', async t => {
  const { cgroups, target, save } = await setUp(t)
  // The debug container: in a sibling cgroup, then the target's PID and network namespaces,
  // then a mount and cgroup namespace of its own with its own /proc and cgroup file system.
  const debug = `${MOUNT_CONTAINER_CGROUPFS} && exec ${process.execPath} ${BIN} diagnose 1 --duration 2s --json --save ${save}`
  const result = await run('sh', [
    '-c',
    'echo $$ > "$0/cgroup.procs" && exec nsenter --target "$1" --pid --net -- unshare --mount --cgroup --fork --mount-proc sh -c "$2"',
    cgroups.debugger,
    String(target.pid),
    debug,
  ])
  const report = parseJsonOut(result)
  assert.equal(result.code, 0, result.err)
  assert.equal(report.target.pid, 1)
  assert.match(report.target.name ?? '', /^pkgfixture/)
  // The same loopback: no relay needed.
  assert.ok(report.sources.includes(`http://${target.addr}/debug/vars`), report.sources.join(', '))
  assert.ok(!report.notes.some(n => n.includes('nsenter')))
  // Its cgroup is outside the debug container's cgroup namespace (/../target): found through
  // the target's own cgroup mount.
  assert.ok(report.sources.includes('/proc/1/root/sys/fs/cgroup/memory'), report.sources.join(', '))
  const files = await cgroupCaptures(save)
  assert.equal(files.get('cgroup-memory-limit')?.text, String(LIMIT))
  const usage = Number(files.get('cgroup-memory-usage')?.text)
  assert.ok(usage >= HOLD_MIB * 2 ** 20, `usage ${usage} holds the fixture's ${HOLD_MIB} MiB`)
  assert.ok(within(usage, cgroupNumber(cgroups.target, 'memory.usage_in_bytes'), 0.1))
})

test('without CAP_SYS_ADMIN the network namespace cannot be entered: one gap that says how, the rest still read', async t => {
  const { cgroups, target } = await setUp(t)
  // Docker's default capability set lacks CAP_SYS_ADMIN, which setns(2) into a network
  // namespace needs; root keeps every other right here.
  const result = await run('setpriv', [
    '--bounding-set=-sys_admin',
    '--inh-caps=-sys_admin',
    '--',
    process.execPath,
    BIN,
    'diagnose',
    String(target.pid),
    '--duration',
    '1s',
    '--json',
  ])
  const report = parseJsonOut(result)
  assert.equal(result.code, 0, result.err)
  const gap = report.gaps.find(g => g.signal === 'runtime.memstats')
  assert.ok(gap, JSON.stringify(report.gaps))
  assert.match(gap.reason, /network namespace of its own/)
  assert.match(gap.reason, /kubectl debug --target/)
  assert.ok(report.sources.includes(cgroups.target))
  assert.ok(report.rss && report.rss.bytes >= HOLD_MIB * 2 ** 20)
})
