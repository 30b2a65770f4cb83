import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { startScenario } from '../../demo/memsick.ts'
import { UsageError } from '../../errors.ts'
import { INSTALL_ROOT } from '../../install-root.ts'
import { collect } from '../../sources/collect.ts'
import { readCaptureDir } from '../../sources/transports/capture-dir.ts'
import type { CliCommand } from '../command.ts'
import { progressLine } from '../progress.ts'
import { report } from './diagnose.ts'

/** Captures of real Go processes, made by scripts/capture.ts and committed. */
const CAPTURES = join(INSTALL_ROOT, 'testdata', 'captures', '/')
const DEMO_SCENARIO = 'madv-free-retention'

export const demoCommand: CliCommand = {
  register(program, done) {
    program
      .command('demo')
      .description(
        'diagnose a Go process that holds 1 GiB of MADV_FREE pages: a recorded one, or with --live a real one started now',
      )
      .option(
        '--live',
        'build and start the scenario program (needs Go), diagnose it by PID, stop it',
      )
      .option('--json', 'print the JSON document instead of the terminal report')
      .action(async (flags: { live?: boolean; json?: boolean }) => {
        const run = flags.live ? await liveRun() : await recordedRun()
        const exitCode = report(run, flags.json ? { json: true } : {})
        done({ exitCode })
      })
  },
}

async function recordedRun() {
  const versions = (await readdir(CAPTURES)).sort()
  const latest = versions.at(-1)
  if (!latest) throw new UsageError(`no recorded captures in ${CAPTURES}`)
  const run = await readCaptureDir(`${CAPTURES}${latest}/${DEMO_SCENARIO}`)
  run.notes.unshift(
    `replaying a recording of a real Go process (${latest}/${DEMO_SCENARIO}, ${run.about.godebug ?? ''}); run \`demo --live\` to do it for real`,
  )
  return run
}

async function liveRun() {
  const progress = progressLine(process.stderr)
  progress.update('demo: building and starting the scenario program (a 1 GiB spike, then freed)…')
  const target = await startScenario(DEMO_SCENARIO, {
    go: 'path',
    env: { GODEBUG: 'madvdontneed=0' },
  })
  try {
    const collection = await collect({
      pid: target.pid,
      url: target.url,
      durationMs: 5000,
      intervalMs: 1000,
      smapsMaxRssBytes: 16 * 2 ** 30,
      onTick: tick => progress.update(`demo: sampling pid ${target.pid} · ${tick.index + 1}/6`),
    })
    collection.notes.unshift(
      `started ${DEMO_SCENARIO} (pid ${target.pid}) with GODEBUG=madvdontneed=0; it is stopped again after this report`,
    )
    return { ...collection, about: { scenario: DEMO_SCENARIO } }
  } finally {
    progress.clear()
    await target.stop()
  }
}
