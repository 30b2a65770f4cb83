/**
 * The README's other two install paths, for real: `npm install -g` from `npm pack`'s tarball
 * (into a prefix of the test's own, never the machine's global one), and `npx gomemdoctor` in
 * the repository. The single executable has its own test (package.e2e.test.ts).
 *
 * Two steps are cut short, and only these: the tarball is packed with --ignore-scripts, so
 * `prepare` does not rebuild build/cli.mjs under the feet of other tests running the CLI (npm ci
 * built it), and the install runs with --ignore-scripts, so better-sqlite3 is not compiled a
 * second time (a minute of CPU; npm ci already proves that step): its addon is copied from this
 * repository's node_modules, the same version built for the same Node.
 */
import assert from 'node:assert/strict'
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type CliRun, parseJsonOut, runProcess } from '../helpers/cli.ts'
import { type RunningFixture, startPkgFixture } from '../helpers/pkgfixture.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ADDON = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')

let work: string
/** The installed package's directory, and the bin directory its command is linked in. */
let pkg: string
let installed: string
let target: RunningFixture

/** Runs `command` in `cwd` with `path` as PATH, for up to two minutes (npm install is slow). */
function run(command: string, args: readonly string[], cwd: string, path: string): Promise<CliRun> {
  return runProcess(command, args, { cwd, env: { ...process.env, PATH: path }, timeoutMs: 120_000 })
}

/** Node and npm on PATH, as any machine with Node has them; nothing of the repository. */
const NODE_PATH = `${dirname(process.execPath)}:/usr/bin:/bin`

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'gomemdoctor-install-'))
  const packed = await run(
    'npm',
    ['pack', '--ignore-scripts', '--pack-destination', work, '--loglevel=error'],
    ROOT,
    NODE_PATH,
  )
  assert.equal(packed.code, 0, packed.err)
  const tarball = (await readdir(work)).find(name => name.endsWith('.tgz'))
  assert.ok(tarball, packed.out)
  const prefix = join(work, 'prefix')
  const install = await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      join(work, tarball),
    ],
    work,
    NODE_PATH,
  )
  assert.equal(install.code, 0, install.err)
  pkg = join(prefix, 'lib', 'node_modules', 'gomemdoctor')
  await mkdir(dirname(join(pkg, ADDON)), { recursive: true })
  await copyFile(join(ROOT, ADDON), join(pkg, ADDON))
  installed = join(prefix, 'bin')
  target = await startPkgFixture(['--spike-mib', '128', '--hold-mib', '16'], {
    GODEBUG: 'madvdontneed=0',
  })
})

after(async () => {
  await target?.stop()
  await rm(work, { recursive: true, force: true })
})

test('npm install -g from the tarball puts a working gomemdoctor on PATH', async () => {
  const path = `${installed}:${NODE_PATH}`
  const elsewhere = await mkdtemp(join(work, 'cwd-'))
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  const version = await run('gomemdoctor', ['--version'], elsewhere, path)
  assert.equal(version.code, 0, version.err)
  assert.equal(version.out.trim(), manifest.version)
  const demo = await run('gomemdoctor', ['demo', '--json'], elsewhere, path)
  assert.equal(demo.code, 0, demo.err)
  assert.equal(parseJsonOut(demo).verdict, 'madv-free-retention')
  // SQLite and the HTML client (built from the packed sources) work from the installed tree.
  const args = ['record', String(target.pid), '--out', 'r.db', '--duration', '1s']
  const recorded = await run('gomemdoctor', args, elsewhere, path)
  assert.equal(recorded.code, 0, recorded.err)
  const report = await run('gomemdoctor', ['report', 'r.db', '--json'], elsewhere, path)
  assert.equal(parseJsonOut(report).verdict, 'madv-free-retention')
  const html = await run('gomemdoctor', ['report', 'r.db', '--html', 'r.html'], elsewhere, path)
  assert.equal(html.code, 0, html.err)
  assert.ok((await readFile(join(elsewhere, 'r.html'), 'utf8')).includes('<script>'))
})

test('the installed package runs profile top from its own bundle', async () => {
  // Without build/profile-cli.mjs in the tarball, bin/gomemdoctor.js falls back to the whole
  // CLI's bundle: the same output, ~30 ms slower a run.
  await access(join(pkg, 'build', 'profile-cli.mjs'))
  const profile = join(ROOT, 'testdata', 'formats', 'pprof', 'go1.19-heap-t1.pb.gz')
  const top = await run(
    'gomemdoctor',
    ['profile', 'top', profile, '-n', '1', '--json'],
    work,
    `${installed}:${NODE_PATH}`,
  )
  assert.equal(top.code, 0, top.err)
  assert.equal(JSON.parse(top.out).rows[0].name, 'main.newBlock')
})

test('npx gomemdoctor runs from the repository', async () => {
  const demo = await run('npx', ['--no', '--', 'gomemdoctor', 'demo', '--json'], ROOT, NODE_PATH)
  assert.equal(demo.code, 0, demo.err)
  assert.equal(parseJsonOut(demo).verdict, 'madv-free-retention')
})
