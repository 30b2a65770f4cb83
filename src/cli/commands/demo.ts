import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { startScenario } from '../../demo/memsick.ts'
import { UsageError } from '../../errors.ts'
import { embeddedAsset, IN_EXECUTABLE, INSTALL_ROOT } from '../../install-root.ts'
import { collect } from '../../sources/collect.ts'
import { type CaptureFileReader, readCaptureDir } from '../../sources/transports/capture-dir.ts'
import type { CliCommand } from '../command.ts'
import { progressLine } from '../progress.ts'
import { report } from './diagnose.ts'

/** Captures of real Go processes, made by scripts/capture.ts and committed. */
const CAPTURES = join(INSTALL_ROOT, 'testdata', 'captures', '/')
const DEMO_SCENARIO = 'madv-free-retention'
/**
 * The demo's capture inside the single executable, packed by scripts/package.ts as
 * `{ version, scenario, files: { 'capture.json': base64, 't000/proc-status': base64, … } }`.
 */
export const DEMO_ASSET = 'demo-capture.json'

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
  const { latest, dir, read } = IN_EXECUTABLE ? packedCapture() : await repositoryCapture()
  const run = await readCaptureDir(dir, read)
  run.notes.unshift(
    `replaying a recording of a real Go process (${latest}/${DEMO_SCENARIO}, ${run.about.godebug ?? ''}); run \`demo --live\` to do it for real`,
  )
  return run
}

async function repositoryCapture(): Promise<{
  latest: string
  dir: string
  read?: CaptureFileReader
}> {
  const versions = (await readdir(CAPTURES)).sort()
  const latest = versions.at(-1)
  if (!latest) throw new UsageError(`no recorded captures in ${CAPTURES}`)
  return { latest, dir: `${CAPTURES}${latest}/${DEMO_SCENARIO}` }
}

/** The same capture directory, read from the copy packed into the executable. */
function packedCapture(): { latest: string; dir: string; read: CaptureFileReader } {
  const packed = embeddedAsset(DEMO_ASSET)
  if (!packed) throw new UsageError('this executable was packed without the demo capture')
  const { version, files } = JSON.parse(packed.toString('utf8')) as {
    version: string
    files: Record<string, string>
  }
  const dir = `(packed)/${version}/${DEMO_SCENARIO}`
  const read: CaptureFileReader = async path => {
    const data = files[path.slice(dir.length + 1)]
    if (data === undefined) throw new Error('not in the packed demo capture')
    return Buffer.from(data, 'base64')
  }
  return { latest: version, dir, read }
}

async function liveRun() {
  if (IN_EXECUTABLE) {
    throw new UsageError(
      'demo --live builds the Go scenario program from the repository, which this executable does not carry: run it from a clone, or diagnose a process of yours with `gomemdoctor diagnose PID`',
    )
  }
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
