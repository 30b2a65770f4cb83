/**
 * The single executable: how long `npm run package` takes, how large dist/gomemdoctor is (and
 * how much of that is Node itself), and how fast it starts against the other ways to run
 * gomemdoctor (the bundle through bin/gomemdoctor.js, and npx). Start-up is the wall time of
 * `--version` and of `demo` (parse the packed capture, diagnose, print), one warm-up then the
 * best and the median of 15 runs each.
 *
 *   node --import tsx bench/package.bench.ts
 */
import { spawnSync } from 'node:child_process'
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INSTALL_ROOT } from '../src/install-root.ts'

const RUNS = 15
const work = await mkdtemp(join(tmpdir(), 'gomemdoctor-bench-package-'))
const exe = join(work, 'gomemdoctor')
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

try {
  const started = process.hrtime.bigint()
  const pack = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/package.ts', exe], {
    cwd: INSTALL_ROOT,
    encoding: 'utf8',
  })
  if (pack.status !== 0) throw new Error(pack.stderr)
  const packSeconds = Number(process.hrtime.bigint() - started) / 1e9

  const node = join(work, 'node-stripped')
  await copyFile(process.execPath, node)
  spawnSync('strip', [node])
  const sizes = {
    exe: (await stat(exe)).size,
    node: (await stat(process.execPath)).size,
    stripped: (await stat(node)).size,
  }
  console.log(`npm run package: ${packSeconds.toFixed(1)} s (bundle, client, blob, strip, inject)`)
  console.log(
    `dist/gomemdoctor: ${mib(sizes.exe)} = Node ${process.version} stripped ${mib(sizes.stripped)} (unstripped ${mib(sizes.node)}) + blob and padding ${mib(sizes.exe - sizes.stripped)}`,
  )

  const empty = await mkdtemp(join(work, 'cwd-'))
  const ways: { label: string; command: string; args: string[]; env?: NodeJS.ProcessEnv }[] = [
    { label: 'dist/gomemdoctor (empty PATH)', command: exe, args: [], env: { PATH: '' } },
    {
      label: 'node bin/gomemdoctor.js (build/cli.mjs)',
      command: process.execPath,
      args: [join(INSTALL_ROOT, 'bin', 'gomemdoctor.js')],
    },
    {
      label: 'npx gomemdoctor (in the repository)',
      command: 'npx',
      args: ['--no', '--', 'gomemdoctor'],
    },
  ]
  for (const sub of [['--version'], ['demo']]) {
    for (const way of ways) {
      const cwd = way.label.startsWith('npx') ? INSTALL_ROOT : empty
      const time = () => {
        const t0 = process.hrtime.bigint()
        const run = spawnSync(way.command, [...way.args, ...sub], {
          cwd,
          env: way.env ?? process.env,
          stdio: 'ignore',
        })
        if (run.status !== 0) throw new Error(`${way.label} ${sub.join(' ')} exited ${run.status}`)
        return Number(process.hrtime.bigint() - t0) / 1e9
      }
      time()
      const all = Array.from({ length: RUNS }, time).sort((a, b) => a - b)
      const median = all[Math.floor(RUNS / 2)] ?? 0
      console.log(
        `${`${way.label} ${sub.join(' ')}`.padEnd(56)} best ${(all[0] ?? 0).toFixed(3)} s  median ${median.toFixed(3)} s`,
      )
    }
  }
} finally {
  await rm(work, { recursive: true, force: true })
}
