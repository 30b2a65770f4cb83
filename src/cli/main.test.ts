import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { runCli } from '../../test/helpers/cli.ts'
import { INSTALL_ROOT } from '../install-root.ts'

async function packageVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(INSTALL_ROOT, 'package.json'), 'utf8'))
  return (manifest as { version: string }).version
}

test('--version and -V print the version in package.json and exit 0', async () => {
  const version = await packageVersion()
  for (const flag of ['--version', '-V']) {
    const run = await runCli(flag)
    assert.equal(run.code, 0, run.err)
    assert.equal(run.out, `${version}\n`)
    assert.equal(run.err, '')
  }
})

test('the esbuild bundle finds package.json and prints the same version', async t => {
  // A bundle of its own under build/ (the real build/cli.mjs may be in use by other tests):
  // it sits as deep below the install root as the real one does, one level further.
  await mkdir(join(INSTALL_ROOT, 'build'), { recursive: true })
  const dir = await mkdtemp(join(INSTALL_ROOT, 'build', 'version-test-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const bundle = join(dir, 'cli.mjs')
  const built = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(INSTALL_ROOT, 'scripts', 'build-cli.ts'), bundle],
    { encoding: 'utf8' },
  )
  assert.equal(built.status, 0, built.stderr)
  const run = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `process.exitCode = await (await import(${JSON.stringify(bundle)})).run(['--version'])`,
    ],
    { encoding: 'utf8', cwd: '/' },
  )
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout, `${await packageVersion()}\n`)
})
