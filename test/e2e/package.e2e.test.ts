/**
 * The single executable, as a user gets it: built once here by scripts/package.ts (what
 * `npm run package` runs), copied alone into an empty folder and run there with an empty PATH
 * and no other environment, so no node, npm, node_modules or repository can help it. It runs
 * the demo, diagnoses a real Go process holding MADV_FREE pages by PID, records it to SQLite
 * and reports the recording with the same verdict; and it meets bad surroundings (no memory
 * cgroup, read-only and full disks, no rights on the target) with one line or a gap.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type CliRun, parseJsonOut, runProcess } from '../helpers/cli.ts'
import {
  buildPkgFixture,
  makeTestCgroups,
  ownMemoryCgroup,
  type RunningFixture,
  startInNamespaces,
  startPkgFixture,
} from '../helpers/pkgfixture.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

let work: string
/** The folder holding nothing but the executable (and what a test writes there). */
let alone: string
let exe: string
/** A private TMPDIR, to see that loading SQLite leaves nothing behind. */
let scratch: string
let madv: RunningFixture

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'gomemdoctor-package-'))
  // Other users (the test as nobody) must reach the executable.
  await chmod(work, 0o755)
  const built = join(work, 'dist', 'gomemdoctor')
  const pack = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/package.ts', built], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  assert.equal(pack.status, 0, pack.stderr)
  alone = join(work, 'alone')
  scratch = join(work, 'tmp')
  await mkdir(alone)
  await mkdir(scratch)
  exe = join(alone, 'gomemdoctor')
  await copyFile(built, exe)
  await chmod(exe, 0o755)
  buildPkgFixture()
  // 256 MiB freed under madvdontneed=0: it stays resident as LazyFree.
  madv = await startPkgFixture(['--spike-mib', '256', '--hold-mib', '16'], {
    GODEBUG: 'madvdontneed=0',
  })
})

after(async () => {
  await madv?.stop()
  await rm(work, { recursive: true, force: true })
})

/** Runs `command` in the lone folder with an empty PATH and nothing else in the environment. */
function runAlone(command: string, args: readonly string[], env: Record<string, string> = {}) {
  return runProcess(command, args, { cwd: alone, env: { PATH: '', TMPDIR: scratch, ...env } })
}

const gomemdoctor = (...args: string[]) => runAlone(exe, args)

/** One line on stderr, no stack trace. */
function assertOneLine(result: CliRun, pattern: RegExp): void {
  const lines = result.err.trim().split('\n')
  assert.equal(lines.length, 1, result.err)
  assert.match(lines[0] ?? '', pattern)
  assert.doesNotMatch(result.err, /\n\s+at /)
}

test('the executable is one file that needs no node beside it', async () => {
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  assert.deepEqual(await readdir(alone), ['gomemdoctor'])
  const version = await gomemdoctor('--version')
  assert.equal(version.code, 0, version.err)
  assert.equal(version.out.trim(), manifest.version)
  const help = await gomemdoctor('--help')
  assert.match(help.out, /diagnose/)
})

test('demo runs from the capture packed inside it', async () => {
  const result = await gomemdoctor('demo', '--json')
  assert.equal(result.code, 0, result.err)
  assert.equal(parseJsonOut(result).verdict, 'madv-free-retention')
  const live = await gomemdoctor('demo', '--live')
  assert.equal(live.code, 2)
  assertOneLine(live, /demo --live builds the Go scenario program from the repository/)
})

test('diagnoses a real MADV_FREE Go process by PID, records it to SQLite and reports the same verdict', async () => {
  const diagnosed = await gomemdoctor('diagnose', String(madv.pid), '--duration', '2s', '--json')
  assert.equal(diagnosed.code, 0, diagnosed.err)
  const live = parseJsonOut(diagnosed)
  assert.equal(live.verdict, 'madv-free-retention', JSON.stringify(live.findings[0]))

  const recorded = await gomemdoctor(
    'record',
    String(madv.pid),
    '--out',
    'madv.db',
    '--duration',
    '2s',
  )
  assert.equal(recorded.code, 0, recorded.err)
  const report = await gomemdoctor('report', 'madv.db', '--json')
  assert.equal(report.code, 0, report.err)
  assert.equal(parseJsonOut(report).verdict, 'madv-free-retention')
  // The HTML report's client is packed too.
  const html = await gomemdoctor('report', 'madv.db', '--html', 'madv.html')
  assert.equal(html.code, 0, html.err)
  const page = await readFile(join(alone, 'madv.html'), 'utf8')
  assert.ok(page.length > 50_000 && /<script>/.test(page), 'the page carries the client')
  // SQLite's addon was written to a private directory and removed again once loaded.
  assert.deepEqual(await readdir(scratch), [])
})

test('reaches a process in a network namespace of its own: the executable re-runs itself inside it', async t => {
  const parent = ownMemoryCgroup()
  assert.ok(parent, 'needs a cgroup v1 memory controller, as the namespace tests do')
  const cgroups = await makeTestCgroups(parent, 256 * 2 ** 20)
  const target = await startInNamespaces(cgroups.target, ['--hold-mib', '16'])
  t.after(async () => {
    await target.stop()
    await cgroups.remove()
  })
  // An empty PATH: nsenter is found in the usual places; the relay is this same executable.
  const result = await gomemdoctor('diagnose', String(target.pid), '--duration', '1s', '--json')
  assert.equal(result.code, 0, result.err)
  const report = parseJsonOut(result)
  assert.ok(report.sources.includes(`http://${target.addr}/debug/vars`), report.sources.join(', '))
  assert.ok(report.sources.includes(cgroups.target))
})

