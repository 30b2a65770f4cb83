/**
 * One gomemdoctor command on two commits, in turns: each commit checked out in a worktree of its
 * own (this checkout's node_modules linked in), its bundles built, and its bin/gomemdoctor.js run
 * as a user runs it, the two alternating after a warm-up run each. Prints every run's wall time,
 * sorted, and the highest peak RSS. For a change's effect on a shared machine, where best-of-N
 * back to back lets one side fall in a quiet minute. Not part of the test suite:
 *   node --import tsx bench/ab-bundles.ts 58155f5 HEAD [--runs 8] -- goroutines F --similarity any-pointer
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machine, measureInTurns } from './measure.ts'

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '8' } },
  allowPositionals: true,
})
const [first, second, ...command] = positionals
if (!first || !second || command.length === 0) {
  console.error('usage: bench/ab-bundles.ts <commit A> <commit B> [--runs N] -- <gomemdoctor args>')
  process.exit(2)
}
const repo = fileURLToPath(new URL('..', import.meta.url))
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim()

const dir = join(tmpdir(), 'gomemdoctor-ab')
mkdirSync(dir, { recursive: true })
const sides = [first, second].map(ref => {
  const commit = git('rev-parse', '--short', ref)
  const tree = join(dir, commit)
  if (!existsSync(tree)) {
    git('worktree', 'add', '--quiet', '--detach', tree, commit)
    symlinkSync(join(repo, 'node_modules'), join(tree, 'node_modules'))
  }
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-cli.ts'], {
    cwd: tree,
    stdio: 'ignore',
  })
  return { label: `${ref} (${commit})`, tree }
})
try {
  console.log(machine())
  const runs = measureInTurns(
    sides.map(({ label, tree }) => ({
      label,
      command: process.execPath,
      args: [join(tree, 'bin', 'gomemdoctor.js'), ...command],
    })),
    Number(values.runs),
  )
  for (const [i, { label }] of sides.entries()) {
    const measured = runs[i] ?? []
    const seconds = measured.map(m => m.seconds.toFixed(2)).sort((a, b) => Number(a) - Number(b))
    const rss = Math.max(...measured.map(m => m.peakRssBytes)) / 2 ** 20
    console.log(`${label}: ${seconds.join(' ')} s; peak ${rss.toFixed(0)} MiB`)
  }
  console.log(machine())
} finally {
  for (const { tree } of sides) git('worktree', 'remove', '--force', tree)
}
