#!/usr/bin/env node
// Node 20 runs no TypeScript. `npm ci` bundles src/ into build/cli.mjs (scripts/build-cli.ts);
// while any file under src/ is newer than that bundle (an edit since), tsx compiles src/ on the
// fly instead, so what runs is always the source as it is.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function newestMtimeMs(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs)
  }
  return newest
}

// An installed package (npm pack's tarball, see "files") carries no tsconfig.json: its bundles
// are the ones packed with its sources, and npm stamps every file with the time it unpacked it,
// so modification times say nothing there.
const installed = !existsSync(join(root, 'tsconfig.json'))
const newestSource = installed ? 0 : newestMtimeMs(join(root, 'src'))

/** True while `file` under build/ is the bundle of the sources as they are. */
function isCurrent(file) {
  if (installed) return existsSync(join(root, 'build', file))
  try {
    return statSync(join(root, 'build', file)).mtimeMs >= newestSource
  } catch {
    return false
  }
}

// profile and goroutines have a bundle of their own that starts ~30 ms sooner (no SQLite, no
// reports, no collectors): `gomemdoctor profile top` is often run on one file after another.
const bundle =
  ['profile', 'goroutines'].includes(process.argv[2] ?? '') && isCurrent('profile-cli.mjs')
    ? 'profile-cli.mjs'
    : 'cli.mjs'
let cli
if (isCurrent(bundle)) {
  cli = await import(`../build/${bundle}`)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import('../src/cli/main.ts')
}
process.exitCode = await cli.run(process.argv.slice(2))
