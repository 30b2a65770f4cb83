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

function bundleIsCurrent() {
  // An installed package (npm pack's tarball, see "files") carries no tsconfig.json: its bundle
  // is the one packed with its sources, and npm stamps every file with the time it unpacked it,
  // so modification times say nothing there.
  if (!existsSync(join(root, 'tsconfig.json'))) return existsSync(join(root, 'build', 'cli.mjs'))
  try {
    return statSync(join(root, 'build', 'cli.mjs')).mtimeMs >= newestMtimeMs(join(root, 'src'))
  } catch {
    return false
  }
}

let cli
if (bundleIsCurrent()) {
  cli = await import('../build/cli.mjs')
} else {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import('../src/cli/main.ts')
}
process.exitCode = await cli.run(process.argv.slice(2))