test('a recording to a read-only or a full disk ends in one line with exit 2', async t => {
  const ro = join(work, 'ro')
  const full = join(work, 'full')
  await mkdir(ro)
  await mkdir(full)
  t.after(async () => {
    await rm(ro, { recursive: true, force: true })
    await rm(full, { recursive: true, force: true })
  })
  // Each in a mount namespace of its own, so the mounts vanish with it.
  const readOnly = await runAlone('/usr/bin/unshare', [
    '--mount',
    '/bin/sh',
    '-c',
    `/bin/mount -t tmpfs -o ro,size=1m none ${ro} && exec ${exe} record ${madv.pid} --out ${ro}/r.db --duration 1s`,
  ])
  assert.equal(readOnly.code, 2, readOnly.err)
  assertOneLine(readOnly, new RegExp(`${ro}/r.db: cannot write here`))

  // 160 KiB: room for the schema and the first samples, not for a minute of them.
  const disk = await runAlone('/usr/bin/unshare', [
    '--mount',
    '/bin/sh',
    '-c',
    `/bin/mount -t tmpfs -o size=160k none ${full} && exec ${exe} record ${madv.pid} --out ${full}/r.db --duration 60s --interval 100ms`,
  ])
  assert.equal(disk.code, 2, disk.err)
  assertOneLine(disk, /disk full|cannot write here/)
})

test('with nowhere to write and execute SQLite, record says so in one line', async t => {
  // Every place the addon may go read-only, as in a hardened container: TMPDIR, /tmp, /dev/shm,
  // /var/tmp and the recording's own directory (/tmp here). The lone folder lives under /tmp,
  // so this runs a copy of the executable kept outside it.
  const outside = await mkdtemp(join(ROOT, 'build', 'package-test-'))
  t.after(() => rm(outside, { recursive: true, force: true }))
  await copyFile(exe, join(outside, 'gomemdoctor'))
  await chmod(join(outside, 'gomemdoctor'), 0o755)
  const hidden = [scratch, '/tmp', '/dev/shm', '/var/tmp']
  assert.ok(
    !hidden.some(dir => outside.startsWith(`${dir}/`)),
    `${outside} is under a folder this test hides: run it from a checkout outside ${hidden.join(', ')}, as CI does`,
  )
  const mounts = hidden.map(dir => `/bin/mount -t tmpfs -o ro,size=1m none ${dir}`).join(' && ')
  const result = await runAlone('/usr/bin/unshare', [
    '--mount',
    '/bin/sh',
    '-c',
    `${mounts} && cd / && exec ${outside}/gomemdoctor record ${madv.pid} --out /tmp/r.db --duration 1s`,
  ])
  assert.equal(result.code, 2, result.err)
  assertOneLine(result, /cannot load SQLite: .*\/dev\/shm: .*set TMPDIR/)
})

test('on a machine without a memory cgroup, diagnose reports the rest and one gap', async t => {
  // The target and gomemdoctor in a mount namespace whose /sys/fs/cgroup is empty: the kernel
  // still lists the hierarchy in /proc/PID/cgroup, but nothing is mounted to read it.
  const fixture = buildPkgFixture()
  const result = await runAlone('/usr/bin/unshare', [
    '--mount',
    '/bin/sh',
    '-c',
    `/bin/mount -t tmpfs none /sys/fs/cgroup && { ${fixture} --hold-mib 16 > ${work}/nocg.out & } && for i in 1 2 3 4 5 6 7 8 9 10; do /bin/grep -q READY ${work}/nocg.out 2>/dev/null && break; /bin/sleep 0.2; done; ${exe} diagnose $! --duration 1s --json; status=$?; kill $!; exit $status`,
  ])
  t.after(() => rm(join(work, 'nocg.out'), { force: true }))
  assert.equal(result.code, 0, result.err)
  const gap = parseJsonOut(result).gaps.find(g => g.signal === 'cgroup.memory')
  assert.ok(gap, result.out)
  assert.match(gap.reason, /no memory cgroup is mounted/)
})

test("as nobody against root's process: gaps for what it may not read, never a crash", async () => {
  const result = await runAlone('/usr/bin/setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    exe,
    'diagnose',
    String(madv.pid),
    '--duration',
    '1s',
    '--json',
  ])
  assert.equal(result.code, 0, result.err)
  const report = parseJsonOut(result)
  const signals = report.gaps.map(g => g.signal)
  for (const signal of ['target.goVersion', 'target.godebug', 'os.lazyFree']) {
    assert.ok(signals.includes(signal), `gap for ${signal}: ${JSON.stringify(report.gaps)}`)
  }
  assert.ok(report.rss && report.rss.bytes > 0, 'RSS is still read from /proc/PID/status')
  assert.ok((await stat(exe)).size > 0)
})
